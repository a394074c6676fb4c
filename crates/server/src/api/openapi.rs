//! The OpenAPI 3 document of `/api/v1`, kept by hand beside the routes; a test checks
//! that every path and method it names is a real route.

use axum::Json;
use serde_json::Value;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(serde_json::from_str(DOCUMENT).unwrap_or(Value::Null))
}
