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

#[tokio::test]
async fn the_board_filters_by_custom_dates_and_offers_organizations_without_cards() {
    use crate::helpers::ADMIN_PASSWORD;
    use crate::ui::Browser;
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut accounts = Vec::new();
        for name in ["<b>早</b>客户", "晚客户"] {
            let (s, acc) = app
                .admin(
                    "POST",
                    "/api/v1/records/Accounts",
                    Some(json!({"fields": {"accountname": name}})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{acc}");
            accounts.push(acc["id"].as_i64().unwrap_or_default());
        }
        for (name, date, acc) in [
            ("一月商机", "2026-01-10", accounts[0]),
            ("六月商机", "2026-06-10", accounts[1]),
        ] {
            let (s, o) = app
                .admin(
                    "POST",
                    "/api/v1/records/Opportunities",
                    Some(json!({"fields": {"potentialname": name, "closingdate": date, "related_to": acc}})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{o}");
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, "/pipeline?from=2026-01-01&to=2026-01-31").await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        assert!(
            page.body.contains("一月商机") && !page.body.contains("六月商机"),
            "{}",
            page.body
        );
        // The organization filter offers the organization with no card on this board, escaped.
        assert!(
            page.body
                .contains(&format!("<option value=\"{}\">晚客户</option>", accounts[1])),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("&lt;b&gt;早&lt;&#x2f;b&gt;客户") || page.body.contains("&lt;b&gt;早&lt;/b&gt;客户")
        );
        assert!(
            page.body.contains("name=\"from\" value=\"2026-01-01\""),
            "{}",
            page.body
        );
        // The stage admin page says what happens to ticks when a checklist changes.
        let admin_page = b.get(&app, "/admin/stages").await;
        assert!(
            admin_page
                .body
                .contains("Ticks on opportunities follow their checklist item")
                || admin_page.body.contains("商机上的勾选跟随原清单项"),
            "{}",
            admin_page.body
        );
        // Custom dates win over a period; a bad date is ignored.
        let page = b.get(&app, "/pipeline?period=month&from=2026-06-01&to=nonsense").await;
        assert!(
            page.body.contains("六月商机") && !page.body.contains("一月商机"),
            "{}",
            db.backend
        );
    }
}
