//! Global search across modules.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiQuery, ApiUser};

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    limit: Option<u32>,
}

/// `GET /search?q=…&limit=…` → `{"results":[{"module","id","label","module_label"}]}`.
pub async fn search(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> AppResult<Json<Value>> {
    let q = p.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(AppError::bad_request(
            "query_too_long",
            "the search text is longer than 200 characters",
            "搜索内容超过 200 个字符",
        ));
    }
    let hits = state.store.records(&actor).search(&q, p.limit.unwrap_or(50)).await?;
    let registry = state.store.registry().await?;
    let results: Vec<Value> = hits
        .iter()
        .map(|h| {
            let labels = registry
                .module(&h.module)
                .map(|m| json!(m.labels))
                .unwrap_or(Value::Null);
            json!({"module": h.module, "id": h.id, "label": h.label, "module_label": labels})
        })
        .collect();
    Ok(Json(json!({"results": results})))
}
