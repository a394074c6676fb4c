//! Mass actions on selected rows of a list: transfer to another owner, set one field,
//! delete. Each record goes through the record service, so permissions, validation and
//! history apply to every one of them exactly as for a single edit.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value as Json, json};

use super::session::UiUser;
use super::{csrf_refused, form_value, parse_form, see_other};
use crate::AppState;
use crate::extract::parse_id;

/// Most records one mass action touches (one list page is 50).
const MAX_BULK: usize = 500;

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
    let action = form_value(&form, "action").unwrap_or("");
    let input: Option<Map<String, Json>> = match action {
        "transfer" => {
            form_value(&form, "owner").map(|o| [("assigned_user_id".to_string(), json!(o))].into_iter().collect())
        }
        "edit" => match (form_value(&form, "field"), form_value(&form, "value")) {
            (Some(f), Some(v)) => Some([(f.to_string(), json!(v))].into_iter().collect()),
            _ => None,
        },
        _ => None,
    };
    let svc = state.store.records(&user.actor);
    let (mut done, mut failed) = (0usize, 0usize);
    for id in &ids {
        let result = match (action, &input) {
            ("delete", _) => svc.delete(&module, *id).await,
            (_, Some(input)) => svc.update(&module, *id, None, input).await.map(|_| ()),
            _ => return see_other(&format!("/m/{module}?flash=bulk_none")),
        };
        match result {
            Ok(()) => done += 1,
            Err(e @ sable_store::StoreError::Other(_)) => return super::store_error_page(user.lang, e),
            Err(_) => failed += 1,
        }
    }
    let flash = if failed == 0 { "bulk_done" } else { "bulk_partly" };
    see_other(&format!("/m/{module}?flash={flash}&done={done}&failed={failed}"))
}
