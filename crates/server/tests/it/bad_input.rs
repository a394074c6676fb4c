//! Malformed, hostile and oversized input: a clear error, the right status, nothing written.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn bad_requests_get_clear_errors_and_write_nothing() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        // no token, bad token
        let (s, e) = app.call("GET", "/api/v1/records/Leads", None, None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{b}"
        );
        assert_eq!(
            app.call("GET", "/api/v1/records/Leads", Some("sable_nope"), None)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        let (s, e) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": "wrong"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
        // NUL characters (PostgreSQL refuses them in text): clear errors, never a 500
        let (s, e) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "ad\u{0}min", "password": "wrong"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}: {e}");
        let (s, e) = app
            .admin(
                "POST",
                "/api/v1/users",
                Some(json!({"user_name": "nul", "password": "nul-pass-123", "last_name": "N\u{0}L"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        let (s, e) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"filter": {"field": "company", "op": "contains", "value": "a\u{0}"}})),
            )
            .await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{b}: {s} {e}"
        );
        // malformed JSON, wrong shape, unknown keys, wrong content type
        let (s, e) = app
            .raw(
                "POST",
                "/api/v1/records/Leads",
                "application/json",
                b"{\"fields\": {".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"]["code"], "bad_json");
        let (s, e) = app
            .admin("POST", "/api/v1/records/Leads", Some(json!({"fields": [1, 2]})))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        let (s, e) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "x"}, "extra": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("extra"), "{e}");
        let (s, _) = app
            .raw("POST", "/api/v1/records/Leads", "text/plain", b"lastname=x".to_vec())
            .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // field validation: unknown field, wrong types, impossible date — one message per field
        let (s, e) = app
            .admin("POST", "/api/v1/records/Opportunities", Some(json!({"fields": {"potentialname": "x", "bogus": 1, "amount": 12.5, "closingdate": "2025-02-30", "probability": "abc", "sales_stage": "Won-ish", "related_to": "abc"}})))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let fields = e["error"]["fields"].as_object().unwrap();
        for f in ["bogus", "closingdate", "probability", "sales_stage", "related_to"] {
            assert!(fields.contains_key(f), "{f} missing in {e}");
        }
        assert!(
            !fields.contains_key("amount"),
            "a JSON number with 2 decimals is a valid amount: {e}"
        );
        // messages in Chinese on request
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/records/Leads")
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .header("accept-language", "zh-CN,zh;q=0.9")
            .body(axum::body::Body::from(json!({"fields": {"email": "bad"}}).to_string()))
            .unwrap();
        let (s, e) = app.send(req).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["fields"]["lastname"], "必填", "{e}");
        // huge body → 413
        let big = format!("{{\"fields\":{{\"lastname\":\"{}\"}}}}", "x".repeat(100 * 1024));
        let (s, e) = app
            .raw("POST", "/api/v1/records/Leads", "application/json", big.into_bytes())
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
        assert_eq!(e["error"]["code"], "payload_too_large");
        // hostile text is stored as text, 4-byte characters intact; control characters refused
        let (s, r) = app.admin("POST", "/api/v1/records/Leads", Some(json!({"fields": {"lastname": "<script>alert(1)</script>", "company": "'; DROP TABLE records; -- 𠮷😀"}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        assert_eq!(r["fields"]["company"], "'; DROP TABLE records; -- 𠮷😀");
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "nul\u{0}byte"}})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // ids: not a number, another module's id, unknown module, unknown route, wrong method
        let id = r["id"].as_i64().unwrap();
        assert_eq!(
            app.admin("GET", "/api/v1/records/Leads/abc", None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.admin("GET", &format!("/api/v1/records/Contacts/{id}"), None)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let (s, e) = app.admin("GET", "/api/v1/records/Spaceships/1", None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_module"))
        );
        let (s, e) = app.admin("GET", "/api/v1/nothing-here", None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("no_route"))
        );
        // a malformed or oversized search query is a JSON error, not plain text
        for q in ["q=x&limit=abc", "q=x&limit=-1"] {
            let (s, e) = app.admin("GET", &format!("/api/v1/search?{q}"), None).await;
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("bad_query")),
                "{q}"
            );
        }
        let long = "%E5%8C%97".repeat(201); // 北 × 201
        let (s, e) = app.admin("GET", &format!("/api/v1/search?q={long}"), None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("query_too_long"))
        );
        assert_eq!(
            app.admin("PUT", &format!("/api/v1/records/Leads/{id}"), Some(json!({})))
                .await
                .0,
            StatusCode::BAD_REQUEST,
            "PUT needs a version and fields"
        );
        assert_eq!(
            app.admin("PATCH", "/api/v1/records/Leads", Some(json!({}))).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        // PATCH needs a version; a deleted record cannot be edited
        let (s, _) = app
            .admin(
                "PATCH",
                &format!("/api/v1/records/Leads/{id}"),
                Some(json!({"fields": {"company": "x"}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            app.admin("DELETE", &format!("/api/v1/records/Leads/{id}"), None)
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.admin(
                "PATCH",
                &format!("/api/v1/records/Leads/{id}"),
                Some(json!({"version": 2, "fields": {"company": "x"}}))
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        // bad filters: path in the message
        let (s, e) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"filter": {"all": [{"field": "lastname", "op": "equals", "value": "x"}]}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(e["error"]["message"].as_str().unwrap().contains(".all[0].op"), "{e}");
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"sort": [{"field": "lastname", "dir": "sideways"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = app.admin("GET", "/api/v1/records/Leads?limit=lots", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // nothing half-written: only the one valid lead (now in the bin) exists
        let (_, page) = app.admin("POST", "/api/v1/records/Leads/query", Some(json!({}))).await;
        assert_eq!(page["count"], 0, "{page}");
        let (_, page) = app
            .admin("POST", "/api/v1/records/Leads/query", Some(json!({"deleted": true})))
            .await;
        assert_eq!(page["count"], 1, "{page}");
        app.store.close().await;
        db.cleanup().await;
    }
}
