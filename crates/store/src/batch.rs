//! Multi-row writes for the record service: ids in blocks, and each table written with a
//! few multi-row `INSERT`s per batch instead of one statement per record and table.
//! Only the record service calls this; it is still the one door.

use crate::db::Tx;
use crate::sql::{Arg, Dialect};

/// Most bound values in one statement (below SQLite's 32,766 and PostgreSQL's 65,535).
const MAX_PARAMS: usize = 30_000;
/// Most rows in one statement, whatever the width.
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
pub async fn insert_rows(tx: &mut Tx, table: &str, columns: &[Column<'_>], rows: Vec<Vec<Arg>>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let per_statement = (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_ROWS);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = tx.sql();
        q.one_off();
        q.push("INSERT INTO ").ident(table).push(" (");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.ident(c.name);
        }
        q.push(") VALUES ");
        for (r, row) in rows.by_ref().take(per_statement).enumerate() {
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
        tx.execute(&q).await?;
    }
    Ok(())
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
