//! The detail view of a record: fields by block, related lists, history; delete and restore.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::{FieldDef, FieldType};
use std::collections::BTreeMap;

use sable_core::parse::{ParseContext, parse_json};
use sable_core::{Filter, Registry, Value};
use sable_store::{HistoryEntry, Query as ListQuery, Record, SortKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::format::{Shown, display_value};
use super::list::list_columns;
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Deserialize)]
pub struct DetailParams {
    tab: Option<String>,
    flash: Option<String>,
}

#[derive(Serialize)]
pub(super) struct FieldView {
    pub name: String,
    pub label: String,
    pub value: Shown,
    pub editable: bool,
}

#[derive(Serialize)]
struct BlockView {
    label: String,
    fields: Vec<FieldView>,
}

#[derive(Serialize)]
struct RelatedView {
    title: String,
    new_href: String,
    columns: Vec<String>,
    rows: Vec<(String, String, Vec<Shown>)>,
    /// How many related records there are ("1,234" or "10,000+"), when any.
    count: Option<String>,
    /// The related module's list filtered to this record, when not all are shown here.
    view_all_href: Option<String>,
}

#[derive(Serialize)]
struct ChangeView {
    field: String,
    old: String,
    new: String,
}

#[derive(Serialize)]
struct HistoryView {
    who: String,
    when: String,
    action: String,
    changes: Vec<ChangeView>,
}

#[derive(Serialize)]
struct DetailPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    singular: String,
    id: i64,
    label: String,
    number: String,
    owner: String,
    meta: String,
    deleted: bool,
    /// A converted lead: read-only, no Convert button.
    converted: bool,
    tab: String,
    blocks: Vec<BlockView>,
    related: Vec<RelatedView>,
    history: Vec<HistoryView>,
    comments: Vec<CommentView>,
}

#[derive(Serialize)]
struct CommentView {
    author: String,
    at: String,
    body: String,
}

/// One side of a change, shown as the field shows it: picklist labels, the user's date
/// and number formats, the viewer's time zone, names instead of ids.
pub(super) fn history_text(
    registry: &Registry,
    field: Option<&FieldDef>,
    v: &Json,
    labels: &BTreeMap<i64, String>,
    user: &UiUser,
) -> String {
    let empty = || Catalogs::embedded().get(user.lang, "history_empty").to_string();
    if v.is_null() {
        return empty();
    }
    let Some(f) = field else {
        return v.as_str().map_or_else(|| v.to_string(), str::to_string);
    };
    // History keeps wire values (RFC 3339 in UTC, ids, picklist values): parse them back.
    let ctx = ParseContext {
        picklist: registry.picklist_of(f),
        tz: &jiff::tz::TimeZone::UTC,
    };
    let Ok(value) = parse_json(f, v, &ctx) else {
        return v.as_str().map_or_else(|| v.to_string(), str::to_string);
    };
    let label = match &value {
        Value::Id(id) => labels.get(id).map(String::as_str),
        _ => None,
    };
    let shown = display_value(registry, f, Some(&value), label, &user.viewer()).text;
    if shown.is_empty() { empty() } else { shown }
}

