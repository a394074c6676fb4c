//! Webhooks: the record as JSON, or a ready message for WeCom, DingTalk, Feishu and Slack
//! bots, POSTed with an `Idempotency-Key` header that stays the same across retries.

use std::time::Duration;

use sable_core::workflow::WebhookFormat;
use serde_json::{Value as Json, json};

/// How long one delivery may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Longest response body read, for error messages.
const MAX_ERROR_BODY: usize = 500;

/// Why a delivery failed, and whether a retry could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    pub permanent: bool,
}

/// The body to send: for `json` the whole event, for bots a text message.
pub fn body(format: WebhookFormat, event: &Json, text: &str) -> Json {
    match format {
        WebhookFormat::Json => event.clone(),
        WebhookFormat::Wecom | WebhookFormat::Dingtalk => json!({"msgtype": "text", "text": {"content": text}}),
        WebhookFormat::Feishu => json!({"msg_type": "text", "content": {"text": text}}),
        WebhookFormat::Slack => json!({"text": text}),
    }
}

/// The default bot message: `[Module] record label — workflow name`.
pub const DEFAULT_TEXT: &str = "[{{ module }}] {{ label }} — {{ workflow }}";

/// A client for webhooks (rustls on ring; no redirects, a bounded wait).
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Sable/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// POSTs the body. A 2xx with a bot's error code in the body (WeCom/DingTalk `errcode`,
/// Feishu `code`) is an error too.
pub async fn post(client: &reqwest::Client, url: &str, body: &Json, key: &str) -> Result<u16, DeliveryError> {
    let resp = client
        .post(url)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .map_err(|e| DeliveryError {
            message: format!("POST {url}: {e}"),
            permanent: e.is_builder(),
        })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let short: String = text.chars().take(MAX_ERROR_BODY).collect();
    if !status.is_success() {
        // 4xx other than 408/429 will not get better by waiting.
        let permanent = status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429;
        return Err(DeliveryError {
            message: format!("POST {url}: HTTP {status}: {short}"),
            permanent,
        });
    }
    if let Ok(j) = serde_json::from_str::<Json>(&text) {
        let code = j.get("errcode").or_else(|| j.get("code")).and_then(Json::as_i64);
        if let Some(c) = code.filter(|c| *c != 0) {
            return Err(DeliveryError {
                message: format!("POST {url}: the bot answered error {c}: {short}"),
                permanent: false,
            });
        }
    }
    Ok(status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_bodies() {
        let e = json!({"x": 1});
        assert_eq!(body(WebhookFormat::Json, &e, "t"), e);
        assert_eq!(body(WebhookFormat::Wecom, &e, "t")["text"]["content"], "t");
        assert_eq!(body(WebhookFormat::Dingtalk, &e, "t")["msgtype"], "text");
        assert_eq!(body(WebhookFormat::Feishu, &e, "t")["content"]["text"], "t");
        assert_eq!(body(WebhookFormat::Slack, &e, "t")["text"], "t");
    }
}
