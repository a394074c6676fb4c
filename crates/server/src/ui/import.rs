//! The import wizard: upload → preview with the detected encoding → map columns and choose
//! duplicate handling → (dry) run as a background job with a live progress bar → report,
//! failed rows to download, undo. The work itself is the import crate's, through the
//! record service like every other write.

use std::io::Write;

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sable_core::meta::FieldType;
use sable_import::mapping::{self, MappingFile};
use sable_import::table::{EncodingChoice, Limits, open_file};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Deserialize)]
pub struct ImportParams {
    module: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct UploadPage {
    layout: Layout,
    lang: &'static str,
    modules: Vec<Choice>,
    module: String,
    jobs: Vec<JobLine>,
    error: Option<String>,
}

#[derive(Serialize)]
struct JobLine {
    id: i64,
    module: String,
    file: String,
    status: String,
    counts: String,
}

#[derive(Serialize)]
struct ColumnView {
    index: usize,
    header: String,
    field: String,
    samples: Vec<String>,
}

/// A column that holds data in the preview but goes to no field.
#[derive(Serialize)]
struct UnmappedView {
    header: String,
}

#[derive(Serialize)]
struct MapPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    token: String,
    file_name: String,
    encoding: String,
    /// The encoding chosen in the select (`auto` until the user forces one).
    encoding_choice: &'static str,
    encodings: Vec<&'static str>,
    unmapped: Vec<UnmappedView>,
    /// Whether the user may create fields and picklist values (administrators).
    may_change_fields: bool,
    owners: Vec<Choice>,
    columns: Vec<ColumnView>,
    fields: Vec<Choice>,
    match_fields: Vec<Choice>,
}

fn status_text(lang: sable_core::Lang, status: &str) -> String {
    Catalogs::embedded()
        .get(lang, &format!("import_status_{status}"))
        .to_string()
}

fn counts_text(lang: sable_core::Lang, job: &sable_store::imports::ImportJob) -> String {
    fill(
        Catalogs::embedded().get(lang, "import_counts"),
        &[
            ("created", job.created.to_string()),
            ("updated", job.updated.to_string()),
            ("skipped", job.skipped.to_string()),
            ("failed", job.failed.to_string()),
        ],
    )
}

/// A saved upload's token: only what `random_secret` makes, so it can never name another path.
fn valid_token(token: &str) -> bool {
    token.len() == 16 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn upload_page(state: &AppState, user: &UiUser, module: &str, error: Option<String>) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let jobs = sable_store::imports::list_jobs(&state.store, &user.actor, 10)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|j| JobLine {
            id: j.id,
            counts: counts_text(user.lang, &j),
            status: status_text(user.lang, &j.status),
            module: j.module,
            file: j.file_name,
        })
        .collect();
    let title = Catalogs::embedded().get(user.lang, "import_title").to_string();
    let page = UploadPage {
        layout: Layout::new(user, &registry, title, "import", None),
        lang: user.lang.tag(),
        modules: registry
            .entity_modules()
            .map(|m| Choice {
                value: m.name.clone(),
                label: m.label(user.lang).into(),
            })
            .collect(),
        module: module.to_string(),
        jobs,
        error,
    };
    render("pages/import_upload.html", &page)
}

/// `GET /import?module=…`.
pub async fn start_page(State(state): State<AppState>, user: UiUser, Query(p): Query<ImportParams>) -> Response {
    upload_page(&state, &user, p.module.as_deref().unwrap_or("Leads"), None).await
}

