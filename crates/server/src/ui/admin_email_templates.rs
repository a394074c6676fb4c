//! E-mail templates for administrators: the list, and a form with the subject and body in
//! both languages beside a list of the placeholders the chosen module offers. Rules (name,
//! sizes, template syntax, admin only) live in `sable_store::email_templates`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::Registry;
use sable_store::StoreError;
use sable_store::email_templates::{self, TemplateContent};
use serde::{Deserialize, Serialize};

use super::filters::Choice;
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    module: String,
    subject: String,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    lang: &'static str,
    rows: Vec<Row>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct ListParams {
    deleted: Option<String>,
}

fn forbidden(user: &UiUser) -> Option<Response> {
    (!user.actor.is_admin()).then(|| error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"))
}

/// `GET /admin/email-templates`.
pub async fn list(State(state): State<AppState>, user: UiUser, Query(p): Query<ListParams>) -> Response {
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let (registry, list) = match (
        state.store.registry().await,
        email_templates::list_templates(&state.store, None).await,
    ) {
        (Ok(r), Ok(l)) => (r, l),
        (Err(e), _) => return store_error_page(user.lang, e.into()),
        (_, Err(e)) => return store_error_page(user.lang, e),
    };
    let c = Catalogs::embedded();
    let rows = list
        .into_iter()
        .map(|t| Row {
            id: t.id,
            module: module_label(&registry, t.content.module.as_deref(), user.lang),
            subject: t.content.in_lang(user.lang).0.to_string(),
            name: t.content.name,
        })
        .collect();
    let page = ListPage {
        layout: Layout::new(
            &user,
            &registry,
            c.get(user.lang, "wfui_templates_title").to_string(),
            "admin_email_templates",
            None,
        ),
        lang: user.lang.tag(),
        rows,
        message: p.deleted.map(|_| c.get(user.lang, "wfui_template_deleted").to_string()),
    };
    render("pages/admin_email_templates.html", &page)
}

fn module_label(registry: &Registry, module: Option<&str>, lang: sable_core::Lang) -> String {
    match module {
        Some(m) => registry
            .module(m)
            .map(|d| d.label(lang).to_string())
            .unwrap_or_else(|_| m.to_string()),
        None => Catalogs::embedded().get(lang, "wfui_any_module").to_string(),
    }
}

/// A placeholder the help lists: `{{ name }}` and what it holds.
#[derive(Serialize)]
struct Placeholder {
    name: String,
    label: String,
}

#[derive(Serialize)]
struct EditPage {
    layout: Layout,
    lang: &'static str,
    action: String,
    id: Option<i64>,
    tpl: TemplateContent,
    modules: Vec<Choice>,
    placeholders: Vec<Placeholder>,
    error: Option<String>,
    saved: bool,
}

/// The placeholders of a module's templates: what the workflow engine's record context
/// holds (`sable_workflow::context`): every field, the referenced record's fields under a
/// reference field, the record's id, name and owner.
fn placeholders(registry: &Registry, module: Option<&str>, lang: sable_core::Lang) -> Vec<Placeholder> {
    let c = Catalogs::embedded();
    let ph = |name: &str, key: &str| Placeholder {
        name: name.to_string(),
        label: c.get(lang, key).to_string(),
    };
    let mut out = vec![
        ph("label", "wfui_ph_record_label"),
        ph("id", "wfui_ph_record_id"),
        ph("owner.name", "wfui_ph_owner_name"),
        ph("owner.email", "wfui_ph_owner_email"),
    ];
    if let Some(m) = module.and_then(|m| registry.module(m).ok()) {
        for f in &m.fields {
            if f.field_type == sable_core::meta::FieldType::Reference {
                out.push(Placeholder {
                    name: format!("{}.label", f.name),
                    label: fill(c.get(lang, "wfui_ph_label_of"), &[("field", f.label(lang).to_string())]),
                });
                out.push(Placeholder {
                    name: format!("{}.…", f.name),
                    label: fill(c.get(lang, "wfui_ph_related"), &[("field", f.label(lang).to_string())]),
                });
            } else {
                out.push(Placeholder {
                    name: f.name.clone(),
                    label: f.label(lang).to_string(),
                });
            }
        }
    }
    out
}

async fn edit_page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    t: TemplateContent,
    error: Option<String>,
    saved: bool,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let c = Catalogs::embedded();
    let title = c
        .get(
            user.lang,
            if id.is_some() {
                "wfui_template_edit"
            } else {
                "wfui_template_new"
            },
        )
        .to_string();
    let page = EditPage {
        layout: Layout::new(user, &registry, title, "admin_email_templates", None),
        lang: user.lang.tag(),
        action: id.map_or_else(
            || "/admin/email-templates/new".into(),
            |i| format!("/admin/email-templates/{i}"),
        ),
        id,
        modules: registry
            .entity_modules()
            .map(|m| Choice {
                value: m.name.clone(),
                label: m.label(user.lang).to_string(),
            })
            .collect(),
        placeholders: placeholders(&registry, t.module.as_deref(), user.lang),
        tpl: t,
        error,
        saved,
    };
    render("pages/admin_email_template_edit.html", &page)
}

