//! Logging in and out, and choosing the language.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sable_core::Lang;
use sable_store::sessions::{self, REMEMBER_TTL_MS};
use sable_store::users::{self, LoginError};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, render};
use super::session::{
    LOGIN_CSRF_COOKIE, SESSION_COOKIE, UiUser, browser_lang, constant_time_eq, cookie, set_cookie, with_cookie,
};
use super::{csrf_refused, form_value, parse_form, see_other};
use crate::AppState;

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

#[derive(Serialize)]
struct LoginPage {
    lang: &'static str,
    title: String,
    csrf: String,
    next: String,
    user_name: String,
    error: Option<String>,
    asset_version: &'static str,
}

/// Only same-site paths may be a post-login destination (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn login_page(lang: Lang, next: &str, user_name: &str, error: Option<String>, status: StatusCode) -> Response {
    let csrf = sable_store::users::random_secret("").unwrap_or_default();
    let page = LoginPage {
        lang: lang.tag(),
        title: Catalogs::embedded().get(lang, "login_title").into(),
        csrf: csrf.clone(),
        next: next.to_string(),
        user_name: user_name.to_string(),
        error,
        asset_version: super::assets::VERSION,
    };
    let mut response = render("pages/login.html", &page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    with_cookie(response, set_cookie(LOGIN_CSRF_COOKIE, &csrf, None))
}

/// `GET /login`.
pub async fn login_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = sessions::load_session(&state.store, &secret).await
    {
        return see_other(&safe_next(q.next.as_deref()));
    }
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| browser_lang(&headers));
    login_page(lang, &safe_next(q.next.as_deref()), "", None, StatusCode::OK)
}

/// `POST /login`: checks the password, starts a session, goes where the user was headed.
pub async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let lang = form_value(&form, "lang")
        .and_then(Lang::parse)
        .unwrap_or_else(|| browser_lang(&headers));
    let next = safe_next(form_value(&form, "next"));
    let user_name = form_value(&form, "username").unwrap_or("").trim().to_string();
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let submitted = form_value(&form, "_csrf").unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), submitted.as_bytes()) {
        return csrf_refused(lang);
    }
    let password = form_value(&form, "password").unwrap_or("");
    let remember = form_value(&form, "remember").is_some();
    let outcome = match users::login(&state.store, &user_name, password).await {
        Ok(o) => o,
        Err(e) => return super::store_error_page(lang, e),
    };
    let user = match outcome {
        Ok(user) => user,
        Err(e) => {
            let status = match e {
                LoginError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                LoginError::Inactive => StatusCode::FORBIDDEN,
                LoginError::Invalid => StatusCode::UNAUTHORIZED,
            };
            return login_page(lang, &next, &user_name, Some(e.message(lang)), status);
        }
    };
    let (secret, _) = match sessions::create_session(&state.store, &user, remember).await {
        Ok(s) => s,
        Err(e) => return crate::error::AppError::Internal(e).into_response(),
    };
    let max_age = remember.then_some(REMEMBER_TTL_MS / 1000);
    let response = with_cookie(see_other(&next), set_cookie(SESSION_COOKIE, &secret, max_age));
    with_cookie(response, set_cookie(LOGIN_CSRF_COOKIE, "", Some(0)))
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Err(e) = sessions::delete_session(&state.store, &user.secret).await {
        return crate::error::AppError::Internal(e).into_response();
    }
    with_cookie(see_other("/login"), set_cookie(SESSION_COOKIE, "", Some(0)))
}

/// `POST /settings/language` with `lang=en|zh-CN`: saved as the user's preference.
pub async fn set_language(State(state): State<AppState>, user: UiUser, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let Some(lang) = form_value(&form, "lang").and_then(Lang::parse) else {
        return super::error_page(user.lang, StatusCode::BAD_REQUEST, "error_not_found");
    };
    if let Err(e) = users::set_language(&state.store, user.actor.user_id(), lang.tag()).await {
        return crate::error::AppError::Internal(e).into_response();
    }
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        });
    see_other(&safe_next(back.as_deref()))
}
