//! Administration of fields: add a custom field to a module, edit picklist values and
//! their labels in both languages, and order fields in blocks. Everything is metadata:
//! forms, lists and the API pick the changes up at once.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::{FieldType, PicklistDef, PicklistValueDef};
use sable_core::registry::{NewField, NewPicklistValue};
use sable_core::{Labels, ModuleDef};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct FieldsParams {
    module: Option<String>,
    flash: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    name: String,
    label: String,
}

#[derive(Serialize)]
struct FieldRow {
    name: String,
    label_en: String,
    label_zh: String,
    /// The label in the page's language, for accessible names.
    label: String,
    field_type: &'static str,
    sequence: u32,
    custom: bool,
    picklist: bool,
}

#[derive(Serialize)]
struct BlockRows {
    name: String,
    label: String,
    fields: Vec<FieldRow>,
}

#[derive(Serialize)]
struct FieldsPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    modules: Vec<Choice>,
    blocks: Vec<BlockRows>,
    block_choices: Vec<Choice>,
    types: Vec<&'static str>,
    form: BTreeMap<String, String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct PicklistPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    field: String,
    text: String,
    error: Option<String>,
}

/// The add-field form's inputs, all present (templates treat a missing one as an error).
fn blank_form() -> BTreeMap<String, String> {
    ["name", "type", "label_en", "label_zh", "values", "prefix"]
        .iter()
        .map(|k| (k.to_string(), String::new()))
        .collect()
}

fn admin_only(user: &UiUser) -> Option<Response> {
    (!user.actor.is_admin()).then(|| error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"))
}

fn failure(user: &UiUser, detail: String) -> String {
    fill(
        Catalogs::embedded().get(user.lang, "admin_error"),
        &[("detail", detail)],
    )
}

async fn fields_page(
    state: &AppState,
    user: &UiUser,
    module: &str,
    flash: Option<&str>,
    form: BTreeMap<String, String>,
    error: Option<String>,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Some(m) = registry.entity_modules().find(|m| m.name == module).cloned() else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let blocks = m
        .blocks
        .iter()
        .map(|b| {
            let mut fields: Vec<_> = m.fields.iter().filter(|f| f.block == b.name && !f.readonly).collect();
            fields.sort_by_key(|f| f.sequence);
            BlockRows {
                name: b.name.clone(),
                label: b.labels.get(user.lang).into(),
                fields: fields
                    .into_iter()
                    .map(|f| FieldRow {
                        name: f.name.clone(),
                        label_en: f.labels.en.clone(),
                        label_zh: f.labels.zh.clone(),
                        label: f.label(user.lang).to_string(),
                        field_type: f.field_type.as_str(),
                        sequence: f.sequence,
                        custom: f.custom,
                        picklist: matches!(f.field_type, FieldType::Picklist | FieldType::Multipicklist),
                    })
                    .collect(),
            }
        })
        .filter(|b| !b.fields.is_empty())
        .collect();
    let title = fill(
        Catalogs::embedded().get(user.lang, "admin_fields_title"),
        &[("module", m.label(user.lang).to_string())],
    );
    let page = FieldsPage {
        layout: Layout::new(user, &registry, title, "admin_fields", flash),
        lang: user.lang.tag(),
        module: m.name.clone(),
        modules: registry
            .entity_modules()
            .map(|x| Choice {
                name: x.name.clone(),
                label: x.label(user.lang).into(),
            })
            .collect(),
        blocks,
        block_choices: m
            .blocks
            .iter()
            .map(|b| Choice {
                name: b.name.clone(),
                label: b.labels.get(user.lang).into(),
            })
            .collect(),
        types: FieldType::ALL.iter().map(|t| t.as_str()).collect(),
        form,
        error: error.clone(),
    };
    let mut response = render("pages/admin_fields.html", &page);
    if error.is_some() && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// `GET /admin/fields?module=…`.
pub async fn list(State(state): State<AppState>, user: UiUser, Query(p): Query<FieldsParams>) -> Response {
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let module = p.module.unwrap_or_else(|| "Accounts".into());
    fields_page(&state, &user, &module, p.flash.as_deref(), blank_form(), None).await
}

/// Reads `value | English | 中文` lines; labels are optional.
fn parse_values(text: &str) -> Vec<(String, Option<Labels>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.split('|').map(str::trim);
            let value = parts.next().unwrap_or("").to_string();
            let en = parts.next().unwrap_or("").to_string();
            let zh = parts.next().unwrap_or("").to_string();
            let labels = (!en.is_empty() || !zh.is_empty()).then(|| Labels::new(en, zh));
            (value, labels)
        })
        .collect()
}

