//! Workflows over JSON (administrators): create, read, replace, delete, enable and
//! disable; a workflow's run log and retrying a failed run. Definitions are checked
//! against the metadata by the store (`sable_store::workflows`), which also refuses
//! non-administrators; the shape of a body is checked here, naming the place of a fault.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_core::workflow::WorkflowDef;
use sable_store::workflows;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, ApiUser, parse_id};

/// A 403 before any work for someone who is not an administrator (the store refuses too).
pub(crate) fn admin_only(actor: &sable_store::Actor) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("only administrators manage workflows".into()))
    }
}

/// `GET /workflows` → every workflow with its last run's status.
pub async fn list(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let mut items = Vec::new();
    for wf in workflows::list_workflows(&state.store, &actor, None).await? {
        let last = workflows::list_runs(&state.store, &actor, wf.id, None, 1).await?;
        let mut v = serde_json::to_value(&wf).map_err(anyhow::Error::from)?;
        v["last_run"] = last.first().map_or(
            Value::Null,
            |r| json!({"id": r.id, "status": r.status, "created_at": r.created_at}),
        );
        items.push(v);
    }
    Ok(Json(json!({ "items": items })))
}

/// `POST /workflows` with a definition → 201 with the stored workflow.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(def): ApiJson<WorkflowDef>,
) -> AppResult<(StatusCode, Json<Value>)> {
    admin_only(&actor)?;
    let wf = workflows::create_workflow(&state.store, &actor, &def).await?;
    Ok((StatusCode::CREATED, Json(json!(wf))))
}

/// `GET /workflows/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(workflows::get_workflow(&state.store, &actor, id).await?)))
}

/// `PUT /workflows/{id}` with the whole definition.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiJson(def): ApiJson<WorkflowDef>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(
        workflows::update_workflow(&state.store, &actor, id, &def).await?
    )))
}

/// `DELETE /workflows/{id}` → 204; the run log stays.
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    workflows::delete_workflow(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /workflows/{id}/enable` (re-checks the definition against today's metadata).
pub async fn enable(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(
        workflows::set_enabled(&state.store, &actor, id, true).await?
    )))
}

/// `POST /workflows/{id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(
        workflows::set_enabled(&state.store, &actor, id, false).await?
    )))
}

/// Paging of the run log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Runs older than this run id.
    before: Option<i64>,
    /// At most this many (1–500, 50 by default).
    limit: Option<i64>,
}

/// `GET /workflows/{id}/runs?before=&limit=` → runs newest first, each with its actions,
/// and `next_before` to page back.
pub async fn runs(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    workflows::get_workflow(&state.store, &actor, id).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let items = workflows::list_runs(&state.store, &actor, id, q.before, limit).await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next_before })))
}

/// `POST /workflow-runs/{id}/retry`: a failed run is queued again; its finished actions are kept.
pub async fn retry(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(workflows::retry_run(&state.store, &actor, id).await?)))
}
