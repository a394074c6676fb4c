//! The list view of a module: chosen columns, sort by a header click, a quick filter,
//! pages with a count, and the recycle bin.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use sable_core::meta::FieldType;
use sable_core::{Filter, ModuleDef};
use sable_store::{Query as ListQuery, SortKey};
use serde::Serialize;
use serde_json::json;

use super::filters::{self, Builder};
use super::format::{Shown, display_value};
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, store_error_page};
use crate::AppState;

/// What the list page was asked for, read from the query string.
#[derive(Default)]
pub struct ListParams {
    sort: Option<String>,
    dir: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    /// The cursors of the pages before this one, oldest first, joined by `.` (`~` for the
    /// first page): cursors only go forward, so "previous" needs them.
    trail: Option<String>,
    deleted: Option<String>,
    flash: Option<String>,
    done: Option<u64>,
    failed: Option<u64>,
    view: Option<i64>,
    cols: Option<String>,
    error: Option<String>,
}

impl ListParams {
    /// Reads the single-valued parameters; `f`/`o`/`v` rows are read by `filters`.
    pub fn from_pairs(pairs: &[(String, String)]) -> ListParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        ListParams {
            sort: get("sort"),
            dir: get("dir"),
            q: get("q"),
            cursor: get("cursor"),
            trail: get("trail"),
            deleted: get("deleted"),
            flash: get("flash"),
            done: get("done").and_then(|v| v.parse().ok()),
            failed: get("failed").and_then(|v| v.parse().ok()),
            view: get("view").and_then(|v| v.parse().ok()),
            cols: get("cols"),
            error: get("error").filter(|k| super::FLASH_KEYS.contains(&k.as_str())),
        }
    }
}

/// Stands for the first page (no cursor) in a list's page trail.
const FIRST_PAGE: &str = "~";
/// How many earlier pages "previous" can walk back through.
const MAX_TRAIL: usize = 30;

#[derive(Serialize)]
struct UserChoice {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct Column {
    label: String,
    href: String,
    sorted: Option<&'static str>,
    numeric: bool,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    href: String,
    label: String,
    cells: Vec<Shown>,
}

#[derive(Serialize)]
struct ViewLink {
    name: String,
    href: String,
    active: bool,
    shared: bool,
    id: i64,
    deletable: bool,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    module_label: String,
    new_label: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    count_text: String,
    next_href: Option<String>,
    previous_href: Option<String>,
    first_href: Option<String>,
    q: String,
    sort: String,
    dir: String,
    deleted: bool,
    bin_href: String,
    users: Vec<UserChoice>,
    editable_fields: Vec<super::form::InputView>,
    views: Vec<ViewLink>,
    all_href: String,
    /// The list's parameters, as hidden fields of the export form.
    export_params: Vec<(String, String)>,
    view: Option<i64>,
    /// The builder's top group: its rows (with two empty ones) and nested groups (with one
    /// empty group to start), and the hidden pairs that save it as a view.
    filter_rows: Vec<filters::RowView>,
    filter_groups: Vec<GroupView>,
    filter_pairs: Vec<(String, String)>,
    match_any: bool,
    filter_fields: Vec<filters::Choice>,
    filter_relatives: Vec<filters::Choice>,
    /// A saved view's filter the builder cannot show (applied as saved).
    filter_unshown: bool,
    column_choices: Vec<(String, String, bool)>,
    filter_error: Option<String>,
    filter_open: bool,
}

#[derive(Serialize)]
struct GroupView {
    index: usize,
    any: bool,
    rows: Vec<filters::RowView>,
}

/// The columns of the default list view: the module's list columns, else its first fields.
/// The owner comes last; the first column links to the record.
pub fn list_columns(module: &ModuleDef) -> Vec<&sable_core::FieldDef> {
    let mut cols: Vec<_> = module.fields.iter().filter(|f| f.list_column).collect();
    if cols.is_empty() {
        cols = module.fields.iter().filter(|f| !f.readonly).take(5).collect();
    }
    cols.sort_by_key(|f| f.field_type == FieldType::Owner);
    cols
}

fn link(module: &str, params: &[(String, String)]) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(k, v)| !v.is_empty() || k == "v"))
        .finish();
    if query.is_empty() {
        format!("/m/{module}")
    } else {
        format!("/m/{module}?{query}")
    }
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// The list's conditions: the builder's from the query, else the saved view's.
struct Conditions {
    builder: Builder,
    /// The tree applied: the builder's, or the view's exactly as saved.
    tree: serde_json::Value,
    /// The view's tree is more than the builder shows.
    unshown: bool,
}

