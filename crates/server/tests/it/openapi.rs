//! The OpenAPI document matches the real routes: every path and method it names is routed,
//! and the statuses the routes really answer are the ones it documents.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_documented_route_exists() {
    for db in all_backends().await {
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
}

/// The statuses of an operation the document lists.
fn documented(doc: &Value, path: &str, method: &str) -> Vec<u16> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_status_a_route_answers_is_documented() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
        let paths = doc["paths"].as_object().expect("paths").clone();
        let mut missing = Vec::new();
        let mut check = |path: &str, method: &str, why: &str, status: StatusCode| {
            if !documented(&doc, path, method).contains(&status.as_u16()) {
                missing.push(format!("{method} {path}: {why} answered {status}"));
            }
        };
        let big = format!("{{\"fields\":{{\"lastname\":\"{}\"}}}}", "x".repeat(3 << 20));
        // (first: the malformed logins below count as failed attempts)
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": "admin", "password": "wrong"})),
            )
            .await;
        check("/auth/login", "post", "a wrong password", s);
        for (path, methods) in &paths {
            let concrete = format!("/api/v1{}", path.replace("{module}", "Leads").replace("{id}", "999999"));
            for (method, op) in methods.as_object().expect("methods") {
                let m = method.to_uppercase();
                let public = op
                    .get("security")
                    .is_some_and(|s| s.as_array().is_some_and(Vec::is_empty));
                if !public {
                    let (s, _) = app.call(&m, &concrete, None, None).await;
                    check(path, method, "no token", s);
                }
                let json_body = op["requestBody"]["content"].get("application/json").is_some();
                let (s, _) = app.admin(&m, &concrete, json_body.then(|| serde_json::json!({}))).await;
                check(path, method, "an empty body", s);
                if json_body {
                    let (s, _) = app.raw(&m, &concrete, "text/plain", b"{}".to_vec()).await;
                    check(path, method, "text/plain", s);
                    let (s, _) = app.raw(&m, &concrete, "application/json", b"{".to_vec()).await;
                    check(path, method, "malformed JSON", s);
                    let (s, _) = app
                        .raw(&m, &concrete, "application/json", big.clone().into_bytes())
                        .await;
                    check(path, method, "a 3 MB body", s);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{}: undocumented statuses:\n{}",
            db.backend,
            missing.join("\n")
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn health_and_metrics_answer_without_a_token() {
    for db in all_backends().await {
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
}
