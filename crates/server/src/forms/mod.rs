//! Public web-form endpoints (no login, no CSRF token: they are cross-site by design):
//! the hosted page `GET /forms/{public_id}`, the post `POST /forms/{public_id}`
//! (form-encoded or JSON), a captcha for JavaScript integrations and CORS preflight.
//!
//! Abuse controls live here: the honeypot, the per-IP rate limit, body and field size
//! limits, the captcha, and CORS only for the form's allowed origins. What a submission
//! does (only the form's fields, required ones, returning visitors, assignment) is
//! `sable_store::webforms`.

pub mod captcha;
pub mod limit;
mod page;
mod snippet;

pub use snippet::snippet;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, LOCATION, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sable_core::{FieldError, Lang, ValidationErrors};
use sable_store::webforms::{self, Form, Submission};
use sable_store::{StoreError, now_ms};
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::error::AppError;
use captcha::CaptchaError;

/// The hidden field bots fill and people do not see.
pub const HONEYPOT: &str = "hp_website";
/// Names that are not record fields.
const RESERVED: [&str; 5] = [HONEYPOT, "captcha_token", "captcha_answer", "consent", "lang"];
/// Most keys one post may carry.
const MAX_KEYS: usize = 100;

/// Limits of the public endpoints.
#[derive(Clone, Debug)]
pub struct WebFormLimits {
    /// Largest body of a post, in bytes.
    pub max_body_bytes: usize,
    /// Longest value of one field, in characters.
    pub max_field_chars: usize,
    /// Posts allowed per address per window.
    pub posts_per_window: u32,
    pub window: Duration,
    pub limiter: Arc<limit::RateLimiter>,
}

impl Default for WebFormLimits {
    fn default() -> WebFormLimits {
        WebFormLimits {
            max_body_bytes: 32 * 1024,
            max_field_chars: 4000,
            posts_per_window: 20,
            window: Duration::from_secs(600),
            limiter: Arc::new(limit::RateLimiter::default()),
        }
    }
}

/// The public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forms/{public_id}", get(page::show).post(submit).options(preflight))
        .route("/forms/{public_id}/captcha", get(captcha_json).options(preflight))
}

/// The allowed origin of a request, if it names one the form allows.
fn allowed_origin(form: &Form, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(ORIGIN)?.to_str().ok()?;
    form.spec
        .allowed_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin))
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

fn with_cors(mut r: Response, origin: Option<HeaderValue>) -> Response {
    let h = r.headers_mut();
    h.insert("vary", HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert("access-control-allow-origin", o);
    }
    r
}

async fn find(state: &AppState, public_id: &str) -> Result<Form, AppError> {
    webforms::public_form(&state.store, public_id)
        .await?
        .ok_or_else(|| AppError::not_found("there is no such web form", "没有这个网页表单"))
}

/// `OPTIONS /forms/{public_id}`: preflight, answered only for allowed origins.
async fn preflight(State(state): State<AppState>, Path(public_id): Path<String>, headers: HeaderMap) -> Response {
    let Ok(form) = find(&state, &public_id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match allowed_origin(&form, &headers) {
        Some(o) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            h.insert("access-control-allow-origin", o);
            h.insert("access-control-allow-methods", HeaderValue::from_static("GET, POST"));
            h.insert("access-control-allow-headers", HeaderValue::from_static("content-type"));
            h.insert("access-control-max-age", HeaderValue::from_static("600"));
            h.insert("vary", HeaderValue::from_static("Origin"));
            r
        }
        None => StatusCode::FORBIDDEN.into_response(),
    }
}

/// `GET /forms/{public_id}/captcha`: a challenge for pages that post with JavaScript.
async fn captcha_json(State(state): State<AppState>, Path(public_id): Path<String>, headers: HeaderMap) -> Response {
    let form = match find(&state, &public_id).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let origin = allowed_origin(&form, &headers);
    let body = match challenge(&state).await {
        Ok((token, svg)) => axum::Json(json!({"token": token, "svg": svg})).into_response(),
        Err(e) => e.into_response(),
    };
    with_cors(body, origin)
}

async fn challenge(state: &AppState) -> Result<(String, String), AppError> {
    let secret = webforms::captcha_secret(&state.store).await?;
    Ok(captcha::issue(&secret, now_ms())?)
}

/// The request's language: `lang` in the query or body, else the browser's.
fn request_lang(query: Option<&str>, body_lang: Option<&str>, headers: &HeaderMap) -> Lang {
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(&v))
    });
    from_query
        .or_else(|| body_lang.and_then(Lang::parse))
        .unwrap_or_else(|| crate::ui::session::browser_lang(headers))
}

/// Why a post could not even be read.
#[derive(Debug)]
enum BodyError {
    TooLarge,
    UnsupportedType,
    Malformed(String),
}

