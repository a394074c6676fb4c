//! Sales stages (administrators change them, everyone reads them), an opportunity's
//! stage history and its checklist. Rules live in `sable_store::stages`.

use axum::Json;
use axum::extract::{Path, State};
use sable_store::StoreError;
use sable_store::stages::{self, StageDef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

/// `GET /stages`.
pub async fn list(State(state): State<AppState>, ApiUser(_actor): ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(json!({"items": stages::list_stages(&state.store).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesBody {
    items: Vec<StageDef>,
}

/// `PUT /stages` (administrators): the whole ordered list.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<StagesBody>,
) -> AppResult<Json<Value>> {
    let saved = stages::set_stages(&state.store, &actor, body.items).await?;
    Ok(Json(json!({"items": saved})))
}

fn opportunity(module: &str, id: &str) -> AppResult<i64> {
    let id = parse_id(id)?;
    if module != stages::MODULE {
        return Err(StoreError::not_found(module, id).into());
    }
    Ok(id)
}

/// `GET /records/Opportunities/{id}/stages`: each stage entered, when, by whom, days spent.
pub async fn history(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = opportunity(&module, &id)?;
    Ok(Json(
        json!({"items": stages::stage_history(&state.store, &actor, id).await?}),
    ))
}

/// `GET /records/Opportunities/{id}/checklist`: the current stage's guidance and items.
pub async fn checklist(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = opportunity(&module, &id)?;
    Ok(Json(stage_checklist(&state, &actor, id).await?))
}

async fn stage_checklist(state: &AppState, actor: &sable_store::Actor, id: i64) -> AppResult<Value> {
    let record = state.store.records(actor).get(stages::MODULE, id).await?;
    let current = match record.values.get("sales_stage") {
        Some(sable_core::Value::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let stage = stages::stage(&state.store, &current).await?;
    let ticked = stages::ticked_items(&state.store, actor, id, &current).await?;
    let items: Vec<Value> = stage
        .as_ref()
        .map(|s| {
            s.checklist
                .iter()
                .enumerate()
                .map(|(i, l)| json!({"item": i, "labels": l, "done": ticked.contains(&(i as u32))}))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "stage": current,
        "guidance": stage.as_ref().map(|s| &s.guidance),
        "items": items,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickBody {
    stage: String,
    item: u32,
    done: bool,
}

/// `PUT /records/Opportunities/{id}/checklist`: ticks or unticks one item.
pub async fn tick(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TickBody>,
) -> AppResult<Json<Value>> {
    let id = opportunity(&module, &id)?;
    stages::set_item(&state.store, &actor, id, &body.stage, body.item, body.done).await?;
    Ok(Json(stage_checklist(&state, &actor, id).await?))
}
