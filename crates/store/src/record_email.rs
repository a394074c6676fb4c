//! "Send e-mail" from a record: a template rendered over the record, or free text, to the
//! record's own address or to addresses given, queued through the same mail job as every
//! other e-mail (`jobs::enqueue_mail`) so it is logged on the record's timeline.
//!
//! The actor must be able to read the record; nothing here writes the record itself.

use sable_core::meta::FieldType;
use sable_core::{Lang, ModuleDef};

use serde::Deserialize;
use serde_json::Value as Json;

use crate::actor::Actor;
use crate::email_templates;
use crate::error::{StoreError, StoreResult};
use crate::jobs::{self, MailRequest, SentMail};
use crate::record::Record;
use crate::store::Store;
use crate::templating;

/// An e-mail as a person asks for it from a record.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEmail {
    /// Recipients; the record's e-mail address when none.
    #[serde(default)]
    pub to: Vec<String>,
    /// A stored template (its subject and body are rendered over the record) …
    #[serde(default)]
    pub template_id: Option<i64>,
    /// … or a subject and body written here (also rendered, so `{{ lastname }}` works).
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The template's language; the sender's when none.
    #[serde(default)]
    pub lang: Option<String>,
    /// Makes sending twice (a double click, a retried request) send once.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The record's e-mail addresses, in field order (the first one set, for a default recipient).
pub fn record_addresses(record: &Record, module: &ModuleDef) -> Vec<String> {
    module
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Email)
        .filter_map(|f| match record.values.get(&f.name) {
            Some(sable_core::Value::Email(s) | sable_core::Value::Text(s)) if !s.trim().is_empty() => {
                Some(s.trim().to_string())
            }
            _ => None,
        })
        .collect()
}

fn refused_render(part: &str, e: &templating::TemplateError) -> StoreError {
    StoreError::Refused(
        sable_core::Refusal::new("wfui_refused_render", format!("the {part} could not be rendered: {e}"))
            .arg("part", part)
            .arg("error", e.0.clone()),
    )
}

/// Renders and queues the e-mail about `record` (read as `actor`, so one they may see);
/// `ctx` is what templates see of it (the workflow engine's record context, so a template
/// renders the same here and in a workflow). Returns the e-mail as queued.
pub async fn send_record_email(
    store: &Store,
    actor: &Actor,
    record: &Record,
    ctx: &Json,
    req: &RecordEmail,
) -> StoreResult<SentMail> {
    let module_name = record.module.as_str();
    let id = record.id;
    let registry = store.registry().await?;
    let module = registry.module(module_name)?;
    let lang = req.lang.as_deref().and_then(Lang::parse).unwrap_or(actor.lang());
    let (subject_src, body_src) = match req.template_id {
        Some(tid) => {
            let t = email_templates::get_template(store, tid).await?;
            let (s, b) = t.content.in_lang(lang);
            (s.to_string(), b.to_string())
        }
        None => (
            req.subject.clone().unwrap_or_default(),
            req.body.clone().unwrap_or_default(),
        ),
    };
    if subject_src.trim().is_empty() {
        return Err(StoreError::refused(
            "wf_refused_mail_subject",
            "an e-mail needs a subject of 1 to 500 characters",
        ));
    }
    let subject = templating::render(&subject_src, ctx).map_err(|e| refused_render("subject", &e))?;
    let body = templating::render(&body_src, ctx).map_err(|e| refused_render("body", &e))?;
    let to: Vec<String> = if req.to.iter().all(|a| a.trim().is_empty()) {
        record_addresses(record, module).into_iter().take(1).collect()
    } else {
        req.to
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect()
    };
    if to.is_empty() {
        return Err(StoreError::refused(
            "wfui_refused_no_address",
            "this record has no e-mail address: give the recipient",
        ));
    }
    let mail = MailRequest {
        to,
        // A subject is one line: a template's stray line break must not reach the header.
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        body,
        module: Some(module_name.to_string()),
        record_id: Some(id),
        idempotency_key: req.idempotency_key.clone(),
    };
    let mail_id = jobs::enqueue_mail(store, actor, &mail).await?;
    jobs::get_sent_mail(store, mail_id)
        .await?
        .ok_or_else(|| StoreError::not_found("sent_mail", mail_id))
}

/// One line of a record's timeline: an activity or comment (from `followups::timeline`)
/// or an e-mail sent about the record (`module` = `Emails`, `status` queued/sent/failed).
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct TimelineEntry {
    pub module: String,
    pub id: i64,
    pub title: String,
    pub status: String,
    pub kind: String,
    /// As in `followups::TimelineItem`; for e-mails `YYYY-MM-DD HH:MM` in the actor's zone.
    pub when: String,
    pub text: String,
    /// For e-mails: the recipients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// For an e-mail that failed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    sort_key: String,
}

fn local_key(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The record's timeline with its e-mails among the activities and comments, newest first.
pub async fn timeline(store: &Store, actor: &Actor, module: &str, id: i64) -> StoreResult<Vec<TimelineEntry>> {
    let items = crate::followups::timeline(store, actor, module, id).await?;
    let mails = jobs::mail_for_record(store, actor, module, id).await?;
    let tz = actor.tz();
    let mut out: Vec<TimelineEntry> = items
        .into_iter()
        .map(|i| {
            // The same order followups uses: local time of day, comments converted to it.
            let sort_key = if i.module == "Comments" {
                i.when
                    .parse::<jiff::Timestamp>()
                    .map(|t| local_key(t, tz))
                    .unwrap_or_default()
            } else {
                i.when.replacen(' ', "T", 1)
            };
            TimelineEntry {
                module: i.module,
                id: i.id,
                title: i.title,
                status: i.status,
                kind: i.kind,
                when: i.when,
                text: i.text,
                to: Vec::new(),
                error: None,
                sort_key,
            }
        })
        .collect();
    for m in mails {
        let at = jiff::Timestamp::from_millisecond(m.sent_at.unwrap_or(m.created_at)).unwrap_or_default();
        let local = at.to_zoned_datetime(tz.clone());
        out.push(TimelineEntry {
            module: "Emails".into(),
            id: m.id,
            title: m.subject,
            status: m.status,
            kind: String::new(),
            when: local.strftime("%Y-%m-%d %H:%M").to_string(),
            text: m.body,
            to: m.to,
            error: m.error,
            sort_key: local_key(at, tz),
        });
    }
    // Stable: entries of equal time keep followups' order, e-mails after them.
    out.sort_by(|a, b| b.sort_key.cmp(&a.sort_key));
    Ok(out)
}
