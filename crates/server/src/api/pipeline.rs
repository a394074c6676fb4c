//! The pipeline board over JSON: `GET /pipeline?owner=&account=&period=`. The figures are
//! aggregated by `sable_store::pipeline::board`; this module parses and renders.

use axum::Json;
use axum::extract::{Query, State};
use sable_core::value::format_scaled;
use sable_store::pipeline::{self, BoardFilter};
use sable_store::stages::{self, MODULE};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::ApiUser;

#[derive(Deserialize)]
pub struct BoardParams {
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    period: Option<String>,
}

fn id_param(name: &'static str, raw: Option<&str>) -> AppResult<Option<i64>> {
    match raw.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            super::bad_param(
                "bad_filter",
                "api5_bad_filter",
                &[("name", name.to_string()), ("value", v.to_string())],
            )
        }),
    }
}

/// `GET /pipeline` → `{"stages": [{value, kind, count, total, weighted}], "cards": [record…]}`;
/// amounts are exact decimal strings in the base currency.
pub async fn board(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(p): Query<BoardParams>,
) -> AppResult<Json<Value>> {
    let owner = id_param("owner", p.owner.as_deref())?;
    let account = id_param("account", p.account.as_deref())?;
    let range = match p.period.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            sable_store::pipeline::close_period(v, actor.tz())
                .ok_or_else(|| super::bad_param("bad_period", "api5_bad_period", &[("value", v.to_string())]))?,
        ),
    };
    let filter = BoardFilter {
        owner,
        account,
        close_from: range.as_ref().map(|r| r.0.clone()),
        close_to: range.as_ref().map(|r| r.1.clone()),
    };
    let board = pipeline::board(&state.store, &actor, &filter).await?;
    let list = stages::list_stages(&state.store).await?;
    let registry = state.store.registry().await?;
    let m = registry.module(MODULE).map_err(sable_store::StoreError::from)?;
    let money = |units: i64| format_scaled(units, 2);
    let columns: Vec<Value> = list
        .iter()
        .map(|s| {
            let t = board.totals.get(&s.value).cloned().unwrap_or_default();
            json!({
                "value": s.value,
                "count": t.count,
                "total": money(t.total),
                "weighted": money(t.weighted),
            })
        })
        .collect();
    let cards: Vec<Value> = board.cards.iter().map(|r| r.to_json(m)).collect();
    Ok(Json(json!({
        "period": range.map(|(from, to)| json!({"from": from, "to": to})),
        "stages": columns,
        "cards": cards,
    })))
}