/// The builder's conditions (or the view's) and the columns shown (chosen, the view's, or
/// the module's defaults).
fn conditions_and_columns(
    m: &ModuleDef,
    p: &ListParams,
    view: Option<&sable_store::views::SavedView>,
    pairs: &[(String, String)],
) -> (Conditions, Vec<String>) {
    let mut builder = filters::conditions(pairs);
    let mut tree = filters::tree(&builder);
    let mut unshown = false;
    if builder.is_empty()
        && let Some(v) = view
    {
        match filters::rows_of(&v.definition.filter) {
            Some(b) if b.is_empty() => {}
            Some(b) => {
                builder = b;
                tree = v.definition.filter.clone();
            }
            None => {
                unshown = true;
                tree = v.definition.filter.clone();
            }
        }
    }
    let chosen: Vec<String> = match (&p.cols, view) {
        (Some(c), _) => c.split(',').map(str::to_string).collect(),
        (None, Some(v)) => v.definition.columns.clone(),
        _ => Vec::new(),
    };
    let mut columns: Vec<String> = chosen.into_iter().filter(|c| m.field(c).is_some()).collect();
    if columns.is_empty() {
        columns = list_columns(m).iter().map(|f| f.name.clone()).collect();
    }
    (Conditions { builder, tree, unshown }, columns)
}

/// The quick filter: the text in any of the text-like columns shown.
fn quick_filter(columns: &[&sable_core::FieldDef], q: &str) -> serde_json::Value {
    if q.is_empty() {
        return json!({"all": []});
    }
    let any: Vec<_> = columns
        .iter()
        .filter(|f| {
            matches!(
                f.field_type,
                FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Url | FieldType::AutoNumber
            )
        })
        .map(|f| json!({"field": f.name, "op": "contains", "value": q}))
        .collect();
    json!({"any": any})
}

/// `GET /m/{module}/export?format=csv|xlsx&encoding=utf-8-bom|utf-8|gb18030&…`: the list as
/// it is filtered, with its columns (or only the records named by `ids`).
pub async fn export(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    export_file(&state, &user, &module, &pairs).await
}

/// `POST /m/{module}/export` from the list's bulk bar: the selected rows (`ids`), in the
/// chosen `format` and `encoding`.
pub async fn export_selected(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let form = super::parse_form(&body);
    if !user.csrf_ok(super::form_value(&form, "_csrf")) {
        return super::csrf_refused(user.lang);
    }
    if !form.iter().any(|(k, v)| k == "ids" && !v.is_empty()) {
        return super::see_other(&format!("/m/{module}?flash=bulk_none"));
    }
    export_file(&state, &user, &module, &form).await
}

/// Most records an export of selected rows names.
const MAX_EXPORT_IDS: usize = sable_core::filter::MAX_IN_VALUES;