async fn map_page(
    state: &AppState,
    user: &UiUser,
    module: &str,
    token: &str,
    file_name: &str,
    encoding: EncodingChoice,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Ok(m) = registry.module(module).cloned() else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let path = state.config.upload_dir.join(format!("import-{token}"));
    let mut table = match open_file(
        &path,
        encoding,
        Limits {
            max_rows: Some(5),
            ..Limits::default()
        },
    ) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            let message = match user.lang {
                sable_core::Lang::Zh => e.message_zh(),
                sable_core::Lang::En => e.to_string(),
            };
            return upload_page(
                state,
                user,
                module,
                Some(fill(
                    Catalogs::embedded().get(user.lang, "import_error"),
                    &[("detail", message)],
                )),
            )
            .await;
        }
    };
    let headers = table.headers.clone();
    let samples: Vec<Vec<String>> = table.rows().filter_map(Result::ok).map(|r| r.cells).collect();
    let auto = mapping::build(&m, &headers, None).unwrap_or_default();
    let unmapped = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            auto.fields.get(*i).is_none_or(Option::is_none)
                && !h.trim().is_empty()
                && samples.iter().any(|r| r.get(*i).is_some_and(|c| !c.trim().is_empty()))
        })
        .map(|(_, h)| UnmappedView { header: h.clone() })
        .collect();
    let owners = sable_store::users::list_users(&state.store)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.is_active())
        .map(|u| Choice {
            value: u.id.to_string(),
            label: u.display_name(),
        })
        .collect();
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| ColumnView {
            index: i,
            header: h.clone(),
            field: auto.fields.get(i).cloned().flatten().unwrap_or_default(),
            samples: samples.iter().map(|r| r.get(i).cloned().unwrap_or_default()).collect(),
        })
        .collect();
    let fields = m
        .fields
        .iter()
        .filter(|f| mapping::importable(&m, f))
        .map(|f| Choice {
            value: f.name.clone(),
            label: f.label(user.lang).into(),
        })
        .collect();
    let match_fields = m
        .fields
        .iter()
        .filter(|f| {
            matches!(f.field_type, FieldType::Email | FieldType::Phone)
                || f.name == m.number_field
                || m.label_fields.contains(&f.name)
        })
        .map(|f| Choice {
            value: f.name.clone(),
            label: f.label(user.lang).into(),
        })
        .collect();
    let title = Catalogs::embedded().get(user.lang, "import_map_title").to_string();
    let page = MapPage {
        layout: Layout::new(user, &registry, title, "import", None),
        lang: user.lang.tag(),
        module: m.name.clone(),
        token: token.to_string(),
        file_name: file_name.to_string(),
        encoding: table.encoding.clone(),
        encoding_choice: encoding.as_str(),
        encodings: vec!["auto", "utf-8", "gb18030", "utf-16"],
        unmapped,
        may_change_fields: user.actor.is_admin(),
        owners,
        columns,
        fields,
        match_fields,
    };
    render("pages/import_map.html", &page)
}

/// `POST /import/upload` (multipart: `_csrf`, `module`, `file`): saves the file, shows the preview.
pub async fn upload(State(state): State<AppState>, user: UiUser, mut multipart: Multipart) -> Response {
    let mut csrf = None;
    let mut module = None;
    let mut saved: Option<(String, String)> = None;
    if std::fs::create_dir_all(&state.config.upload_dir).is_err() {
        return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
    }
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                let detail = format!("> {} MB", state.config.max_upload_bytes / 1024 / 1024);
                return upload_page(
                    &state,
                    &user,
                    "Leads",
                    Some(fill(
                        Catalogs::embedded().get(user.lang, "import_error"),
                        &[("detail", detail)],
                    )),
                )
                .await;
            }
            Err(_) => return error_page(user.lang, StatusCode::BAD_REQUEST, "error_server"),
        };
        match field.name() {
            Some("_csrf") => csrf = field.text().await.ok(),
            Some("module") => module = field.text().await.ok(),
            Some("file") => {
                let name = field
                    .file_name()
                    .unwrap_or("upload")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>();
                let Ok(secret) = sable_store::users::random_secret("") else {
                    return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
                };
                let token: String = secret.chars().take(16).collect();
                let path = state.config.upload_dir.join(format!("import-{token}"));
                let Ok(mut file) = std::fs::File::create(&path) else {
                    return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
                };
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if file.write_all(&chunk).is_err() {
                                let _ = std::fs::remove_file(&path);
                                return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            let _ = std::fs::remove_file(&path);
                            let detail = format!("> {} MB", state.config.max_upload_bytes / 1024 / 1024);
                            return upload_page(
                                &state,
                                &user,
                                "Leads",
                                Some(fill(
                                    Catalogs::embedded().get(user.lang, "import_error"),
                                    &[("detail", detail)],
                                )),
                            )
                            .await;
                        }
                    }
                }
                saved = Some((token, name));
            }
            _ => {}
        }
    }
    let Some((token, name)) = saved else {
        return see_other("/import");
    };
    if !user.csrf_ok(csrf.as_deref()) {
        let _ = std::fs::remove_file(state.config.upload_dir.join(format!("import-{token}")));
        return csrf_refused(user.lang);
    }
    map_page(
        &state,
        &user,
        module.as_deref().unwrap_or("Leads"),
        &token,
        &name,
        EncodingChoice::Auto,
    )
    .await
}

