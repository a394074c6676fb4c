//! The job queue: background work kept in the `jobs` table of the shared database.
//!
//! A job is claimed under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so nodes never
//! claim the same one; SQLite has one writer). A worker that dies leaves its lease to
//! expire, and the job is claimed again. Failures come back with exponential back-off
//! until `max_attempts`. Every job has an idempotency key, unique in the table, which the
//! work itself carries (Message-ID, `Idempotency-Key` header) so a receiver can tell a
//! retry from a new message. Times are passed in, so the engine's clock decides them.

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::actor::Actor;
use crate::db::{Row, Tx};
use crate::error::{StoreError, StoreResult};
use crate::sql::Dialect;
use crate::store::Store;

/// Job kind: send one e-mail (a `sent_mail` row says what).
pub const KIND_MAIL: &str = "mail";
/// Job kind: run a workflow's actions for one trigger.
pub const KIND_WORKFLOW_RUN: &str = "workflow_run";

/// Attempts a job gets unless its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 6;
/// First retry delay; it doubles with each attempt.
pub const BACKOFF_BASE_MS: i64 = 30_000;
/// Longest retry delay.
pub const BACKOFF_MAX_MS: i64 = 3_600_000;
/// Most recipients of one e-mail.
pub const MAX_MAIL_RECIPIENTS: usize = 50;
/// Longest e-mail subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Longest e-mail body, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A job to add to the queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub payload: Json,
    /// Unique across the queue: enqueueing the same key twice adds nothing.
    pub idempotency_key: String,
    /// Epoch ms from which it may run.
    pub run_at: i64,
    pub max_attempts: i64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: Json,
    pub idempotency_key: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Attempts started so far (including the one running now).
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

/// What became of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Queued again, to run at this time (epoch ms).
    RetryAt(i64),
    /// No attempts left: failed for good.
    Failed,
    /// The worker no longer held the lease (it expired and another worker took the job).
    LeaseLost,
}

const COLUMNS: &str = "id, kind, payload, idempotency_key, status, attempts, max_attempts, run_at, locked_by, lease_until, last_error, finished_at";

fn row_to_job(r: &Row) -> anyhow::Result<Job> {
    Ok(Job {
        id: r.int("id")?,
        kind: r.text("kind")?,
        payload: serde_json::from_str(&r.text("payload")?).unwrap_or(Json::Null),
        idempotency_key: r.text("idempotency_key")?,
        status: r.text("status")?,
        attempts: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        run_at: r.int("run_at")?,
        locked_by: r.opt_text("locked_by")?,
        lease_until: r.opt_int("lease_until")?,
        last_error: r.opt_text("last_error")?,
        finished_at: r.opt_int("finished_at")?,
    })
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped.
pub fn backoff_ms(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    BACKOFF_BASE_MS.saturating_mul(1_i64 << shift).min(BACKOFF_MAX_MS)
}

/// Adds a job inside a transaction. Returns its id, or `None` when a job with the same
/// idempotency key exists already (the work was asked for before).
pub async fn enqueue_in(tx: &mut Tx, job: &NewJob, now: i64) -> anyhow::Result<Option<i64>> {
    let mut q = tx.sql();
    q.push("INSERT INTO jobs (kind, payload, idempotency_key, status, attempts, max_attempts, run_at, created_at, updated_at) VALUES (")
        .bind(job.kind.as_str())
        .push(", ")
        .bind(job.payload.to_string())
        .push(", ")
        .bind(job.idempotency_key.as_str())
        .push(", 'queued', 0, ")
        .bind(job.max_attempts.max(1))
        .push(", ")
        .bind(job.run_at)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (idempotency_key) DO NOTHING RETURNING id");
    tx.fetch_optional(&q).await?.map(|r| r.int("id")).transpose()
}

/// Adds a job in its own transaction and wakes the runner; see [`enqueue_in`].
pub async fn enqueue(store: &Store, job: &NewJob, now: i64) -> anyhow::Result<Option<i64>> {
    let mut w = store.begin_write().await?;
    let id = enqueue_in(&mut w.tx, job, now).await?;
    w.commit().await?;
    Ok(id)
}

/// Claims up to `limit` due jobs for `worker` until `lease_until`: queued jobs whose time
/// has come and running jobs whose lease expired (their worker died). Each claim counts
/// as an attempt.
pub async fn claim(store: &Store, worker: &str, now: i64, lease_until: i64, limit: i64) -> anyhow::Result<Vec<Job>> {
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("UPDATE jobs SET status = 'running', locked_by = ")
        .bind(worker)
        .push(", lease_until = ")
        .bind(lease_until)
        .push(", attempts = attempts + 1, updated_at = ")
        .bind(now)
        .push(" WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= ")
        .bind(now)
        .push(") OR (status = 'running' AND lease_until < ")
        .bind(now)
        .push(") ORDER BY run_at, id LIMIT ")
        .bind(limit.max(1));
    if q.dialect() == Dialect::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    q.push(") RETURNING ").push(COLUMNS);
    let rows = w.tx.fetch_all(&q).await.context("claiming jobs")?;
    if rows.is_empty() {
        // Nothing changed: roll back rather than commit, since a commit wakes the runner
        // and an idle runner would wake itself for ever.
        return Ok(Vec::new());
    }
    w.commit().await?;
    let mut jobs = rows.iter().map(row_to_job).collect::<anyhow::Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// Extends the lease of a job the worker still holds; false when it lost it.
pub async fn extend_lease(store: &Store, id: i64, worker: &str, lease_until: i64) -> anyhow::Result<bool> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE jobs SET lease_until = ")
        .bind(lease_until)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND status = 'running' AND locked_by = ")
        .bind(worker);
    Ok(db.execute(&q).await? == 1)
}

/// Marks a job done; false when the worker no longer held it.
pub async fn complete(store: &Store, id: i64, worker: &str, now: i64) -> anyhow::Result<bool> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE jobs SET status = 'done', locked_by = NULL, lease_until = NULL, last_error = NULL, finished_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND status = 'running' AND locked_by = ")
        .bind(worker);
    Ok(db.execute(&q).await? == 1)
}

