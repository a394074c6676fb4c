//! Create and edit forms: the right widget per field type, server errors shown inline
//! with everything the user typed kept, and a conflict shown when someone saved first.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::{FieldDef, FieldType};
use sable_core::{Lang, ModuleDef, Registry, ValidationErrors};
use sable_store::{Conflict, Record, StoreError};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::format::input_text;
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

#[derive(Serialize)]
struct OptionView {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
pub(super) struct InputView {
    name: String,
    label: String,
    widget: &'static str,
    value: String,
    display: String,
    options: Vec<OptionView>,
    required: bool,
    error: Option<String>,
    help: Option<String>,
    lookup_url: String,
    max_length: Option<u32>,
}

#[derive(Serialize)]
struct FormBlock {
    label: String,
    inputs: Vec<InputView>,
}

#[derive(Serialize)]
pub(super) struct ConflictRow {
    field: String,
    value: String,
    who: String,
}

#[derive(Serialize)]
struct FormPage {
    layout: Layout,
    lang: &'static str,
    module: String,
    action: String,
    cancel: String,
    version: Option<i64>,
    blocks: Vec<FormBlock>,
    has_errors: bool,
    conflict: Vec<ConflictRow>,
}

/// What the form shows in each field: raw text per field (and labels of references).
pub(super) type Values = BTreeMap<String, Vec<String>>;

/// A form as it is about to be shown: the record edited (if any), the values in the
/// inputs, per-field errors, another user's conflicting changes, the version it edits.
#[derive(Default)]
struct FormState<'a> {
    record: Option<&'a Record>,
    values: Values,
    errors: BTreeMap<String, String>,
    conflict: Vec<ConflictRow>,
    version: Option<i64>,
}

fn widget(t: FieldType) -> &'static str {
    match t {
        FieldType::Textarea => "textarea",
        FieldType::Integer => "number",
        FieldType::Decimal | FieldType::Currency | FieldType::Percent => "decimal",
        FieldType::Date => "date",
        FieldType::Datetime => "datetime",
        FieldType::Time => "time",
        FieldType::Boolean => "checkbox",
        FieldType::Email => "email",
        FieldType::Phone => "tel",
        FieldType::Url => "url",
        FieldType::Picklist => "select",
        FieldType::Multipicklist => "multiselect",
        FieldType::Reference => "reference",
        FieldType::Owner => "owner",
        _ => "text",
    }
}

