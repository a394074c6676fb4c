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

#[tokio::test]
async fn health_and_metrics_answer_without_a_token() {
    let db = sqlite_db();
    let app = spawn_app(&db).await;
    let (s, body) = app.call("GET", "/healthz", None, None).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, _) = app
        .admin(
            "POST",
            "/api/v1/records/Leads",
            Some(serde_json::json!({"fields": {"lastname": "指标"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, text) = app.call("GET", "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().expect("Prometheus text, not JSON").to_string();
    for line in [
        "sable_database_up 1",
        "# TYPE sable_http_requests_total counter",
        "sable_record_writes_total{module=\"Leads\",action=\"create\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
    }
    // every sample line is `name{labels} number`
    for l in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line `{l}`");
    }
    // a closed database is reported, not hidden
    app.store.close().await;
    let (s, _) = app.call("GET", "/healthz", None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    db.cleanup().await;
}