/// Records a failed attempt: queued again after a back-off, or failed for good when no
/// attempts are left (or `permanent`, for errors a retry cannot fix).
pub async fn fail(
    store: &Store,
    id: i64,
    worker: &str,
    error: &str,
    permanent: bool,
    now: i64,
) -> anyhow::Result<Fate> {
    let Some(job) = get_job(store, id).await? else {
        return Ok(Fate::LeaseLost);
    };
    if job.status != "running" || job.locked_by.as_deref() != Some(worker) {
        return Ok(Fate::LeaseLost);
    }
    let error: String = error.chars().take(4000).collect();
    let db = store.db();
    let mut q = db.sql();
    let fate = if permanent || job.attempts >= job.max_attempts {
        q.push("UPDATE jobs SET status = 'failed', finished_at = ").bind(now);
        Fate::Failed
    } else {
        let at = now + backoff_ms(job.attempts);
        q.push("UPDATE jobs SET status = 'queued', run_at = ").bind(at);
        Fate::RetryAt(at)
    };
    q.push(", locked_by = NULL, lease_until = NULL, last_error = ")
        .bind(error)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND status = 'running' AND locked_by = ")
        .bind(worker);
    Ok(if db.execute(&q).await? == 1 {
        fate
    } else {
        Fate::LeaseLost
    })
}

/// Queues a finished or failed job again from its first attempt, keeping its key.
pub async fn requeue_in(tx: &mut Tx, id: i64, now: i64) -> anyhow::Result<bool> {
    let mut q = tx.sql();
    q.push("UPDATE jobs SET status = 'queued', attempts = 0, run_at = ")
        .bind(now)
        .push(", locked_by = NULL, lease_until = NULL, finished_at = NULL, updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND status IN ('failed', 'done')");
    Ok(tx.execute(&q).await? == 1)
}

/// One job by id.
pub async fn get_job(store: &Store, id: i64) -> anyhow::Result<Option<Job>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ").push(COLUMNS).push(" FROM jobs WHERE id = ").bind(id);
    db.fetch_optional(&q).await?.as_ref().map(row_to_job).transpose()
}

/// One job by idempotency key.
pub async fn find_job(store: &Store, idempotency_key: &str) -> anyhow::Result<Option<Job>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM jobs WHERE idempotency_key = ")
        .bind(idempotency_key);
    db.fetch_optional(&q).await?.as_ref().map(row_to_job).transpose()
}

/// Jobs in a state (`queued`, `running`, `done`, `failed`), newest first, for admin pages.
pub async fn list_jobs(store: &Store, actor: &Actor, status: &str, limit: i64) -> StoreResult<Vec<Job>> {
    if !actor.is_admin() {
        return Err(StoreError::Forbidden("only administrators see the job queue".into()));
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM jobs WHERE status = ")
        .bind(status)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(limit.clamp(1, 1000));
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_job)
        .collect::<anyhow::Result<Vec<_>>>()?)
}

/// An e-mail to send through the queue (test-send, "send from a record", workflows).
#[derive(Clone, Debug, Default)]
pub struct MailRequest {
    pub to: Vec<String>,
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// The record the mail is about: it appears on that record's timeline.
    pub module: Option<String>,
    pub record_id: Option<i64>,
    /// A key that makes asking twice send once; a fresh one is made when none.
    pub idempotency_key: Option<String>,
}

