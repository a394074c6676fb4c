//! Report pages: my and shared saved reports, the builder (module, columns with related
//! modules' fields, the list's filter rows, up to three groups with date buckets,
//! aggregates, sort, tabular/summary/matrix, chart type) with a live preview, a saved
//! report with its chart, export to CSV and XLSX, and "add to a dashboard". Reports run
//! through the report engine as the viewer.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sable_core::dashboard::CHART_KINDS;
use sable_core::meta::FieldType;
use sable_core::report::{AggFn, Aggregate, Bucket, GroupBy, ReportResult, ReportSort, ReportSpec};
use sable_core::{Lang, ModuleDef, Registry};
use sable_store::reports::saved::{self, ReportInput};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::filters;
use super::render::{Catalogs, render};
use super::session::UiUser;
use super::widgets::{self, Ctx, TableView};
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;
use crate::extract::parse_id;

/// Aggregate rows the builder offers.
const AGGREGATE_ROWS: usize = 3;
/// Filter rows the builder offers.
const FILTER_ROWS: usize = 3;

#[derive(Serialize, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choice(value: &str, label: &str, selected: bool) -> Choice {
    Choice {
        value: value.into(),
        label: label.into(),
        selected,
    }
}

/// Fields a report may name: the module's own and, through each single-target reference,
/// the target's (`related_to.industry`).
fn field_paths(registry: &Registry, m: &ModuleDef, lang: Lang) -> Vec<(String, String, FieldType)> {
    let mut out: Vec<(String, String, FieldType)> = m
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.label(lang).to_string(), f.field_type))
        .collect();
    for f in m
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Reference && f.targets.len() == 1)
    {
        let Ok(target) = registry.module(&f.targets[0]) else {
            continue;
        };
        if !target.entity {
            continue;
        }
        for tf in &target.fields {
            out.push((
                format!("{}.{}", f.name, tf.name),
                format!("{}: {}", f.label(lang), tf.label(lang)),
                tf.field_type,
            ));
        }
    }
    out
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    form_value(pairs, key).unwrap_or("").trim()
}

