//! Web forms (administrators): CRUD, with the hosted page address and an HTML snippet
//! to paste into any website. Definitions live in `sable_store::webforms`; the public
//! endpoints are `crate::forms`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::webforms::{self, Form, NewForm};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

/// The wire form: the stored form plus where it lives and how to embed it.
pub(crate) fn wire(form: &Form, registry: &sable_core::Registry) -> Value {
    let mut v = json!(form);
    v["hosted_path"] = json!(format!("/forms/{}", form.public_id));
    v["snippet"] = json!(crate::forms::snippet(form, registry, "https://YOUR-SABLE-HOST"));
    v
}

/// `GET /webforms`.
pub async fn list(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    let registry = state.store.registry().await?;
    let items: Vec<Value> = webforms::list_forms(&state.store, &actor)
        .await?
        .iter()
        .map(|f| wire(f, &registry))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `POST /webforms`.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<NewForm>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let form = webforms::create_form(&state.store, &actor, &body).await?;
    let registry = state.store.registry().await?;
    Ok((StatusCode::CREATED, Json(wire(&form, &registry))))
}

/// `GET /webforms/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let form = webforms::get_form(&state.store, &actor, id).await?;
    let registry = state.store.registry().await?;
    Ok(Json(wire(&form, &registry)))
}

/// `PUT /webforms/{id}`.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewForm>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let form = webforms::update_form(&state.store, &actor, id, &body).await?;
    let registry = state.store.registry().await?;
    Ok(Json(wire(&form, &registry)))
}

/// `DELETE /webforms/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    webforms::delete_form(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /webforms/{id}/submissions`: the latest 200, newest first.
pub async fn submissions(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    webforms::get_form(&state.store, &actor, id).await?;
    Ok(Json(
        json!({"items": webforms::submissions(&state.store, &actor, id, 200).await?}),
    ))
}
