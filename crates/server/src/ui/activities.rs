//! The activity tab of a lead, contact, organization or opportunity: its follow-up
//! figures, the "log a follow-up" form, and the timeline of linked activities and comments.
//! The tab's content is a partial loaded by htmx; logging posts a plain form (CSRF-checked)
//! and goes through `sable_store::followups`, which writes through the record service.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::registry::FOLLOWUP_MODULES;
use sable_core::{Registry, Value};
use sable_store::followups::{self, FollowupKind, NewFollowup};
use serde::Serialize;

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{csrf_refused, error_page, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Serialize)]
struct ItemView {
    module: String,
    href: String,
    title: String,
    status: String,
    kind: String,
    when: String,
    text: String,
}

#[derive(Serialize)]
struct TimelinePartial {
    lang: &'static str,
    csrf: String,
    module: String,
    id: i64,
    deleted: bool,
    followup_count: String,
    last_contacted: String,
    next_followup: String,
    items: Vec<ItemView>,
}

/// A picklist value's label in the reader's language.
fn value_label(registry: &Registry, picklist: &str, value: &str, user: &UiUser) -> String {
    registry
        .picklist(picklist)
        .and_then(|p| p.values.iter().find(|v| v.value == value))
        .map_or_else(|| value.to_string(), |v| v.labels.get(user.lang).to_string())
}

/// `GET /m/{module}/{id}/activities`: the tab's content.
pub async fn tab(State(state): State<AppState>, user: UiUser, Path((module, id)): Path<(String, String)>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    if !FOLLOWUP_MODULES.contains(&module.as_str()) {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let record = match state
        .store
        .records(&user.actor)
        .get_including_deleted(&module, id)
        .await
    {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let items = match sable_store::record_email::timeline(&state.store, &user.actor, &module, id).await {
        Ok(items) => items,
        Err(e) => return store_error_page(user.lang, e),
    };
    let viewer = user.viewer();
    let items = items
        .into_iter()
        .map(|i| ItemView {
            href: if i.module == "Comments" {
                format!("/m/{module}/{id}?tab=comments")
            } else if i.module == "Emails" {
                format!("/m/{module}/{id}?tab=activities")
            } else {
                format!("/m/{}/{}", i.module, i.id)
            },
            status: match i.module.as_str() {
                "Tasks" => value_label(&registry, "taskstatus", &i.status, &user),
                "Events" => value_label(&registry, "eventstatus", &i.status, &user),
                "Emails" => super::record_email::mail_status_label(user.lang, &i.status, i.error.as_deref(), &i.to),
                _ => String::new(),
            },
            kind: if i.module == "Events" {
                value_label(&registry, "activitytype", &i.kind, &user)
            } else {
                String::new()
            },
            when: if i.module == "Comments" {
                i.when
                    .parse::<jiff::Timestamp>()
                    .map(|t| viewer.datetime(t))
                    .unwrap_or(i.when.clone())
            } else {
                i.when.clone()
            },
            module: i.module,
            title: i.title,
            text: i.text,
        })
        .collect();
    let page = TimelinePartial {
        lang: user.lang.tag(),
        csrf: user.session.csrf_token.clone(),
        module: module.clone(),
        id,
        deleted: record.deleted_at.is_some(),
        followup_count: match record.values.get("followup_count") {
            Some(Value::Int(n)) => n.to_string(),
            _ => "0".into(),
        },
        last_contacted: match record.values.get("last_contacted") {
            Some(Value::DateTime(t)) => viewer.datetime(t),
            _ => String::new(),
        },
        next_followup: match record.values.get("next_followup") {
            Some(Value::Date(d)) => viewer.date(*d),
            _ => String::new(),
        },
        items,
    };
    render("partials/activity_timeline.html", &page)
}

#[derive(Serialize)]
struct Refused {
    lang: &'static str,
    title: String,
    message: String,
    back: String,
    asset_version: &'static str,
}

/// `POST /m/{module}/{id}/followups`: logs a follow-up and returns to the activity tab.
pub async fn log(
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
    let kind = match form_value(&form, "kind") {
        Some("call") => FollowupKind::Call,
        Some("meeting") => FollowupKind::Meeting,
        Some("visit") => FollowupKind::Visit,
        _ => FollowupKind::Task,
    };
    let new = NewFollowup {
        summary: form_value(&form, "summary").unwrap_or_default().to_string(),
        outcome: form_value(&form, "outcome").map(str::to_string),
        kind,
        next_date: form_value(&form, "next_date").map(str::to_string),
        next_subject: None,
    };
    match followups::log_followup(&state.store, &user.actor, &module, id, &new).await {
        Ok(_) => see_other(&format!("/m/{module}/{id}?tab=activities")),
        Err(e @ (sable_store::StoreError::Invalid(_) | sable_store::StoreError::Refused(_))) => {
            let c = Catalogs::embedded();
            let page = Refused {
                lang: user.lang.tag(),
                title: c.get(user.lang, "act_followup_refused").into(),
                message: store_message(user.lang, &e),
                back: c.get(user.lang, "error_back").into(),
                asset_version: super::assets::VERSION,
            };
            let mut response = render("pages/error.html", &page);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(e) => store_error_page(user.lang, e),
    }
}
