//! "Send e-mail" from any record page: choose a template (rendered over the record) or
//! write the text, check the recipient, send. The e-mail is queued through the same mail
//! job as workflow e-mail (`sable_store::record_email`), which also checks that the user
//! may see the record, and it appears on the record's activity timeline.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::Lang;
use sable_store::record_email::{self, RecordEmail};
use sable_store::{StoreError, email_templates};
use serde::{Deserialize, Serialize};

use super::filters::Choice;
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

/// A timeline e-mail's status in a language, with its recipients and error.
pub fn mail_status_label(lang: Lang, status: &str, error: Option<&str>, to: &[String]) -> String {
    let c = Catalogs::embedded();
    let mut text = format!("{} → {}", c.get(lang, &format!("wfui_mail_{status}")), to.join(", "));
    if let Some(e) = error {
        text.push_str(&format!(" ({e})"));
    }
    text
}

/// The form as typed.
#[derive(Serialize, Default)]
struct Typed {
    to: String,
    template_id: String,
    subject: String,
    body: String,
    lang: String,
}

/// An e-mail sent about the record before, as the page lists it.
#[derive(Serialize)]
struct Sent {
    subject: String,
    to: String,
    status: String,
    when: String,
    error: String,
}

#[derive(Serialize)]
struct EmailPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    id: i64,
    label: String,
    templates: Vec<Choice>,
    addresses: Vec<String>,
    f: Typed,
    /// Makes a double click send once.
    key: String,
    error: Option<String>,
    sent: Vec<Sent>,
    queued: bool,
}

#[derive(Deserialize)]
pub struct Params {
    template: Option<String>,
    /// Just queued one (the page says so).
    sent: Option<String>,
}

async fn page(
    state: &AppState,
    user: &UiUser,
    module: &str,
    id: i64,
    typed: Option<Typed>,
    error: Option<String>,
    queued: bool,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Ok(m) = registry.module(module) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    // The record is read as the user: one they may not see is "not found".
    let record = match state.store.records(&user.actor).get(module, id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let templates = match email_templates::list_templates(&state.store, Some(module)).await {
        Ok(list) => list
            .into_iter()
            .map(|t| Choice {
                value: t.id.to_string(),
                label: t.content.name,
            })
            .collect(),
        Err(e) => return store_error_page(user.lang, e),
    };
    let addresses = record_email::record_addresses(&record, m);
    let viewer = user.viewer();
    let sent = match sable_store::jobs::mail_for_record(&state.store, &user.actor, module, id).await {
        Ok(list) => list
            .into_iter()
            .map(|mail| Sent {
                when: jiff::Timestamp::from_millisecond(mail.sent_at.unwrap_or(mail.created_at))
                    .map(|t| viewer.datetime(t))
                    .unwrap_or_default(),
                status: mail.status,
                to: mail.to.join(", "),
                error: mail.error.unwrap_or_default(),
                subject: mail.subject,
            })
            .collect(),
        Err(e) => return store_error_page(user.lang, e),
    };
    let f = typed.unwrap_or_else(|| Typed {
        to: addresses.first().cloned().unwrap_or_default(),
        lang: user.lang.tag().to_string(),
        ..Typed::default()
    });
    let c = Catalogs::embedded();
    let title = fill(c.get(user.lang, "wfui_send_title"), &[("record", record.label.clone())]);
    let key = match sable_store::users::random_secret("e") {
        Ok(k) => k,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let page = EmailPage {
        layout: Layout::new(user, &registry, title, module, None),
        lang: user.lang.tag(),
        module: module.to_string(),
        id,
        label: record.label,
        templates,
        addresses,
        f,
        key,
        error,
        sent,
        queued,
    };
    render("pages/record_email.html", &page)
}

/// `GET /m/{module}/{id}/email?template=`.
pub async fn form(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    Query(p): Query<Params>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let typed = p.template.map(|t| Typed {
        template_id: t,
        lang: user.lang.tag().to_string(),
        ..Typed::default()
    });
    // A template chosen in the link still gets the record's address.
    let typed = match typed {
        Some(mut t) => {
            if let Ok(r) = state.store.records(&user.actor).get(&module, id).await
                && let Ok(reg) = state.store.registry().await
                && let Ok(m) = reg.module(&module)
            {
                t.to = record_email::record_addresses(&r, m)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
            }
            Some(t)
        }
        None => None,
    };
    page(&state, &user, &module, id, typed, None, p.sent.is_some()).await
}

/// `POST /m/{module}/{id}/email`: queues the e-mail and goes back to the record's timeline.
pub async fn send(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let get = |k: &str| form_value(&form, k).unwrap_or("").to_string();
    let typed = Typed {
        to: get("to"),
        template_id: get("template_id"),
        subject: get("subject"),
        body: get("body"),
        lang: get("lang"),
    };
    let template_id = match typed.template_id.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return page(&state, &user, &module, id, Some(typed), None, false).await,
        },
    };
    let req = RecordEmail {
        to: super::workflow_form::split_addresses(&typed.to),
        template_id,
        subject: (!typed.subject.trim().is_empty()).then(|| typed.subject.clone()),
        body: Some(typed.body.clone()),
        lang: (!typed.lang.is_empty()).then(|| typed.lang.clone()),
        idempotency_key: form_value(&form, "key")
            .filter(|k| !k.is_empty() && k.len() <= 100)
            .map(|k| format!("record-mail:{}:{k}", user.actor.user_id())),
    };
    match crate::api::record_email::send_as(&state, &user.actor, &module, id, &req).await {
        Ok(_) => {
            // Records with an activity timeline show it there; others on this page's list.
            if sable_core::registry::FOLLOWUP_MODULES.contains(&module.as_str()) {
                see_other(&format!(
                    "/m/{module}/{id}?tab=activities&flash=wfui_email_queued#activities"
                ))
            } else {
                see_other(&format!("/m/{module}/{id}/email?sent=1"))
            }
        }
        Err(e @ (StoreError::Refused(_) | StoreError::BadRequest(_))) => {
            let text = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            page(&state, &user, &module, id, Some(typed), Some(text), false).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}
