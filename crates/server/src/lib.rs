//! Sable's HTTP faces: the JSON API under `/api/v1`, `/healthz` and `/metrics`.
//! Handlers are thin: parse, call the store's services, render. Errors become responses
//! in one place ([`error::AppError`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod extract;
pub mod forms;
mod health;
pub mod metrics;
pub mod ui;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use sable_core::Lang;
use sable_store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::{AppError, REQUEST_LANG};
use crate::metrics::Metrics;

/// Settings the HTTP layer needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest uploaded import file, in bytes.
    pub max_upload_bytes: usize,
    /// Where uploaded files wait while their import runs.
    pub upload_dir: std::path::PathBuf,
    /// Limits of the public web-form endpoints.
    pub webforms: forms::WebFormLimits,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_body_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            upload_dir: std::env::temp_dir().join("sable-uploads"),
            webforms: forms::WebFormLimits::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ServerConfig>,
}

/// The whole URL space on one screen.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .nest("/api/v1", api::router(&state.config))
        .merge(ui::router(&state.config))
        .merge(forms::router())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(AppError::Internal(anyhow::anyhow!("a handler panicked")))
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Unknown addresses: a JSON error under `/api`, an error page elsewhere.
async fn no_route(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return axum::response::IntoResponse::into_response(AppError::NotFound {
            code: "no_route",
            en: "there is nothing at this address".into(),
            zh: "此地址不存在".into(),
        });
    }
    ui::error_page(
        ui::session::browser_lang(&headers),
        axum::http::StatusCode::NOT_FOUND,
        "error_not_found",
    )
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Sets the request language for error messages and counts the request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default();
    let method = req.method().to_string();
    let start = Instant::now();
    let response = REQUEST_LANG.scope(lang, next.run(req)).await;
    state.metrics.request(
        &method,
        response.status().as_u16(),
        u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    response
}

/// A built server: state plus a bound listener. Tests bind port 0.
pub struct App {
    state: AppState,
    listener: TcpListener,
}

impl App {
    /// Builds the app on an open store and an already-bound listener.
    pub fn build(store: Store, config: ServerConfig, listener: TcpListener) -> App {
        App {
            state: AppState {
                store,
                metrics: Arc::new(Metrics::default()),
                config: Arc::new(config),
            },
            listener,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state);
        // The peer address feeds the web forms' per-IP rate limit.
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
