//! The user's own preferences: language, time zone, date and number formats.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use sable_store::users::{self, DATE_FORMATS, NUMBER_FORMATS};
use serde::{Deserialize, Serialize};

use super::admin_users::ZONES;
use super::format::Viewer;
use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct SettingsParams {
    flash: Option<String>,
}

#[derive(Serialize)]
struct SettingsPage {
    layout: Layout,
    lang: &'static str,
    language: String,
    time_zone: String,
    date_format: String,
    number_format: String,
    zones: &'static [&'static str],
    /// Each format with today's date written in it, so the choice shows what it means.
    date_formats: Vec<(String, String)>,
    number_formats: &'static [&'static str],
    error: Option<String>,
}

async fn page(state: &AppState, user: &UiUser, flash: Option<&str>, error: Option<String>) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let today = jiff::Timestamp::now().to_zoned_datetime(user.actor.tz().clone()).date();
    let date_formats = DATE_FORMATS
        .iter()
        .map(|f| {
            let v = Viewer {
                lang: user.lang,
                tz: user.actor.tz(),
                date_format: f,
                number_format: "",
                currency: "",
            };
            (f.to_string(), format!("{f} ({})", v.date(today)))
        })
        .collect();
    let u = &user.session.user;
    let title = Catalogs::embedded().get(user.lang, "settings_title").to_string();
    let page = SettingsPage {
        layout: Layout::new(user, &registry, title, "settings", flash),
        lang: user.lang.tag(),
        language: u.language.clone(),
        time_zone: u.time_zone.clone(),
        date_format: u.date_format.clone(),
        number_format: u.number_format.clone(),
        zones: &ZONES,
        date_formats,
        number_formats: &NUMBER_FORMATS,
        error,
    };
    render("pages/settings.html", &page)
}

/// `GET /settings`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<SettingsParams>) -> Response {
    page(&state, &user, p.flash.as_deref(), None).await
}

/// `POST /settings`.
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let get = |k: &str| form_value(&form, k).unwrap_or("");
    let id = user.actor.user_id();
    let result = match users::set_preferences(&state.store, &user.actor, id, get("language"), get("time_zone")).await {
        Ok(()) => users::set_formats(&state.store, &user.actor, id, get("date_format"), get("number_format")).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other("/settings?flash=settings_saved"),
        Err(e) => {
            let message = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            page(&state, &user, None, Some(message)).await
        }
    }
}
