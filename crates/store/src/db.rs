//! The database connection: SQLite or PostgreSQL, chosen at run time from the URL.
//!
//! Statements come from [`Sql`]; rows come back as [`Row`]s of `i64`/text/bytes so the
//! code above never sees which database answered.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sable_core::Stored;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Column, PgPool, Postgres, Row as _, Sqlite, SqlitePool, ValueRef};

use crate::sql::{Arg, Dialect, Sql};

/// A pool on one of the two databases.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// One row: column names and values.
#[derive(Clone, Debug)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Cell>,
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Row {
    fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .with_context(|| format!("column {name} not in result"))
    }

    /// The cell of a column.
    pub fn cell(&self, name: &str) -> anyhow::Result<&Cell> {
        Ok(&self.values[self.index(name)?])
    }

    /// An integer column (an error when null or text).
    pub fn int(&self, name: &str) -> anyhow::Result<i64> {
        match self.cell(name)? {
            Cell::Int(i) => Ok(*i),
            other => anyhow::bail!("column {name}: expected an integer, got {other:?}"),
        }
    }

    /// An integer column that may be null.
    pub fn opt_int(&self, name: &str) -> anyhow::Result<Option<i64>> {
        match self.cell(name)? {
            Cell::Int(i) => Ok(Some(*i)),
            Cell::Null => Ok(None),
            other => anyhow::bail!("column {name}: expected an integer, got {other:?}"),
        }
    }

    /// A text column (an error when null).
    pub fn text(&self, name: &str) -> anyhow::Result<String> {
        self.opt_text(name)?.with_context(|| format!("column {name} is null"))
    }

    /// A text column that may be null.
    pub fn opt_text(&self, name: &str) -> anyhow::Result<Option<String>> {
        match self.cell(name)? {
            Cell::Text(s) => Ok(Some(s.clone())),
            Cell::Null => Ok(None),
            Cell::Int(i) => Ok(Some(i.to_string())),
            Cell::Bytes(b) => Ok(Some(String::from_utf8_lossy(b).into_owned())),
        }
    }

    /// The column as a stored field value.
    pub fn stored(&self, name: &str) -> anyhow::Result<Stored> {
        Ok(match self.cell(name)? {
            Cell::Null => Stored::Null,
            Cell::Int(i) => Stored::Int(*i),
            Cell::Text(s) => Stored::Text(s.clone()),
            Cell::Bytes(b) => Stored::Text(String::from_utf8_lossy(b).into_owned()),
        })
    }
}

/// Binds arguments by value: text and bytes move into the statement instead of being
/// copied (multi-row inserts bind tens of thousands of values per batch).
macro_rules! bind_owned {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(i) => q.bind(i),
                Arg::Text(s) => q.bind(s),
                Arg::Bytes(b) => q.bind(b),
                Arg::NullInt => q.bind(None::<i64>),
                Arg::NullText => q.bind(None::<String>),
            };
        }
        q
    }};
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Bytes(b) => q.bind(b.as_slice()),
                Arg::NullInt => q.bind(None::<i64>),
                Arg::NullText => q.bind(None::<&str>),
            };
        }
        q
    }};
}

fn convert_sqlite(rows: Vec<sqlx::sqlite::SqliteRow>) -> anyhow::Result<Vec<Row>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|r| {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let raw = r.try_get_raw(i)?;
                let cell = if raw.is_null() {
                    Cell::Null
                } else if let Ok(v) = r.try_get::<i64, _>(i) {
                    Cell::Int(v)
                } else if let Ok(v) = r.try_get::<String, _>(i) {
                    Cell::Text(v)
                } else {
                    Cell::Bytes(r.try_get::<Vec<u8>, _>(i)?)
                };
                values.push(cell);
            }
            Ok(Row {
                columns: columns.clone(),
                values,
            })
        })
        .collect()
}