/// The input of one field, with the values to show and its error.
pub(super) fn input_view(
    registry: &Registry,
    users: &[sable_store::users::User],
    f: &FieldDef,
    values: &Values,
    error: Option<String>,
    lang: Lang,
) -> InputView {
    let raw = values.get(&f.name).cloned().unwrap_or_default();
    let value = raw.first().cloned().unwrap_or_default();
    let options = match f.field_type {
        FieldType::Picklist | FieldType::Multipicklist => registry
            .picklist_of(f)
            .map(|p| {
                p.values
                    .iter()
                    .map(|v| OptionView {
                        value: v.value.clone(),
                        label: v.labels.get(lang).into(),
                        selected: raw.contains(&v.value),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        FieldType::Owner => users
            .iter()
            .filter(|u| u.is_active() || raw.contains(&u.id.to_string()))
            .map(|u| OptionView {
                value: u.id.to_string(),
                label: u.display_name(),
                selected: raw.contains(&u.id.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    };
    let display = values
        .get(&format!("{}__label", f.name))
        .and_then(|v| v.first().cloned())
        .unwrap_or_default();
    InputView {
        name: f.name.clone(),
        label: f.label(lang).into(),
        widget: widget(f.field_type),
        value,
        display,
        options,
        required: f.mandatory,
        error,
        help: f.help.as_ref().map(|h| h.get(lang).to_string()),
        lookup_url: lookup_url(&f.targets),
        max_length: f.max_length,
    }
}

async fn build_page(
    state: &AppState,
    user: &UiUser,
    registry: &Registry,
    m: &ModuleDef,
    form: FormState<'_>,
) -> Response {
    let FormState {
        record,
        values,
        errors,
        conflict,
        version,
    } = form;
    let users = sable_store::users::list_users(&state.store).await.unwrap_or_default();
    let mut blocks = Vec::new();
    for b in &m.blocks {
        let mut fields: Vec<&FieldDef> = m.writable_fields().filter(|f| f.block == b.name).collect();
        fields.sort_by_key(|f| f.sequence);
        let inputs: Vec<InputView> = fields
            .into_iter()
            .map(|f| input_view(registry, &users, f, &values, errors.get(&f.name).cloned(), user.lang))
            .collect();
        if !inputs.is_empty() {
            blocks.push(FormBlock {
                label: b.labels.get(user.lang).into(),
                inputs,
            });
        }
    }
    let c = Catalogs::embedded();
    let singular = m.singular.get(user.lang).to_string();
    let (title, action, cancel) = match record {
        Some(r) => (
            fill(c.get(user.lang, "form_edit_title"), &[("label", r.label.clone())]),
            format!("/m/{}/{}", m.name, r.id),
            format!("/m/{}/{}", m.name, r.id),
        ),
        None => (
            fill(c.get(user.lang, "form_new_title"), &[("module", singular)]),
            format!("/m/{}", m.name),
            format!("/m/{}", m.name),
        ),
    };
    let status = if errors.is_empty() && conflict.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = FormPage {
        layout: Layout::new(user, registry, title, &m.name, None),
        lang: user.lang.tag(),
        module: m.name.clone(),
        action,
        cancel,
        version,
        blocks,
        has_errors: !errors.is_empty(),
        conflict,
    };
    let mut response = render("pages/form.html", &page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// The form values of a stored record (and reference labels).
pub(super) fn record_values(m: &ModuleDef, record: &Record, tz: &jiff::tz::TimeZone) -> Values {
    let mut values = Values::new();
    for f in m.writable_fields() {
        let v = record.values.get(&f.name);
        let texts = match v {
            Some(sable_core::Value::List(items)) => items.clone(),
            other => vec![input_text(f, other, tz)],
        };
        values.insert(f.name.clone(), texts);
        if let Some(label) = record.labels.get(&f.name) {
            values.insert(format!("{}__label", f.name), vec![label.clone()]);
        }
    }
    values
}

async fn module_and_registry(
    state: &AppState,
    user: &UiUser,
    module: &str,
) -> Result<(std::sync::Arc<Registry>, ModuleDef), Response> {
    let registry = state
        .store
        .registry()
        .await
        .map_err(|e| store_error_page(user.lang, e.into()))?;
    match registry.module(module) {
        Ok(m) if m.entity => {
            let m = m.clone();
            Ok((registry, m))
        }
        _ => Err(error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found")),
    }
}

/// `GET /m/{module}/new`, prefilled from the query (`?account_id=5`) or a record (`?from=ID`).
pub async fn new_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let (registry, m) = match module_and_registry(&state, &user, &module).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut values = Values::new();
    if let Some(from) = q.get("from").and_then(|f| parse_id(f).ok())
        && let Ok(source) = state.store.records(&user.actor).get(&m.name, from).await
    {
        values = record_values(&m, &source, user.actor.tz());
    }
    for f in m.writable_fields() {
        if let Some(v) = q.get(&f.name) {
            values.insert(f.name.clone(), vec![v.clone()]);
            if f.field_type == FieldType::Reference
                && let Ok(id) = parse_id(v)
                && let Some(target) = f.targets.first()
                && let Ok(r) = state.store.records(&user.actor).get(target, id).await
            {
                values.insert(format!("{}__label", f.name), vec![r.label]);
            }
        } else if !values.contains_key(&f.name)
            && let Some(d) = &f.default
        {
            values.insert(f.name.clone(), vec![d.clone()]);
        }
    }
    values
        .entry("assigned_user_id".into())
        .or_insert_with(|| vec![user.actor.user_id().to_string()]);
    build_page(
        &state,
        &user,
        &registry,
        &m,
        FormState {
            record: None,
            values,
            errors: BTreeMap::new(),
            conflict: Vec::new(),
            version: None,
        },
    )
    .await
}

/// `GET /m/{module}/{id}/edit`.
pub async fn edit_form(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
) -> Response {
    let (registry, m) = match module_and_registry(&state, &user, &module).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let record = match state.store.records(&user.actor).get(&m.name, id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let values = record_values(&m, &record, user.actor.tz());
    build_page(
        &state,
        &user,
        &registry,
        &m,
        FormState {
            record: Some(&record),
            values,
            errors: BTreeMap::new(),
            conflict: Vec::new(),
            version: Some(record.version),
        },
    )
    .await
}

/// Turns the submitted form into API-style input; on create, empty fields are left out so
/// defaults apply; on edit, an emptied field is cleared.
pub(super) fn form_input(m: &ModuleDef, form: &[(String, String)], creating: bool) -> (Map<String, Json>, Values) {
    let mut raw = Values::new();
    for (k, v) in form {
        raw.entry(k.clone()).or_default().push(v.clone());
    }
    let mut input = Map::new();
    for f in m.writable_fields() {
        let Some(vals) = raw.get(&f.name) else { continue };
        let value = match f.field_type {
            FieldType::Multipicklist => Json::Array(
                vals.iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| Json::String(v.clone()))
                    .collect(),
            ),
            // a hidden "0" precedes the checkbox's "1"; the last one sent wins
            FieldType::Boolean => Json::String(vals.last().cloned().unwrap_or_default()),
            _ => Json::String(vals.first().cloned().unwrap_or_default()),
        };
        let empty = match &value {
            Json::String(s) => s.trim().is_empty(),
            Json::Array(a) => a.is_empty(),
            _ => false,
        };
        if creating && empty {
            continue;
        }
        input.insert(f.name.clone(), value);
    }
    (input, raw)
}

fn error_messages(errors: &ValidationErrors, lang: Lang) -> BTreeMap<String, String> {
    errors.messages(lang)
}

/// Another user's changes since the version the form showed, each value shown the way the
/// history tab shows it (labels, names instead of ids, the viewer's formats).
pub(super) async fn conflict_rows(
    svc: &sable_store::RecordService<'_>,
    registry: &Registry,
    m: &ModuleDef,
    conflict: &Conflict,
    user: &UiUser,
) -> Vec<ConflictRow> {
    let Conflict::StaleVersion { changes, .. } = conflict else {
        return Vec::new();
    };
    let mut ids: Vec<i64> = changes
        .iter()
        .filter(|c| {
            m.field(&c.field)
                .is_some_and(|f| matches!(f.field_type, FieldType::Reference | FieldType::Owner))
        })
        .filter_map(|c| c.new.as_i64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let labels = svc.labels_of(&ids).await.unwrap_or_default();
    let system = Catalogs::embedded().get(user.lang, "history_system");
    changes
        .iter()
        // A delete or restore since changes no field; the form already says someone saved.
        .filter(|c| !c.field.is_empty())
        .map(|c| {
            let f = m.field(&c.field);
            ConflictRow {
                field: f.map_or_else(|| c.field.clone(), |f| f.label(user.lang).to_string()),
                value: super::detail::history_text(registry, f, &c.new, &labels, user),
                who: c.actor.clone().unwrap_or_else(|| system.to_string()),
            }
        })
        .collect()
}

/// `POST /m/{module}`: create.
pub async fn create(State(state): State<AppState>, user: UiUser, Path(module): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let (registry, m) = match module_and_registry(&state, &user, &module).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (input, raw) = form_input(&m, &form, true);
    match state.store.records(&user.actor).create(&m.name, &input).await {
        Ok(r) => see_other(&format!("/m/{}/{}?flash=created", m.name, r.id)),
        Err(StoreError::Invalid(errors)) => {
            build_page(
                &state,
                &user,
                &registry,
                &m,
                FormState {
                    record: None,
                    values: raw,
                    errors: error_messages(&errors, user.lang),
                    conflict: Vec::new(),
                    version: None,
                },
            )
            .await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /m/{module}/{id}`: save an edit based on the version the form was loaded at.
pub async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path((module, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let (registry, m) = match module_and_registry(&state, &user, &module).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let version = form_value(&form, "_version").and_then(|v| v.parse::<i64>().ok());
    let (input, raw) = form_input(&m, &form, false);
    let svc = state.store.records(&user.actor);
    match svc.update(&m.name, id, version, &input).await {
        Ok(_) => see_other(&format!("/m/{}/{id}?flash=saved", m.name)),
        Err(StoreError::Invalid(errors)) => {
            let record = svc.get(&m.name, id).await.ok();
            build_page(
                &state,
                &user,
                &registry,
                &m,
                FormState {
                    record: record.as_ref(),
                    values: raw,
                    errors: error_messages(&errors, user.lang),
                    conflict: Vec::new(),
                    version,
                },
            )
            .await
        }
        Err(StoreError::Conflict(conflict @ Conflict::StaleVersion { .. })) => {
            let current = match &conflict {
                Conflict::StaleVersion { current_version, .. } => Some(*current_version),
                Conflict::State(_) => version,
            };
            let record = svc.get(&m.name, id).await.ok();
            let rows = conflict_rows(&svc, &registry, &m, &conflict, &user).await;
            build_page(
                &state,
                &user,
                &registry,
                &m,
                FormState {
                    record: record.as_ref(),
                    values: raw,
                    errors: BTreeMap::new(),
                    conflict: rows,
                    version: current,
                },
            )
            .await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct Duplicate {
    id: i64,
    label: String,
}

#[derive(Serialize)]
struct DuplicatesPartial {
    lang: &'static str,
    module: String,
    items: Vec<Duplicate>,
}

/// `POST /m/{module}/duplicates`: likely duplicates of what the create form holds so far.
pub async fn duplicates(
    State(state): State<AppState>,
    user: UiUser,
    Path(module): Path<String>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let (_, m) = match module_and_registry(&state, &user, &module).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (input, _) = form_input(&m, &form, true);
    let items = match state
        .store
        .records(&user.actor)
        .likely_duplicates(&m.name, &input, None)
        .await
    {
        Ok(found) => found.into_iter().map(|(id, label)| Duplicate { id, label }).collect(),
        Err(e) => return store_error_page(user.lang, e),
    };
    render(
        "partials/duplicates.html",
        &DuplicatesPartial {
            lang: user.lang.tag(),
            module: m.name.clone(),
            items,
        },
    )
}

/// The type-ahead endpoint of a reference field: every target module, comma-separated.
pub(super) fn lookup_url(targets: &[String]) -> String {
    if targets.is_empty() {
        String::new()
    } else {
        format!("/ui/lookup/{}?q=", targets.join(","))
    }
}
