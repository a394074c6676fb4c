//! Records: create, read, change, delete and restore, list and query, history.
//! Handlers parse, call the record service, and render; rules live in the store.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query as QueryString, State};
use axum::http::StatusCode;
use sable_core::{Filter, Registry};
use sable_store::{Page, Query, SortKey};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiUser, parse_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    fields: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    version: i64,
    fields: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortBody {
    field: String,
    #[serde(default)]
    dir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    sort: Vec<SortBody>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    count: Option<bool>,
    #[serde(default)]
    deleted: Option<bool>,
}

async fn render(state: &AppState, module: &str, record: &sable_store::Record) -> AppResult<Value> {
    let registry = state.store.registry().await?;
    let m = registry.module(module).map_err(sable_store::StoreError::from)?;
    Ok(record.to_json(m))
}

fn render_page(registry: &Registry, module: &str, page: &Page) -> AppResult<Value> {
    let m = registry.module(module).map_err(sable_store::StoreError::from)?;
    let items: Vec<Value> = page.items.iter().map(|r| r.to_json(m)).collect();
    let mut out = json!({"items": items, "next_cursor": page.next_cursor});
    if let Some(c) = page.count {
        out["count"] = json!(c);
        out["count_exact"] = json!(page.count_exact);
    }
    Ok(out)
}

/// `POST /records/{module}` → 201 with the record.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(module): Path<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let record = state.store.records(&actor).create(&module, &body.fields).await?;
    state.metrics.record_written(&module, "create");
    Ok((StatusCode::CREATED, Json(render(&state, &module, &record).await?)))
}

/// `GET /records/{module}/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let record = state.store.records(&actor).get(&module, id).await?;
    Ok(Json(render(&state, &module, &record).await?))
}

/// `PATCH /records/{module}/{id}` with `{"version","fields"}`; 409 when the version is stale.
pub async fn update(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let record = state
        .store
        .records(&actor)
        .update(&module, id, Some(body.version), &body.fields)
        .await?;
    state.metrics.record_written(&module, "update");
    Ok(Json(render(&state, &module, &record).await?))
}

/// `PUT /records/{module}/{id}` with `{"version","fields"}`: a full update; fields left
/// out are cleared.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let record = state
        .store
        .records(&actor)
        .replace(&module, id, Some(body.version), &body.fields)
        .await?;
    state.metrics.record_written(&module, "update");
    Ok(Json(render(&state, &module, &record).await?))
}

/// `DELETE /records/{module}/{id}`: to the recycle bin.
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    state.store.records(&actor).delete(&module, id).await?;
    state.metrics.record_written(&module, "delete");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /records/{module}/{id}/restore`: back from the recycle bin.
pub async fn restore(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let record = state.store.records(&actor).restore(&module, id).await?;
    state.metrics.record_written(&module, "restore");
    Ok(Json(render(&state, &module, &record).await?))
}

/// `POST /records/{module}/{id}/purge`: removes a deleted record for good (administrators).
pub async fn purge(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    state.store.records(&actor).purge(&module, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /records/{module}/{id}/history`.
pub async fn history(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let entries = state.store.records(&actor).history(&module, id).await?;
    Ok(Json(json!({"items": entries})))
}

fn sort_keys(sort: impl IntoIterator<Item = (String, bool)>) -> Vec<SortKey> {
    sort.into_iter().map(|(field, desc)| SortKey { field, desc }).collect()
}

/// `POST /records/{module}/query` with a filter tree, sort and page.
pub async fn query(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(module): Path<String>,
    ApiJson(body): ApiJson<QueryBody>,
) -> AppResult<Json<Value>> {
    let filter = match &body.filter {
        Some(v) => Filter::from_json(v).map_err(sable_store::StoreError::from)?,
        None => Filter::everything(),
    };
    let mut sort = Vec::new();
    for s in body.sort {
        let desc = match s.dir.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(AppError::bad_request(
                    "bad_sort",
                    format!("sort dir must be asc or desc, not `{other}`"),
                    format!("排序方向必须是 asc 或 desc，而不是“{other}”"),
                ));
            }
        };
        sort.push((s.field, desc));
    }
    let q = Query {
        filter,
        sort: sort_keys(sort),
        limit: body.limit.unwrap_or(50),
        cursor: body.cursor,
        offset: body.offset,
        with_count: body.count.unwrap_or(true),
        deleted: body.deleted.unwrap_or(false),
    };
    let page = state.store.records(&actor).query(&module, &q).await?;
    let registry = state.store.registry().await?;
    Ok(Json(render_page(&registry, &module, &page)?))
}

/// `GET /records/{module}?field=value&sort=-field&limit=&cursor=`: the common cases of a
/// query as a query string; each other parameter is an `eq` condition on that field.
pub async fn list(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(module): Path<String>,
    QueryString(params): QueryString<BTreeMap<String, String>>,
) -> AppResult<Json<Value>> {
    let mut conditions = Vec::new();
    let mut q = Query::default();
    for (k, v) in &params {
        match k.as_str() {
            "limit" => {
                q.limit = v
                    .parse()
                    .map_err(|_| AppError::bad_request("bad_limit", "limit must be a number", "limit 必须是数字"))?
            }
            "offset" => {
                q.offset =
                    Some(v.parse().map_err(|_| {
                        AppError::bad_request("bad_offset", "offset must be a number", "offset 必须是数字")
                    })?)
            }
            "cursor" => q.cursor = Some(v.clone()),
            "count" => q.with_count = v != "false" && v != "0",
            "deleted" => q.deleted = v == "true" || v == "1",
            "sort" => {
                q.sort = sort_keys(
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| match s.strip_prefix('-') {
                            Some(f) => (f.to_string(), true),
                            None => (s.to_string(), false),
                        }),
                );
            }
            field => conditions.push(json!({"field": field, "op": "eq", "value": v})),
        }
    }
    q.filter = Filter::from_json(&json!({"all": conditions})).map_err(sable_store::StoreError::from)?;
    let page = state.store.records(&actor).query(&module, &q).await?;
    let registry = state.store.registry().await?;
    Ok(Json(render_page(&registry, &module, &page)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// `GET /records/{module}/{id}/comments`, newest first.
pub async fn comments(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let items = sable_store::comments::list_comments(&state.store, &actor, &module, id).await?;
    Ok(Json(json!({"items": items})))
}

/// `POST /records/{module}/{id}/comments` with `{"body"}` → 201.
pub async fn add_comment(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CommentBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id)?;
    let comment = sable_store::comments::add_comment(&state.store, &actor, &module, id, &body.body).await?;
    Ok((StatusCode::CREATED, Json(json!(comment))))
}
