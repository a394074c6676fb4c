//! Mass actions on selected rows of a list: transfer to another owner, set one field,
//! delete. Each record goes through the record service, so permissions, validation and
//! history apply to every one of them exactly as for a single edit. Records that could not
//! be changed are listed with the reason, not just counted.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;
use crate::extract::parse_id;

/// Most records one mass action touches (one list page is 50).
const MAX_BULK: usize = 500;

#[derive(Serialize)]
struct Failure {
    label: String,
    href: String,
    reason: String,
}

#[derive(Serialize)]
struct ResultPage {
    layout: Layout,
    lang: &'static str,
    summary: String,
    failures: Vec<Failure>,
    back: String,
}

/// The input of a mass edit: the chosen field with the value(s) its widget sent, parsed
/// like the same field in the record form.
fn edit_input(state_module: &sable_core::ModuleDef, form: &[(String, String)]) -> Option<Map<String, Json>> {
    let field = form_value(form, "field")?;
    let values: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| k == "value")
        .map(|(_, v)| (field.to_string(), v.clone()))
        .collect();
    if values.is_empty() {
        return None;
    }
    let (input, _) = super::form::form_input(state_module, &values, false);
    input.contains_key(field).then_some(input)
}

/// `POST /m/{module}/bulk` with `ids`, `action` = transfer | edit | delete, and `owner`
/// or `field` + `value`.
pub async fn apply(State(state): State<AppState>, user: UiUser, Path(module): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let ids: Vec<i64> = form
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| parse_id(v).ok())
        .take(MAX_BULK)
        .collect();
    if ids.is_empty() {
        return see_other(&format!("/m/{module}?flash=bulk_none"));
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Ok(m) = registry.module(&module) else {
        return super::error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let action = form_value(&form, "action").unwrap_or("");
    let input: Option<Map<String, Json>> = match action {
        "transfer" => {
            form_value(&form, "owner").map(|o| [("assigned_user_id".to_string(), json!(o))].into_iter().collect())
        }
        "edit" => edit_input(m, &form),
        _ => None,
    };
    let svc = state.store.records(&user.actor);
    let mut done = 0usize;
    let mut failed: Vec<(i64, String)> = Vec::new();
    for id in &ids {
        let result = match (action, &input) {
            ("delete", _) => svc.delete(&module, *id).await,
            (_, Some(input)) => svc.update(&module, *id, None, input).await.map(|_| ()),
            _ => return see_other(&format!("/m/{module}?flash=bulk_none")),
        };
        match result {
            Ok(()) => done += 1,
            Err(e @ sable_store::StoreError::Other(_)) => return store_error_page(user.lang, e),
            Err(e) => failed.push((*id, store_message(user.lang, &e))),
        }
    }
    if failed.is_empty() {
        return see_other(&format!("/m/{module}?flash=bulk_done&done={done}&failed=0"));
    }
    let failed_ids: Vec<i64> = failed.iter().map(|(id, _)| *id).collect();
    let labels = svc.labels_of(&failed_ids).await.unwrap_or_default();
    let c = Catalogs::embedded();
    let failures = failed
        .into_iter()
        .map(|(id, reason)| Failure {
            label: labels.get(&id).cloned().unwrap_or_else(|| id.to_string()),
            href: format!("/m/{module}/{id}"),
            reason,
        })
        .collect::<Vec<_>>();
    let summary = fill(
        c.get(user.lang, "bulk_partly"),
        &[("done", done.to_string()), ("failed", failures.len().to_string())],
    );
    let page = ResultPage {
        layout: Layout::new(
            &user,
            &registry,
            c.get(user.lang, "bulk_result_title").into(),
            &module,
            None,
        ),
        lang: user.lang.tag(),
        summary,
        failures,
        back: format!("/m/{module}"),
    };
    let mut response = render("pages/bulk_result.html", &page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}