/// Ids that changes of reference and owner fields name, to show their labels.
fn referenced_ids(m: &sable_core::ModuleDef, entries: &[HistoryEntry]) -> Vec<i64> {
    let mut ids: Vec<i64> = entries
        .iter()
        .filter_map(|h| h.changes.as_array())
        .flatten()
        .filter(|c| {
            c.get("field")
                .and_then(Json::as_str)
                .and_then(|name| m.field(name))
                .is_some_and(|f| matches!(f.field_type, FieldType::Reference | FieldType::Owner))
        })
        .flat_map(|c| [c.get("old"), c.get("new")])
        .filter_map(|v| v.and_then(Json::as_i64))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn history_views(
    registry: &Registry,
    m: &sable_core::ModuleDef,
    entries: Vec<HistoryEntry>,
    labels: &BTreeMap<i64, String>,
    user: &UiUser,
) -> Vec<HistoryView> {
    let c = Catalogs::embedded();
    entries
        .into_iter()
        .rev()
        .map(|h| {
            let action_key = match h.action.as_str() {
                "create" => "history_created",
                "delete" => "history_deleted",
                "restore" => "history_restored",
                "purge" => "history_purged",
                _ => "history_updated",
            };
            let changes = if h.action == "update" {
                h.changes
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|c| {
                                let name = c.get("field")?.as_str()?;
                                let f = m.field(name);
                                Some(ChangeView {
                                    field: f.map_or_else(|| name.to_string(), |f| f.label(user.lang).to_string()),
                                    old: history_text(registry, f, c.get("old").unwrap_or(&Json::Null), labels, user),
                                    new: history_text(registry, f, c.get("new").unwrap_or(&Json::Null), labels, user),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let when =
                h.at.parse::<jiff::Timestamp>()
                    .ok()
                    .map(|t| user.viewer().datetime(t))
                    .unwrap_or(h.at);
            HistoryView {
                who: h.actor.unwrap_or_else(|| c.get(user.lang, "history_system").into()),
                when,
                action: c.get(user.lang, action_key).into(),
                changes,
            }
        })
        .collect()
}

/// Related records shown on a detail page, per related list; the rest are a link away.
const RELATED_ROWS: u32 = 20;

async fn related_lists(
    state: &AppState,
    user: &UiUser,
    registry: &Registry,
    m: &sable_core::ModuleDef,
    record: &Record,
) -> Vec<RelatedView> {
    let svc = state.store.records(&user.actor);
    let mut out = Vec::new();
    for other in registry.entity_modules() {
        for f in other
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Reference && f.targets.contains(&m.name))
        {
            let query = ListQuery {
                filter: Filter::from_json(&json!({"field": f.name, "op": "eq", "value": record.id}))
                    .unwrap_or_else(|_| Filter::everything()),
                sort: vec![SortKey {
                    field: "modifiedtime".into(),
                    desc: true,
                }],
                limit: RELATED_ROWS,
                with_count: true,
                ..ListQuery::default()
            };
            let Ok(page) = svc.query(&other.name, &query).await else {
                continue;
            };
            // The first cell is the record's label, so label fields and the link field itself are left out.
            let cols: Vec<&FieldDef> = list_columns(other)
                .into_iter()
                .filter(|c| c.name != f.name && !other.label_fields.contains(&c.name))
                .take(4)
                .collect();
            let title = if other.name == m.name {
                format!("{} · {}", other.label(user.lang), f.label(user.lang))
            } else {
                other.label(user.lang).to_string()
            };
            let total = page.count.unwrap_or(page.items.len() as i64);
            let count = (total > 0).then(|| {
                let n = user.viewer().number(&total.to_string());
                if page.count_exact { n } else { format!("{n}+") }
            });
            let view_all_href = (total > page.items.len() as i64).then(|| {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([("f", f.name.as_str()), ("o", "eq"), ("v", &record.id.to_string())])
                    .finish();
                format!("/m/{}?{query}", other.name)
            });
            out.push(RelatedView {
                count,
                view_all_href,
                title,
                new_href: format!("/m/{}/new?{}={}", other.name, f.name, record.id),
                columns: cols.iter().map(|c| c.label(user.lang).to_string()).collect(),
                rows: page
                    .items
                    .iter()
                    .map(|r| {
                        let cells = cols
                            .iter()
                            .map(|c| {
                                display_value(
                                    registry,
                                    c,
                                    r.values.get(&c.name),
                                    r.labels.get(&c.name).map(String::as_str),
                                    &user.viewer(),
                                )
                            })
                            .collect();
                        (format!("/m/{}/{}", other.name, r.id), r.label.clone(), cells)
                    })
                    .collect(),
            });
        }
    }
    out
}

/// `GET /m/{module}/{id}`.
pub async fn show_detail(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    Query(p): Query<DetailParams>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Ok(m) = registry.module(&module).cloned() else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let svc = state.store.records(&user.actor);
    let record = match svc.get_including_deleted(&m.name, id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let tab = match p.tab.as_deref() {
        Some("related") => "related",
        Some("history") => "history",
        Some("comments") => "comments",
        Some("activities") => "activities",
        _ => "details",
    };
    let blocks = m
        .blocks
        .iter()
        .map(|b| {
            let mut fields: Vec<&FieldDef> = m.fields.iter().filter(|f| f.block == b.name).collect();
            fields.sort_by_key(|f| f.sequence);
            BlockView {
                label: b.labels.get(user.lang).into(),
                fields: fields
                    .into_iter()
                    .map(|f| FieldView {
                        editable: record.deleted_at.is_none() && !f.readonly && f.field_type != FieldType::AutoNumber,
                        name: f.name.clone(),
                        label: f.label(user.lang).into(),
                        value: display_value(
                            &registry,
                            f,
                            record.values.get(&f.name),
                            record.labels.get(&f.name).map(String::as_str),
                            &user.viewer(),
                        ),
                    })
                    .collect(),
            }
        })
        .filter(|b: &BlockView| !b.fields.is_empty())
        .collect();
    let related = if tab == "related" {
        related_lists(&state, &user, &registry, &m, &record).await
    } else {
        Vec::new()
    };
    let history = if tab == "history" {
        match svc.history(&m.name, id).await {
            Ok(h) => {
                let labels = svc.labels_of(&referenced_ids(&m, &h)).await.unwrap_or_default();
                history_views(&registry, &m, h, &labels, &user)
            }
            Err(e) => return store_error_page(user.lang, e),
        }
    } else {
        Vec::new()
    };
    let comments = if tab == "comments" {
        match sable_store::comments::list_comments(&state.store, &user.actor, &m.name, id).await {
            Ok(list) => list
                .into_iter()
                .map(|c| CommentView {
                    author: c.author,
                    at: c
                        .at
                        .parse::<jiff::Timestamp>()
                        .map(|t| user.viewer().datetime(t))
                        .unwrap_or(c.at),
                    body: c.body,
                })
                .collect(),
            Err(e) => return store_error_page(user.lang, e),
        }
    } else {
        Vec::new()
    };
    let c = Catalogs::embedded();
    let when = |name: &str| match record.values.get(name) {
        Some(Value::DateTime(t)) => user.viewer().datetime(t),
        _ => String::new(),
    };
    let creator = record.labels.get("created_user_id").cloned().unwrap_or_default();
    let meta = format!(
        "{} · {}",
        fill(
            c.get(user.lang, "detail_created"),
            &[("when", when("createdtime")), ("who", creator)]
        ),
        fill(c.get(user.lang, "detail_modified"), &[("when", when("modifiedtime"))])
    );
    let number = match record.values.get(&m.number_field) {
        Some(Value::Text(n)) => n.clone(),
        _ => String::new(),
    };
    let page = DetailPage {
        layout: Layout::new(&user, &registry, record.label.clone(), &m.name, p.flash.as_deref()),
        lang: user.lang.tag(),
        module: m.name.clone(),
        singular: m.singular.get(user.lang).into(),
        id,
        label: record.label.clone(),
        number,
        owner: record.labels.get("assigned_user_id").cloned().unwrap_or_default(),
        meta,
        deleted: record.deleted_at.is_some(),
        converted: record.values.get("converted") == Some(&Value::Bool(true)),
        tab: tab.into(),
        blocks,
        related,
        history,
        comments,
    };
    render("pages/detail.html", &page)
}

/// `GET /r/{id}`: a record by id alone (reference links), redirected to its module.
pub async fn by_id(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match state.store.records(&user.actor).module_of(id).await {
        Ok(Some(module)) => see_other(&format!("/m/{module}/{id}")),
        Ok(None) => error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
        Err(e) => store_error_page(user.lang, e),
    }
}

async fn change_state(
    state: AppState,
    user: UiUser,
    module: String,
    id: String,
    body: Bytes,
    delete: bool,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let svc = state.store.records(&user.actor);
    let result = if delete {
        svc.delete(&module, id).await
    } else {
        svc.restore(&module, id).await.map(|_| ())
    };
    match result {
        Ok(()) if delete => see_other(&format!("/m/{module}?flash=deleted")),
        Ok(()) => see_other(&format!("/m/{module}/{id}?flash=restored")),
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /m/{module}/{id}/delete`: to the recycle bin.
pub async fn delete(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    change_state(state, user, module, id, body, true).await
}

/// `POST /m/{module}/{id}/restore`.
pub async fn restore(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    change_state(state, user, module, id, body, false).await
}

/// `POST /m/{module}/{id}/comments`.
pub async fn add_comment(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match sable_store::comments::add_comment(
        &state.store,
        &user.actor,
        &module,
        id,
        form_value(&form, "body").unwrap_or(""),
    )
    .await
    {
        Ok(_) => see_other(&format!("/m/{module}/{id}?tab=comments&flash=comment_added")),
        // An empty, overlong or odd comment: say why, in the reader's language.
        Err(e @ sable_store::StoreError::Refused(_)) => {
            let key = e
                .refusal()
                .map(|r| r.key)
                .filter(|k| super::FLASH_KEYS.contains(k))
                .unwrap_or("refused_comment_empty");
            see_other(&format!("/m/{module}/{id}?tab=comments&flash={key}"))
        }
        Err(e) => store_error_page(user.lang, e),
    }
}
