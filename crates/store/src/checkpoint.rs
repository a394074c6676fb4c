//! WAL checkpoints off the writer's path (SQLite files only).
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the log over its
//! threshold: the committing writer copies the log into the database and syncs both files
//! before its commit returns, while every other writer waits for the write lock. A bulk
//! import spent about a fifth of its time there. Here a task on its own pooled connection (so its
//! own SQLite thread, on another core) runs a passive checkpoint after commits instead; a
//! passive checkpoint never blocks readers or writers, and once it has copied the whole
//! log the next writer starts the log again from its beginning. The connections' own
//! automatic checkpoint stays on as a backstop ([`BACKSTOP_PAGES`]) should this task fall
//! far behind. Decision 0013.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::db::Db;
use crate::sql::Dialect;

/// Log size, in pages (≈ 400 MB), at which a committing connection checkpoints by itself:
/// far above what one batch writes, so it only acts when the background checkpoint cannot
/// keep up.
pub const BACKSTOP_PAGES: u32 = 100_000;

/// Size, in bytes, the log file is cut back to when the log restarts: a bulk import grows it
/// to a batch's worth of pages (tens of MB), which would otherwise stay on disk.
pub const LOG_SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// Least time between two checkpoints: commits in between are copied by the next one.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Also checkpoint this often without a signal, for writes made outside
/// `Store::begin_write` (sessions, jobs).
const IDLE_INTERVAL: Duration = Duration::from_secs(5);

/// Starts the checkpoint task for the database of `owner` when it is a SQLite file in WAL
/// mode. It runs while `owner` lives and ends at the first signal after it is dropped.
pub(crate) fn spawn<T: AsRef<Db> + Send + Sync + 'static>(owner: Weak<T>, signal: Arc<Notify>) {
    tokio::spawn(async move {
        match owner.upgrade() {
            Some(o) if in_wal_mode(o.as_ref().as_ref()).await => {}
            _ => return,
        }
        let mut failing = false;
        loop {
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(IDLE_INTERVAL) => {}
            }
            let Some(strong) = owner.upgrade() else { break };
            let db: &Db = strong.as_ref().as_ref();
            if db.is_closed() {
                break;
            }
            match db.execute_script("PRAGMA wal_checkpoint(PASSIVE)").await {
                Ok(()) => failing = false,
                Err(_) if db.is_closed() => break,
                // Said once, not at every retry.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = format!("{e:#}"), "WAL checkpoint failed; retrying");
                }
                Err(_) => {}
            }
            drop(strong);
            tokio::time::sleep(MIN_INTERVAL).await;
        }
    });
}

/// Whether `db` is a SQLite database whose journal is a write-ahead log (a file, not
/// `sqlite::memory:`).
async fn in_wal_mode(db: &Db) -> bool {
    if db.dialect() != Dialect::Sqlite {
        return false;
    }
    match db.fetch_optional(db.sql().push("PRAGMA journal_mode")).await {
        Ok(Some(row)) => row.text("journal_mode").is_ok_and(|m| m.eq_ignore_ascii_case("wal")),
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "could not read the journal mode: WAL checkpoints are left to the writers"
            );
            false
        }
    }
}
