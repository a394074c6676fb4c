//! The workflow edit page for administrators: module, trigger with its parameters, the
//! condition in the list pages' filter builder, and ordered actions with a form per kind.
//! Without JavaScript every button posts the whole form: "add", "remove", "up", "down"
//! and "change module" show the draft again unsaved; "save" stores it. The store checks
//! the definition and refuses non-administrators.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::FieldType;
use sable_core::workflow::WorkflowDef;
use sable_core::{ModuleDef, Registry};
use sable_store::{StoreError, email_templates, workflows};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::filters::{self, Choice};
use super::render::{Catalogs, render};
use super::session::UiUser;
use super::workflow_form::{ACTIONS, ActionDraft, Draft, Op, TRIGGERS, TriggerDraft, WEBHOOK_FORMATS};
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

/// One nested group of the condition builder.
#[derive(Serialize)]
struct GroupView {
    index: usize,
    any: bool,
    rows: Vec<filters::RowView>,
}

/// One action as shown: its place, its kind's label and what was typed.
#[derive(Serialize)]
struct ActionView {
    index: usize,
    order: usize,
    kind_label: String,
    first: bool,
    last: bool,
    d: ActionDraft,
}

#[derive(Serialize)]
struct EditPage {
    layout: Layout,
    lang: &'static str,
    /// The form's address (`/admin/workflows/new` or `/admin/workflows/{id}`).
    action: String,
    id: Option<i64>,
    name: String,
    description: String,
    module: String,
    enabled: bool,
    modules: Vec<Choice>,
    triggers: Vec<Choice>,
    trigger: TriggerDraft,
    fields: Vec<Choice>,
    date_fields: Vec<Choice>,
    email_fields: Vec<Choice>,
    stages: Vec<Choice>,
    priorities: Vec<Choice>,
    related_modules: Vec<Choice>,
    templates: Vec<Choice>,
    formats: Vec<&'static str>,
    action_kinds: Vec<Choice>,
    actions: Vec<ActionView>,
    count: usize,
    filter_rows: Vec<filters::RowView>,
    filter_groups: Vec<GroupView>,
    match_any: bool,
    filter_fields: Vec<Choice>,
    filter_relatives: Vec<Choice>,
    /// A stored condition deeper than the builder shows, kept unless replaced.
    condition_kept: bool,
    error: Option<String>,
    saved: bool,
}

fn choices<'a>(lang: sable_core::Lang, prefix: &str, values: impl IntoIterator<Item = &'a str>) -> Vec<Choice> {
    let c = Catalogs::embedded();
    values
        .into_iter()
        .map(|v| Choice {
            value: v.to_string(),
            label: c.get(lang, &format!("{prefix}{v}")).to_string(),
        })
        .collect()
}

fn field_choices(m: &ModuleDef, lang: sable_core::Lang, keep: impl Fn(FieldType) -> bool) -> Vec<Choice> {
    m.fields
        .iter()
        .filter(|f| keep(f.field_type))
        .map(|f| Choice {
            value: f.name.clone(),
            label: format!("{} ({})", f.label(lang), f.name),
        })
        .collect()
}

