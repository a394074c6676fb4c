//! Dashboard pages: the list of my and shared dashboards, one dashboard with its charts,
//! and the owner's changes (name and sharing, add, remove and reorder widgets). Figures
//! are computed for the viewer by `widgets`; nothing here reads records itself.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::dashboards::{self as store, BUILTIN_KINDS, REPORT_KIND};
use sable_store::reports::saved;
use serde::Serialize;

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::widgets::{self, Ctx, WidgetView};
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Serialize)]
struct DashboardLink {
    href: String,
    name: String,
    shared: bool,
    mine: bool,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    lang: &'static str,
    dashboards: Vec<DashboardLink>,
}

/// `GET /dashboards`.
pub async fn list(State(state): State<AppState>, user: UiUser) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let all = match store::list_dashboards(&state.store, &user.actor).await {
        Ok(d) => d,
        Err(e) => return store_error_page(user.lang, e),
    };
    let dashboards = all
        .into_iter()
        .map(|d| DashboardLink {
            href: format!("/dashboards/{}", d.id),
            mine: d.owner_id == user.actor.user_id(),
            name: d.name,
            shared: d.shared,
        })
        .collect();
    let title = Catalogs::embedded().get(user.lang, "dash_title").to_string();
    let page = ListPage {
        layout: Layout::new(&user, &registry, title, "dashboards", None),
        lang: user.lang.tag(),
        dashboards,
    };
    render("pages/dashboards.html", &page)
}

/// `POST /dashboards`: a new empty dashboard, then its page.
pub async fn create(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let name = form_value(&form, "name").unwrap_or("");
    let shared = form_value(&form, "shared").is_some();
    match store::create_dashboard(&state.store, &user.actor, name, shared).await {
        Ok(id) => see_other(&format!("/dashboards/{id}")),
        Err(e) => refused_page(&user, e),
    }
}

