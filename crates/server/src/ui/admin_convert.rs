//! The lead conversion mapping for administrators: which lead field fills which field of
//! the new organization, contact and opportunity. One row per line, `lead_field =
//! Module.field`, so custom fields are mapped like built-in ones; the store refuses a row
//! whose types do not fit.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::convert::{self, MappingRow};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;

#[derive(Deserialize)]
pub struct MappingParams {
    flash: Option<String>,
}

#[derive(Serialize)]
struct MappingPage {
    layout: Layout,
    lang: &'static str,
    fixed: Vec<MappingRow>,
    text: String,
    saved: bool,
    error: Option<String>,
}

fn as_text(rows: &[MappingRow]) -> String {
    rows.iter()
        .filter(|r| !convert::is_fixed(r))
        .map(|r| format!("{} = {}.{}\n", r.lead_field, r.module, r.field))
        .collect()
}

/// Parses `lead_field = Module.field` lines; a line that does not have that shape is
/// returned as the error.
fn parse_rows(text: &str) -> Result<Vec<MappingRow>, String> {
    let mut rows = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parsed = line.split_once('=').and_then(|(lead, target)| {
            let (module, field) = target.trim().split_once('.')?;
            Some(MappingRow {
                lead_field: lead.trim().to_string(),
                module: module.trim().to_string(),
                field: field.trim().to_string(),
            })
        });
        rows.push(parsed.ok_or_else(|| line.to_string())?);
    }
    Ok(rows)
}

async fn page(state: &AppState, user: &UiUser, saved: bool, text: Option<String>, error: Option<String>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let rows = match convert::mapping(&state.store).await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let title = Catalogs::embedded().get(user.lang, "conv_mapping").to_string();
    let page = MappingPage {
        layout: Layout::new(user, &registry, title, "admin_fields", None),
        lang: user.lang.tag(),
        fixed: rows.iter().filter(|r| convert::is_fixed(r)).cloned().collect(),
        text: text.unwrap_or_else(|| as_text(&rows)),
        saved,
        error,
    };
    render("pages/admin_convert.html", &page)
}

/// `GET /admin/lead-conversion`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<MappingParams>) -> Response {
    page(&state, &user, p.flash.as_deref() == Some("saved"), None, None).await
}

/// `POST /admin/lead-conversion`: `rows`, one `lead_field = Module.field` per line.
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let text = form_value(&form, "rows").unwrap_or("").to_string();
    let rows = match parse_rows(&text) {
        Ok(rows) => rows,
        Err(line) => return page(&state, &user, false, Some(text), Some(line)).await,
    };
    match convert::save_mapping(&state.store, &user.actor, &rows).await {
        Ok(()) => see_other("/admin/lead-conversion?flash=saved"),
        Err(sable_store::StoreError::Forbidden(_)) => error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"),
        Err(sable_store::StoreError::Invalid(v)) => {
            let detail: Vec<String> =
                v.0.iter()
                    .map(|(k, e)| format!("{k}: {}", e.message(user.lang)))
                    .collect();
            page(&state, &user, false, Some(text), Some(detail.join("; "))).await
        }
        Err(e) => {
            let message = store_message(user.lang, &e);
            page(&state, &user, false, Some(text), Some(message)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rows;

    #[test]
    fn lines_become_rows_and_a_bad_line_is_named() {
        let rows = parse_rows("city = Contacts.mailingcity\n\n cf_wechat=Contacts.cf_wechat ").unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].field, "cf_wechat");
        assert_eq!(parse_rows("city Contacts"), Err("city Contacts".to_string()));
    }
}