/// `POST /import/run`: reread with another encoding, or start the job with the mapping.
pub async fn run(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let token = form_value(&form, "token").unwrap_or("");
    if !valid_token(token) {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    }
    let module = form_value(&form, "module").unwrap_or("Leads").to_string();
    let file_name = form_value(&form, "file_name").unwrap_or("upload").to_string();
    let encoding = form_value(&form, "encoding")
        .and_then(EncodingChoice::parse)
        .unwrap_or(EncodingChoice::Auto);
    if form_value(&form, "reread").is_some() {
        return map_page(&state, &user, &module, token, &file_name, encoding).await;
    }
    let path = state.config.upload_dir.join(format!("import-{token}"));
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Ok(m) = registry.module(&module).cloned() else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let mut columns: std::collections::BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("col.").map(|h| (h.to_string(), v.clone())))
        .collect();
    // "Not imported" is the select's default: only a column the automatic mapping would
    // take is skipped on purpose; the others stay unmapped, so the report names those that
    // held data.
    let headers: Vec<String> = columns.keys().cloned().collect();
    let auto = mapping::build(&m, &headers, None).unwrap_or_default();
    for (i, h) in headers.iter().enumerate() {
        if columns.get(h).is_some_and(String::is_empty) && auto.fields.get(i).is_none_or(Option::is_none) {
            columns.remove(h);
        }
    }
    // A custom field for each column ticked "create a custom field", and the column mapped to it.
    let ticked: Vec<String> = form
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("create."))
        .filter(|h| !columns.contains_key(*h))
        .map(str::to_string)
        .collect();
    let mut fields_created = Vec::new();
    if !ticked.is_empty() {
        // The file's columns in order (names like `cf_col_3` follow the position); only the
        // ticked ones are left unmapped for the function to take.
        let in_order: Vec<String> = form
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("col."))
            .map(str::to_string)
            .collect();
        let mut plan = MappingFile {
            columns: in_order
                .iter()
                .filter(|h| !ticked.contains(h))
                .map(|h| (h.clone(), columns.get(h).cloned().unwrap_or_default()))
                .collect(),
            ..MappingFile::default()
        };
        match sable_import::prepare::create_fields_for_unmapped(
            &state.store,
            &user.actor,
            &module,
            &in_order,
            &mut plan,
        )
        .await
        {
            Ok(names) => fields_created = names,
            Err(e) => return store_error_page(user.lang, e),
        }
        for h in &ticked {
            if let Some(field) = plan.columns.get(h) {
                columns.insert(h.clone(), field.clone());
            }
        }
    }
    let mut options = serde_json::Map::new();
    options.insert(
        "mapping".into(),
        json!(MappingFile {
            columns,
            ..MappingFile::default()
        }),
    );
    options.insert(
        "match".into(),
        json!(
            form.iter()
                .filter(|(k, _)| k == "match")
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        ),
    );
    options.insert(
        "on_duplicate".into(),
        json!(form_value(&form, "on_duplicate").unwrap_or("skip")),
    );
    options.insert(
        "date_order".into(),
        json!(form_value(&form, "date_order").unwrap_or("auto")),
    );
    options.insert("dry_run".into(), json!(form_value(&form, "dry_run").is_some()));
    options.insert(
        "encoding".into(),
        json!(form_value(&form, "encoding").unwrap_or("auto")),
    );
    if !fields_created.is_empty() {
        options.insert("fields_created".into(), json!(fields_created));
    }
    if form_value(&form, "create_missing_parents").is_some() {
        options.insert("create_missing_parents".into(), json!(true));
    }
    if form_value(&form, "add_picklist_values").is_some() {
        options.insert("add_picklist_values".into(), json!(true));
    }
    if let Some(owner) = form_value(&form, "default_owner").and_then(|v| v.parse::<i64>().ok()) {
        options.insert("default_owner".into(), json!(owner));
    }
    options.insert("token".into(), json!(token));
    let job = match sable_import::jobs::options_from_json(&module, &options) {
        Ok(x) => x,
        Err(e) => {
            return upload_page(
                &state,
                &user,
                &module,
                Some(fill(
                    Catalogs::embedded().get(user.lang, "import_error"),
                    &[("detail", e)],
                )),
            )
            .await;
        }
    };
    match sable_import::jobs::start(
        state.store.clone(),
        user.actor.clone(),
        path,
        file_name,
        job,
        json!(options),
    )
    .await
    {
        Ok(id) => see_other(&format!("/import/jobs/{id}")),
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct FailedRow {
    line: u64,
    reason: String,
}

#[derive(Serialize)]
struct JobPage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    running: bool,
    status: String,
    progress: String,
    /// Rows read so far and in all (0: not counted yet), for the progress bar.
    done: i64,
    total: i64,
    counts: String,
    warnings: Vec<String>,
    unmapped_with_data: Vec<String>,
    created_fields: String,
    failed: Vec<FailedRow>,
    has_failed: bool,
    undoable: bool,
    dry_run: bool,
    token: Option<String>,
    error: Option<String>,
    module: String,
    options: String,
}

