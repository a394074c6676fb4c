use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sable_server::metrics::Metrics;
use sable_server::{AppState, ServerConfig, router};
use sable_store::Store;
use sable_store::testing::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// The app on a test database, with an administrator logged in.
pub struct TestApp {
    pub router: Router,
    pub store: Store,
    pub admin_token: String,
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with(db, sable_server::forms::WebFormLimits::default()).await
}

/// [`spawn_app`] with the web forms' limits of a test.
pub async fn spawn_app_with(db: &TestDb, webforms: sable_server::forms::WebFormLimits) -> TestApp {
    let store = db.store().await;
    sable_store::users::ensure_admin(&store, Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    let state = AppState {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        config: Arc::new(ServerConfig {
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 1024 * 1024,
            upload_dir: std::env::temp_dir().join(format!("sable-test-uploads-{}", std::process::id())),
            webforms,
        }),
    };
    let mut app = TestApp {
        router: router(state),
        store,
        admin_token: String::new(),
    };
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.admin_token = body["token"].as_str().unwrap().to_string();
    app
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body; returns status and JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, v)
    }

    /// Sends a raw body with a content type.
    pub async fn raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin_token))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.admin_token.clone()), body).await
    }
}