/// Reads the body as name → value pairs.
fn parse_body(content_type: &str, bytes: &[u8]) -> Result<(BTreeMap<String, String>, bool), BodyError> {
    let kind = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let mut out = BTreeMap::new();
    let mut put = |k: String, v: String| -> Result<(), BodyError> {
        if out.len() >= MAX_KEYS {
            return Err(BodyError::Malformed(format!("more than {MAX_KEYS} fields")));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(BodyError::Malformed(format!("field `{k}` is given twice")));
        }
        Ok(())
    };
    match kind.as_str() {
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| BodyError::Malformed(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
            for (k, v) in form_urlencoded::parse(text.as_bytes()) {
                put(k.into_owned(), v.into_owned())?;
            }
            Ok((out, false))
        }
        "application/json" => {
            let value: Json = serde_json::from_slice(bytes).map_err(|e| BodyError::Malformed(format!("JSON: {e}")))?;
            let Json::Object(map) = value else {
                return Err(BodyError::Malformed("the JSON body must be an object of fields".into()));
            };
            for (k, v) in map {
                let text = match v {
                    Json::String(s) => s,
                    Json::Number(n) => n.to_string(),
                    Json::Bool(b) => if b { "1" } else { "" }.to_string(),
                    Json::Null => String::new(),
                    _ => {
                        return Err(BodyError::Malformed(format!(
                            "field `{k}` must be a string, number or boolean"
                        )));
                    }
                };
                put(k, text)?;
            }
            Ok((out, true))
        }
        _ => Err(BodyError::UnsupportedType),
    }
}

/// What a refused post shows: per-field errors, or one message for the whole form.
pub(crate) enum Refusal {
    Fields(ValidationErrors),
    Whole { status: StatusCode, key: &'static str },
}

/// `POST /forms/{public_id}`.
async fn submit(State(state): State<AppState>, Path(public_id): Path<String>, req: Request) -> Response {
    let headers = req.headers().clone();
    let query = req.uri().query().map(str::to_string);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let form = match find(&state, &public_id).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let origin = allowed_origin(&form, &headers);
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let accepts_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let mut json_reply = accepts_json || content_type.to_ascii_lowercase().starts_with("application/json");
    let limits = &state.config.webforms;
    let lang0 = request_lang(query.as_deref(), None, &headers);
    let refuse = |json_reply: bool, lang: Lang, r: Refusal, values: BTreeMap<String, String>, consent: bool| {
        let state = state.clone();
        let form = form.clone();
        async move {
            if json_reply {
                refusal_json(r)
            } else {
                page::render_refused(&state, &form, lang, r, &values, consent).await
            }
        }
    };
    if !limits.limiter.allow(&peer, limits.posts_per_window, limits.window) {
        let r = Refusal::Whole {
            status: StatusCode::TOO_MANY_REQUESTS,
            key: "form6_too_many",
        };
        return with_cors(refuse(json_reply, lang0, r, BTreeMap::new(), false).await, origin);
    }
    let bytes = match axum::body::to_bytes(req.into_body(), limits.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            let r = body_refusal(BodyError::TooLarge);
            return with_cors(refuse(json_reply, lang0, r, BTreeMap::new(), false).await, origin);
        }
    };
    let (mut values, is_json) = match parse_body(&content_type, &bytes) {
        Ok(v) => v,
        Err(e) => {
            let r = body_refusal(e);
            return with_cors(refuse(json_reply, lang0, r, BTreeMap::new(), false).await, origin);
        }
    };
    json_reply |= is_json;
    let lang = request_lang(query.as_deref(), values.get("lang").map(String::as_str), &headers);
    // The honeypot: answered like a success, nothing stored.
    if values.get(HONEYPOT).is_some_and(|v| !v.trim().is_empty()) {
        tracing::info!(form = form.id, "web form honeypot filled: dropped");
        return with_cors(success(&form, lang, json_reply), origin);
    }
    let consent = values
        .get("consent")
        .is_some_and(|v| matches!(v.trim(), "1" | "on" | "yes" | "true"));
    let token = values.remove("captcha_token").unwrap_or_default();
    let answer = values.remove("captcha_answer").unwrap_or_default();
    for k in RESERVED {
        values.remove(k);
    }
    let mut errors = ValidationErrors::default();
    for (k, v) in &values {
        if v.chars().count() > limits.max_field_chars {
            errors.add(
                k,
                FieldError::TooLong {
                    max: u32::try_from(limits.max_field_chars).unwrap_or(u32::MAX),
                },
            );
        }
    }
    if form.spec.captcha
        && let Err(e) = verify_captcha(&state, &token, &answer).await
    {
        match e {
            Ok(key) => errors.add(
                "captcha_answer",
                FieldError::Other(crate::ui::render::Catalogs::embedded().get(Lang::En, key).to_string()),
            ),
            Err(app) => return with_cors(app.into_response(), origin),
        }
    }
    if !errors.is_empty() {
        return with_cors(
            refuse(json_reply, lang, Refusal::Fields(errors), values, consent).await,
            origin,
        );
    }
    let secret = match webforms::captcha_secret(&state.store).await {
        Ok(s) => s,
        Err(e) => return with_cors(AppError::from(e).into_response(), origin),
    };
    let sub = Submission {
        values: values.clone(),
        consent,
        ip_hash: hex::encode(&captcha::hmac(&secret, format!("ip:{peer}").as_bytes())[..16]),
    };
    let reply = match webforms::submit(&state.store, &form, &sub).await {
        Ok(_) => success(&form, lang, json_reply),
        Err(StoreError::Invalid(v)) => refuse(json_reply, lang, Refusal::Fields(v), values, consent).await,
        Err(e) => AppError::from(e).into_response(),
    };
    with_cors(reply, origin)
}

