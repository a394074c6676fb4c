//! Saving and deleting list views from the list page.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use sable_store::views::{ViewDefinition, create_view, delete_view};

use super::filters;
use super::session::UiUser;
use super::{csrf_refused, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

/// `POST /m/{module}/views`: saves the builder's conditions, chosen columns and sort.
pub async fn save(State(state): State<AppState>, user: UiUser, Path(module): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let builder = filters::conditions(&form);
    let definition = ViewDefinition {
        filter: filters::tree(&builder),
        columns: form
            .iter()
            .filter(|(k, _)| k == "col")
            .map(|(_, v)| v.clone())
            .collect(),
        sort: form_value(&form, "sort").filter(|s| !s.is_empty()).map(str::to_string),
        desc: form_value(&form, "dir") == Some("desc"),
    };
    let name = form_value(&form, "name").unwrap_or("");
    let shared = form_value(&form, "shared").is_some();
    match create_view(&state.store, &user.actor, &module, name, shared, &definition).await {
        Ok(id) => see_other(&format!("/m/{module}?view={id}&flash=view_saved")),
        Err(e @ (sable_store::StoreError::Refused(_) | sable_store::StoreError::BadFilter(_))) => {
            let mut pairs: Vec<(String, String)> = form
                .into_iter()
                .filter(|(k, _)| matches!(k.as_str(), "f" | "o" | "v" | "g" | "r" | "n" | "m" | "m1" | "m2" | "m3"))
                .collect();
            // A message key, never text: the list page shows only catalogue messages.
            let key = match e.refusal() {
                Some(r) if r.key == "refused_view_name" => "view_name_invalid",
                Some(r) if r.key == "refused_view_column" => "view_column_invalid",
                _ => "view_filter_invalid",
            };
            pairs.push(("error".into(), key.into()));
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            see_other(&format!("/m/{module}?{query}"))
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /m/{module}/views/{id}/delete`.
pub async fn delete(
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
        return see_other(&format!("/m/{module}"));
    };
    match delete_view(&state.store, &user.actor, id).await {
        Ok(()) => see_other(&format!("/m/{module}?flash=view_deleted")),
        Err(e) => store_error_page(user.lang, e),
    }
}