/// The values of a module's picklist field (none when the module has no such field).
fn picklist_choices(registry: &Registry, module: &str, field: &str, lang: sable_core::Lang) -> Vec<Choice> {
    registry
        .module(module)
        .ok()
        .and_then(|m| m.field(field))
        .and_then(|f| registry.picklist_of(f))
        .map(|p| {
            p.values
                .iter()
                .map(|v| Choice {
                    value: v.value.clone(),
                    label: v.labels.get(lang).to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The modules with a reference field pointing at `module` (targets of "create related").
fn related_modules(registry: &Registry, module: &str, lang: sable_core::Lang) -> Vec<Choice> {
    registry
        .entity_modules()
        .filter(|t| sable_core::workflow::related_field(t, module).is_some())
        .map(|t| Choice {
            value: t.name.clone(),
            label: t.label(lang).to_string(),
        })
        .collect()
}

/// Everything the edit page shows, for a draft (new, stored or as posted).
async fn page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    draft: &Draft,
    condition_kept: bool,
    error: Option<String>,
    saved: bool,
) -> Response {
    let lang = user.lang;
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(lang, e.into()),
    };
    let module = registry
        .module(&draft.module)
        .ok()
        .filter(|m| m.entity)
        .or_else(|| registry.entity_modules().next());
    let Some(m) = module.cloned() else {
        return error_page(lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let templates = match email_templates::list_templates(&state.store, Some(&m.name)).await {
        Ok(list) => list
            .into_iter()
            .map(|t| Choice {
                value: t.id.to_string(),
                label: t.content.name,
            })
            .collect(),
        Err(e) => return store_error_page(lang, e),
    };
    let stages = picklist_choices(&registry, &m.name, "sales_stage", lang);
    let row_views = |group: usize, empty: usize| -> Vec<filters::RowView> {
        draft
            .condition
            .rows
            .iter()
            .filter(|r| r.group == group)
            .cloned()
            .chain((0..empty).map(|_| filters::ConditionRow {
                group,
                ..filters::ConditionRow::default()
            }))
            .map(|r| filters::row_view(&registry, &m, &r, lang))
            .collect()
    };
    let used = draft.condition.rows.iter().map(|r| r.group).max().unwrap_or(0);
    let filter_groups = (1..=filters::MAX_GROUPS.min(used + 1))
        .map(|k| GroupView {
            index: k,
            any: draft.condition.group_is_any(k),
            rows: row_views(k, if k > used { 2 } else { 1 }),
        })
        .collect();
    let c = Catalogs::embedded();
    let n = draft.actions.len();
    let actions = draft
        .actions
        .iter()
        .enumerate()
        .map(|(i, d)| ActionView {
            index: i,
            order: i + 1,
            kind_label: c.get(lang, &format!("wfui_action_{}", d.kind)).to_string(),
            first: i == 0,
            last: i + 1 == n,
            d: d.clone(),
        })
        .collect();
    let title_key = if id.is_some() {
        "wfui_edit_title"
    } else {
        "wfui_new_title"
    };
    let page = EditPage {
        layout: Layout::new(
            user,
            &registry,
            c.get(lang, title_key).to_string(),
            "admin_workflows",
            None,
        ),
        lang: lang.tag(),
        action: id.map_or_else(
            || "/admin/workflows/new".to_string(),
            |i| format!("/admin/workflows/{i}"),
        ),
        id,
        name: draft.name.clone(),
        description: draft.description.clone(),
        module: m.name.clone(),
        enabled: draft.enabled,
        modules: registry
            .entity_modules()
            .map(|x| Choice {
                value: x.name.clone(),
                label: x.label(lang).to_string(),
            })
            .collect(),
        triggers: choices(lang, "wfui_trigger_", TRIGGERS),
        trigger: draft.trigger.clone(),
        fields: field_choices(&m, lang, |_| true),
        date_fields: field_choices(&m, lang, |t| matches!(t, FieldType::Date | FieldType::Datetime)),
        email_fields: field_choices(&m, lang, |t| t == FieldType::Email),
        stages,
        priorities: picklist_choices(&registry, "Tasks", "taskpriority", lang),
        related_modules: related_modules(&registry, &m.name, lang),
        templates,
        formats: WEBHOOK_FORMATS.to_vec(),
        action_kinds: choices(lang, "wfui_action_", ACTIONS),
        count: n,
        actions,
        filter_rows: row_views(0, 2),
        filter_groups,
        match_any: draft.condition.any,
        filter_fields: filters::field_choices(&m, lang),
        filter_relatives: filters::relative_choices(lang),
        condition_kept,
        error,
        saved,
    };
    render("pages/admin_workflow_edit.html", &page)
}

#[derive(Deserialize)]
pub struct NewParams {
    module: Option<String>,
}

/// `GET /admin/workflows/new?module=`.
pub async fn new_form(State(state): State<AppState>, user: UiUser, Query(p): Query<NewParams>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let draft = Draft::new(p.module.as_deref().unwrap_or("Leads"));
    page(&state, &user, None, &draft, false, None, false).await
}

#[derive(Deserialize)]
pub struct EditParams {
    saved: Option<String>,
}

fn parse_path_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0)
}

/// `GET /admin/workflows/{id}`.
pub async fn edit_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<String>,
    Query(p): Query<EditParams>,
) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let Some(id) = parse_path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match workflows::get_workflow(&state.store, &user.actor, id).await {
        Ok(wf) => {
            let (draft, kept) = Draft::of(&wf.def);
            page(&state, &user, Some(id), &draft, kept.is_some(), None, p.saved.is_some()).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /admin/workflows/new`.
pub async fn create(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    submit(&state, &user, None, &body).await
}

/// `POST /admin/workflows/{id}`.
pub async fn save(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = parse_path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    submit(&state, &user, Some(id), &body).await
}

/// The message for a refused definition, in the reader's language.
fn refusal(lang: sable_core::Lang, e: &StoreError) -> String {
    super::render::fill(
        Catalogs::embedded().get(lang, "admin_error"),
        &[("detail", super::store_message(lang, e))],
    )
}

async fn submit(state: &AppState, user: &UiUser, id: Option<i64>, body: &[u8]) -> Response {
    let form = parse_form(body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let (draft, op) = Draft::read(&form);
    // A stored condition the builder could not show is kept while the builder stays empty.
    let kept: Option<Json> = match (id, form_value(&form, "keep_condition")) {
        (Some(id), Some("1")) if draft.condition.is_empty() => workflows::get_workflow(&state.store, &user.actor, id)
            .await
            .ok()
            .and_then(|w| w.def.condition),
        _ => None,
    };
    if op != Op::Save {
        return page(state, user, id, &draft, kept.is_some(), None, false).await;
    }
    let def: WorkflowDef = match serde_json::from_value(draft.to_json(kept.as_ref())) {
        Ok(d) => d,
        Err(e) => {
            let message = super::render::fill(
                Catalogs::embedded().get(user.lang, "wfui_form_invalid"),
                &[("detail", e.to_string())],
            );
            return page(state, user, id, &draft, kept.is_some(), Some(message), false).await;
        }
    };
    let saved = match id {
        Some(id) => workflows::update_workflow(&state.store, &user.actor, id, &def).await,
        None => workflows::create_workflow(&state.store, &user.actor, &def).await,
    };
    match saved {
        Ok(wf) => see_other(&format!("/admin/workflows/{}?saved=1", wf.id)),
        Err(StoreError::NotFound { .. }) => error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
        Err(e) => {
            page(
                state,
                user,
                id,
                &draft,
                kept.is_some(),
                Some(refusal(user.lang, &e)),
                false,
            )
            .await
        }
    }
}
