//! Follow-ups and the activity timeline of a record, over JSON.
//! Handlers parse and render; the rules live in `sable_store::followups`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::followups::{self, NewFollowup};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

/// `POST /records/{module}/{id}/followups` with `{"summary","outcome","kind","next_date"}`
/// → 201 with what was created and the record's new follow-up figures.
pub async fn log(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NewFollowup>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let logged = followups::log_followup(&state.store, &actor, &module, id, &body).await?;
    state.metrics.record_written(&logged.module, "create");
    let record = state.store.records(&actor).get(&module, id).await?;
    let registry = state.store.registry().await?;
    let m = registry.module(&module).map_err(sable_store::StoreError::from)?;
    let wire = record.to_json(m);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "module": logged.module,
            "id": logged.id,
            "next_task_id": logged.next_task_id,
            "followup_count": wire["fields"]["followup_count"],
            "last_contacted": wire["fields"]["last_contacted"],
            "next_followup": wire["fields"]["next_followup"],
        })),
    ))
}

/// `GET /records/{module}/{id}/timeline` → linked activities, comments and e-mails, newest first.
pub async fn timeline(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let items = sable_store::record_email::timeline(&state.store, &actor, &module, id).await?;
    Ok(Json(json!({ "items": items })))
}
