//! Multi-row writes for the record service: ids in blocks, and each table written with a
//! few multi-row `INSERT`s per batch instead of one statement per record and table.
//! Only the record service calls this; it is still the one door.

use crate::db::Tx;
use crate::sql::{Arg, Dialect, Sql};

/// Most bound values in one statement (below SQLite's 32,766 and PostgreSQL's 65,535).
const MAX_PARAMS: usize = 30_000;
/// Most rows in one statement, whatever the width (unless the caller asks for more).
const MAX_ROWS: usize = 500;

/// Reserves `n` consecutive ids from the one id space shared by all records and users.
pub async fn allocate_ids(tx: &mut Tx, n: i64, now: i64) -> anyhow::Result<i64> {
    let mut q = tx.sql();
    q.push("UPDATE id_allocator SET next_id = next_id + ")
        .bind(n)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = 1 RETURNING next_id");
    Ok(tx.fetch_one(&q).await?.int("next_id")? - n)
}

/// A column of a multi-row insert: its name and an optional SQL function wrapped around
/// the bound value (e.g. `to_tsvector('simple', …)`).
pub struct Column<'a> {
    pub name: &'a str,
    pub wrap: Option<&'static str>,
}

impl<'a> Column<'a> {
    /// A plain column.
    pub fn plain(name: &'a str) -> Column<'a> {
        Column { name, wrap: None }
    }
}

/// Inserts rows (each as long as `columns`) in as few statements as the limits allow.
/// Their text depends on the row count, so they are prepared, run and dropped
/// (`Sql::one_off`): kept, every variant would stay in every pooled connection's cache.
pub async fn insert_rows(tx: &mut Tx, table: &str, columns: &[Column<'_>], rows: Vec<Vec<Arg>>) -> anyhow::Result<()> {
    insert_rows_at_once(tx, table, columns, rows, MAX_ROWS).await
}

/// Inserts rows in statements of up to `max_rows` (within the parameter limit), prepared
/// for their row count and not kept. With `max_rows` at the batch size, all rows go in one
/// statement, as the SQLite search index wants: FTS5 writes what it holds in memory as a new
/// index segment whenever a later statement of the transaction begins, so one statement per
/// batch leaves one segment per batch (and less merging) where several leave one each.
pub async fn insert_rows_at_once(
    tx: &mut Tx,
    table: &str,
    columns: &[Column<'_>],
    rows: Vec<Vec<Arg>>,
    max_rows: usize,
) -> anyhow::Result<()> {
    let limit = (MAX_PARAMS / columns.len().max(1)).clamp(1, max_rows.max(1));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = insert_statement(tx.sql(), table, columns, rows.by_ref().take(limit))?;
        q.one_off();
        tx.execute_owned(q).await?;
    }
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (…), (…)` for the given rows.
fn insert_statement(
    mut q: Sql,
    table: &str,
    columns: &[Column<'_>],
    rows: impl Iterator<Item = Vec<Arg>>,
) -> anyhow::Result<Sql> {
    q.push("INSERT INTO ").ident(table).push(" (");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.ident(c.name);
    }
    q.push(") VALUES ");
    for (r, row) in rows.enumerate() {
        anyhow::ensure!(
            row.len() == columns.len(),
            "row has {} values for {} columns",
            row.len(),
            columns.len()
        );
        q.push(if r == 0 { "(" } else { ", (" });
        for (i, (arg, col)) in row.into_iter().zip(columns).enumerate() {
            if i > 0 {
                q.push(", ");
            }
            match col.wrap {
                Some(f) => {
                    q.push(f).bind(arg).push(")");
                }
                None => {
                    q.bind(arg);
                }
            }
        }
        q.push(")");
    }
    Ok(q)
}

/// The search-index table and its columns on this database.
pub fn search_table(dialect: Dialect) -> (&'static str, Vec<Column<'static>>) {
    match dialect {
        Dialect::Sqlite => ("search_fts", vec![Column::plain("rowid"), Column::plain("tokens")]),
        Dialect::Postgres => (
            "search_index",
            vec![
                Column::plain("record_id"),
                Column {
                    name: "tokens",
                    wrap: Some("to_tsvector('simple', "),
                },
                Column::plain("created_at"),
                Column::plain("updated_at"),
            ],
        ),
    }
}