/// Why an e-mail was refused before it was queued.
fn mail_refused(key: &'static str, en: impl Into<String>) -> StoreError {
    StoreError::refused(key, en)
}

/// Checks a mail request: recipients, subject and body sizes.
pub fn check_mail(req: &MailRequest) -> StoreResult<()> {
    if req.to.is_empty() || req.to.len() > MAX_MAIL_RECIPIENTS {
        return Err(mail_refused(
            "wf_refused_mail_recipients",
            format!("an e-mail needs 1 to {MAX_MAIL_RECIPIENTS} recipients"),
        ));
    }
    if let Some(bad) = req.to.iter().find(|a| !sable_core::workflow::plausible_address(a)) {
        return Err(StoreError::Refused(
            sable_core::Refusal::new("wf_refused_mail_address", format!("`{bad}` is not an e-mail address"))
                .arg("address", bad.clone()),
        ));
    }
    if req.subject.trim().is_empty() || req.subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(mail_refused(
            "wf_refused_mail_subject",
            format!("a subject of 1 to {MAX_SUBJECT_CHARS} characters is needed"),
        ));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(mail_refused(
            "wf_refused_mail_body",
            format!("the body is longer than {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The Message-ID an e-mail sent for an idempotency key carries: the same key gives the
/// same id, so a receiver sees a retry as the same message.
pub fn message_id_for(idempotency_key: &str, domain: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(idempotency_key.as_bytes());
    format!("<{}@{}>", hex::encode(&digest[..16]), domain)
}

/// Queues an e-mail: a `sent_mail` row (on the record's timeline when it names one) and a
/// `mail` job, in one transaction. The actor must be able to read the record. Returns
/// the `sent_mail` id; asking again with the same idempotency key returns the first one.
pub async fn enqueue_mail(store: &Store, actor: &Actor, req: &MailRequest) -> StoreResult<i64> {
    check_mail(req)?;
    if let (Some(module), Some(id)) = (&req.module, req.record_id) {
        store.records(actor).get(module, id).await?;
    }
    let key = match &req.idempotency_key {
        Some(k) if !k.is_empty() && k.len() <= 200 => k.clone(),
        Some(_) => {
            return Err(StoreError::BadRequest(
                "idempotency key of 1 to 200 bytes needed".into(),
            ));
        }
        None => format!("mail:{}", crate::users::random_secret("m")?),
    };
    let now = crate::now_ms();
    let mut w = store.begin_write().await?;
    if let Some(existing) = sent_mail_for_key(&mut w.tx, &key).await? {
        return Ok(existing);
    }
    let mut q = w.tx.sql();
    q.push("INSERT INTO sent_mail (module, record_id, to_addresses, subject, body, message_id, status, sent_by, created_at, updated_at) VALUES (")
        .bind(req.module.clone())
        .push(", ")
        .bind(req.record_id)
        .push(", ")
        .bind(serde_json::to_string(&req.to).context("addresses")?)
        .push(", ")
        .bind(req.subject.as_str())
        .push(", ")
        .bind(req.body.as_str())
        .push(", ")
        .bind(key.as_str())
        .push(", 'queued', ")
        .bind(actor.user_ref())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let mail_id = w.tx.fetch_one(&q).await?.int("id")?;
    let job = NewJob {
        kind: KIND_MAIL.into(),
        payload: json!({"sent_mail_id": mail_id}),
        idempotency_key: key,
        run_at: now,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
    };
    let job_id = enqueue_in(&mut w.tx, &job, now).await?;
    let mut q = w.tx.sql();
    q.push("UPDATE sent_mail SET job_id = ")
        .bind(job_id)
        .push(" WHERE id = ")
        .bind(mail_id);
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(mail_id)
}

/// The `sent_mail` row queued under a key (its `message_id` column holds the key until
/// the mail is sent).
async fn sent_mail_for_key(tx: &mut Tx, key: &str) -> anyhow::Result<Option<i64>> {
    let mut q = tx.sql();
    q.push("SELECT sent_mail.id FROM sent_mail JOIN jobs ON jobs.id = sent_mail.job_id WHERE jobs.idempotency_key = ")
        .bind(key);
    tx.fetch_optional(&q).await?.map(|r| r.int("id")).transpose()
}

/// An e-mail queued or sent, as the record timeline and the engine see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentMail {
    pub id: i64,
    pub job_id: Option<i64>,
    pub module: Option<String>,
    pub record_id: Option<i64>,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The job's idempotency key while queued; the Message-ID once sent.
    pub message_id: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub sent_by: Option<i64>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

const MAIL_COLUMNS: &str = "id, job_id, module, record_id, to_addresses, subject, body, message_id, status, error, sent_by, sent_at, created_at";

fn row_to_mail(r: &Row) -> anyhow::Result<SentMail> {
    Ok(SentMail {
        id: r.int("id")?,
        job_id: r.opt_int("job_id")?,
        module: r.opt_text("module")?,
        record_id: r.opt_int("record_id")?,
        to: serde_json::from_str(&r.text("to_addresses")?).unwrap_or_default(),
        subject: r.text("subject")?,
        body: r.text("body")?,
        message_id: r.text("message_id")?,
        status: r.text("status")?,
        error: r.opt_text("error")?,
        sent_by: r.opt_int("sent_by")?,
        sent_at: r.opt_int("sent_at")?,
        created_at: r.int("created_at")?,
    })
}

/// One queued or sent e-mail (for the worker).
pub async fn get_sent_mail(store: &Store, id: i64) -> anyhow::Result<Option<SentMail>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(MAIL_COLUMNS)
        .push(" FROM sent_mail WHERE id = ")
        .bind(id);
    db.fetch_optional(&q).await?.as_ref().map(row_to_mail).transpose()
}

/// The e-mails about a record, newest first (for its timeline); the actor must see it.
pub async fn mail_for_record(store: &Store, actor: &Actor, module: &str, record_id: i64) -> StoreResult<Vec<SentMail>> {
    store.records(actor).get(module, record_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(MAIL_COLUMNS)
        .push(" FROM sent_mail WHERE record_id = ")
        .bind(record_id)
        .push(" ORDER BY id DESC LIMIT 200");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_mail)
        .collect::<anyhow::Result<Vec<_>>>()?)
}

/// Records the outcome of sending an e-mail.
pub async fn set_mail_outcome(
    store: &Store,
    id: i64,
    status: &str,
    message_id: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE sent_mail SET status = ")
        .bind(status)
        .push(", error = ")
        .bind(error.map(str::to_string));
    if let Some(m) = message_id {
        q.push(", message_id = ").bind(m);
    }
    if status == "sent" {
        q.push(", sent_at = ").bind(now);
    }
    q.push(", updated_at = ").bind(now).push(" WHERE id = ").bind(id);
    db.execute(&q).await?;
    Ok(())
}

/// Logs an e-mail a workflow sent (so it shows on the record's timeline like one sent by
/// hand). Logging twice under one Message-ID (a retried action) keeps one row.
#[allow(clippy::too_many_arguments)]
pub async fn record_sent_mail(
    store: &Store,
    module: &str,
    record_id: i64,
    to: &[String],
    subject: &str,
    body: &str,
    message_id: &str,
    now: i64,
) -> anyhow::Result<i64> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id FROM sent_mail WHERE message_id = ").bind(message_id);
    if let Some(r) = db.fetch_optional(&q).await? {
        return r.int("id");
    }
    let mut q = db.sql();
    q.push("INSERT INTO sent_mail (module, record_id, to_addresses, subject, body, message_id, status, sent_at, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(record_id)
        .push(", ")
        .bind(serde_json::to_string(to)?)
        .push(", ")
        .bind(subject)
        .push(", ")
        .bind(body)
        .push(", ")
        .bind(message_id)
        .push(", 'sent', ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    db.fetch_optional(&q).await?.context("sent_mail row")?.int("id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(2), 2 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(3), 4 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(100), BACKOFF_MAX_MS);
        assert_eq!(backoff_ms(-5), BACKOFF_BASE_MS);
    }

    #[test]
    fn message_ids_follow_the_key() {
        let a = message_id_for("wf:1:a0:e9", "sable.local");
        assert_eq!(a, message_id_for("wf:1:a0:e9", "sable.local"));
        assert_ne!(a, message_id_for("wf:1:a0:e10", "sable.local"));
        assert!(a.starts_with('<') && a.ends_with("@sable.local>"));
    }

    #[test]
    fn mail_requests_are_checked() {
        let ok = MailRequest {
            to: vec!["a@example.com".into()],
            subject: "Hi".into(),
            body: "B".into(),
            ..MailRequest::default()
        };
        assert!(check_mail(&ok).is_ok());
        let mut bad = ok.clone();
        bad.to = vec!["nope".into()];
        assert!(check_mail(&bad).is_err());
        let mut bad = ok.clone();
        bad.to.clear();
        assert!(check_mail(&bad).is_err());
        let mut bad = ok.clone();
        bad.subject = " ".into();
        assert!(check_mail(&bad).is_err());
        let mut bad = ok;
        bad.body = "x".repeat(MAX_BODY_BYTES + 1);
        assert!(check_mail(&bad).is_err());
    }
}
