//! Assignment rules (administrators): CRUD and the decision log. Rules and decisions
//! live in `sable_store::assignment`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::assignment::{self, NewRule};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

/// `GET /assignment-rules`.
pub async fn list(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(
        json!({"items": assignment::list_rules(&state.store, &actor).await?}),
    ))
}

/// `POST /assignment-rules`.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<NewRule>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let rule = assignment::create_rule(&state.store, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(rule))))
}

/// `GET /assignment-rules/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let rule = assignment::get_rule(&state.store, &actor, id).await?;
    let pointers = assignment::pointers(&state.store, &actor, id).await?;
    let mut v = json!(rule);
    v["pointers"] = json!(pointers.into_iter().collect::<std::collections::BTreeMap<_, _>>());
    Ok(Json(v))
}

/// `PUT /assignment-rules/{id}`.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewRule>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(json!(
        assignment::update_rule(&state.store, &actor, id, &body).await?
    )))
}

/// `DELETE /assignment-rules/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    assignment::delete_rule(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /assignment-rules/{id}/log`: the latest 200 decisions, newest first.
pub async fn log(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    assignment::get_rule(&state.store, &actor, id).await?;
    Ok(Json(
        json!({"items": assignment::log_for_rule(&state.store, &actor, id, 200).await?}),
    ))
}
