//! The list view of a module: chosen columns, sort by a header click, a quick filter,
//! pages with a count, and the recycle bin.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use sable_core::meta::FieldType;
use sable_core::{Filter, ModuleDef};
use sable_store::{Query as ListQuery, SortKey};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::format::{Shown, display_value};
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, store_error_page};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct ListParams {
    sort: Option<String>,
    dir: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    deleted: Option<String>,
    flash: Option<String>,
    done: Option<u64>,
    failed: Option<u64>,
}

#[derive(Serialize)]
struct Choice {
    name: String,
    label: String,
}

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
    first_href: Option<String>,
    q: String,
    sort: String,
    dir: String,
    deleted: bool,
    bin_href: String,
    users: Vec<UserChoice>,
    editable_fields: Vec<Choice>,
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

fn link(module: &str, params: &[(&str, &str)]) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    if query.is_empty() {
        format!("/m/{module}")
    } else {
        format!("/m/{module}?{query}")
    }
}

/// `GET /m/{module}`.
pub async fn show_list(state: &AppState, user: &UiUser, module: &str, p: ListParams) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let m = match registry.module(module) {
        Ok(m) if m.entity => m.clone(),
        _ => return super::error_page(user.lang, axum::http::StatusCode::NOT_FOUND, "error_not_found"),
    };
    let columns = list_columns(&m);
    let sort = p
        .sort
        .clone()
        .filter(|s| m.field(s).is_some())
        .unwrap_or_else(|| "modifiedtime".into());
    let desc = match p.dir.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort == "modifiedtime" || sort == "createdtime",
    };
    let q =
        p.q.clone()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(100)
            .collect::<String>();
    let deleted = p.deleted.as_deref() == Some("1");
    let filter = if q.is_empty() {
        Filter::everything()
    } else {
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
        Filter::from_json(&json!({"any": any})).unwrap_or_else(|_| Filter::everything())
    };
    let query = ListQuery {
        filter,
        sort: vec![SortKey {
            field: sort.clone(),
            desc,
        }],
        limit: 50,
        cursor: p.cursor.clone(),
        deleted,
        ..ListQuery::default()
    };
    let page = match state.store.records(&user.actor).query(&m.name, &query).await {
        Ok(p) => p,
        Err(e) => return store_error_page(user.lang, e),
    };
    let dir_text = if desc { "desc" } else { "asc" };
    let deleted_flag = if deleted { "1" } else { "" };
    let column_views = columns
        .iter()
        .map(|f| {
            let is_sorted = f.name == sort;
            let next_dir = if is_sorted && !desc { "desc" } else { "asc" };
            Column {
                label: f.label(user.lang).into(),
                href: link(
                    &m.name,
                    &[
                        ("sort", &f.name),
                        ("dir", next_dir),
                        ("q", &q),
                        ("deleted", deleted_flag),
                    ],
                ),
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
                        user.lang,
                        &user.actor.tz,
                    )
                })
                .collect(),
        })
        .collect();
    let c = Catalogs::embedded();
    let count = page.count.unwrap_or(0);
    let count_text = if page.count_exact {
        fill(
            c.get(user.lang, "list_count"),
            &[("count", super::format::group_digits(&count.to_string()))],
        )
    } else {
        fill(
            c.get(user.lang, "list_count_more"),
            &[("count", super::format::group_digits(&count.to_string()))],
        )
    };
    let base = [
        ("sort", sort.as_str()),
        ("dir", dir_text),
        ("q", q.as_str()),
        ("deleted", deleted_flag),
    ];
    let next_href = page.next_cursor.as_ref().map(|cur| {
        let mut params = base.to_vec();
        params.push(("cursor", cur));
        link(&m.name, &params)
    });
    let first_href = p.cursor.as_ref().map(|_| link(&m.name, &base));
    let module_label = m.label(user.lang).to_string();
    let singular = m.singular.get(user.lang).to_string();
    let title = if deleted {
        format!("{module_label} · {}", c.get(user.lang, "list_recycle_bin"))
    } else {
        module_label.clone()
    };
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
        first_href,
        q,
        sort,
        dir: dir_text.into(),
        deleted,
        bin_href: if deleted {
            link(&m.name, &[])
        } else {
            link(&m.name, &[("deleted", "1")])
        },
        users: sable_store::users::list_users(&state.store)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.is_active())
            .map(|u| UserChoice {
                id: u.id,
                name: u.display_name(),
            })
            .collect(),
        editable_fields: m
            .writable_fields()
            .filter(|f| {
                !matches!(
                    f.field_type,
                    FieldType::Reference | FieldType::Owner | FieldType::Multipicklist
                )
            })
            .map(|f| Choice {
                name: f.name.clone(),
                label: f.label(user.lang).into(),
            })
            .collect(),
    };
    render("pages/list.html", &page)
}

/// `GET /m/{module}`.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    Query(p): Query<ListParams>,
) -> Response {
    show_list(&state, &user, &module, p).await
}
