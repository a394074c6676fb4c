//! The one place errors become HTTP responses: a status, a stable snake_case `code`,
//! a message in the caller's language and, for validation, one message per field.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sable_core::{Lang, ValidationErrors};
use sable_store::{Conflict, StoreError};
use serde_json::{Value, json};

tokio::task_local! {
    /// The language of the request being answered (from `Accept-Language`).
    pub static REQUEST_LANG: Lang;
}

/// The language of the current request, English outside one.
pub fn request_lang() -> Lang {
    REQUEST_LANG.try_with(|l| *l).unwrap_or_default()
}

/// Code, message, per-field messages and an extra member of an error body.
type BodyParts<'a> = (
    &'a str,
    String,
    Option<BTreeMap<String, String>>,
    Option<(&'static str, Value)>,
);

/// An error on its way to becoming a response.
#[derive(Debug)]
pub enum AppError {
    /// 400: the body or query is not what the endpoint takes.
    BadRequest { code: &'static str, en: String, zh: String },
    /// 401
    Unauthorized { en: String, zh: String },
    /// 403
    Forbidden(String),
    /// 404
    NotFound { code: &'static str, en: String, zh: String },
    /// 405
    MethodNotAllowed,
    /// 409
    Conflict(Conflict),
    /// 413
    TooLarge(usize),
    /// 415
    UnsupportedMediaType,
    /// 422
    Invalid(ValidationErrors),
    /// 429
    TooManyAttempts { en: String, zh: String },
    /// 500: logged with its cause chain; the caller sees only a request-safe message.
    Internal(anyhow::Error),
}

impl AppError {
    /// A 400 with the same text in both languages (e.g. a parser's message naming a position).
    pub fn bad_request(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> AppError {
        AppError::BadRequest {
            code,
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// A 404 for a path that names nothing.
    pub fn not_found(en: impl Into<String>, zh: impl Into<String>) -> AppError {
        AppError::NotFound {
            code: "not_found",
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self, lang: Lang) -> Value {
        let pick = |en: &str, zh: &str| {
            if lang == Lang::Zh {
                zh.to_string()
            } else {
                en.to_string()
            }
        };
        let (code, message, fields, extra): BodyParts = match self {
            AppError::BadRequest { code, en, zh } => (code, pick(en, zh), None, None),
            AppError::Unauthorized { en, zh } => ("unauthorized", pick(en, zh), None, None),
            AppError::Forbidden(m) => ("forbidden", pick(m, forbidden_zh(m)), None, None),
            AppError::NotFound { code, en, zh } => (code, pick(en, zh), None, None),
            AppError::MethodNotAllowed => (
                "method_not_allowed",
                pick(
                    "this address does not take that HTTP method",
                    "此地址不支持该 HTTP 方法",
                ),
                None,
                None,
            ),
            AppError::Conflict(Conflict::StaleVersion {
                current_version,
                changes,
            }) => (
                "stale_version",
                pick(
                    &format!(
                        "someone else saved this record first (now version {current_version}); reload and apply your change again"
                    ),
                    &format!("其他人已先保存了此记录（当前版本 {current_version}），请刷新后重新修改"),
                ),
                None,
                Some((
                    "conflict",
                    json!({"current_version": current_version, "changes": changes}),
                )),
            ),
            AppError::Conflict(Conflict::State(m)) if m == sable_store::convert::ALREADY_CONVERTED => (
                "lead_already_converted",
                pick(m, "此线索已转化，不能再次转化"),
                None,
                None,
            ),
            AppError::Conflict(Conflict::State(m)) => ("conflict", pick(m, &format!("状态冲突：{m}")), None, None),
            AppError::TooLarge(limit) => (
                "payload_too_large",
                pick(
                    &format!("the request body is larger than {limit} bytes"),
                    &format!("请求内容超过 {limit} 字节"),
                ),
                None,
                None,
            ),
            AppError::UnsupportedMediaType => (
                "unsupported_media_type",
                pick(
                    "send the body as JSON with Content-Type: application/json",
                    "请以 JSON 格式发送（Content-Type: application/json）",
                ),
                None,
                None,
            ),
            AppError::Invalid(errors) => (
                "validation_failed",
                pick(
                    &format!("{} field(s) are invalid", errors.0.len()),
                    &format!("{} 个字段有误", errors.0.len()),
                ),
                Some(errors.messages(lang)),
                None,
            ),
            AppError::TooManyAttempts { en, zh } => ("too_many_attempts", pick(en, zh), None, None),
            AppError::Internal(_) => (
                "internal_error",
                pick(
                    "something went wrong on the server; it has been logged",
                    "服务器出错，已记录日志",
                ),
                None,
                None,
            ),
        };
        let mut error = json!({"code": code, "message": message});
        if let Some(f) = fields {
            error["fields"] = json!(f);
        }
        if let Some((k, v)) = extra {
            error[k] = v;
        }
        json!({"error": error})
    }
}

/// The Chinese of a refusal for lack of permission (the store's messages are English).
fn forbidden_zh(en: &str) -> &'static str {
    match en {
        "only an administrator may manage users" => "只有管理员可以管理用户。",
        "you may only change your own password" => "您只能修改自己的密码。",
        "you may only change your own preferences" => "您只能修改自己的偏好设置。",
        "only an administrator may change modules" => "只有管理员可以修改模块。",
        "only an administrator may change company settings" => "只有管理员可以修改公司设置。",
        "the system cannot share views" => "系统账户不能共享视图。",
        "imports need a user" => "导入需要以用户身份进行。",
        "comments need a user" => "评论需要以用户身份发表。",
        _ => "您无权执行此操作。",
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let status = self.status_code();
        (status, axum::Json(self.body(request_lang()))).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound { module, id } => AppError::NotFound {
                code: "not_found",
                en: format!("{module} record {id} does not exist, was deleted, or is not visible to you"),
                zh: format!("{module} 记录 {id} 不存在、已删除或您无权查看"),
            },
            StoreError::Forbidden(m) => AppError::Forbidden(m),
            StoreError::Invalid(v) => AppError::Invalid(v),
            StoreError::BadFilter(f) => AppError::BadRequest {
                code: "bad_filter",
                en: f.message(Lang::En),
                zh: f.message(Lang::Zh),
            },
            StoreError::Meta(sable_core::meta::MetaError::UnknownModule(m)) => AppError::NotFound {
                code: "unknown_module",
                en: format!("there is no module `{m}`"),
                zh: format!("没有模块“{m}”"),
            },
            StoreError::Refused(r) => AppError::BadRequest {
                code: "bad_request",
                en: r.en.clone(),
                zh: crate::ui::render::refusal_text(Lang::Zh, &r),
            },
            StoreError::Meta(m) => match m.refusal() {
                Some(r) => AppError::BadRequest {
                    code: "bad_metadata",
                    en: r.en.clone(),
                    zh: crate::ui::render::refusal_text(Lang::Zh, &r),
                },
                None => AppError::BadRequest {
                    code: "bad_metadata",
                    en: m.to_string(),
                    zh: m.to_string(),
                },
            },
            StoreError::BadRequest(m) => AppError::BadRequest {
                code: "bad_request",
                en: m.clone(),
                zh: m,
            },
            StoreError::Conflict(c) => AppError::Conflict(c),
            StoreError::Other(e) => AppError::Internal(e),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        AppError::Internal(e)
    }
}

/// Results of handlers.
pub type AppResult<T> = Result<T, AppError>;
