//! Reports over the API: run, save, share, export, drill down, and bad input.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sable_store::testing::all_backends;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, spawn_app};

async fn salesperson(app: &TestApp, name: &str) -> (i64, String) {
    let (s, user) = app
        .admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": name, "password": "sales-pass-1", "last_name": name, "language": "en"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": name, "password": "sales-pass-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    (
        user["id"].as_i64().unwrap_or_default(),
        body["token"].as_str().unwrap_or_default().to_string(),
    )
}

async fn opportunity(app: &TestApp, token: &str, name: &str, stage: &str, amount: &str, closes: &str) {
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/records/Opportunities",
            Some(token),
            Some(json!({"fields": {"potentialname": name, "sales_stage": stage, "amount": amount, "closingdate": closes}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

async fn file(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, content_type, bytes)
}

#[tokio::test]
async fn reports_run_save_share_and_export() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (li_id, li) = salesperson(&app, "li").await;
        let (wang_id, wang) = salesperson(&app, "wang").await;
        opportunity(&app, &li, "L1", "Closed Won", "1200.00", "2024-02-10").await;
        opportunity(&app, &li, "L2", "Closed Won", "800.50", "2024-05-10").await;
        opportunity(&app, &wang, "W1", "Closed Won", "99.99", "2024-02-11").await;

        // The body, run by li: his records only.
        let spec = json!({"module": "Opportunities",
            "filter": {"all": [{"field": "sales_stage", "op": "eq", "value": "Closed Won"}]},
            "group_by": [{"field": "closingdate", "bucket": "quarter"}],
            "aggregates": [{"fn": "sum", "field": "amount"}, {"fn": "count"}],
            "sort": [{"key": "closingdate:quarter"}]});
        let (s, r) = app
            .call("POST", "/api/v1/reports/run", Some(&li), Some(spec.clone()))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            r["rows"],
            json!([["2024-Q1", 1200, 1], ["2024-Q2", 800.5, 1]]),
            "{}",
            db.backend
        );
        assert_eq!(r["columns"][1]["key"], "sum(amount)");
        assert_eq!(r["columns"][1]["label"], "Sum of Amount");
        assert_eq!(r["totals"], json!([null, 2000.5, 2]));
        // The administrator sees everyone's.
        let (_, r) = app.admin("POST", "/api/v1/reports/run", Some(spec.clone())).await;
        assert_eq!(
            r["rows"],
            json!([["2024-Q1", 1299.99, 2], ["2024-Q2", 800.5, 1]]),
            "{}",
            db.backend
        );

        // Saved and shared with wang, who runs it with his own visibility.
        let (s, saved) = app
            .call(
                "POST",
                "/api/v1/reports",
                Some(&li),
                Some(json!({"name": "季度赢单", "spec": spec, "chart": {"type": "bar"}, "shared_with": []})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{saved}");
        let id = saved["id"].as_i64().unwrap_or_default();
        assert_eq!(saved["owner_id"], json!(li_id));
        let (s, _) = app
            .call("GET", &format!("/api/v1/reports/{id}"), Some(&wang), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "not shared yet");
        let mut body = json!({"name": "季度赢单", "spec": spec, "chart": {"type": "bar"}, "shared_with": [wang_id]});
        let (s, updated) = app
            .call("PUT", &format!("/api/v1/reports/{id}"), Some(&li), Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::OK, "{updated}");
        let (s, r) = app
            .call("POST", &format!("/api/v1/reports/{id}/run"), Some(&wang), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(r["rows"], json!([["2024-Q1", 99.99, 1]]), "{}", db.backend);
        let (s, list) = app.call("GET", "/api/v1/reports", Some(&wang), None).await;
        assert_eq!((s, list["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
        body["name"] = json!("mine now");
        let (s, _) = app
            .call("PUT", &format!("/api/v1/reports/{id}"), Some(&wang), Some(body))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app
            .call("DELETE", &format!("/api/v1/reports/{id}"), Some(&wang), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Export: CSV with BOM, labels as headings, a totals row; XLSX.
        let (s, ct, bytes) = file(&app, &li, &format!("/api/v1/reports/{id}/export?format=csv")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ct.starts_with("text/csv"), "{ct}");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "\u{feff}Expected Close Date (quarter),Sum of Amount,Count\r\n2024-Q1,1200,1\r\n2024-Q2,800.5,1\r\nTotal,2000.5,2\r\n"
        );
        let (s, ct, bytes) = file(&app, &li, &format!("/api/v1/reports/{id}/export?format=xlsx")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ct.contains("spreadsheetml"), "{ct}");
        assert!(bytes.starts_with(b"PK"));
        let (s, _, _) = file(&app, &li, &format!("/api/v1/reports/{id}/export?format=pdf")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // Drill-down: the filter behind the 2024-Q1 row lists exactly its records.
        let (s, d) = app
            .call(
                "POST",
                "/api/v1/reports/drill",
                Some(&li),
                Some(json!({"spec": spec, "values": ["2024-Q1"]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        let (s, page) = app
            .call(
                "POST",
                "/api/v1/records/Opportunities/query",
                Some(&li),
                Some(json!({"filter": d["filter"]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let names: Vec<&Value> = page["items"]
            .as_array()
            .map(|a| a.iter().map(|r| &r["fields"]["potentialname"]).collect())
            .unwrap_or_default();
        assert_eq!(names, [&json!("L1")], "{}", db.backend);

        let (s, _) = app
            .call("DELETE", &format!("/api/v1/reports/{id}"), Some(&li), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.call("GET", &format!("/api/v1/reports/{id}"), Some(&li), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_report_requests_are_refused_clearly() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let cases = [
            (
                json!({"module": "Opportunities", "group_by": [{"field": "x; DROP TABLE m_opportunities"}]}),
                "x; DROP",
            ),
            (
                json!({"module": "Opportunities", "group_by": [
                {"field": "sales_stage"}, {"field": "leadsource"}, {"field": "opportunity_type"}, {"field": "assigned_user_id"}]}),
                "3",
            ),
            (
                json!({"module": "Opportunities", "columns": ["amount"], "limit": 100_000_000}),
                "10",
            ),
            (
                json!({"module": "Opportunities", "group_by": [{"field": "amount", "bucket": "month"}]}),
                "amount",
            ),
            (
                json!({"module": "Opportunities", "aggregates": [{"fn": "sum", "field": "potentialname"}]}),
                "sum(potentialname)",
            ),
            (json!({"module": "Nope", "aggregates": [{"fn": "count"}]}), "Nope"),
            (
                json!({"module": "Opportunities", "aggregates": [{"fn": "count"}], "filter": {"field": "amount", "op": "gt", "value": "lots"}}),
                "filter",
            ),
            // Unknown keys and values are refused by the parser, with where.
            (
                json!({"module": "Opportunities", "group_by": [{"field": "sales_stage"}], "evil": 1}),
                "evil",
            ),
            (
                json!({"module": "Opportunities", "group_by": [{"field": "sales_stage", "bucket": "hour"}]}),
                "group_by[0].bucket",
            ),
            (
                json!({"module": "Opportunities", "aggregates": [{"fn": "median", "field": "amount"}]}),
                "aggregates[0].fn",
            ),
            (json!({"module": 42}), "module"),
        ];
        for (body, says) in cases {
            let (s, r) = app.admin("POST", "/api/v1/reports/run", Some(body.clone())).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {r}");
            let message = r["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{body}: `{message}` should mention `{says}`");
        }
        let (s, _) = app
            .raw(
                "POST",
                "/api/v1/reports/run",
                "application/json",
                b"{\"module\":".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = app
            .raw("POST", "/api/v1/reports/run", "text/plain", b"{}".to_vec())
            .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(
            "{{\"module\":\"Leads\",\"columns\":[{}\"lastname\"]}}",
            "\"lastname\",".repeat(20_000)
        );
        let (s, _) = app
            .raw("POST", "/api/v1/reports/run", "application/json", big.into_bytes())
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        // A saved report with a bad schedule or name; nothing is written.
        let (s, r) = app
            .admin(
                "POST",
                "/api/v1/reports",
                Some(
                    json!({"name": "x", "spec": {"module": "Leads", "aggregates": [{"fn": "count"}]},
                    "schedule": {"frequency": "daily", "time": "25:00", "recipients": ["a@example.com"]}}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
        let (_, list) = app.admin("GET", "/api/v1/reports", None).await;
        assert_eq!(list["items"], json!([]));
        let (s, _) = app.admin("GET", "/api/v1/reports/abc", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}