/// A refusal (bad name, full dashboard) as an error page saying why; other errors as usual.
fn refused_page(user: &UiUser, e: sable_store::StoreError) -> Response {
    if e.refusal().is_none() {
        return store_error_page(user.lang, e);
    }
    let c = Catalogs::embedded();
    let page = serde_json::json!({
        "lang": user.lang.tag(),
        "title": c.get(user.lang, "error_title"),
        "message": store_message(user.lang, &e),
        "back": c.get(user.lang, "error_back"),
        "asset_version": super::assets::VERSION,
    });
    let mut response = render("pages/error.html", &page);
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

#[derive(Serialize)]
struct WidgetCard {
    id: i64,
    title: String,
    kind: String,
    chart_json: Option<String>,
    view: WidgetView,
    error: Option<String>,
    first: bool,
    last: bool,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct ShowPage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    name: String,
    shared: bool,
    editable: bool,
    widgets: Vec<WidgetCard>,
    builtin: Vec<Choice>,
    /// Summary reports the viewer may read, for a report chart widget.
    reports: Vec<Choice>,
    charts: Vec<Choice>,
}

/// `GET /dashboards/{id}`.
pub async fn show(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let d = match store::get_dashboard(&state.store, &user.actor, id).await {
        Ok(d) => d,
        Err(e) => return store_error_page(user.lang, e),
    };
    let list = match store::widgets(&state.store, &user.actor, id).await {
        Ok(w) => w,
        Err(e) => return store_error_page(user.lang, e),
    };
    let c = Catalogs::embedded();
    let ctx = Ctx {
        state: &state,
        user: &user,
        registry: &registry,
    };
    let n = list.len();
    let mut cards = Vec::with_capacity(n);
    for (i, w) in list.into_iter().enumerate() {
        let (title, result) = if w.kind == REPORT_KIND {
            report_widget(&ctx, w.report_id, &w.chart).await
        } else {
            (
                c.get(user.lang, &format!("dash_widget_{}", w.kind)).to_string(),
                widgets::builtin(&ctx, &w.kind).await,
            )
        };
        let (view, error) = match result {
            Ok(v) => (v, None),
            Err(e) => (WidgetView::default(), Some(store_message(user.lang, &e))),
        };
        cards.push(WidgetCard {
            id: w.id,
            title,
            kind: w.kind,
            chart_json: view.chart.as_ref().and_then(|c| serde_json::to_string(c).ok()),
            view,
            error,
            first: i == 0,
            last: i + 1 == n,
        });
    }
    let builtin = BUILTIN_KINDS
        .iter()
        .map(|k| Choice {
            value: (*k).into(),
            label: c.get(user.lang, &format!("dash_widget_{k}")).into(),
        })
        .collect();
    let reports = saved::list_reports(&state.store, &user.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.spec.group_by.is_empty() && !r.spec.pivot)
        .map(|r| Choice {
            value: r.id.to_string(),
            label: r.name,
        })
        .collect();
    let charts = sable_core::dashboard::CHART_KINDS
        .iter()
        .filter(|k| **k != "pareto")
        .map(|k| Choice {
            value: (*k).into(),
            label: c.get(user.lang, &format!("dash_chart_{k}")).into(),
        })
        .collect();
    let page = ShowPage {
        layout: Layout::new(&user, &registry, d.name.clone(), "dashboards", None),
        lang: user.lang.tag(),
        id,
        editable: store::may_edit(&user.actor, &d),
        name: d.name,
        shared: d.shared,
        widgets: cards,
        builtin,
        reports,
        charts,
    };
    render("pages/dashboard.html", &page)
}

/// A saved report's chart, computed for the viewer: its name and figures, or why not
/// (a report deleted or not shared with the viewer is "not available").
async fn report_widget(
    ctx: &Ctx<'_>,
    report: Option<i64>,
    chart: &str,
) -> (String, sable_store::StoreResult<WidgetView>) {
    let missing = || {
        sable_store::StoreError::refused(
            "dash_refused_report_missing",
            "the report of this widget is not available",
        )
    };
    let fallback = Catalogs::embedded()
        .get(ctx.user.lang, "dash_widget_report")
        .to_string();
    let Some(id) = report else {
        return (fallback, Err(missing()));
    };
    match saved::run_saved(&ctx.state.store, &ctx.user.actor, id).await {
        Ok((report, result)) => {
            let kind = chart_kind(chart, report.chart.as_ref());
            let view = WidgetView {
                chart: Some(widgets::summary_chart(ctx, &report.spec, &result, &kind)),
                more_href: Some(format!("/reports/{id}")),
                ..WidgetView::default()
            };
            (report.name, Ok(view))
        }
        Err(sable_store::StoreError::NotFound { .. } | sable_store::StoreError::Forbidden(_)) => {
            (fallback, Err(missing()))
        }
        Err(e) => (fallback, Err(e)),
    }
}

/// The chart type of a report widget: the widget's own, else the report's (`{"type":…}`),
/// else bars.
pub fn chart_kind(widget: &str, report: Option<&serde_json::Value>) -> String {
    let from_report = report
        .and_then(|c| c.get("type"))
        .and_then(|t| t.as_str())
        .unwrap_or("");
    [widget, from_report]
        .into_iter()
        .find(|k| sable_core::dashboard::is_chart_kind(k) && *k != "pareto")
        .unwrap_or("bar")
        .to_string()
}

/// Reads the CSRF token and the dashboard id of an owner's change.
/// A change's dashboard id and form fields.
type Change = (i64, Vec<(String, String)>);

fn change_form(user: &UiUser, id: &str, body: &Bytes) -> Result<Change, Box<Response>> {
    let form = parse_form(body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return Err(Box::new(csrf_refused(user.lang)));
    }
    let id = parse_id(id).map_err(|_| Box::new(error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found")))?;
    Ok((id, form))
}

/// `POST /dashboards/{id}/settings`: name and sharing.
pub async fn settings(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let (id, form) = match change_form(&user, &id, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let name = form_value(&form, "name").unwrap_or("");
    let shared = form_value(&form, "shared").is_some();
    match store::update_dashboard(&state.store, &user.actor, id, name, shared).await {
        Ok(()) => see_other(&format!("/dashboards/{id}")),
        Err(e) => refused_page(&user, e),
    }
}

/// `POST /dashboards/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let (id, _) = match change_form(&user, &id, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match store::delete_dashboard(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/dashboards"),
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /dashboards/{id}/widgets`: adds a built-in widget (`kind`) or a report's chart
/// (`report` and `chart`).
pub async fn add_widget(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let (id, form) = match change_form(&user, &id, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let report = form_value(&form, "report").and_then(|r| r.parse::<i64>().ok());
    let kind = if report.is_some() {
        REPORT_KIND
    } else {
        form_value(&form, "kind").unwrap_or("")
    };
    let chart = form_value(&form, "chart").unwrap_or("");
    if let Some(report) = report
        && let Err(e) = saved::get_report(&state.store, &user.actor, report).await
    {
        return store_error_page(user.lang, e);
    }
    match store::add_widget(&state.store, &user.actor, id, kind, report, chart).await {
        Ok(_) => see_other(&format!("/dashboards/{id}")),
        Err(e) => refused_page(&user, e),
    }
}

/// `POST /dashboards/{id}/widgets/{widget}/{action}`: `remove`, `up` or `down`.
pub async fn widget_action(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, widget, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (id, _) = match change_form(&user, &id, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Ok(widget) = parse_id(&widget) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let result = match action.as_str() {
        "remove" => store::remove_widget(&state.store, &user.actor, id, widget).await,
        "up" | "down" => store::move_widget(&state.store, &user.actor, id, widget, action == "up").await,
        _ => return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
    };
    match result {
        Ok(()) => see_other(&format!("/dashboards/{id}")),
        Err(e) => store_error_page(user.lang, e),
    }
}
