//! Editing one field in place on the detail page (htmx swaps the `<dd>`), through the
//! record service with the version the page showed, like any other edit.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::FieldType;
use sable_store::{Conflict, Record, StoreError};
use serde::{Deserialize, Serialize};

use super::detail::FieldView;
use super::form::{ConflictRow, InputView, Values, conflict_rows, form_input, input_view, record_values};
use super::format::display_value;
use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{csrf_refused, error_page, form_value, parse_form, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Deserialize)]
pub struct InlineParams {
    mode: Option<String>,
}

#[derive(Serialize)]
struct ValueContext {
    lang: &'static str,
    module: String,
    id: i64,
    f: FieldView,
}

#[derive(Serialize)]
struct FormContext {
    lang: &'static str,
    module: String,
    id: i64,
    version: i64,
    csrf: String,
    f: InputView,
    message: Option<String>,
    /// Another user's changes, when they saved first.
    conflict: Vec<ConflictRow>,
}

struct Target {
    registry: std::sync::Arc<sable_core::Registry>,
    module: sable_core::ModuleDef,
    id: i64,
}

async fn target(state: &AppState, user: &UiUser, module: &str, id: &str, field: &str) -> Result<Target, Response> {
    let not_found = || error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    let id = parse_id(id).map_err(|_| not_found())?;
    let registry = state
        .store
        .registry()
        .await
        .map_err(|e| store_error_page(user.lang, e.into()))?;
    let m = registry.module(module).map_err(|_| not_found())?.clone();
    let editable = m
        .field(field)
        .is_some_and(|f| !f.readonly && f.field_type != FieldType::AutoNumber);
    if !m.entity || !editable {
        return Err(not_found());
    }
    Ok(Target {
        registry,
        module: m,
        id,
    })
}

fn show_value(user: &UiUser, t: &Target, record: &Record, field: &str) -> Response {
    let Some(f) = t.module.field(field) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let view = FieldView {
        name: f.name.clone(),
        label: f.label(user.lang).into(),
        value: display_value(
            &t.registry,
            f,
            record.values.get(&f.name),
            record.labels.get(&f.name).map(String::as_str),
            &user.viewer(),
        ),
        editable: true,
    };
    render(
        "partials/inline_value.html",
        &ValueContext {
            lang: user.lang.tag(),
            module: t.module.name.clone(),
            id: t.id,
            f: view,
        },
    )
}

async fn show_form(
    state: &AppState,
    user: &UiUser,
    t: &Target,
    field: &str,
    values: &Values,
    version: i64,
    (message, conflict): (Option<String>, Vec<ConflictRow>),
) -> Response {
    let Some(f) = t.module.field(field) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let users = sable_store::users::list_users(&state.store).await.unwrap_or_default();
    let view = input_view(&t.registry, &users, f, values, None, user.lang);
    let context = FormContext {
        lang: user.lang.tag(),
        module: t.module.name.clone(),
        id: t.id,
        version,
        csrf: user.session.csrf_token.clone(),
        f: view,
        message,
        conflict,
    };
    render("partials/inline_form.html", &context)
}

/// `GET /m/{module}/{id}/inline/{field}`: the one-field form (or `?mode=show`: the value).
pub async fn edit(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id, field)): Path<(String, String, String)>,
    Query(p): Query<InlineParams>,
) -> Response {
    let t = match target(&state, &user, &module, &id, &field).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let record = match state.store.records(&user.actor).get(&t.module.name, t.id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    if p.mode.as_deref() == Some("show") {
        return show_value(&user, &t, &record, &field);
    }
    let values = record_values(&t.module, &record, user.actor.tz());
    show_form(&state, &user, &t, &field, &values, record.version, (None, Vec::new())).await
}

/// `POST /m/{module}/{id}/inline/{field}`: saves the one field; the value again on success,
/// the form with the error (or the other user's change) otherwise.
pub async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let t = match target(&state, &user, &module, &id, &field).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let version = form_value(&form, "_version").and_then(|v| v.parse::<i64>().ok());
    let (mut input, raw) = form_input(&t.module, &form, false);
    input.retain(|k, _| *k == field);
    let svc = state.store.records(&user.actor);
    match svc.update(&t.module.name, t.id, version, &input).await {
        Ok(record) => show_value(&user, &t, &record, &field),
        Err(StoreError::Invalid(errors)) => {
            let message = errors.0.get(&field).map(|e| e.message(user.lang));
            show_form(
                &state,
                &user,
                &t,
                &field,
                &raw,
                version.unwrap_or(0),
                (message, Vec::new()),
            )
            .await
        }
        Err(StoreError::Conflict(conflict @ Conflict::StaleVersion { .. })) => {
            let current_version = match &conflict {
                Conflict::StaleVersion { current_version, .. } => *current_version,
                Conflict::State(_) => version.unwrap_or(0),
            };
            let message = Some(Catalogs::embedded().get(user.lang, "form_conflict_title").to_string());
            let rows = conflict_rows(&svc, &t.registry, &t.module, &conflict, &user).await;
            show_form(&state, &user, &t, &field, &raw, current_version, (message, rows)).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}
