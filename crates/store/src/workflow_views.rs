//! Read-only views over the workflow engine's tables for the admin pages and the API:
//! a job's outcome (with its e-mail, for the SMTP test-send), and a record's e-mails for
//! its timeline. Permission is checked here, with the actor; nothing here writes.

use serde::Serialize;

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::jobs::{self, Job, SentMail};
use crate::store::Store;

/// A job and, for a mail job, the e-mail it sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// The e-mail of a mail job: its status (`queued`, `sent`, `failed`) and error.
    pub mail: Option<MailOutcome>,
}

/// What became of one e-mail (without its body: the job view is for admins checking delivery).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MailOutcome {
    pub id: i64,
    pub to: Vec<String>,
    pub subject: String,
    pub status: String,
    pub error: Option<String>,
    pub message_id: String,
    pub sent_at: Option<i64>,
}

impl From<SentMail> for MailOutcome {
    fn from(m: SentMail) -> MailOutcome {
        MailOutcome {
            id: m.id,
            to: m.to,
            subject: m.subject,
            status: m.status,
            error: m.error,
            message_id: m.message_id,
            sent_at: m.sent_at,
        }
    }
}

/// One job with its e-mail, for administrators.
pub async fn job_for_admin(store: &Store, actor: &Actor, id: i64) -> StoreResult<JobView> {
    if !actor.is_admin() {
        return Err(StoreError::Forbidden("only administrators see the job queue".into()));
    }
    let job = jobs::get_job(store, id)
        .await?
        .ok_or_else(|| StoreError::not_found("jobs", id))?;
    let mail = match job.payload.get("sent_mail_id").and_then(serde_json::Value::as_i64) {
        Some(mail_id) if job.kind == jobs::KIND_MAIL => {
            jobs::get_sent_mail(store, mail_id).await?.map(MailOutcome::from)
        }
        _ => None,
    };
    Ok(JobView { job, mail })
}

/// One queued or sent e-mail, for the person who sent it or an administrator.
pub async fn mail_for_sender(store: &Store, actor: &Actor, id: i64) -> StoreResult<SentMail> {
    let mail = jobs::get_sent_mail(store, id)
        .await?
        .ok_or_else(|| StoreError::not_found("sent_mail", id))?;
    if actor.is_admin() || mail.sent_by == actor.user_ref() {
        return Ok(mail);
    }
    // Someone else's e-mail about a record is visible to whoever sees the record.
    match (&mail.module, mail.record_id) {
        (Some(module), Some(record)) => {
            store.records(actor).get(module, record).await.map_err(|e| match e {
                StoreError::NotFound { .. } => StoreError::not_found("sent_mail", id),
                other => other,
            })?;
            Ok(mail)
        }
        _ => Err(StoreError::not_found("sent_mail", id)),
    }
}
