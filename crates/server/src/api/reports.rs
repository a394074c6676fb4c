//! Reports: run a spec, keep saved reports (owner, sharing, chart settings, delivery
//! schedule), run and export them, and turn a row into the filter behind it. Rules and SQL
//! live in `sable_core::report` and `sable_store::reports`; this file parses and answers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sable_core::report::{ReportSpec, drill_filter};
use sable_store::reports::{self, ReportInput};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, ApiUser, parse_id};

/// `POST /reports/run`: `{"columns":[…],"rows":[[…]],"labels":[[…]],"totals":[…],"truncated":false}`.
pub async fn run(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(spec): ApiJson<ReportSpec>,
) -> AppResult<Json<Value>> {
    let result = reports::run(&state.store, &actor, &spec).await?;
    Ok(Json(json!(result)))
}

/// `GET /reports`: the saved reports the user may read.
pub async fn list(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(
        json!({"items": reports::list_reports(&state.store, &actor).await?}),
    ))
}

/// `POST /reports`: saves a report owned by the user.
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(input): ApiJson<ReportInput>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let saved = reports::create_report(&state.store, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

/// `GET /reports/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(json!(reports::get_report(&state.store, &actor, id).await?)))
}

/// `PUT /reports/{id}` (owner or administrator): replaces the report.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReportInput>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(json!(
        reports::update_report(&state.store, &actor, id, &input).await?
    )))
}

/// `DELETE /reports/{id}` (owner or administrator).
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    reports::delete_report(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /reports/{id}/run`: the saved report's answer, counting what the user may see.
pub async fn run_saved(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let (_, result) = reports::run_saved(&state.store, &actor, id).await?;
    Ok(Json(json!(result)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    #[serde(default)]
    format: Option<String>,
}

/// `GET /reports/{id}/export?format=csv|xlsx`: the answer as a file (CSV is UTF-8 with BOM).
pub async fn export(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let xlsx = match params.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        other => {
            return Err(super::bad_param(
                "bad_format",
                "rep_bad_format",
                &[("value", other.chars().take(40).collect())],
            ));
        }
    };
    let (_, result) = reports::run_saved(&state.store, &actor, id).await?;
    let lang = actor.lang();
    let (bytes, content_type, ext) = if xlsx {
        (
            sable_import::report_export::to_xlsx(&result, lang),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        (
            sable_import::report_export::to_csv(&result, lang),
            "text/csv; charset=utf-8",
            "csv",
        )
    };
    let bytes = bytes.map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"report-{id}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillBody {
    spec: ReportSpec,
    /// Raw group values of the row, in group order (fewer for a subtotal).
    #[serde(default)]
    values: Vec<Value>,
}

/// `POST /reports/drill`: the filter tree selecting the records behind one row of a
/// report (for the list page), `{"module","filter"}`.
pub async fn drill(
    State(state): State<AppState>,
    ApiUser(_actor): ApiUser,
    ApiJson(body): ApiJson<DrillBody>,
) -> AppResult<Json<Value>> {
    let registry = state.store.registry().await?;
    let filter = drill_filter(&registry, &body.spec, &body.values).map_err(sable_store::StoreError::from)?;
    Ok(Json(json!({"module": body.spec.module, "filter": filter})))
}
