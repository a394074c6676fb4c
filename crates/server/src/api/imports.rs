//! Imports through the API: upload a file with options, follow the job, undo it.

use std::io::Write;

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiUser, parse_id};

fn bad(en: impl Into<String>) -> AppError {
    let en = en.into();
    AppError::bad_request("bad_import", en.clone(), format!("导入请求有误：{en}"))
}

/// `POST /imports`, multipart: `file` (CSV or XLSX) and `options` (JSON:
/// `{"module","mapping","match","on_duplicate","encoding","date_order","dry_run","default_owner",
/// "create_fields","add_picklist_values","all_or_nothing"}`)
/// → 202 `{"id","status"}`; `GET /imports/{id}` follows it.
pub async fn start(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    mut multipart: Multipart,
) -> AppResult<(StatusCode, Json<Value>)> {
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(state.config.max_upload_bytes)
        } else {
            bad(format!("the upload could not be read: {e}"))
        }
    };
    std::fs::create_dir_all(&state.config.upload_dir)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("creating the upload folder: {e}")))?;
    let mut options: Option<Map<String, Value>> = None;
    let mut saved: Option<(std::path::PathBuf, String)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("options") => {
                let text = field.text().await.map_err(too_large)?;
                options =
                    Some(serde_json::from_str(&text).map_err(|e| bad(format!("options are not a JSON object: {e}")))?);
            }
            Some("file") => {
                let display = field
                    .file_name()
                    .unwrap_or("upload")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>();
                let secret = sable_store::users::random_secret("").map_err(AppError::Internal)?;
                let path = state.config.upload_dir.join(format!("import-{}", &secret[..16]));
                let mut file = std::fs::File::create(&path)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("saving the upload: {e}")))?;
                let mut size = 0usize;
                while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                    size += chunk.len();
                    file.write_all(&chunk)
                        .map_err(|e| AppError::Internal(anyhow::anyhow!("saving the upload: {e}")))?;
                }
                if size == 0 {
                    let _ = std::fs::remove_file(&path);
                    return Err(bad("the file is empty"));
                }
                saved = Some((path, display));
            }
            _ => {}
        }
    }
    let options = options.ok_or_else(|| bad("an `options` part with at least {\"module\"} is needed"))?;
    let (path, name) = saved.ok_or_else(|| bad("a `file` part is needed"))?;
    let cleanup = |e: AppError| {
        let _ = std::fs::remove_file(&path);
        e
    };
    let module = options
        .get("module")
        .and_then(Value::as_str)
        .ok_or_else(|| cleanup(bad("options.module is needed")))?
        .to_string();
    let registry = state.store.registry().await.map_err(|e| cleanup(e.into()))?;
    if !registry.module(&module).is_ok_and(|m| m.entity) {
        return Err(cleanup(AppError::NotFound {
            code: "unknown_module",
            en: format!("there is no module `{module}`"),
            zh: format!("没有模块“{module}”"),
        }));
    }
    let job = sable_import::jobs::options_from_json(&module, &options).map_err(|e| cleanup(bad(e)))?;
    if (job.extras.create_fields || job.extras.add_picklist_values) && !actor.is_admin() {
        return Err(cleanup(AppError::Forbidden(
            "only administrators may create fields or add picklist values".into(),
        )));
    }
    let id = sable_import::jobs::start(
        state.store.clone(),
        actor,
        path.clone(),
        name,
        job,
        Value::Object(options),
    )
    .await
    .map_err(|e| cleanup(e.into()))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": id, "status": "running"}))))
}

/// `GET /imports`: my recent imports (everyone's for administrators).
pub async fn list(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    let jobs = sable_store::imports::list_jobs(&state.store, &actor, 50).await?;
    Ok(Json(json!({"items": jobs})))
}

/// `GET /imports/{id}`: status, progress, counts, row errors.
pub async fn show(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let job = sable_store::imports::get_job(&state.store, &actor, id).await?;
    Ok(Json(json!(job)))
}

/// `POST /imports/{id}/undo`: removes what the import created, restores what it overwrote.
pub async fn undo(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let job = sable_import::jobs::undo(&state.store, &actor, id).await?;
    Ok(Json(json!(job)))
}
