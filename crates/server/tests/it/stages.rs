//! Sales stages over the API: configuration, stage history, checklist.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn stages_history_and_checklist_over_the_api() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, stages) = app.admin("GET", "/api/v1/stages", None).await;
        assert_eq!(s, StatusCode::OK);
        let mut items = stages["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items[0]["labels"]["zh-CN"], "初期沟通");
        items[0]["labels"]["en"] = json!("First Contact");
        let (s, saved) = app.admin("PUT", "/api/v1/stages", Some(json!({"items": items}))).await;
        assert_eq!(s, StatusCode::OK, "{saved}");
        assert_eq!(saved["items"][0]["value"], "Prospecting");

        let (s, opp) = app
            .admin(
                "POST",
                "/api/v1/records/Opportunities",
                Some(json!({"fields": {"potentialname": "看板测试", "amount": "2000", "closingdate": "2026-12-01"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{opp}");
        let id = opp["id"].as_i64().unwrap_or_default();
        assert_eq!(opp["fields"]["forecast_amount"], "200.00");
        let (s, moved) = app
            .admin(
                "PATCH",
                &format!("/api/v1/records/Opportunities/{id}"),
                Some(json!({"version": 1, "fields": {"sales_stage": "Qualification"}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{moved}");
        let (s, h) = app
            .admin("GET", &format!("/api/v1/records/Opportunities/{id}/stages"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["items"][1]["stage"], "Qualification");
        assert_eq!(h["items"][0]["days"], 0);

        let (s, c) = app
            .admin(
                "PUT",
                &format!("/api/v1/records/Opportunities/{id}/checklist"),
                Some(json!({"stage": "Qualification", "item": 0, "done": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["items"][0]["done"], true);
        assert_eq!(c["items"][1]["done"], false);

        // removing a stage in use: 4xx with the message
        let without: Vec<_> = saved["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s["value"] != "Qualification")
            .collect();
        let (s, e) = app
            .admin("PUT", "/api/v1/stages", Some(json!({"items": without})))
            .await;
        assert!(s.is_client_error(), "{s} {e}");
        assert!(
            e.to_string().contains("Qualification") || e.to_string().contains("立项评估"),
            "{e}"
        );
        let (s, _) = app.admin("GET", "/api/v1/records/Leads/1/stages", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}
