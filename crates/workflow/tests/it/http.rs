//! A real HTTP receiver for webhooks on 127.0.0.1:0: records each request's
//! `Idempotency-Key` and JSON body, and answers with the statuses it is told to.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::Mutex;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub key: Option<String>,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Clone, Default)]
struct Inner {
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Statuses to answer with, in order; 200 when empty.
    script: Arc<Mutex<VecDeque<u16>>>,
}

/// The receiver.
#[derive(Clone)]
pub struct HttpReceiver {
    pub url: String,
    inner: Inner,
}

async fn hook(State(inner): State<Inner>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    inner.hits.lock().await.push(Hit {
        key: text("idempotency-key"),
        content_type: text("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    });
    let status = inner.script.lock().await.pop_front().unwrap_or(200);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        "{\"errcode\":0}",
    )
}

impl HttpReceiver {
    /// Starts listening.
    pub async fn start() -> HttpReceiver {
        let inner = Inner::default();
        let app = Router::new().route("/hook", post(hook)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpReceiver { url, inner }
    }

    /// Answers the next requests with these statuses.
    pub async fn script(&self, statuses: &[u16]) {
        self.inner.script.lock().await.extend(statuses.iter().copied());
    }

    /// Requests received so far.
    pub async fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().await.clone()
    }
}
