//! Company settings for administrators: the base currency money is shown in.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::company;
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct CompanyParams {
    flash: Option<String>,
}

#[derive(Serialize)]
struct CompanyPage {
    layout: Layout,
    lang: &'static str,
    currency: String,
    /// Each offered currency with its sign, e.g. `("USD", "USD ($)")`.
    currencies: Vec<(String, String)>,
    /// The current currency is one of those offered (else "other" is selected).
    listed: bool,
    error: Option<String>,
}

async fn page(state: &AppState, user: &UiUser, flash: Option<&str>, error: Option<String>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let title = Catalogs::embedded().get(user.lang, "company_title").to_string();
    let page = CompanyPage {
        layout: Layout::new(user, &registry, title, "admin_company", flash),
        lang: user.lang.tag(),
        currency: user.currency.clone(),
        currencies: company::CURRENCIES
            .iter()
            .map(|c| (c.to_string(), format!("{c} ({})", super::format::currency_sign(c))))
            .collect(),
        listed: company::CURRENCIES.contains(&user.currency.as_str()),
        error,
    };
    render("pages/admin_company.html", &page)
}

/// `GET /admin/company`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<CompanyParams>) -> Response {
    page(&state, &user, p.flash.as_deref(), None).await
}

/// `POST /admin/company`: `currency` (a listed code, or `other` with `currency_other`).
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let chosen = match form_value(&form, "currency").unwrap_or("") {
        "other" => form_value(&form, "currency_other").unwrap_or(""),
        code => code,
    };
    match company::set_base_currency(&state.store, &user.actor, chosen).await {
        Ok(()) => see_other("/admin/company?flash=settings_saved"),
        Err(sable_store::StoreError::Forbidden(_)) => error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"),
        Err(e) => {
            let message = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            page(&state, &user, None, Some(message)).await
        }
    }
}