fn convert_pg(rows: Vec<sqlx::postgres::PgRow>) -> anyhow::Result<Vec<Row>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|r| {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let raw = r.try_get_raw(i)?;
                let cell = if raw.is_null() {
                    Cell::Null
                } else if let Ok(v) = r.try_get::<i64, _>(i) {
                    Cell::Int(v)
                } else if let Ok(v) = r.try_get::<i32, _>(i) {
                    Cell::Int(i64::from(v))
                } else if let Ok(v) = r.try_get::<String, _>(i) {
                    Cell::Text(v)
                } else if let Ok(v) = r.try_get::<bool, _>(i) {
                    Cell::Int(i64::from(v))
                } else {
                    Cell::Bytes(r.try_get::<Vec<u8>, _>(i)?)
                };
                values.push(cell);
            }
            Ok(Row {
                columns: columns.clone(),
                values,
            })
        })
        .collect()
}

/// Hides a database URL's password in logs and `Debug` output.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Connects to `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid SQLite URL {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // 4 MiB per connection. In WAL mode a connection drops its whole cache when
                // another one has committed since its last read, and the pool hands out its
                // connections in turn, so a larger cache was mostly refilled, not reused,
                // while every connection's grew to its limit (up to 8 × 64 MiB before).
                // Misses are served from the kernel's page cache. docs/performance.md, 0013.
                .pragma("cache_size", "-4096")
                // ANALYZE samples instead of reading whole indexes, so it stays cheap at 1M rows.
                .pragma("analysis_limit", "1000")
                .pragma("temp_store", "memory")
                // Checkpoints run beside the writers (`checkpoint`); this is the backstop.
                .pragma("wal_autocheckpoint", crate::checkpoint::BACKSTOP_PAGES.to_string())
                .pragma("journal_size_limit", crate::checkpoint::LOG_SIZE_LIMIT.to_string());
            let memory = url.contains(":memory:");
            let pool = SqlitePoolOptions::new()
                .max_connections(if memory { 1 } else { 8 })
                .connect_with(opts)
                .await
                .with_context(|| format!("opening SQLite database {url}"))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .with_context(|| format!("invalid PostgreSQL URL {}", redact_url(url)))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))?;
            Ok(Db::Pg(pool))
        } else {
            anyhow::bail!(
                "unsupported database URL {}: use sqlite://FILE or postgres://…",
                redact_url(url)
            )
        }
    }

    /// The dialect of this database.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Pg(_) => Dialect::Postgres,
        }
    }

    /// A new statement for this database.
    pub fn sql(&self) -> Sql {
        Sql::new(self.dialect())
    }

    /// Runs a statement, returning the number of rows affected.
    pub async fn execute(&self, q: &Sql) -> anyhow::Result<u64> {
        Ok(match self {
            Db::Sqlite(p) => bind_all!(sqlx::query::<Sqlite>(AssertSqlSafe(q.text.clone())), &q.args)
                .persistent(q.persistent)
                .execute(p)
                .await
                .with_context(|| format!("running {}", q.text))?
                .rows_affected(),
            Db::Pg(p) => bind_all!(sqlx::query::<Postgres>(AssertSqlSafe(q.text.clone())), &q.args)
                .persistent(q.persistent)
                .execute(p)
                .await
                .with_context(|| format!("running {}", q.text))?
                .rows_affected(),
        })
    }

    /// Runs a query and returns all rows.
    pub async fn fetch_all(&self, q: &Sql) -> anyhow::Result<Vec<Row>> {
        match self {
            Db::Sqlite(p) => convert_sqlite(
                bind_all!(sqlx::query::<Sqlite>(AssertSqlSafe(q.text.clone())), &q.args)
                    .persistent(q.persistent)
                    .fetch_all(p)
                    .await
                    .with_context(|| format!("running {}", q.text))?,
            ),
            Db::Pg(p) => convert_pg(
                bind_all!(sqlx::query::<Postgres>(AssertSqlSafe(q.text.clone())), &q.args)
                    .persistent(q.persistent)
                    .fetch_all(p)
                    .await
                    .with_context(|| format!("running {}", q.text))?,
            ),
        }
    }

    /// Runs a query and returns the first row, if any.
    pub async fn fetch_optional(&self, q: &Sql) -> anyhow::Result<Option<Row>> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// Runs several statements separated by `;` (migrations): no parameters allowed.
    pub async fn execute_script(&self, script: &str) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => {
                sqlx::raw_sql(AssertSqlSafe(script.to_string())).execute(p).await?;
            }
            Db::Pg(p) => {
                sqlx::raw_sql(AssertSqlSafe(script.to_string())).execute(p).await?;
            }
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`) so two writers wait instead of failing half-way.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(
                p.begin_with("BEGIN IMMEDIATE")
                    .await
                    .context("beginning a transaction")?,
            ),
            Db::Pg(p) => Tx::Pg(p.begin().await.context("beginning a transaction")?),
        })
    }

    /// Whether [`Db::close`] was called.
    pub fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.is_closed(),
            Db::Pg(p) => p.is_closed(),
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Pg(p) => p.close().await,
        }
    }
}

/// An open transaction on either database.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// The dialect of this transaction's database.
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Pg(_) => Dialect::Postgres,
        }
    }

    /// A new statement for this database.
    pub fn sql(&self) -> Sql {
        Sql::new(self.dialect())
    }

    /// Runs a statement, returning the number of rows affected.
    pub async fn execute(&mut self, q: &Sql) -> anyhow::Result<u64> {
        Ok(match self {
            Tx::Sqlite(t) => bind_all!(sqlx::query::<Sqlite>(AssertSqlSafe(q.text.clone())), &q.args)
                .persistent(q.persistent)
                .execute(&mut **t)
                .await
                .with_context(|| format!("running {}", q.text))?
                .rows_affected(),
            Tx::Pg(t) => bind_all!(sqlx::query::<Postgres>(AssertSqlSafe(q.text.clone())), &q.args)
                .persistent(q.persistent)
                .execute(&mut **t)
                .await
                .with_context(|| format!("running {}", q.text))?
                .rows_affected(),
        })
    }

    /// Runs a statement that is not needed afterwards, moving its text and values into
    /// the driver instead of copying them; returns the number of rows affected.
    pub async fn execute_owned(&mut self, q: Sql) -> anyhow::Result<u64> {
        let Sql {
            text, args, persistent, ..
        } = q;
        let result = match self {
            Tx::Sqlite(t) => bind_owned!(sqlx::query::<Sqlite>(AssertSqlSafe(text.clone())), args)
                .persistent(persistent)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
            Tx::Pg(t) => bind_owned!(sqlx::query::<Postgres>(AssertSqlSafe(text.clone())), args)
                .persistent(persistent)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
        };
        result.with_context(|| format!("running {text}"))
    }

    /// Runs a query and returns all rows.
    pub async fn fetch_all(&mut self, q: &Sql) -> anyhow::Result<Vec<Row>> {
        match self {
            Tx::Sqlite(t) => convert_sqlite(
                bind_all!(sqlx::query::<Sqlite>(AssertSqlSafe(q.text.clone())), &q.args)
                    .persistent(q.persistent)
                    .fetch_all(&mut **t)
                    .await
                    .with_context(|| format!("running {}", q.text))?,
            ),
            Tx::Pg(t) => convert_pg(
                bind_all!(sqlx::query::<Postgres>(AssertSqlSafe(q.text.clone())), &q.args)
                    .persistent(q.persistent)
                    .fetch_all(&mut **t)
                    .await
                    .with_context(|| format!("running {}", q.text))?,
            ),
        }
    }

    /// Runs a query and returns the first row, if any.
    pub async fn fetch_optional(&mut self, q: &Sql) -> anyhow::Result<Option<Row>> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// Runs a query that must return one row.
    pub async fn fetch_one(&mut self, q: &Sql) -> anyhow::Result<Row> {
        self.fetch_optional(q)
            .await?
            .with_context(|| format!("no row from {}", q.text))
    }

    /// Runs a script without parameters (DDL).
    pub async fn execute_script(&mut self, script: &str) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(t) => {
                sqlx::raw_sql(AssertSqlSafe(script.to_string()))
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Pg(t) => {
                sqlx::raw_sql(AssertSqlSafe(script.to_string()))
                    .execute(&mut **t)
                    .await?;
            }
        }
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await.context("committing")?,
            Tx::Pg(t) => t.commit().await.context("committing")?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://sable:secret@db:5432/crm"),
            "postgres://sable:***@db:5432/crm"
        );
        assert_eq!(redact_url("postgres://db/crm"), "postgres://db/crm");
        assert_eq!(
            redact_url("sqlite://sable-data/sable.db"),
            "sqlite://sable-data/sable.db"
        );
    }
}
