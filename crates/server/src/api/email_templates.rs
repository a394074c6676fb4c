//! E-mail templates over JSON: everyone may list and read them (to send one from a
//! record); administrators create, replace and delete them. Rules live in
//! `sable_store::email_templates`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::email_templates::{self, TemplateContent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiQuery, ApiUser, parse_id};

/// Which templates to list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Those for this module and those for any module.
    module: Option<String>,
}

/// `GET /email-templates?module=` → templates by name.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(_actor): ApiUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Value>> {
    let items = email_templates::list_templates(&state.store, q.module.as_deref()).await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /email-templates` (administrators) → 201 with the stored template.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<TemplateContent>,
) -> AppResult<(StatusCode, Json<Value>)> {
    super::workflows::admin_only(&actor)?;
    let t = email_templates::create_template(&state.store, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(t))))
}

/// `GET /email-templates/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(_actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(json!(email_templates::get_template(&state.store, id).await?)))
}

/// `PUT /email-templates/{id}` (administrators) with the whole template.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TemplateContent>,
) -> AppResult<Json<Value>> {
    super::workflows::admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(
        email_templates::update_template(&state.store, &actor, id, &body).await?
    )))
}

/// `DELETE /email-templates/{id}` (administrators) → 204.
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    super::workflows::admin_only(&actor)?;
    let id = parse_id(&id)?;
    email_templates::delete_template(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
