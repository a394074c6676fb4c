//! Web forms for administrators: the list (hosted page link, HTML snippet) and a
//! designer — fields with labels in both languages and required flags, hidden defaults,
//! thank-you text or return URL, assignment rule, consent, origins, captcha and the
//! returning-visitor policy. Rules live in `sable_store::webforms`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::FieldType;
use sable_core::{Labels, Lang};
use sable_store::assignment;
use sable_store::webforms::{self, FORM_MODULES, FormField, FormSpec, NewForm, Returning};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct Params {
    flash: Option<String>,
    edit: Option<i64>,
    module: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    module: String,
    active: bool,
    hosted: String,
    snippet: String,
}

#[derive(Serialize)]
struct FieldRow {
    name: String,
    label: String,
    on: bool,
    required: bool,
    label_en: String,
    label_zh: String,
}

#[derive(Serialize)]
struct Designer {
    id: Option<i64>,
    module: String,
    name: String,
    active: bool,
    title_en: String,
    title_zh: String,
    fields: Vec<FieldRow>,
    defaults: String,
    thanks_en: String,
    thanks_zh: String,
    return_url: String,
    rule_id: Option<i64>,
    rules: Vec<(i64, String)>,
    consent_en: String,
    consent_zh: String,
    consent_required: bool,
    origins: String,
    captcha: bool,
    returning: &'static str,
}

#[derive(Serialize)]
struct PageCtx {
    layout: Layout,
    lang: &'static str,
    forms: Vec<Row>,
    modules: Vec<&'static str>,
    designer: Designer,
    error: Option<String>,
}

