//! Import jobs: what was asked, how far it got, what it did — and the journal of created
//! and overwritten records that lets a finished import be undone. The import itself runs
//! in the import crate through the record service; this is only its bookkeeping.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value as Json;

use crate::actor::Actor;
use crate::db::Tx;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::record::format_ms;
use crate::sql::Arg;
use crate::store::Store;

/// A job's state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportJob {
    pub id: i64,
    pub module: String,
    pub owner_id: i64,
    /// `running`, `done`, `failed`, `interrupted` or `undone`.
    pub status: String,
    pub file_name: String,
    pub options: Json,
    pub processed_rows: i64,
    /// Rows the file holds, once counted (for a progress bar).
    pub total_rows: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub report: Option<Json>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One entry of a job's journal.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub record_id: i64,
    /// `created` or `updated`.
    pub action: String,
    /// For updates: the fields' values before (wire form). For a record created in another
    /// module than the job's (a missing parent made for a reference): `{"module": name}`.
    pub before: Option<Json>,
}

const JOB_COLUMNS: &str = "id, module, owner_id, status, file_name, options, processed_rows, total_rows, created_count, updated_count, skipped_count, failed_count, report, error, finished_at, created_at";

fn row_to_job(r: &crate::db::Row) -> anyhow::Result<ImportJob> {
    let json = |name: &str| -> anyhow::Result<Option<Json>> {
        Ok(r.opt_text(name)?
            .map(|t| serde_json::from_str(&t).unwrap_or(Json::Null)))
    };
    Ok(ImportJob {
        id: r.int("id")?,
        module: r.text("module")?,
        owner_id: r.int("owner_id")?,
        status: r.text("status")?,
        file_name: r.text("file_name")?,
        options: json("options")?.unwrap_or(Json::Null),
        processed_rows: r.int("processed_rows")?,
        total_rows: r.opt_int("total_rows")?,
        created: r.int("created_count")?,
        updated: r.int("updated_count")?,
        skipped: r.int("skipped_count")?,
        failed: r.int("failed_count")?,
        report: json("report")?,
        error: r.opt_text("error")?,
        created_at: format_ms(r.int("created_at")?),
        finished_at: r.opt_int("finished_at")?.map(format_ms),
    })
}

/// Registers a running job.
pub async fn create_job(
    store: &Store,
    actor: &Actor,
    module: &str,
    file_name: &str,
    options: &Json,
) -> StoreResult<i64> {
    let owner = actor
        .user_ref()
        .ok_or_else(|| StoreError::Forbidden("imports need a user".into()))?;
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO import_jobs (module, owner_id, status, file_name, options, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(owner)
        .push(", 'running', ")
        .bind(file_name)
        .push(", ")
        .bind(options.to_string())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(db.fetch_optional(&q).await?.context("job row")?.int("id")?)
}

/// Records how many rows were read so far.
pub async fn set_progress(store: &Store, job_id: i64, processed: u64) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE import_jobs SET processed_rows = ")
        .bind(i64::try_from(processed).unwrap_or(i64::MAX));
    q.push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(job_id);
    db.execute(&q).await?;
    Ok(())
}

/// Records how many rows the job's file holds.
pub async fn set_total(store: &Store, job_id: i64, total: u64) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE import_jobs SET total_rows = ")
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(job_id);
    db.execute(&q).await?;
    Ok(())
}

/// Outcome counts of a finished job.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub processed: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
}