/// `POST /admin/fields/{module}`: adds a custom field.
pub async fn add(State(state): State<AppState>, user: UiUser, Path(module): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let text = |k: &str| form_value(&form, k).unwrap_or("").trim().to_string();
    let values = parse_values(&text("values"))
        .into_iter()
        .map(|(value, labels)| match labels {
            Some(labels) => NewPicklistValue::Labelled {
                value,
                labels: Some(labels),
            },
            None => NewPicklistValue::Plain(value),
        })
        .collect();
    let new = NewField {
        name: text("name"),
        field_type: text("type"),
        label: Labels::new(text("label_en"), text("label_zh")),
        block: Some(text("block")).filter(|b| !b.is_empty()),
        mandatory: form_value(&form, "mandatory").is_some(),
        unique: false,
        default: None,
        values,
        targets: Some(text("target"))
            .filter(|t| !t.is_empty() && text("type") == "reference")
            .into_iter()
            .collect(),
        max_length: None,
        scale: None,
        searchable: form_value(&form, "searchable").is_some(),
        help: None,
        prefix: Some(text("prefix")).filter(|_| text("type") == "auto_number"),
    };
    match sable_store::meta_store::add_custom_field(&state.store, &user.actor, &module, &new).await {
        Ok(_) => see_other(&format!("/admin/fields?module={module}&flash=field_added")),
        Err(e) => {
            let kept: BTreeMap<String, String> = ["name", "type", "label_en", "label_zh", "values", "prefix"]
                .iter()
                .map(|k| (k.to_string(), text(k)))
                .collect();
            fields_page(
                &state,
                &user,
                &module,
                None,
                kept,
                Some(failure(&user, super::store_message(user.lang, &e))),
            )
            .await
        }
    }
}

/// `POST /admin/fields/{module}/layout`: block and order of every field on the page.
pub async fn layout(State(state): State<AppState>, user: UiUser, Path(module): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let mut positions = Vec::new();
    for (k, v) in &form {
        if let Some(field) = k.strip_prefix("seq.") {
            let Some(block) = form_value(&form, &format!("block.{field}")) else {
                continue;
            };
            let Ok(sequence) = v.trim().parse::<u32>() else {
                return fields_page(
                    &state,
                    &user,
                    &module,
                    None,
                    blank_form(),
                    Some(failure(
                        &user,
                        super::render::refusal_text(
                            user.lang,
                            &sable_core::Refusal::new("refused_position", format!("`{v}` is not a position"))
                                .arg("value", v),
                        ),
                    )),
                )
                .await;
            };
            positions.push((field.to_string(), block.to_string(), sequence));
        }
    }
    match sable_store::meta_store::set_field_layout(&state.store, &user.actor, &module, &positions).await {
        Ok(()) => see_other(&format!("/admin/fields?module={module}&flash=layout_saved")),
        Err(e) => {
            fields_page(
                &state,
                &user,
                &module,
                None,
                blank_form(),
                Some(failure(&user, super::store_message(user.lang, &e))),
            )
            .await
        }
    }
}

fn picklist_field(module: &ModuleDef, field: &str) -> Option<String> {
    module
        .field(field)
        .filter(|f| matches!(f.field_type, FieldType::Picklist | FieldType::Multipicklist))
        .map(|f| f.picklist_name().to_string())
}

async fn values_page(
    state: &AppState,
    user: &UiUser,
    module: &str,
    field: &str,
    text: Option<String>,
    error: Option<String>,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Some(m) = registry.entity_modules().find(|m| m.name == module) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let (Some(name), Some(f)) = (picklist_field(m, field), m.field(field)) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let text = text.unwrap_or_else(|| {
        registry
            .picklist(&name)
            .map(|p| {
                p.values
                    .iter()
                    .map(|v| format!("{} | {} | {}", v.value, v.labels.en, v.labels.zh))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    });
    let title = fill(
        Catalogs::embedded().get(user.lang, "admin_values_title"),
        &[("field", f.label(user.lang).to_string())],
    );
    let page = PicklistPage {
        layout: Layout::new(user, &registry, title, "admin_fields", None),
        lang: user.lang.tag(),
        module: module.into(),
        field: field.into(),
        text,
        error,
    };
    render("pages/admin_picklist.html", &page)
}

/// `GET /admin/fields/{module}/{field}/values`.
pub async fn values_form(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, field)): Path<(String, String)>,
) -> Response {
    if let Some(r) = admin_only(&user) {
        return r;
    }
    values_page(&state, &user, &module, &field, None, None).await
}

/// `POST /admin/fields/{module}/{field}/values`: saves the values; a sales stage keeps its
/// probability and kind.
pub async fn save_values(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, field)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let Some(name) = registry
        .entity_modules()
        .find(|m| m.name == module)
        .and_then(|m| picklist_field(m, &field))
    else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let text = form_value(&form, "values").unwrap_or("").to_string();
    let old = registry.picklist(&name).cloned();
    let values = parse_values(&text)
        .into_iter()
        .map(|(value, labels)| {
            let before = old.as_ref().and_then(|p| p.values.iter().find(|v| v.value == value));
            PicklistValueDef {
                labels: labels.unwrap_or_else(|| {
                    before.map_or_else(|| Labels::new(value.clone(), value.clone()), |b| b.labels.clone())
                }),
                probability: before.and_then(|b| b.probability),
                kind: before.and_then(|b| b.kind),
                color: before.and_then(|b| b.color.clone()),
                value,
            }
        })
        .collect();
    match sable_store::meta_store::set_picklist(&state.store, &user.actor, PicklistDef { name, values }).await {
        Ok(()) => see_other(&format!("/admin/fields?module={module}&flash=values_saved")),
        Err(e) => {
            values_page(
                &state,
                &user,
                &module,
                &field,
                Some(text),
                Some(failure(&user, super::store_message(user.lang, &e))),
            )
            .await
        }
    }
}