fn blank(module: &str) -> NewForm {
    NewForm {
        name: String::new(),
        module: module.to_string(),
        active: true,
        spec: FormSpec {
            title: Labels::default(),
            fields: vec![FormField {
                name: "lastname".into(),
                label: Labels::default(),
                required: true,
            }],
            defaults: serde_json::json!({"leadsource": "Web Site"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            thanks: Labels::default(),
            return_url: None,
            assignment_rule_id: None,
            consent: None,
            consent_required: false,
            allowed_origins: Vec::new(),
            captcha: true,
            returning: Returning::Attach,
        },
    }
}

async fn page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    form: &NewForm,
    flash: Option<&str>,
    error: Option<String>,
) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let forms = match webforms::list_forms(&state.store, &user.actor).await {
        Ok(f) => f,
        Err(e) => return store_error_page(user.lang, e),
    };
    let rules = match assignment::list_rules(&state.store, &user.actor).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let Ok(m) = registry.module(&form.module) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let fields = m
        .fields
        .iter()
        .filter(|f| !f.readonly && !matches!(f.field_type, FieldType::AutoNumber | FieldType::Owner))
        .map(|f| {
            let chosen = form.spec.fields.iter().find(|x| x.name == f.name);
            FieldRow {
                name: f.name.clone(),
                label: f.label(user.lang).to_string(),
                on: chosen.is_some(),
                required: chosen.is_some_and(|c| c.required),
                label_en: chosen.map(|c| c.label.en.clone()).unwrap_or_default(),
                label_zh: chosen.map(|c| c.label.zh.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let s = &form.spec;
    let designer = Designer {
        id,
        module: form.module.clone(),
        name: form.name.clone(),
        active: form.active,
        title_en: s.title.en.clone(),
        title_zh: s.title.zh.clone(),
        fields,
        defaults: s
            .defaults
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect::<Vec<_>>()
            .join("\n"),
        thanks_en: s.thanks.en.clone(),
        thanks_zh: s.thanks.zh.clone(),
        return_url: s.return_url.clone().unwrap_or_default(),
        rule_id: s.assignment_rule_id,
        rules: rules
            .iter()
            .filter(|r| r.module == form.module)
            .map(|r| (r.id, r.name.clone()))
            .collect(),
        consent_en: s.consent.as_ref().map(|c| c.en.clone()).unwrap_or_default(),
        consent_zh: s.consent.as_ref().map(|c| c.zh.clone()).unwrap_or_default(),
        consent_required: s.consent_required,
        origins: s.allowed_origins.join("\n"),
        captcha: s.captcha,
        returning: s.returning.as_str(),
    };
    let title = Catalogs::embedded().get(user.lang, "form6_admin_title").to_string();
    let ctx = PageCtx {
        layout: Layout::new(user, &registry, title, "admin_webforms", flash),
        lang: user.lang.tag(),
        forms: forms
            .iter()
            .map(|f| Row {
                id: f.id,
                name: f.name.clone(),
                module: f.module.clone(),
                active: f.active,
                hosted: format!("/forms/{}", f.public_id),
                snippet: crate::forms::snippet(f, &registry, ""),
            })
            .collect(),
        modules: FORM_MODULES.to_vec(),
        designer,
        error,
    };
    render("pages/admin_webforms.html", &ctx)
}

/// `GET /admin/webforms[?edit=id | ?module=Contacts]`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<Params>) -> Response {
    let (id, form) = match p.edit {
        Some(id) => match webforms::get_form(&state.store, &user.actor, id).await {
            Ok(f) => (
                Some(id),
                NewForm {
                    name: f.name,
                    module: f.module,
                    active: f.active,
                    spec: f.spec,
                },
            ),
            Err(e) => return store_error_page(user.lang, e),
        },
        None => {
            let module = p.module.filter(|m| FORM_MODULES.contains(&m.as_str()));
            (None, blank(module.as_deref().unwrap_or("Leads")))
        }
    };
    page(&state, &user, id, &form, p.flash.as_deref(), None).await
}

fn labels(form: &[(String, String)], en: &str, zh: &str) -> Labels {
    Labels::new(
        form_value(form, en).unwrap_or("").trim(),
        form_value(form, zh).unwrap_or("").trim(),
    )
}

/// Reads the designer's fields into a form definition (checked by the store).
fn read(form: &[(String, String)]) -> NewForm {
    let module = form_value(form, "module").unwrap_or("Leads").to_string();
    let on = |k: &str| form_value(form, k).is_some();
    let fields = form
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("f_"))
        .map(|name| FormField {
            name: name.to_string(),
            label: labels(form, &format!("le_{name}"), &format!("lz_{name}")),
            required: on(&format!("r_{name}")),
        })
        .collect();
    let mut defaults = Map::new();
    for line in form_value(form, "defaults").unwrap_or("").lines() {
        if let Some((k, v)) = line.split_once('=')
            && !k.trim().is_empty()
        {
            defaults.insert(k.trim().to_string(), Json::String(v.trim().to_string()));
        }
    }
    let consent = labels(form, "consent_en", "consent_zh");
    NewForm {
        name: form_value(form, "name").unwrap_or("").to_string(),
        module,
        active: on("active"),
        spec: FormSpec {
            title: labels(form, "title_en", "title_zh"),
            fields,
            defaults,
            thanks: labels(form, "thanks_en", "thanks_zh"),
            return_url: form_value(form, "return_url")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            assignment_rule_id: form_value(form, "rule").and_then(|v| v.parse().ok()),
            consent: (!consent.en.is_empty() || !consent.zh.is_empty()).then_some(consent),
            consent_required: on("consent_required"),
            allowed_origins: form_value(form, "origins")
                .unwrap_or("")
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            captcha: on("captcha"),
            returning: match form_value(form, "returning") {
                Some("update_empty") => Returning::UpdateEmpty,
                Some("create_new") => Returning::CreateNew,
                _ => Returning::Attach,
            },
        },
    }
}

fn refused(lang: Lang, e: &sable_store::StoreError) -> String {
    fill(
        Catalogs::embedded().get(lang, "admin_error"),
        &[("detail", super::store_message(lang, e))],
    )
}

/// `POST /admin/webforms`: create, or update when `id` is given.
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let new = read(&form);
    let id = form_value(&form, "id").and_then(|v| v.parse::<i64>().ok());
    let result = match id {
        Some(id) => webforms::update_form(&state.store, &user.actor, id, &new).await,
        None => webforms::create_form(&state.store, &user.actor, &new).await,
    };
    match result {
        Ok(f) => see_other(&format!("/admin/webforms?edit={}&flash=saved", f.id)),
        Err(sable_store::StoreError::Forbidden(_)) => error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"),
        Err(e) => page(&state, &user, id, &new, None, Some(refused(user.lang, &e))).await,
    }
}

/// `POST /admin/webforms/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    match webforms::delete_form(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/admin/webforms?flash=deleted"),
        Err(e) => store_error_page(user.lang, e),
    }
}
