//! The OpenAPI document matches the real routes: every path and method it names is routed.

use axum::http::StatusCode;
use sable_store::testing::sqlite_db;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_documented_route_exists() {
    let db = sqlite_db();
    let app = spawn_app(&db).await;
    let (s, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 15);
    for (path, methods) in paths {
        let concrete = path.replace("{module}", "Leads").replace("{id}", "1");
        for method in methods.as_object().unwrap().keys() {
            let (status, body) = app
                .admin(&method.to_uppercase(), &format!("/api/v1{concrete}"), None)
                .await;
            let code = body.get("error").and_then(|e| e.get("code")).and_then(Value::as_str);
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert_ne!(code, Some("no_route"), "{method} {path} is documented but not routed");
        }
    }
    app.store.close().await;
    db.cleanup().await;
}
