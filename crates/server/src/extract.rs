//! Request extractors with Sable's error shapes: JSON bodies, ids in paths, the
//! authenticated user.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::AppError;

/// A query string of the expected shape: 400 with a JSON error saying what is wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                let reason = e.body_text();
                AppError::bad_request(
                    "bad_query",
                    format!("the query string is not valid for this endpoint: {reason}"),
                    format!("查询参数不符合要求：{reason}"),
                )
            })
    }
}

/// A JSON body: 415 without a JSON content type, 413 when too large, 400 with the
/// position of the problem when malformed or of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let json_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json_type {
            return Err(AppError::UnsupportedMediaType);
        }
        let limit = state.config.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge(limit)
            } else {
                AppError::bad_request(
                    "bad_body",
                    format!("could not read the body: {e}"),
                    format!("无法读取请求内容：{e}"),
                )
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = if path == "." || path.is_empty() {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            AppError::bad_request(
                "bad_json",
                format!("the body is not valid for this endpoint{at}: {inner}"),
                format!("请求内容不符合要求{at}：{inner}"),
            )
        })?;
        de.end().map_err(|e| {
            AppError::bad_request(
                "bad_json",
                format!("trailing data after the JSON body: {e}"),
                format!("JSON 之后还有多余内容：{e}"),
            )
        })?;
        Ok(ApiJson(value))
    }
}

/// Parses a record id from a path segment.
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::not_found(format!("`{raw}` is not a record id"), format!("“{raw}”不是记录编号")))
}

/// The user a bearer token belongs to.
pub struct ApiUser(pub sable_store::Actor);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let unauthorized = |en: &str, zh: &str| AppError::Unauthorized {
            en: en.into(),
            zh: zh.into(),
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthorized(
                "log in first: send Authorization: Bearer <token>",
                "请先登录：发送 Authorization: Bearer <token>",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| {
                unauthorized(
                    "the Authorization header must be `Bearer <token>`",
                    "Authorization 头必须是“Bearer <token>”",
                )
            })?;
        let user = sable_store::users::authenticate_token(&state.store, token)
            .await?
            .ok_or_else(|| unauthorized("the token is invalid, expired or revoked", "令牌无效、已过期或已吊销"))?;
        parts.extensions.insert(TokenText(token.to_string()));
        Ok(ApiUser(user.actor()))
    }
}

/// The raw token of the request, for logout.
#[derive(Clone)]
pub struct TokenText(pub String);
