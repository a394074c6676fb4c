//! Sending one e-mail from a record over JSON: a template or free text, queued through
//! the same mail job as workflow e-mail and logged on the record's timeline. The store
//! (`sable_store::record_email`) checks that the caller may see the record.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::record_email::{self, RecordEmail};
use sable_store::{jobs, workflow_views};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

/// `POST /records/{module}/{id}/email` with `{"to","template_id"|"subject"+"body","lang","idempotency_key"}`
/// → 202 with the queued e-mail (its `status` becomes `sent` or `failed`).
pub async fn send(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RecordEmail>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let mail = send_as(&state, &actor, &module, id, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(mail))))
}

/// Reads the record as the actor (one they may not see is "not found"), builds what
/// templates see of it the way workflows do but with the actor's permissions (a linked
/// record hidden from them shows no fields), and queues the e-mail.
pub(crate) async fn send_as(
    state: &AppState,
    actor: &sable_store::Actor,
    module: &str,
    id: i64,
    req: &RecordEmail,
) -> Result<sable_store::jobs::SentMail, sable_store::StoreError> {
    let record = state.store.records(actor).get(module, id).await?;
    let ctx = sable_workflow::context::build_as(&state.store, actor, record.clone()).await?;
    record_email::send_record_email(&state.store, actor, &record, &ctx.json, req).await
}

/// `GET /records/{module}/{id}/emails` → the e-mails about a record, newest first.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let items = jobs::mail_for_record(&state.store, &actor, &module, id).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /emails/{id}` → one e-mail, for its sender, an administrator or whoever sees its record.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(json!(
        workflow_views::mail_for_sender(&state.store, &actor, id).await?
    )))
}
