//! Workflows for administrators: the list (enabled toggle, last run's status), deleting
//! one, and a workflow's run log with each action's outcome and a retry button on
//! failed runs. Editing is `admin_workflow_edit`; the store refuses non-administrators.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::workflows::{self, WorkflowRun};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    module: String,
    trigger: String,
    enabled: bool,
    builtin: bool,
    actions: usize,
    last_status: Option<String>,
    last_at: String,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    lang: &'static str,
    rows: Vec<Row>,
    modules: Vec<super::filters::Choice>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ListParams {
    done: Option<String>,
}

/// Flash messages this page may show (`?done=`).
const DONE: [&str; 3] = ["enabled", "disabled", "deleted"];

fn trigger_kind(def: &sable_core::workflow::WorkflowDef) -> String {
    serde_json::to_value(&def.trigger)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn when(user: &UiUser, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| user.viewer().datetime(t))
        .unwrap_or_default()
}

async fn list_page(state: &AppState, user: &UiUser, message: Option<String>, error: Option<String>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let list = match workflows::list_workflows(&state.store, &user.actor, None).await {
        Ok(l) => l,
        Err(e) => return store_error_page(user.lang, e),
    };
    let c = Catalogs::embedded();
    let mut rows = Vec::with_capacity(list.len());
    for wf in list {
        let last = workflows::list_runs(&state.store, &user.actor, wf.id, None, 1)
            .await
            .unwrap_or_default();
        let module = registry
            .module(&wf.def.module)
            .map(|m| m.label(user.lang).to_string())
            .unwrap_or_else(|_| wf.def.module.clone());
        rows.push(Row {
            id: wf.id,
            name: wf.def.name.clone(),
            module,
            trigger: c
                .get(user.lang, &format!("wfui_trigger_{}", trigger_kind(&wf.def)))
                .to_string(),
            enabled: wf.def.enabled,
            builtin: wf.builtin_key.is_some(),
            actions: wf.def.actions.len(),
            last_status: last.first().map(|r| r.status.clone()),
            last_at: last.first().map(|r| when(user, r.created_at)).unwrap_or_default(),
        });
    }
    let page = ListPage {
        layout: Layout::new(
            user,
            &registry,
            c.get(user.lang, "wfui_title").to_string(),
            "admin_workflows",
            None,
        ),
        lang: user.lang.tag(),
        rows,
        modules: registry
            .entity_modules()
            .map(|m| super::filters::Choice {
                value: m.name.clone(),
                label: m.label(user.lang).to_string(),
            })
            .collect(),
        message,
        error,
    };
    render("pages/admin_workflows.html", &page)
}

/// `GET /admin/workflows`.
pub async fn list(State(state): State<AppState>, user: UiUser, Query(p): Query<ListParams>) -> Response {
    let message = p.done.filter(|d| DONE.contains(&d.as_str())).map(|d| {
        Catalogs::embedded()
            .get(user.lang, &format!("wfui_done_{d}"))
            .to_string()
    });
    list_page(&state, &user, message, None).await
}

fn path_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0)
}

/// `POST /admin/workflows/{id}/toggle` with `enabled=1|0`.
pub async fn toggle(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let on = form_value(&form, "enabled") == Some("1");
    match workflows::set_enabled(&state.store, &user.actor, id, on).await {
        Ok(_) => see_other(if on {
            "/admin/workflows?done=enabled"
        } else {
            "/admin/workflows?done=disabled"
        }),
        Err(e) if e.refusal().is_some() => {
            let text = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            list_page(&state, &user, None, Some(text)).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /admin/workflows/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match workflows::delete_workflow(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/admin/workflows?done=deleted"),
        Err(e) if e.refusal().is_some() => error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"),
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct ActionRow {
    order: i64,
    kind: String,
    status: String,
    attempts: i64,
    detail: String,
    error: String,
}

#[derive(Serialize)]
struct RunRow {
    id: i64,
    at: String,
    trigger: String,
    record: Option<String>,
    matched: bool,
    reason: String,
    status: String,
    error: String,
    retryable: bool,
    actions: Vec<ActionRow>,
}

#[derive(Serialize)]
struct RunsPage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    name: String,
    runs: Vec<RunRow>,
    older: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct RunsParams {
    before: Option<i64>,
    retried: Option<String>,
    refused: Option<String>,
}

/// Runs shown per page.
const RUNS_PER_PAGE: i64 = 50;

fn run_row(user: &UiUser, r: WorkflowRun) -> RunRow {
    let c = Catalogs::embedded();
    RunRow {
        id: r.id,
        at: when(user, r.created_at),
        trigger: r.trigger.to_string(),
        record: r.record_id.map(|id| format!("/m/{}/{id}", r.module)),
        matched: r.matched,
        reason: r.reason.unwrap_or_default(),
        retryable: r.status == "failed",
        status: r.status,
        error: r.error.unwrap_or_default(),
        actions: r
            .actions
            .into_iter()
            .map(|a| ActionRow {
                order: a.action_index + 1,
                kind: c.get(user.lang, &format!("wfui_action_{}", a.action_type)).to_string(),
                status: a.status,
                attempts: a.attempts,
                detail: a.detail.map(|d| d.to_string()).unwrap_or_default(),
                error: a.error.unwrap_or_default(),
            })
            .collect(),
    }
}

/// `GET /admin/workflows/{id}/runs?before=`.
pub async fn runs(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<String>,
    Query(p): Query<RunsParams>,
) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let wf = match workflows::get_workflow(&state.store, &user.actor, id).await {
        Ok(w) => w,
        Err(e) => return store_error_page(user.lang, e),
    };
    let list = match workflows::list_runs(&state.store, &user.actor, id, p.before, RUNS_PER_PAGE).await {
        Ok(l) => l,
        Err(e) => return store_error_page(user.lang, e),
    };
    let older = (list.len() as i64 == RUNS_PER_PAGE)
        .then(|| list.last().map(|r| r.id))
        .flatten();
    let c = Catalogs::embedded();
    let message = match (p.retried.is_some(), p.refused.is_some()) {
        (true, _) => Some(c.get(user.lang, "wfui_retried").to_string()),
        (_, true) => Some(c.get(user.lang, "wf_refused_retry").to_string()),
        _ => None,
    };
    let page = RunsPage {
        layout: Layout::new(
            &user,
            &registry,
            c.get(user.lang, "wfui_runs").to_string(),
            "admin_workflows",
            None,
        ),
        lang: user.lang.tag(),
        id,
        name: wf.def.name,
        runs: list.into_iter().map(|r| run_row(&user, r)).collect(),
        older,
        message,
    };
    render("pages/admin_workflow_runs.html", &page)
}

/// `POST /admin/workflow-runs/{id}/retry`.
pub async fn retry(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match workflows::retry_run(&state.store, &user.actor, id).await {
        Ok(run) => see_other(&format!("/admin/workflows/{}/runs?retried=1", run.workflow_id)),
        Err(e) if e.refusal().is_some() => match workflows::get_run(&state.store, &user.actor, id).await {
            Ok(run) => see_other(&format!("/admin/workflows/{}/runs?refused=1", run.workflow_id)),
            Err(e) => store_error_page(user.lang, e),
        },
        Err(e) => store_error_page(user.lang, e),
    }
}
