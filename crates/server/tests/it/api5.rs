//! The sales pipeline's JSON API: the board, the agenda, the calendar feed and the
//! lead-conversion preview.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn pipeline_board_over_the_api() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, acc) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "看板公司"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{acc}");
        let acc_id = acc["id"].as_i64().unwrap_or_default();
        for (name, amount, account) in [("一号", "2000", Some(acc_id)), ("二号", "1000.50", None)] {
            let (s, opp) = app
                .admin(
                    "POST",
                    "/api/v1/records/Opportunities",
                    Some(json!({"fields": {"potentialname": name, "amount": amount, "closingdate": "2026-12-01", "related_to": account}})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{opp}");
        }
        let (s, board) = app.admin("GET", "/api/v1/pipeline", None).await;
        assert_eq!(s, StatusCode::OK, "{board}");
        let first = &board["stages"][0];
        assert_eq!(first["value"], "Prospecting", "{board}");
        assert_eq!(first["count"], 2);
        assert_eq!(first["total"], "3000.50");
        assert_eq!(first["weighted"], "300.05");
        assert_eq!(board["cards"].as_array().map(Vec::len), Some(2));
        assert!(board["cards"][0]["id"].is_i64());

        let (s, board) = app
            .admin("GET", &format!("/api/v1/pipeline?account={acc_id}&period=year"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{board}");
        assert!(board["period"]["from"].as_str().is_some_and(|d| d.ends_with("-01-01")));
        let (s, board) = app
            .admin("GET", &format!("/api/v1/pipeline?account={acc_id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(board["stages"][0]["count"], 1);
        assert_eq!(board["stages"][0]["total"], "2000.00");

        let (s, e) = app.admin("GET", "/api/v1/pipeline?period=decade", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["error"]["code"], "bad_period");
        assert!(
            e["error"]["message"].as_str().is_some_and(|m| m.contains("decade")),
            "{e}"
        );
        let (s, e) = app.admin("GET", "/api/v1/pipeline?owner=abc", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["error"]["code"], "bad_filter");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn agenda_and_reminders_over_the_api() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC))
            .date();
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Tasks",
                Some(json!({"fields": {"subject": "寄合同", "due_date": today.to_string()}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Tasks",
                Some(json!({"fields": {"subject": "过期任务", "due_date": "2020-01-01"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let overdue_day = today.saturating_sub(jiff::Span::new().days(3));
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Tasks",
                Some(json!({"fields": {"subject": "上周任务", "due_date": overdue_day.to_string()}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);

        for view in ["day", "week", "month"] {
            let (s, a) = app
                .admin("GET", &format!("/api/v1/agenda?view={view}&date={today}"), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{a}");
            assert_eq!(a["view"], view);
            assert!(
                a["items"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|i| i["subject"] == "寄合同")),
                "{a}"
            );
            assert!(a["items"][0]["id"].is_i64());
            assert!(
                a["overdue"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|i| i["subject"] == "上周任务")),
                "{a}"
            );
            assert!(
                a["upcoming"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|i| i["subject"] == "寄合同")),
                "{a}"
            );
        }
        let (s, a) = app
            .admin("GET", "/api/v1/agenda?view=month&date=2020-01-15", None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (a["from"].as_str(), a["to"].as_str()),
            (Some("2020-01-01"), Some("2020-01-31"))
        );
        assert_eq!(a["items"][0]["day"], "2020-01-01");

        let (s, e) = app.admin("GET", "/api/v1/agenda?view=year", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["error"]["code"], "bad_view");
        let (s, e) = app.admin("GET", "/api/v1/agenda?date=2020-02-30", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["error"]["code"], "bad_date");
        assert!(
            e["error"]["message"].as_str().is_some_and(|m| m.contains("2020-02-30")),
            "{e}"
        );

        let (s, r) = app.admin("GET", "/api/v1/agenda/reminders", None).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(
            r["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|i| i["subject"] == "寄合同")),
            "{r}"
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn calendar_feed_token_over_the_api() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, first) = app.admin("POST", "/api/v1/calendar-feed", None).await;
        assert_eq!(s, StatusCode::CREATED, "{first}");
        let url1 = first["url"].as_str().unwrap_or_default().to_string();
        assert!(url1.contains("/ics/") && url1.ends_with(".ics"), "{url1}");
        let path1 = url1
            .split_once("/ics/")
            .map(|(_, t)| format!("/ics/{t}"))
            .unwrap_or_default();
        let (s, _) = app.call("GET", &path1, None, None).await;
        assert_eq!(s, StatusCode::OK);

        let (s, second) = app.admin("POST", "/api/v1/calendar-feed", None).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_ne!(second["url"], first["url"]);
        let (s, _) = app.call("GET", &path1, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "the old token stops working");

        let url2 = second["url"].as_str().unwrap_or_default().to_string();
        let path2 = url2
            .split_once("/ics/")
            .map(|(_, t)| format!("/ics/{t}"))
            .unwrap_or_default();
        let (s, _) = app.admin("DELETE", "/api/v1/calendar-feed", None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.call("GET", &path2, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "a revoked token stops working");
        let (s, _) = app.call("POST", "/api/v1/calendar-feed", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn lead_conversion_preview_over_the_api() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, acc) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "深圳蓝海贸易"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "陈", "firstname": "静", "company": "深圳蓝海贸易"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let id = lead["id"].as_i64().unwrap_or_default();
        let path = format!("/api/v1/records/Leads/{id}/convert/preview");
        let (s, p) = app.admin("GET", &path, None).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["account"]["accountname"], "深圳蓝海贸易");
        assert_eq!(p["matched_account"]["id"], acc["id"]);
        assert_eq!(p["contact"]["lastname"], "陈");
        assert!(p["opportunity"].is_object());

        let (s, e) = app
            .admin("GET", "/api/v1/records/Leads/999999/convert/preview", None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
        let (s, _) = app
            .admin("GET", "/api/v1/records/Leads/abc/convert/preview", None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "an id that is no number names nothing");
        let (s, _) = app
            .admin("GET", "/api/v1/records/Accounts/1/convert/preview", None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        let (s, _) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Leads/{id}/convert"),
                Some(json!({"contact": {}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, e) = app.admin("GET", &path, None).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(e["error"]["code"], "lead_already_converted");
        app.store.close().await;
        db.cleanup().await;
    }
}
