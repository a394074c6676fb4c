//! The hosted form page and its thank-you page, in the visitor's language. Everything a
//! visitor typed is shown back escaped (templates auto-escape); only Sable's own captcha
//! drawing is inserted as markup.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sable_core::meta::FieldType;
use sable_core::{Lang, Registry};
use sable_store::webforms::Form;
use serde::Serialize;

use super::{HONEYPOT, Refusal, challenge, find, request_lang};
use crate::AppState;
use crate::ui::render::{Catalogs, render};

#[derive(Serialize)]
struct FieldCtx {
    name: String,
    label: String,
    required: bool,
    kind: &'static str,
    value: String,
    error: Option<String>,
    options: Vec<(String, String)>,
}

#[derive(Serialize)]
struct PageCtx {
    lang: &'static str,
    other_lang: &'static str,
    other_lang_label: &'static str,
    title: String,
    action: String,
    fields: Vec<FieldCtx>,
    consent: Option<String>,
    consent_checked: bool,
    consent_error: Option<String>,
    captcha_svg: Option<String>,
    captcha_token: String,
    captcha_error: Option<String>,
    error: Option<String>,
    honeypot: &'static str,
    thanks: Option<String>,
}

fn kind(t: FieldType) -> &'static str {
    match t {
        FieldType::Email => "email",
        FieldType::Phone => "tel",
        FieldType::Url => "url",
        FieldType::Textarea => "textarea",
        FieldType::Picklist => "select",
        FieldType::Date => "date",
        FieldType::Boolean => "checkbox",
        _ => "text",
    }
}

fn title(form: &Form, lang: Lang) -> String {
    let t = form.spec.title.get(lang);
    if t.trim().is_empty() {
        form.name.clone()
    } else {
        t.to_string()
    }
}

fn other(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh-CN", "中文"),
    }
}

async fn context(
    state: &AppState,
    form: &Form,
    lang: Lang,
    values: &std::collections::BTreeMap<String, String>,
    errors: &std::collections::BTreeMap<String, String>,
    consent: bool,
) -> Result<PageCtx, crate::error::AppError> {
    let registry: std::sync::Arc<Registry> = state.store.registry().await?;
    let m = registry.module(&form.module).map_err(sable_store::StoreError::from)?;
    let mut fields = Vec::new();
    for f in &form.spec.fields {
        let Some(def) = m.field(&f.name) else { continue };
        let label = match f.label.get(lang).trim() {
            "" => def.label(lang).to_string(),
            l => l.to_string(),
        };
        let options = if def.field_type == FieldType::Picklist {
            registry
                .picklist_of(def)
                .map(|p| {
                    p.values
                        .iter()
                        .map(|v| (v.value.clone(), v.labels.get(lang).to_string()))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        fields.push(FieldCtx {
            name: f.name.clone(),
            label,
            required: f.required,
            kind: kind(def.field_type),
            value: values.get(&f.name).cloned().unwrap_or_default(),
            error: errors.get(&f.name).cloned(),
            options,
        });
    }
    let (captcha_svg, captcha_token) = if form.spec.captcha {
        let (token, svg) = challenge(state).await?;
        (Some(svg), token)
    } else {
        (None, String::new())
    };
    let (other_lang, other_lang_label) = other(lang);
    Ok(PageCtx {
        lang: lang.tag(),
        other_lang,
        other_lang_label,
        title: title(form, lang),
        action: format!("/forms/{}", form.public_id),
        fields,
        consent: form.spec.consent.as_ref().map(|c| c.get(lang).to_string()),
        consent_checked: consent,
        consent_error: errors.get("consent").cloned(),
        captcha_svg,
        captcha_token,
        captcha_error: errors.get("captcha_answer").cloned(),
        error: None,
        honeypot: HONEYPOT,
        thanks: None,
    })
}

/// `GET /forms/{public_id}`: the hosted page (`?lang=` or the browser's language).
pub async fn show(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = request_lang(uri.query(), None, &headers);
    let form = match find(&state, &public_id).await {
        Ok(f) => f,
        Err(_) => return crate::ui::error_page(lang, StatusCode::NOT_FOUND, "form6_not_found"),
    };
    let empty = std::collections::BTreeMap::new();
    match context(&state, &form, lang, &empty, &empty, false).await {
        Ok(ctx) => render("pages/webform.html", &ctx),
        Err(e) => e.into_response(),
    }
}

/// The page again with the visitor's values and what is wrong, with a fresh captcha.
pub(super) async fn render_refused(
    state: &AppState,
    form: &Form,
    lang: Lang,
    refusal: Refusal,
    values: &std::collections::BTreeMap<String, String>,
    consent: bool,
) -> Response {
    let (status, errors, whole) = match refusal {
        Refusal::Fields(v) => (StatusCode::UNPROCESSABLE_ENTITY, v.messages(lang), None),
        Refusal::Whole { status, key } => (
            status,
            Default::default(),
            Some(Catalogs::embedded().get(lang, key).to_string()),
        ),
    };
    match context(state, form, lang, values, &errors, consent).await {
        Ok(mut ctx) => {
            let foreign: Vec<&String> = errors
                .keys()
                .filter(|k| {
                    !form.spec.fields.iter().any(|f| &f.name == *k)
                        && !["consent", "captcha_answer"].contains(&k.as_str())
                })
                .collect();
            ctx.error = whole.or_else(|| {
                let c = Catalogs::embedded();
                let mut text = c.get(lang, "form6_fix_errors").to_string();
                if !foreign.is_empty() {
                    let names: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
                    text.push(' ');
                    text.push_str(
                        &c.get(lang, "form6_foreign_fields")
                            .replace("{names}", &names.join(", ")),
                    );
                }
                Some(text)
            });
            (status, render("pages/webform.html", &ctx)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The thank-you page.
pub(super) fn thanks(form: &Form, lang: Lang, message: &str) -> Response {
    let (other_lang, other_lang_label) = other(lang);
    let ctx = PageCtx {
        lang: lang.tag(),
        other_lang,
        other_lang_label,
        title: title(form, lang),
        action: format!("/forms/{}", form.public_id),
        fields: Vec::new(),
        consent: None,
        consent_checked: false,
        consent_error: None,
        captcha_svg: None,
        captcha_token: String::new(),
        captcha_error: None,
        error: None,
        honeypot: HONEYPOT,
        thanks: Some(message.to_string()),
    };
    render("pages/webform.html", &ctx)
}