/// Checks the captcha; `Err(Ok(key))` is a visitor's mistake (a catalogue key),
/// `Err(Err(_))` a server failure.
async fn verify_captcha(state: &AppState, token: &str, answer: &str) -> Result<(), Result<&'static str, AppError>> {
    let secret = webforms::captcha_secret(&state.store)
        .await
        .map_err(|e| Err(AppError::from(e)))?;
    match captcha::check(&secret, token, answer, now_ms()) {
        Ok((nonce, expires)) => match webforms::use_captcha_nonce(&state.store, &nonce, expires).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Ok("form6_captcha_reused")),
            Err(e) => Err(Err(AppError::from(e))),
        },
        Err(CaptchaError::Missing) => Err(Ok("form6_captcha_missing")),
        Err(CaptchaError::Expired) => Err(Ok("form6_captcha_expired")),
        Err(CaptchaError::Wrong | CaptchaError::Malformed) => Err(Ok("form6_captcha_wrong")),
    }
}

fn body_refusal(e: BodyError) -> Refusal {
    match e {
        BodyError::TooLarge => Refusal::Whole {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            key: "form6_too_large",
        },
        BodyError::UnsupportedType => Refusal::Whole {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            key: "form6_bad_type",
        },
        BodyError::Malformed(why) => {
            tracing::debug!(why, "malformed web form post");
            Refusal::Whole {
                status: StatusCode::BAD_REQUEST,
                key: "form6_bad_body",
            }
        }
    }
}

fn refusal_json(r: Refusal) -> Response {
    match r {
        Refusal::Fields(v) => AppError::Invalid(v).into_response(),
        Refusal::Whole { status, key } => {
            let c = crate::ui::render::Catalogs::embedded();
            let (en, zh) = (c.get(Lang::En, key).to_string(), c.get(Lang::Zh, key).to_string());
            let lang = crate::error::REQUEST_LANG.try_with(|l| *l).unwrap_or_default();
            let message = if lang == Lang::Zh { zh } else { en };
            let code = key.trim_start_matches("form6_");
            (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
        }
    }
}

/// The answer to an accepted post (also to a honeypot hit).
fn success(form: &Form, lang: Lang, json_reply: bool) -> Response {
    let thanks = {
        let t = form.spec.thanks.get(lang);
        if t.trim().is_empty() {
            crate::ui::render::Catalogs::embedded()
                .get(lang, "form6_thanks_default")
                .to_string()
        } else {
            t.to_string()
        }
    };
    if json_reply {
        let mut body = Map::new();
        body.insert("status".into(), json!("received"));
        body.insert("message".into(), json!(thanks));
        if let Some(url) = &form.spec.return_url {
            body.insert("redirect".into(), json!(url));
        }
        return (StatusCode::CREATED, axum::Json(Json::Object(body))).into_response();
    }
    if let Some(url) = &form.spec.return_url
        && let Ok(v) = HeaderValue::from_str(url)
    {
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut().insert(LOCATION, v);
        return r;
    }
    page::thanks(form, lang, &thanks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_parsed_or_refused_with_a_reason() {
        let (v, json) = parse_body(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"lastname=%E7%8E%8B&email=a%40b.cn",
        )
        .unwrap();
        assert!(!json);
        assert_eq!(v.get("lastname").map(String::as_str), Some("王"));
        let (v, json) = parse_body("application/json", br#"{"lastname":"Li","employees":12,"ok":true}"#).unwrap();
        assert!(json);
        assert_eq!(v.get("employees").map(String::as_str), Some("12"));
        assert!(matches!(
            parse_body("text/plain", b"x"),
            Err(BodyError::UnsupportedType)
        ));
        assert!(matches!(
            parse_body("application/json", b"{"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_body("application/json", b"[1]"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_body("application/json", br#"{"a":{"b":1}}"#),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_body("application/x-www-form-urlencoded", b"a=1&a=2"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            parse_body("application/x-www-form-urlencoded", b"a=\xff"),
            Err(BodyError::Malformed(_))
        ));
        let many: String = (0..200).map(|i| format!("f{i}=1&")).collect();
        assert!(matches!(
            parse_body("application/x-www-form-urlencoded", many.as_bytes()),
            Err(BodyError::Malformed(_))
        ));
    }
}