async fn job_view(state: &AppState, user: &UiUser, id: &str, template: &str) -> Response {
    let Ok(id) = parse_id(id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let job = match sable_store::imports::get_job(&state.store, &user.actor, id).await {
        Ok(j) => j,
        Err(e) => return store_error_page(user.lang, e),
    };
    let rows = job
        .report
        .as_ref()
        .and_then(|r| r.get("rows"))
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let failed: Vec<FailedRow> = rows
        .iter()
        .filter(|r| r.get("status").and_then(Json::as_str) == Some("failed"))
        .take(200)
        .map(|r| FailedRow {
            line: r.get("line").and_then(Json::as_u64).unwrap_or(0),
            reason: r.get("reason").and_then(Json::as_str).unwrap_or("").to_string(),
        })
        .collect();
    let texts = |key: &str| -> Vec<String> {
        job.report
            .as_ref()
            .and_then(|r| r.get(key))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut warnings = texts("warnings");
    let added: Vec<String> = job
        .report
        .as_ref()
        .and_then(|r| r.get("added_picklist_values"))
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| Some(format!("{}: {}", pair.get(0)?.as_str()?, pair.get(1)?.as_str()?)))
        .collect();
    if !added.is_empty() {
        warnings.insert(
            0,
            fill(
                Catalogs::embedded().get(user.lang, "import_added_values"),
                &[("values", added.join(", "))],
            ),
        );
    }
    // The digit order dates were read in, when day or month came first (chosen, or detected
    // from the file; year first when undecided is itself a warning from the import).
    let order = job
        .report
        .as_ref()
        .and_then(|r| r.get("date_order"))
        .and_then(Json::as_str)
        .and_then(|o| o.split_whitespace().next());
    let format = match order {
        Some("dmy") => Some("DD/MM/YYYY"),
        Some("mdy") => Some("MM/DD/YYYY"),
        _ => None,
    };
    if let Some(format) = format {
        warnings.insert(
            0,
            fill(
                Catalogs::embedded().get(user.lang, "import_date_order_used"),
                &[("format", format.to_string())],
            ),
        );
    }
    let mut created_fields = texts("created_fields");
    created_fields.extend(
        job.options
            .get("fields_created")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string)),
    );
    let total = job.total_rows.unwrap_or(0);
    let dry_run = job.options.get("dry_run").and_then(Json::as_bool).unwrap_or(false);
    let token = job
        .options
        .get("token")
        .and_then(Json::as_str)
        .map(str::to_string)
        .filter(|t| valid_token(t));
    let title = fill(
        Catalogs::embedded().get(user.lang, "import_job_title"),
        &[("id", id.to_string())],
    );
    let page = JobPage {
        layout: Layout::new(user, &registry, title, "import", None),
        lang: user.lang.tag(),
        id,
        running: job.status == "running",
        status: status_text(user.lang, &job.status),
        progress: if total > 0 {
            fill(
                Catalogs::embedded().get(user.lang, "import_rows_of"),
                &[("done", job.processed_rows.to_string()), ("total", total.to_string())],
            )
        } else {
            fill(
                Catalogs::embedded().get(user.lang, "import_rows_read"),
                &[("done", job.processed_rows.to_string())],
            )
        },
        done: job.processed_rows.min(total),
        total,
        counts: counts_text(user.lang, &job),
        warnings,
        unmapped_with_data: texts("unmapped_with_data"),
        created_fields: if created_fields.is_empty() {
            String::new()
        } else {
            fill(
                Catalogs::embedded().get(user.lang, "import_created_fields"),
                &[("fields", created_fields.join(", "))],
            )
        },
        has_failed: job.failed > 0,
        failed,
        undoable: sable_import::jobs::undoable(&job.status) && !dry_run,
        dry_run,
        token: token.filter(|_| dry_run && job.status == "done"),
        error: job.error.clone(),
        module: job.module.clone(),
        options: job.options.to_string(),
    };
    render(template, &page)
}