/// The spec the builder's parameters describe, and the chart type chosen.
pub fn spec_from_pairs(pairs: &[(String, String)], module: &str) -> (ReportSpec, String) {
    let display = get(pairs, "display");
    let builder = filters::conditions(pairs);
    let filter = (!builder.is_empty()).then(|| filters::tree(&builder));
    let mut spec = ReportSpec {
        module: module.to_string(),
        filter,
        ..ReportSpec::default()
    };
    if display == "tabular" {
        spec.columns = pairs
            .iter()
            .filter(|(k, v)| k == "col" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
    } else {
        for i in 1..=sable_core::report::MAX_GROUPS {
            let field = get(pairs, &format!("g{i}"));
            if field.is_empty() {
                continue;
            }
            let bucket = serde_json::from_value::<Bucket>(json!(get(pairs, &format!("b{i}")))).ok();
            spec.group_by.push(GroupBy {
                field: field.to_string(),
                bucket,
            });
        }
        for i in 1..=AGGREGATE_ROWS {
            let Ok(func) = serde_json::from_value::<AggFn>(json!(get(pairs, &format!("a{i}")))) else {
                continue;
            };
            let field = get(pairs, &format!("af{i}"));
            spec.aggregates.push(Aggregate {
                func,
                field: (!field.is_empty()).then(|| field.to_string()),
            });
        }
        spec.pivot = display == "matrix";
    }
    let sort = get(pairs, "sort");
    if !sort.is_empty() {
        spec.sort.push(ReportSort {
            key: sort.to_string(),
            desc: get(pairs, "dir") == "desc",
        });
    }
    let chart = get(pairs, "chart");
    let chart = if CHART_KINDS.contains(&chart) && chart != "pareto" {
        chart
    } else {
        ""
    };
    (spec, chart.to_string())
}

/// The builder's parameters for a spec (to edit a saved report).
pub fn pairs_of_spec(spec: &ReportSpec, chart: &str) -> Vec<(String, String)> {
    let p = |k: &str, v: &str| (k.to_string(), v.to_string());
    let display = if !spec.columns.is_empty() {
        "tabular"
    } else if spec.pivot {
        "matrix"
    } else {
        "summary"
    };
    let mut out = vec![p("module", &spec.module), p("display", display), p("chart", chart)];
    out.extend(spec.columns.iter().map(|c| p("col", c)));
    for (i, g) in spec.group_by.iter().enumerate() {
        out.push(p(&format!("g{}", i + 1), &g.field));
        if let Some(b) = g.bucket {
            out.push(p(&format!("b{}", i + 1), b.as_str()));
        }
    }
    for (i, a) in spec.aggregates.iter().enumerate() {
        out.push(p(&format!("a{}", i + 1), a.func.as_str()));
        out.push(p(&format!("af{}", i + 1), a.field.as_deref().unwrap_or("")));
    }
    if let Some(s) = spec.sort.first() {
        out.push(p("sort", &s.key));
        out.push(p("dir", if s.desc { "desc" } else { "asc" }));
    }
    if let Some(b) = spec.filter.as_ref().and_then(filters::rows_of) {
        out.extend(b.pairs());
    }
    out
}

/// The answer as a table of display text.
pub fn result_table(r: &ReportResult) -> TableView {
    TableView {
        headings: r.columns.iter().map(|c| c.label.clone()).collect(),
        rows: r
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(
                        |(j, v)| match r.labels.get(i).and_then(|l| l.get(j)).cloned().flatten() {
                            Some(text) => text,
                            None => match v {
                                Json::Null => String::new(),
                                Json::String(s) => s.clone(),
                                other => other.to_string(),
                            },
                        },
                    )
                    .collect()
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct ReportLink {
    href: String,
    name: String,
    module: String,
    mine: bool,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    lang: &'static str,
    reports: Vec<ReportLink>,
}

/// `GET /reports`.
pub async fn list(State(state): State<AppState>, user: UiUser) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let all = match saved::list_reports(&state.store, &user.actor).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let reports = all
        .into_iter()
        .map(|r| ReportLink {
            href: format!("/reports/{}", r.id),
            module: registry
                .module(&r.spec.module)
                .map(|m| m.label(user.lang).to_string())
                .unwrap_or_default(),
            mine: r.owner_id == user.actor.user_id(),
            name: r.name,
        })
        .collect();
    let title = Catalogs::embedded().get(user.lang, "dash_reports").to_string();
    render(
        "pages/reports.html",
        &ListPage {
            layout: Layout::new(&user, &registry, title, "reports", None),
            lang: user.lang.tag(),
            reports,
        },
    )
}

#[derive(Serialize)]
struct GroupRow {
    fields: Vec<Choice>,
    buckets: Vec<Choice>,
}

#[derive(Serialize)]
struct AggRow {
    funcs: Vec<Choice>,
    fields: Vec<Choice>,
}

#[derive(Serialize)]
struct FilterRow {
    fields: Vec<Choice>,
    ops: Vec<Choice>,
    value: String,
}

#[derive(Serialize)]
struct BuilderPage {
    layout: Layout,
    lang: &'static str,
    modules: Vec<Choice>,
    displays: Vec<Choice>,
    columns: Vec<Choice>,
    groups: Vec<GroupRow>,
    aggregates: Vec<AggRow>,
    filter_rows: Vec<FilterRow>,
    match_any: bool,
    sorts: Vec<Choice>,
    desc: bool,
    charts: Vec<Choice>,
    users: Vec<Choice>,
    error: Option<String>,
    table: Option<TableView>,
    chart_json: Option<String>,
    truncated: bool,
    spec_json: String,
    chart: String,
    edit_id: Option<i64>,
    name: String,
}

/// `GET /reports/new`: the builder, with a preview of what its parameters describe.
pub async fn builder(State(state): State<AppState>, user: UiUser, RawQuery(raw): RawQuery) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .take(400)
        .collect();
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let lang = user.lang;
    let c = Catalogs::embedded();
    let module_name = match get(&pairs, "module") {
        "" => "Opportunities",
        m => m,
    };
    let Some(m) = registry.module(module_name).ok().filter(|m| m.entity) else {
        return error_page(lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let (spec, chart) = spec_from_pairs(&pairs, &m.name);
    let display = match get(&pairs, "display") {
        d @ ("tabular" | "matrix") => d,
        _ => "summary",
    };
    let paths = field_paths(&registry, m, lang);
    let pick = |selected: &str, filter: &dyn Fn(FieldType) -> bool, empty: bool| -> Vec<Choice> {
        let mut v = Vec::new();
        if empty {
            v.push(choice("", "", selected.is_empty()));
        }
        v.extend(
            paths
                .iter()
                .filter(|(_, _, t)| filter(*t))
                .map(|(p, l, _)| choice(p, l, p == selected)),
        );
        v
    };
    let any = |_: FieldType| true;
    let numeric = |t: FieldType| {
        matches!(
            t,
            FieldType::Integer
                | FieldType::Decimal
                | FieldType::Currency
                | FieldType::Percent
                | FieldType::Date
                | FieldType::Datetime
        )
    };
    let chosen_cols: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "col")
        .map(|(_, v)| v.as_str())
        .collect();
    let columns = paths
        .iter()
        .map(|(p, l, _)| choice(p, l, chosen_cols.contains(&p.as_str())))
        .collect();
    let groups = (1..=sable_core::report::MAX_GROUPS)
        .map(|i| {
            let b = get(&pairs, &format!("b{i}"));
            let mut buckets = vec![choice("", "", b.is_empty())];
            for k in ["day", "week", "month", "quarter", "year"] {
                buckets.push(choice(k, c.get(lang, &format!("dash_bucket_{k}")), b == k));
            }
            GroupRow {
                fields: pick(get(&pairs, &format!("g{i}")), &any, true),
                buckets,
            }
        })
        .collect();
    let aggregates = (1..=AGGREGATE_ROWS)
        .map(|i| {
            let f = get(&pairs, &format!("a{i}"));
            let f = if i == 1 && pairs.is_empty() { "count" } else { f };
            let mut funcs = vec![choice("", "", f.is_empty())];
            for k in ["count", "sum", "avg", "min", "max"] {
                funcs.push(choice(k, c.get(lang, &format!("dash_agg_{k}")), f == k));
            }
            AggRow {
                funcs,
                fields: pick(get(&pairs, &format!("af{i}")), &numeric, true),
            }
        })
        .collect();
    let b = filters::conditions(&pairs);
    let filter_rows = (0..FILTER_ROWS.max(b.rows.len()))
        .map(|i| {
            let row = b.rows.get(i).cloned().unwrap_or_default();
            let mut ops = Vec::new();
            for op in filters::OPS {
                ops.push(choice(op, c.get(lang, &format!("op_{op}")), row.op == op));
            }
            FilterRow {
                fields: pick(&row.field, &|_| true, true)
                    .into_iter()
                    .filter(|ch| !ch.value.contains('.'))
                    .collect(),
                ops,
                value: row.value,
            }
        })
        .collect();
    let mut sorts = vec![choice("", "", true)];
    let sort = get(&pairs, "sort");
    let keys: Vec<String> = match spec.check(&registry) {
        Ok(checked) => checked.keys(),
        Err(_) => Vec::new(),
    };
    for k in &keys {
        sorts.push(choice(k, k, k == sort));
    }
    let charts = CHART_KINDS
        .iter()
        .filter(|k| **k != "pareto")
        .map(|k| choice(k, c.get(lang, &format!("dash_chart_{k}")), *k == chart))
        .collect();
    let users = sable_store::users::list_users(&state.store)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.id != user.actor.user_id() && u.status == "Active")
        .map(|u| choice(&u.id.to_string(), &u.display_name(), false))
        .collect();
    // Preview: only once the person asked (the form was submitted).
    let (mut error, mut table, mut chart_json, mut truncated) = (None, None, None, false);
    if !get(&pairs, "run").is_empty() {
        match sable_store::reports::run(&state.store, &user.actor, &spec).await {
            Ok(r) => {
                truncated = r.truncated;
                if !spec.group_by.is_empty() && !spec.pivot {
                    let ctx = Ctx {
                        state: &state,
                        user: &user,
                        registry: &registry,
                    };
                    let kind = if chart.is_empty() { "bar" } else { chart.as_str() };
                    chart_json = serde_json::to_string(&widgets::summary_chart(&ctx, &spec, &r, kind)).ok();
                }
                table = Some(result_table(&r));
            }
            Err(e) => error = Some(store_message(lang, &e)),
        }
    }
    let modules = registry
        .entity_modules()
        .map(|x| choice(&x.name, x.label(lang), x.name == m.name))
        .collect();
    let displays = ["summary", "matrix", "tabular"]
        .iter()
        .map(|d| choice(d, c.get(lang, &format!("dash_display_{d}")), *d == display))
        .collect();
    let title = c.get(lang, "dash_report_builder").to_string();
    let page = BuilderPage {
        layout: Layout::new(&user, &registry, title, "reports", None),
        lang: lang.tag(),
        modules,
        displays,
        columns,
        groups,
        aggregates,
        filter_rows,
        match_any: b.any,
        sorts,
        desc: get(&pairs, "dir") == "desc",
        charts,
        users,
        error,
        table,
        chart_json,
        truncated,
        spec_json: serde_json::to_string(&spec).unwrap_or_default(),
        chart,
        edit_id: get(&pairs, "edit").parse().ok(),
        name: get(&pairs, "name").to_string(),
    };
    render("pages/report_builder.html", &page)
}

/// Reads a save form: name, the spec (JSON, checked by the store), chart and shares.
fn input_of(form: &[(String, String)]) -> Result<ReportInput, ()> {
    let spec: ReportSpec = serde_json::from_str(form_value(form, "spec").unwrap_or("")).map_err(|_| ())?;
    let chart = form_value(form, "chart").filter(|c| CHART_KINDS.contains(c));
    Ok(ReportInput {
        name: form_value(form, "name").unwrap_or("").to_string(),
        spec,
        chart: chart.map(|c| json!({"type": c})),
        schedule: None,
        shared_with: form
            .iter()
            .filter(|(k, _)| k == "share")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
    })
}

fn refused(user: &UiUser, e: &sable_store::StoreError) -> Response {
    let c = Catalogs::embedded();
    let page = json!({
        "lang": user.lang.tag(),
        "title": c.get(user.lang, "error_title"),
        "message": store_message(user.lang, e),
        "back": c.get(user.lang, "error_back"),
        "asset_version": super::assets::VERSION,
    });
    let mut response = render("pages/error.html", &page);
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// `POST /reports`: saves a new report (or, with `edit`, changes one).
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(input) = input_of(&form) else {
        return error_page(user.lang, StatusCode::UNPROCESSABLE_ENTITY, "dash_bad_spec");
    };
    let result = match form_value(&form, "edit").and_then(|e| e.parse::<i64>().ok()) {
        Some(id) => saved::update_report(&state.store, &user.actor, id, &input).await,
        None => saved::create_report(&state.store, &user.actor, &input).await,
    };
    match result {
        Ok(r) => see_other(&format!("/reports/{}", r.id)),
        Err(e) if e.refusal().is_some() || matches!(e, sable_store::StoreError::BadFilter(_)) => refused(&user, &e),
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct ShowPage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    name: String,
    editable: bool,
    edit_href: String,
    table: TableView,
    truncated: bool,
    chart_json: Option<String>,
    dashboards: Vec<Choice>,
    chart: String,
}

/// `GET /reports/{id}`.
pub async fn show(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let (report, result) = match saved::run_saved(&state.store, &user.actor, id).await {
        Ok(x) => x,
        Err(e) => return store_error_page(user.lang, e),
    };
    let chart = super::dashboards::chart_kind("", report.chart.as_ref());
    let chart_json = (!report.spec.group_by.is_empty() && !report.spec.pivot).then(|| {
        let ctx = Ctx {
            state: &state,
            user: &user,
            registry: &registry,
        };
        serde_json::to_string(&widgets::summary_chart(&ctx, &report.spec, &result, &chart)).unwrap_or_default()
    });
    let mut pairs = pairs_of_spec(&report.spec, &chart);
    pairs.extend([
        ("edit".to_string(), id.to_string()),
        ("name".to_string(), report.name.clone()),
        ("run".to_string(), "1".to_string()),
    ]);
    let edit_href = format!(
        "/reports/new?{}",
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    );
    let dashboards = sable_store::dashboards::list_dashboards(&state.store, &user.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|d| sable_store::dashboards::may_edit(&user.actor, d))
        .map(|d| choice(&d.id.to_string(), &d.name, false))
        .collect();
    let page = ShowPage {
        layout: Layout::new(&user, &registry, report.name.clone(), "reports", None),
        lang: user.lang.tag(),
        id,
        editable: report.editable,
        edit_href,
        name: report.name,
        table: result_table(&result),
        truncated: result.truncated,
        chart_json,
        dashboards,
        chart,
    };
    render("pages/report.html", &page)
}

/// `POST /reports/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match saved::delete_report(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/reports"),
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `GET /reports/{id}/export.{csv|xlsx}`: the answer as a file, written by the same code
/// as the API's export (CSV in UTF-8 with a BOM so Excel opens Chinese correctly).
pub async fn export(State(state): State<AppState>, user: UiUser, Path((id, file)): Path<(String, String)>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let format = match file.as_str() {
        "export.csv" => "csv",
        "export.xlsx" => "xlsx",
        _ => return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
    };
    let (_, result) = match saved::run_saved(&state.store, &user.actor, id).await {
        Ok(x) => x,
        Err(e) => return store_error_page(user.lang, e),
    };
    // The same files as the API's export (one writer in sable_import).
    let bytes = match format {
        "csv" => sable_import::report_export::to_csv(&result, user.lang),
        _ => sable_import::report_export::to_xlsx(&result, user.lang),
    };
    let Ok(bytes) = bytes else {
        return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
    };
    let content_type = if format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    };
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"report-{id}.{format}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn the_builders_parameters_make_a_spec_and_come_back_from_it() {
        let (spec, chart) = spec_from_pairs(
            &pairs(
                "display=summary&chart=donut&g1=sales_stage&g2=closingdate&b2=quarter&a1=count&a2=sum&af2=amount\
                 &sort=count&dir=desc&m=all&f=amount&o=gt&v=100&g=0",
            ),
            "Opportunities",
        );
        assert_eq!(chart, "donut");
        assert_eq!(spec.group_by.len(), 2);
        assert_eq!(spec.group_by[1].bucket, Some(Bucket::Quarter));
        assert_eq!(spec.aggregates[1].field.as_deref(), Some("amount"));
        assert!(spec.sort[0].desc);
        assert_eq!(
            spec.filter,
            Some(json!({"all": [{"field": "amount", "op": "gt", "value": "100"}]}))
        );
        let back = pairs_of_spec(&spec, &chart);
        let (again, chart_again) = spec_from_pairs(&back, "Opportunities");
        assert_eq!((again, chart_again), (spec, chart));
    }

    #[test]
    fn hostile_builder_parameters_are_dropped_not_trusted() {
        let (spec, chart) = spec_from_pairs(
            &pairs("display=matrix&chart=<script>&g1=a&b1=fortnight&a1=median&af1=x&a2=sum"),
            "Leads",
        );
        assert_eq!(chart, "", "unknown chart types are dropped");
        assert_eq!(spec.group_by[0].bucket, None, "unknown buckets are dropped");
        assert_eq!(spec.aggregates.len(), 1, "unknown functions are dropped");
        assert!(spec.pivot);
        let (tabular, _) = spec_from_pairs(&pairs("display=tabular&col=lastname&col=&g1=x"), "Leads");
        assert_eq!(tabular.columns, ["lastname"]);
        assert!(tabular.group_by.is_empty(), "a table of records has no groups");
    }

    #[test]
    fn a_widgets_chart_type_falls_back_to_the_reports_then_bars() {
        use super::super::dashboards::chart_kind;
        assert_eq!(chart_kind("line", Some(&json!({"type": "pie"}))), "line");
        assert_eq!(chart_kind("", Some(&json!({"type": "pie"}))), "pie");
        assert_eq!(chart_kind("", Some(&json!({"type": "pareto"}))), "bar");
        assert_eq!(chart_kind("<b>", None), "bar");
    }
}
