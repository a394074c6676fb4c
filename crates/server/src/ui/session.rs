//! The logged-in browser user: a session cookie, the CSRF token its forms carry, and the
//! language pages are shown in.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use sable_core::Lang;
use sable_store::Actor;
use sable_store::sessions::{self, Session};

use crate::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sable_session";
/// Name of the cookie carrying the login form's CSRF token (before a session exists).
pub const LOGIN_CSRF_COOKIE: &str = "sable_login_csrf";

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, whole site; `max_age` None = browser session.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

/// The language for a visitor who is not logged in.
pub fn browser_lang(headers: &HeaderMap) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::Zh)
}

/// A page request from a logged-in user.
pub struct UiUser {
    pub session: Session,
    pub actor: Actor,
    pub lang: Lang,
    /// The cookie secret, for logout.
    pub secret: String,
    /// The company's base currency (ISO 4217 code), for showing money.
    pub currency: String,
}

impl UiUser {
    /// How this user sees values.
    pub fn viewer(&self) -> super::format::Viewer<'_> {
        super::format::Viewer {
            lang: self.lang,
            tz: self.actor.tz(),
            date_format: &self.session.user.date_format,
            number_format: &self.session.user.number_format,
            currency: &self.currency,
        }
    }

    /// True when a submitted token matches this session's.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|s| constant_time_eq(s.as_bytes(), self.session.csrf_token.as_bytes()))
    }
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = |parts: &Parts| {
            let here = parts
                .extensions
                .get::<OriginalUri>()
                .map(|u| u.0.to_string())
                .unwrap_or_else(|| parts.uri.to_string());
            let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next}")).into_response()
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        let session = match sessions::load_session(&state.store, &secret).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_login(parts)),
            Err(e) => return Err(crate::error::AppError::Internal(e).into_response()),
        };
        // A user who chose no language follows the browser, like a visitor.
        let actor = session.user.actor_with_fallback(browser_lang(&parts.headers));
        let lang = actor.lang();
        let currency = match sable_store::company::base_currency(&state.store).await {
            Ok(c) => c,
            Err(e) => return Err(crate::error::AppError::Internal(e).into_response()),
        };
        Ok(UiUser {
            session,
            actor,
            lang,
            secret,
            currency,
        })
    }
}
