//! Lead conversion in the browser: a preview of what will be created or matched, with
//! editable values, then the conversion (through `sable_store::convert`) and a redirect to
//! the new contact.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::meta::{FieldType, ModuleDef};
use sable_core::{Lang, Registry};
use sable_store::convert::{self, ConvertRequest};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;
use crate::extract::parse_id;

/// Fields the preview always offers, beyond those the mapping fills.
const ACCOUNT_FIELDS: [&str; 1] = ["accountname"];
const CONTACT_FIELDS: [&str; 4] = ["lastname", "firstname", "email", "mobile"];
const OPPORTUNITY_FIELDS: [&str; 4] = ["potentialname", "amount", "closingdate", "sales_stage"];

#[derive(Serialize)]
struct Input {
    /// Form name: `<section>.<field>`.
    name: String,
    label: String,
    value: String,
    /// `text`, `date`, `number` or `select`.
    kind: &'static str,
    options: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ConvertPage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    lead: String,
    create_account: bool,
    matched_account: Option<String>,
    create_opportunity: bool,
    account: Vec<Input>,
    contact: Vec<Input>,
    opportunity: Vec<Input>,
    is_admin: bool,
    error: Option<String>,
}

fn text_of(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn inputs(
    registry: &Registry,
    m: &ModuleDef,
    section: &str,
    always: &[&str],
    mapped: &Map<String, Json>,
    lang: Lang,
) -> Vec<Input> {
    let mut names: Vec<String> = always.iter().map(|s| s.to_string()).collect();
    names.extend(mapped.keys().filter(|k| !always.contains(&k.as_str())).cloned());
    names
        .into_iter()
        .filter_map(|name| {
            let f = m.field(&name)?;
            let value = mapped.get(&name).map(text_of).unwrap_or_default();
            let (kind, options) = match f.field_type {
                FieldType::Picklist => (
                    "select",
                    registry
                        .picklist_of(f)
                        .map(|p| {
                            p.values
                                .iter()
                                .map(|v| (v.value.clone(), v.labels.get(lang).to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                FieldType::Date => ("date", Vec::new()),
                FieldType::Currency | FieldType::Decimal | FieldType::Integer => ("number", Vec::new()),
                _ => ("text", Vec::new()),
            };
            Some(Input {
                name: format!("{section}.{name}"),
                label: f.label(lang).to_string(),
                value,
                kind,
                options,
            })
        })
        .collect()
}

/// Values a posted form gave for one section, as overrides.
fn section(form: &[(String, String)], prefix: &str) -> Map<String, Json> {
    form.iter()
        .filter_map(|(k, v)| {
            let field = k.strip_prefix(prefix)?.strip_prefix('.')?;
            // An empty box leaves the field to its default (a sales stage, a probability).
            let v = v.trim();
            (!v.is_empty()).then(|| (field.to_string(), Json::String(v.to_string())))
        })
        .collect()
}

async fn page(
    state: &AppState,
    user: &UiUser,
    id: i64,
    form: Option<&[(String, String)]>,
    error: Option<String>,
) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let preview = match convert::preview(&state.store, &user.actor, id).await {
        Ok(p) => p,
        Err(sable_store::StoreError::Conflict(_)) => {
            return error_page(user.lang, StatusCode::CONFLICT, "conv_already");
        }
        Err(e) => return store_error_page(user.lang, e),
    };
    let lead = match state.store.records(&user.actor).get("Leads", id).await {
        Ok(r) => r.label,
        Err(e) => return store_error_page(user.lang, e),
    };
    let (mut account, mut contact, mut opportunity) = (preview.account, preview.contact, preview.opportunity);
    let (mut create_account, mut create_opportunity) =
        (account.get("accountname").is_some_and(|v| !text_of(v).is_empty()), true);
    if let Some(form) = form {
        account.extend(section(form, "account"));
        contact.extend(section(form, "contact"));
        opportunity.extend(section(form, "opportunity"));
        create_account = form_value(form, "create_account").is_some();
        create_opportunity = form_value(form, "create_opportunity").is_some();
    }
    let module = |name: &str| registry.module(name).ok().cloned();
    let (Some(accounts), Some(contacts), Some(opportunities)) =
        (module("Accounts"), module("Contacts"), module("Opportunities"))
    else {
        return error_page(user.lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server");
    };
    let title = Catalogs::embedded().get(user.lang, "conv_title").to_string();
    let page = ConvertPage {
        layout: Layout::new(user, &registry, title, "Leads", None),
        lang: user.lang.tag(),
        id,
        lead,
        create_account,
        matched_account: preview.matched_account.map(|(_, label)| label),
        create_opportunity,
        account: inputs(&registry, &accounts, "account", &ACCOUNT_FIELDS, &account, user.lang),
        contact: inputs(&registry, &contacts, "contact", &CONTACT_FIELDS, &contact, user.lang),
        opportunity: inputs(
            &registry,
            &opportunities,
            "opportunity",
            &OPPORTUNITY_FIELDS,
            &opportunity,
            user.lang,
        ),
        is_admin: user.actor.is_admin(),
        error,
    };
    render("pages/convert.html", &page)
}

/// `GET /m/Leads/{id}/convert`: the preview.
pub async fn preview(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    page(&state, &user, id, None, None).await
}

/// `POST /m/Leads/{id}/convert`: converts, then shows the new contact.
pub async fn convert(State(state): State<AppState>, user: UiUser, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let req = ConvertRequest {
        account: form_value(&form, "create_account").map(|_| section(&form, "account")),
        contact: section(&form, "contact"),
        opportunity: form_value(&form, "create_opportunity").map(|_| section(&form, "opportunity")),
    };
    match convert::convert_lead(&state.store, &user.actor, id, &req).await {
        Ok(done) => see_other(&format!("/m/Contacts/{}", done.contact_id)),
        Err(sable_store::StoreError::Conflict(_)) => error_page(user.lang, StatusCode::CONFLICT, "conv_already"),
        Err(e @ (sable_store::StoreError::NotFound { .. } | sable_store::StoreError::Forbidden(_))) => {
            store_error_page(user.lang, e)
        }
        Err(sable_store::StoreError::Invalid(v)) => {
            let registry = state.store.registry().await.ok();
            let detail: Vec<String> =
                v.0.iter()
                    .map(|(key, err)| {
                        let label = key.split_once('.').and_then(|(section, field)| {
                            let module = match section {
                                "account" => "Accounts",
                                "opportunity" => "Opportunities",
                                _ => "Contacts",
                            };
                            let f = registry.as_ref()?.module(module).ok()?.field(field)?;
                            Some(f.label(user.lang).to_string())
                        });
                        format!("{}: {}", label.unwrap_or_else(|| key.clone()), err.message(user.lang))
                    })
                    .collect();
            let mut response = page(&state, &user, id, Some(&form), Some(detail.join("; "))).await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            response
        }
        Err(e) => {
            let message = store_message(user.lang, &e);
            let mut response = page(&state, &user, id, Some(&form), Some(message)).await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            response
        }
    }
}
