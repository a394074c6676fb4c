//! Scheduled delivery of saved reports by e-mail: each due delivery becomes one job whose
//! key names the report and the scheduled instant, so several nodes queue it once and a
//! retry after a crash carries the same Message-ID. The report runs as its owner, so the
//! mail holds only what the owner may see.

use jiff::Timestamp;
use sable_core::Lang;
use sable_core::report::schedule::DeliveryFormat;
use sable_import::report_export;
use sable_store::jobs::{self, NewJob};
use sable_store::{Store, reports, users};
use serde_json::{Value as Json, json};

use crate::mailer::{self, Attachment, Mail};

/// The job kind of one report delivery.
pub const KIND_REPORT_DELIVERY: &str = "report_delivery";

/// Queues a job for every saved report whose delivery is due, once per scheduled instant.
pub async fn queue_due(store: &Store, now: i64) -> anyhow::Result<usize> {
    let now_ts = Timestamp::from_millisecond(now)?;
    let mut queued = 0;
    for due in reports::due_deliveries(store, now_ts).await? {
        let at = due.due_at.as_millisecond();
        let job = NewJob {
            kind: KIND_REPORT_DELIVERY.into(),
            payload: json!({"report_id": due.report_id, "due_at": at}),
            idempotency_key: format!("report:{}:{at}", due.report_id),
            run_at: now,
            max_attempts: 6,
        };
        if jobs::enqueue(store, &job, now).await?.is_some() {
            queued += 1;
        }
        reports::mark_delivered(store, due.report_id, due.due_at).await?;
    }
    Ok(queued)
}

/// Why a delivery failed, and whether a retry could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    pub permanent: bool,
}

fn permanent(message: String) -> DeliveryError {
    DeliveryError {
        message,
        permanent: true,
    }
}

impl From<anyhow::Error> for DeliveryError {
    fn from(e: anyhow::Error) -> DeliveryError {
        DeliveryError {
            message: format!("{e:#}"),
            permanent: false,
        }
    }
}

/// Runs one delivery job: the report as its owner, the file attached, sent over SMTP.
pub async fn run(store: &Store, payload: &Json, idempotency_key: &str) -> Result<(), DeliveryError> {
    let id = payload.get("report_id").and_then(Json::as_i64).unwrap_or(0);
    let due_at = payload.get("due_at").and_then(Json::as_i64).unwrap_or(0);
    let system = sable_store::Actor::unrestricted_for_system_jobs();
    let saved = reports::get_report(store, &system, id)
        .await
        .map_err(|e| permanent(format!("report {id}: {e}")))?;
    let owner = users::get_user(store, saved.owner_id)
        .await?
        .ok_or_else(|| permanent(format!("the owner of report {id} is gone")))?;
    let actor = owner.actor();
    let (saved, result) = reports::run_saved(store, &actor, id)
        .await
        .map_err(|e| permanent(format!("report {id}: {e}")))?;
    let schedule = saved
        .schedule
        .clone()
        .ok_or_else(|| permanent(format!("report {id} has no delivery schedule any more")))?;
    let lang = actor.lang();
    let day = Timestamp::from_millisecond(due_at)
        .map(|t| t.to_zoned_datetime(actor.tz().clone()).date().to_string())
        .unwrap_or_default();
    let (bytes, ext, content_type) = match schedule.format {
        DeliveryFormat::Csv => (
            report_export::to_csv(&result, lang).map_err(|e| permanent(e.to_string()))?,
            "csv",
            "text/csv; charset=utf-8",
        ),
        DeliveryFormat::Xlsx => (
            report_export::to_xlsx(&result, lang).map_err(|e| permanent(e.to_string()))?,
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    let rows = result.rows.len();
    let (subject, body) = match lang {
        Lang::Zh => (
            format!("报表：{}（{day}）", saved.name),
            format!("附件是报表“{}”{day} 的结果，共 {rows} 行。\n\n—— Sable CRM", saved.name),
        ),
        _ => (
            format!("Report: {} ({day})", saved.name),
            format!(
                "Attached is the report \"{}\" as of {day}: {rows} row(s).\n\n-- Sable CRM",
                saved.name
            ),
        ),
    };
    let settings = sable_store::mail_settings::load_smtp(store)
        .await?
        .ok_or_else(|| DeliveryError {
            message: "no SMTP server is configured (Settings → Mail)".into(),
            permanent: false,
        })?;
    let mail = Mail {
        to: schedule.recipients.clone(),
        subject,
        body,
        message_id: jobs::message_id_for(idempotency_key, &mailer::message_domain(&settings)),
        attachments: vec![Attachment {
            file_name: format!("{}-{day}.{ext}", file_stem(&saved.name)),
            content_type: content_type.into(),
            bytes,
        }],
    };
    mailer::send(&settings, &mail).await.map_err(|e| DeliveryError {
        message: e.message,
        permanent: e.permanent,
    })
}

/// A file name from a report name: letters (any script), digits, `-` and `_` kept.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if stem.trim_matches('_').is_empty() {
        "report".into()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn file_stems_keep_letters_and_drop_path_characters() {
        assert_eq!(file_stem("销售 周报/2026"), "销售_周报_2026");
        assert_eq!(file_stem("../.."), "report");
        assert_eq!(file_stem(""), "report");
    }
}