#[derive(Deserialize)]
pub struct NewParams {
    module: Option<String>,
}

/// `GET /admin/email-templates/new?module=`.
pub async fn new_form(State(state): State<AppState>, user: UiUser, Query(p): Query<NewParams>) -> Response {
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let t = TemplateContent {
        module: p.module.filter(|m| !m.is_empty()),
        ..TemplateContent::default()
    };
    edit_page(&state, &user, None, t, None, false).await
}

#[derive(Deserialize)]
pub struct EditParams {
    saved: Option<String>,
}

fn path_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0)
}

/// `GET /admin/email-templates/{id}`.
pub async fn edit_form(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<String>,
    Query(p): Query<EditParams>,
) -> Response {
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match email_templates::get_template(&state.store, id).await {
        Ok(t) => edit_page(&state, &user, Some(id), t.content, None, p.saved.is_some()).await,
        Err(e) => store_error_page(user.lang, e),
    }
}

fn read(form: &[(String, String)]) -> TemplateContent {
    let get = |k: &str| form_value(form, k).unwrap_or("").to_string();
    let module = get("module");
    TemplateContent {
        name: get("name").trim().to_string(),
        module: (!module.is_empty()).then_some(module),
        subject_en: get("subject_en"),
        body_en: get("body_en"),
        subject_zh: get("subject_zh"),
        body_zh: get("body_zh"),
    }
}

/// `POST /admin/email-templates/new`.
pub async fn create(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    submit(&state, &user, None, &body).await
}

/// `POST /admin/email-templates/{id}`.
pub async fn save(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    submit(&state, &user, Some(id), &body).await
}

async fn submit(state: &AppState, user: &UiUser, id: Option<i64>, body: &[u8]) -> Response {
    let form = parse_form(body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = forbidden(user) {
        return r;
    }
    let t = read(&form);
    if form_value(&form, "op") == Some("refresh") {
        return edit_page(state, user, id, t, None, false).await;
    }
    let saved = match id {
        Some(id) => email_templates::update_template(&state.store, &user.actor, id, &t).await,
        None => email_templates::create_template(&state.store, &user.actor, &t).await,
    };
    match saved {
        Ok(stored) => see_other(&format!("/admin/email-templates/{}?saved=1", stored.id)),
        Err(StoreError::NotFound { .. }) => error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
        Err(e) => {
            let text = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            edit_page(state, user, id, t, Some(text), false).await
        }
    }
}

/// `POST /admin/email-templates/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = forbidden(&user) {
        return r;
    }
    let Some(id) = path_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match email_templates::delete_template(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/admin/email-templates?deleted=1"),
        Err(e) => store_error_page(user.lang, e),
    }
}