/// Marks a job finished (`done`, `failed`) with its counts, report and journal.
pub async fn finish_job(
    store: &Store,
    job_id: i64,
    status: &str,
    counts: Counts,
    report: Option<&Json>,
    error: Option<&str>,
    journal: &[JournalEntry],
) -> anyhow::Result<()> {
    let mut w = store.begin_write().await?;
    let now = now_ms();
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut q = w.tx.sql();
    q.push("UPDATE import_jobs SET status = ")
        .bind(status)
        .push(", processed_rows = ")
        .bind(int(counts.processed))
        .push(", created_count = ")
        .bind(int(counts.created))
        .push(", updated_count = ")
        .bind(int(counts.updated))
        .push(", skipped_count = ")
        .bind(int(counts.skipped))
        .push(", failed_count = ")
        .bind(int(counts.failed))
        .push(", report = ")
        .bind(report.map(Json::to_string))
        .push(", error = ")
        .bind(error.map(str::to_string))
        .push(", finished_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(job_id);
    w.tx.execute(&q).await?;
    write_journal(&mut w.tx, job_id, journal, now).await?;
    w.commit().await
}

/// Adds entries to a job's undo journal as their batch is committed, so a long import keeps
/// none of them in memory (and a crash loses at most the batch in flight).
pub async fn append_journal(store: &Store, job_id: i64, journal: &[JournalEntry]) -> anyhow::Result<()> {
    if journal.is_empty() {
        return Ok(());
    }
    let mut w = store.begin_write().await?;
    write_journal(&mut w.tx, job_id, journal, now_ms()).await?;
    w.commit().await
}

async fn write_journal(tx: &mut Tx, job_id: i64, journal: &[JournalEntry], now: i64) -> anyhow::Result<()> {
    for chunk in journal.chunks(500) {
        let mut q = tx.sql();
        // Its text depends on the chunk's length: not worth a place in the statement cache.
        q.one_off();
        q.push("INSERT INTO import_job_records (job_id, record_id, action, before, created_at, updated_at) VALUES ");
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(job_id)
                .push(", ")
                .bind(e.record_id)
                .push(", ")
                .bind(e.action.as_str())
                .push(", ");
            q.bind(e.before.as_ref().map(Json::to_string))
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
        }
        tx.execute(&q).await?;
    }
    Ok(())
}

/// A job its owner (or an administrator) may see.
pub async fn get_job(store: &Store, actor: &Actor, id: i64) -> StoreResult<ImportJob> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(JOB_COLUMNS)
        .push(" FROM import_jobs WHERE id = ")
        .bind(id);
    if !actor.is_admin {
        q.push(" AND owner_id = ").bind(actor.user_id);
    }
    let row = db
        .fetch_optional(&q)
        .await?
        .ok_or_else(|| StoreError::not_found("imports", id))?;
    Ok(row_to_job(&row)?)
}

/// The actor's recent jobs (all users' for administrators), newest first.
pub async fn list_jobs(store: &Store, actor: &Actor, limit: i64) -> StoreResult<Vec<ImportJob>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ").push(JOB_COLUMNS).push(" FROM import_jobs");
    if !actor.is_admin {
        q.push(" WHERE owner_id = ").bind(actor.user_id);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit.clamp(1, 200));
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_job)
        .collect::<anyhow::Result<_>>()?)
}

/// The journal of a job, in the order it was written.
pub async fn journal(store: &Store, job_id: i64) -> anyhow::Result<Vec<JournalEntry>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT record_id, action, before FROM import_job_records WHERE job_id = ")
        .bind(job_id)
        .push(" ORDER BY id");
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(JournalEntry {
                record_id: r.int("record_id")?,
                action: r.text("action")?,
                before: r
                    .opt_text("before")?
                    .map(|t| serde_json::from_str(&t).unwrap_or(Json::Null)),
            })
        })
        .collect()
}

/// Sets a job's status (e.g. `undone`).
pub async fn set_status(store: &Store, job_id: i64, status: &str) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE import_jobs SET status = ")
        .bind(status)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(job_id);
    db.execute(&q).await?;
    Ok(())
}

/// Jobs left `running` by a process that stopped are marked `interrupted` at start-up.
/// With several nodes, only jobs untouched for `stale_ms` count as abandoned.
pub async fn mark_interrupted(store: &Store, stale_ms: i64) -> anyhow::Result<u64> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE import_jobs SET status = 'interrupted', error = 'the server stopped while the import ran' WHERE status = 'running' AND updated_at < ")
        .bind(Arg::Int(now_ms() - stale_ms));
    db.execute(&q).await
}