async fn export_file(state: &AppState, user: &UiUser, module: &str, pairs: &[(String, String)]) -> Response {
    use axum::response::IntoResponse;
    let pairs = pairs.to_vec();
    let p = ListParams::from_pairs(&pairs);
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let m = match registry.module(module) {
        Ok(m) if m.entity => m.clone(),
        _ => return super::error_page(user.lang, axum::http::StatusCode::NOT_FOUND, "error_not_found"),
    };
    let views = sable_store::views::list_views(&state.store, &user.actor, &m.name)
        .await
        .unwrap_or_default();
    let view = p.view.and_then(|id| views.iter().find(|v| v.id == id));
    let (conds, column_names) = conditions_and_columns(&m, &p, view, &pairs);
    let columns: Vec<&sable_core::FieldDef> = column_names.iter().filter_map(|c| m.field(c)).collect();
    let q: String = p.q.clone().unwrap_or_default().trim().chars().take(100).collect();
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .flat_map(|(_, v)| v.split(','))
        .filter_map(|v| crate::extract::parse_id(v.trim()).ok())
        .take(MAX_EXPORT_IDS)
        .collect();
    let tree = if ids.is_empty() {
        json!({"all": [conds.tree, quick_filter(&columns, &q)]})
    } else {
        json!({"field": "id", "op": "in", "value": ids})
    };
    let encoding = pairs
        .iter()
        .find(|(k, _)| k == "encoding")
        .and_then(|(_, v)| sable_import::export::ExportEncoding::parse(v))
        .unwrap_or_default();
    let filter = match Filter::from_json(&tree) {
        Ok(f) => f,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let selection = sable_import::export::Selection {
        filter,
        columns: Some(column_names),
    };
    let xlsx = pairs.iter().any(|(k, v)| k == "format" && v == "xlsx");
    let mut bytes = Vec::new();
    let result = if xlsx {
        sable_import::export::export_xlsx(&state.store, &user.actor, &m.name, selection, &mut bytes).await
    } else {
        sable_import::export::export_csv(&state.store, &user.actor, &m.name, selection, encoding, &mut bytes).await
    };
    if let Err(e) = result {
        return crate::error::AppError::Internal(anyhow::anyhow!("{e}")).into_response();
    }
    let (content_type, ext) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        (
            if encoding == sable_import::export::ExportEncoding::Gb18030 {
                "text/csv; charset=gb18030"
            } else {
                "text/csv; charset=utf-8"
            },
            "csv",
        )
    };
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.{ext}\"", m.name),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /m/{module}`: a saved view or the default one, with the builder's conditions,
/// the quick filter, a sort and a page.
pub async fn show_list(state: &AppState, user: &UiUser, module: &str, pairs: &[(String, String)]) -> Response {
    let p = ListParams::from_pairs(pairs);
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let m = match registry.module(module) {
        Ok(m) if m.entity => m.clone(),
        _ => return super::error_page(user.lang, axum::http::StatusCode::NOT_FOUND, "error_not_found"),
    };
    let views = sable_store::views::list_views(&state.store, &user.actor, &m.name)
        .await
        .unwrap_or_default();
    let view = p.view.and_then(|id| views.iter().find(|v| v.id == id));
    let (conds, column_names) = conditions_and_columns(&m, &p, view, pairs);
    let rows_in = &conds.builder.rows;
    let columns: Vec<&sable_core::FieldDef> = column_names.iter().filter_map(|c| m.field(c)).collect();
    let view_sort = view.and_then(|v| v.definition.sort.clone());
    let sort = p
        .sort
        .clone()
        .or(view_sort)
        .filter(|s| m.field(s).is_some())
        .unwrap_or_else(|| "modifiedtime".into());
    let desc = match p.dir.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ if p.sort.is_none() && view.is_some() => view.is_some_and(|v| v.definition.desc),
        _ => sort == "modifiedtime" || sort == "createdtime",
    };
    let q: String = p.q.clone().unwrap_or_default().trim().chars().take(100).collect();
    let deleted = p.deleted.as_deref() == Some("1");
    let quick = quick_filter(&columns, &q);
    let built = conds.tree.clone();
    let make_query = |tree: &serde_json::Value| -> Result<ListQuery, sable_store::StoreError> {
        Ok(ListQuery {
            filter: Filter::from_json(&json!({"all": [tree, quick]}))?,
            sort: vec![SortKey {
                field: sort.clone(),
                desc,
            }],
            limit: 50,
            cursor: p.cursor.clone(),
            deleted,
            ..ListQuery::default()
        })
    };
    let svc = state.store.records(&user.actor);
    let mut filter_error = p
        .error
        .as_deref()
        .map(|key| Catalogs::embedded().get(user.lang, key).to_string());
    let attempt = match make_query(&built) {
        Ok(query) => svc.query(&m.name, &query).await,
        Err(e) => Err(e),
    };
    let page = match attempt {
        Ok(page) => page,
        // A filter that does not fit the module: say what is wrong and list without it.
        Err(
            e @ (sable_store::StoreError::BadFilter(_)
            | sable_store::StoreError::Refused(_)
            | sable_store::StoreError::BadRequest(_)),
        ) => {
            let detail = super::store_message(user.lang, &e);
            filter_error = Some(fill(
                Catalogs::embedded().get(user.lang, "filter_error"),
                &[("detail", detail)],
            ));
            let fallback = make_query(&json!({"all": []})).map(|mut query| {
                query.cursor = None;
                query
            });
            match fallback {
                Ok(query) => match svc.query(&m.name, &query).await {
                    Ok(page) => page,
                    Err(e) => return store_error_page(user.lang, e),
                },
                Err(e) => return store_error_page(user.lang, e),
            }
        }
        Err(e) => return store_error_page(user.lang, e),
    };

    let dir_text = if desc { "desc" } else { "asc" };
    let deleted_flag = if deleted { "1" } else { "" };
    // What every link on the page keeps: the view, the conditions, the quick filter, the bin.
    let mut keep: Vec<(String, String)> = vec![pair("q", &q), pair("deleted", deleted_flag)];
    if let Some(v) = view {
        keep.push(pair("view", &v.id.to_string()));
    }
    if let Some(c) = &p.cols {
        keep.push(pair("cols", c));
    }
    if !rows_in.is_empty() {
        keep.extend(conds.builder.pairs());
    }
    let column_views = columns
        .iter()
        .map(|f| {
            let is_sorted = f.name == sort;
            let next_dir = if is_sorted && !desc { "desc" } else { "asc" };
            let mut params = keep.clone();
            params.extend([pair("sort", &f.name), pair("dir", next_dir)]);
            Column {
                label: f.label(user.lang).into(),
                href: link(&m.name, &params),
                sorted: is_sorted.then_some(if desc { "desc" } else { "asc" }),
                numeric: matches!(
                    f.field_type,
                    FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent
                ),
            }
        })
        .collect();
    let rows = page
        .items
        .iter()
        .map(|r| Row {
            id: r.id,
            href: format!("/m/{}/{}", m.name, r.id),
            label: r.label.clone(),
            cells: columns
                .iter()
                .map(|f| {
                    display_value(
                        &registry,
                        f,
                        r.values.get(&f.name),
                        r.labels.get(&f.name).map(String::as_str),
                        &user.viewer(),
                    )
                })
                .collect(),
        })
        .collect();
    let c = Catalogs::embedded();
    let count = user.viewer().number(&page.count.unwrap_or(0).to_string());
    let count_key = if page.count_exact {
        "list_count"
    } else {
        "list_count_more"
    };
    let count_text = fill(c.get(user.lang, count_key), &[("count", count)]);
    let mut sorted_keep = keep.clone();
    sorted_keep.extend([pair("sort", &sort), pair("dir", dir_text)]);
    let mut trail: Vec<&str> = p
        .trail
        .as_deref()
        .unwrap_or("")
        .split('.')
        .filter(|c| !c.is_empty())
        .collect();
    let next_href = page.next_cursor.as_ref().map(|cur| {
        let mut params = sorted_keep.clone();
        params.push(pair("cursor", cur));
        let mut next_trail = trail.clone();
        next_trail.push(p.cursor.as_deref().unwrap_or(FIRST_PAGE));
        let skip = next_trail.len().saturating_sub(MAX_TRAIL);
        params.push(pair("trail", &next_trail[skip..].join(".")));
        link(&m.name, &params)
    });
    let previous_href = trail.pop().filter(|_| p.cursor.is_some()).map(|previous| {
        let mut params = sorted_keep.clone();
        if previous != FIRST_PAGE {
            params.push(pair("cursor", previous));
        }
        if !trail.is_empty() {
            params.push(pair("trail", &trail.join(".")));
        }
        link(&m.name, &params)
    });
    let first_href = p.cursor.as_ref().map(|_| link(&m.name, &sorted_keep));
    let module_label = m.label(user.lang).to_string();
    let singular = m.singular.get(user.lang).to_string();
    let title = match (deleted, view) {
        (true, _) => format!("{module_label} · {}", c.get(user.lang, "list_recycle_bin")),
        (false, Some(v)) => format!("{module_label} · {}", v.name),
        _ => module_label.clone(),
    };
    let filter_fields = filters::field_choices(&m, user.lang);
    let row_views = |group: usize, empty: usize| -> Vec<filters::RowView> {
        rows_in
            .iter()
            .filter(|r| r.group == group)
            .cloned()
            .chain((0..empty).map(|_| filters::ConditionRow {
                group,
                ..filters::ConditionRow::default()
            }))
            .map(|r| filters::row_view(&registry, &m, &r, user.lang))
            .collect()
    };
    let filter_rows = row_views(0, 2);
    let used = rows_in.iter().map(|r| r.group).max().unwrap_or(0);
    let filter_groups: Vec<GroupView> = (1..=filters::MAX_GROUPS.min(used + 1))
        .map(|k| GroupView {
            index: k,
            any: conds.builder.group_is_any(k),
            rows: row_views(k, if k > used { 2 } else { 1 }),
        })
        .collect();
    let column_names: Vec<&str> = columns.iter().map(|f| f.name.as_str()).collect();
    let all_users = sable_store::users::list_users(&state.store).await.unwrap_or_default();
    let page = ListPage {
        layout: Layout::with_counts(
            user,
            &registry,
            title,
            &m.name,
            p.flash.as_deref(),
            &[("done", p.done.unwrap_or(0)), ("failed", p.failed.unwrap_or(0))],
        ),
        lang: user.lang.tag(),
        module: m.name.clone(),
        module_label,
        new_label: fill(c.get(user.lang, "list_new"), &[("module", singular)]),
        columns: column_views,
        rows,
        count_text,
        next_href,
        previous_href,
        first_href,
        q,
        sort,
        dir: dir_text.into(),
        deleted,
        bin_href: if deleted {
            link(&m.name, &[])
        } else {
            link(&m.name, &[pair("deleted", "1")])
        },
        users: all_users
            .iter()
            .filter(|u| u.is_active())
            .map(|u| UserChoice {
                id: u.id,
                name: u.display_name(),
            })
            .collect(),
        editable_fields: m
            .writable_fields()
            // the owner has its own action (transfer)
            .filter(|f| f.field_type != FieldType::Owner)
            // the field's own widget (picklist labels, yes/no, date pickers, multi-select,
            // type-ahead for references), empty
            .map(|f| super::form::input_view(&registry, &all_users, f, &Default::default(), None, user.lang))
            .collect(),
        views: views
            .iter()
            .map(|v| ViewLink {
                name: v.name.clone(),
                href: link(&m.name, &[pair("view", &v.id.to_string())]),
                active: view.is_some_and(|x| x.id == v.id),
                shared: v.shared,
                id: v.id,
                deletable: v.owner_id == user.actor.user_id() || user.actor.is_admin(),
            })
            .collect(),
        all_href: link(&m.name, &[]),
        export_params: sorted_keep
            .iter()
            .filter(|(k, v)| !v.is_empty() || k == "v")
            .cloned()
            .collect(),
        view: view.map(|v| v.id),
        filter_open: !rows_in.is_empty() || filter_error.is_some(),
        filter_rows,
        filter_groups,
        filter_pairs: conds.builder.pairs(),
        match_any: conds.builder.any,
        filter_fields,
        filter_relatives: filters::relative_choices(user.lang),
        filter_unshown: conds.unshown,
        column_choices: m
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.label(user.lang).to_string(),
                    column_names.contains(&f.name.as_str()),
                )
            })
            .collect(),
        filter_error,
    };
    render("pages/list.html", &page)
}

/// `GET /m/{module}`.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    show_list(&state, &user, &module, &pairs).await
}

#[derive(Serialize)]
struct FilterRowPage {
    lang: &'static str,
    module: String,
    filter_fields: Vec<filters::Choice>,
    filter_relatives: Vec<filters::Choice>,
    r: filters::RowView,
}

/// `GET /m/{module}/filter-row?f=…&o=…&v=…&r=…&n=…&g=…`: one builder row again after its
/// field or operator changed, with the operators and value widget of the field's type.
pub async fn filter_row(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let m = match registry.module(&module) {
        Ok(m) if m.entity => m.clone(),
        _ => return super::error_page(user.lang, axum::http::StatusCode::NOT_FOUND, "error_not_found"),
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut row = filters::conditions(&[
        pair("f", "-"),
        pair("o", &get("o")),
        pair("v", &get("v")),
        pair("r", &get("r")),
        pair("n", &get("n")),
        pair("g", &get("g")),
    ])
    .rows
    .pop()
    .unwrap_or_default();
    row.field = get("f");
    let page = FilterRowPage {
        lang: user.lang.tag(),
        filter_fields: filters::field_choices(&m, user.lang),
        filter_relatives: filters::relative_choices(user.lang),
        r: filters::row_view(&registry, &m, &row, user.lang),
        module: m.name,
    };
    render("partials/filter_row.html", &page)
}