/// `GET /import/jobs/{id}`.
pub async fn job(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    job_view(&state, &user, &id, "pages/import_job.html").await
}

/// `GET /import/jobs/{id}/progress`: the part of the page htmx refreshes while it runs.
pub async fn progress(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    job_view(&state, &user, &id, "partials/import_progress.html").await
}

/// `POST /import/jobs/{id}/undo`.
pub async fn undo(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match sable_import::jobs::undo(&state.store, &user.actor, id).await {
        Ok(_) => see_other(&format!("/import/jobs/{id}")),
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /import/jobs/{id}/again`: runs a finished dry run for real, same file and options.
pub async fn again(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let job = match sable_store::imports::get_job(&state.store, &user.actor, id).await {
        Ok(j) => j,
        Err(e) => return store_error_page(user.lang, e),
    };
    let Some(mut options) = job.options.as_object().cloned() else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let Some(token) = options
        .get("token")
        .and_then(Json::as_str)
        .map(str::to_string)
        .filter(|t| valid_token(t))
    else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    options.insert("dry_run".into(), json!(false));
    let job_options = match sable_import::jobs::options_from_json(&job.module, &options) {
        Ok(x) => x,
        Err(_) => return error_page(user.lang, StatusCode::BAD_REQUEST, "error_server"),
    };
    let path = state.config.upload_dir.join(format!("import-{token}"));
    match sable_import::jobs::start(
        state.store.clone(),
        user.actor.clone(),
        path,
        job.file_name,
        job_options,
        json!(options),
    )
    .await
    {
        Ok(new_id) => see_other(&format!("/import/jobs/{new_id}")),
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `GET /import/jobs/{id}/failed.csv`: the failed rows in their original columns, plus line
/// and reason, in UTF-8 with BOM so Excel opens it.
pub async fn failed_csv(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let job = match sable_store::imports::get_job(&state.store, &user.actor, id).await {
        Ok(j) => j,
        Err(e) => return store_error_page(user.lang, e),
    };
    let report = job.report.unwrap_or(Json::Null);
    let headers: Vec<String> = report
        .get("headers")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut head = headers.clone();
    head.extend(["line".to_string(), "reason".to_string()]);
    let _ = w.write_record(&head);
    for r in report
        .get("rows")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("status").and_then(Json::as_str) == Some("failed"))
    {
        let mut row: Vec<String> = r
            .get("cells")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(|c| c.as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default();
        row.resize(headers.len(), String::new());
        row.push(r.get("line").and_then(Json::as_u64).unwrap_or(0).to_string());
        row.push(r.get("reason").and_then(Json::as_str).unwrap_or("").to_string());
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-failed.csv\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
