//! Tasks and Events through the API and pages, logging a follow-up (API and form), and
//! the activity timeline.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, spawn_app};
use crate::ui::{Browser, hidden};

#[tokio::test]
async fn followups_through_api_and_pages() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, contact) = app
            .admin(
                "POST",
                "/api/v1/records/Contacts",
                Some(json!({"fields": {"lastname": "<b>赵</b>"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{contact}");
        let id = contact["id"].as_i64().unwrap();
        assert_eq!(contact["fields"]["followup_count"], json!(0), "never followed up is 0");
        let (_, never) = app
            .admin(
                "POST",
                "/api/v1/records/Contacts/query",
                Some(json!({"filter": {"field": "followup_count", "op": "eq", "value": 0}})),
            )
            .await;
        assert!(
            never["items"]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["id"] == contact["id"])),
            "{never}"
        );

        // Log a call with a next date: a held event and an open task.
        let (s, logged) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Contacts/{id}/followups"),
                Some(json!({"summary": "电话沟通报价", "outcome": "客户满意", "kind": "call", "next_date": "2030-01-15"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{logged} {}", db.backend);
        assert_eq!(logged["module"], "Events");
        assert_eq!(logged["followup_count"], 1);
        assert_eq!(logged["next_followup"], "2030-01-15");
        assert!(logged["last_contacted"].is_string());
        let event_id = logged["id"].as_i64().unwrap();
        let (_, event) = app
            .admin("GET", &format!("/api/v1/records/Events/{event_id}"), None)
            .await;
        assert_eq!(event["fields"]["eventstatus"], "Held");
        assert_eq!(event["fields"]["activitytype"], "Call");
        assert_eq!(event["fields"]["parent_id"], id);

        // A bad next date refuses the whole follow-up and writes nothing.
        let (s, bad) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Contacts/{id}/followups"),
                Some(json!({"summary": "x", "kind": "visit", "next_date": "2030-02-30"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let (_, after) = app.admin("GET", &format!("/api/v1/records/Contacts/{id}"), None).await;
        assert_eq!(after["fields"]["followup_count"], 1);
        // Not on a task, nor with an empty summary.
        let (s, _) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Events/{event_id}/followups"),
                Some(json!({"summary": "x"})),
            )
            .await;
        assert!(s.is_client_error());
        let (s, _) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Contacts/{id}/followups"),
                Some(json!({"summary": " "})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        let (s, timeline) = app
            .admin("GET", &format!("/api/v1/records/Contacts/{id}/timeline"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let items = timeline["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{timeline}");
        assert_eq!(items[0]["module"], "Tasks", "the next task is the newest: {timeline}");

        // The pages: the tab, the two-click form, escaping, Tasks pages.
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let detail = b.get(&app, &format!("/m/Contacts/{id}")).await;
        assert!(detail.body.contains("id=\"log-followup\""));
        let tab = b.get(&app, &format!("/m/Contacts/{id}/activities")).await;
        assert_eq!(tab.status, StatusCode::OK);
        assert!(
            tab.body.contains("电话沟通报价") && tab.body.contains("电话"),
            "{}",
            tab.body
        );
        let csrf = hidden(&tab.body, "_csrf");
        let posted = b
            .post(
                &app,
                &format!("/m/Contacts/{id}/followups"),
                &[
                    ("_csrf", &csrf),
                    ("kind", "task"),
                    ("summary", "<script>x</script>"),
                    ("next_date", "2029-06-01"),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER);
        let tab = b.get(&app, &format!("/m/Contacts/{id}/activities")).await;
        assert!(
            tab.body.contains("&lt;script&gt;x") && !tab.body.contains("<script>x"),
            "{}",
            tab.body
        );
        assert!(
            tab.body
                .contains("data-field=\"followup_count\"><dt>跟进次数</dt><dd>2</dd>"),
            "{}",
            tab.body
        );
        let refused = b
            .post(
                &app,
                &format!("/m/Contacts/{id}/followups"),
                &[("kind", "task"), ("summary", "x")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF token");
        // An event through the ordinary form, linked to the contact, held: one more follow-up.
        let form = b.get(&app, "/m/Events/new").await;
        let csrf = hidden(&form.body, "_csrf");
        let id_text = id.to_string();
        let created = b
            .post(
                &app,
                "/m/Events",
                &[
                    ("_csrf", &csrf),
                    ("subject", "上门拜访"),
                    ("activitytype", "Visit"),
                    ("eventstatus", "Held"),
                    ("date_start", "2026-12-01"),
                    ("time_start", "15:00"),
                    ("parent_id", &id_text),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let (_, after) = app.admin("GET", &format!("/api/v1/records/Contacts/{id}"), None).await;
        assert_eq!(after["fields"]["followup_count"], 3, "{after}");
        for path in [
            "/m/Tasks",
            "/m/Events",
            "/m/Tasks/new",
            "/m/Events/new",
            &format!("/m/Events/{event_id}"),
        ] {
            let page = b.get(&app, path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
        }
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn agenda_page_and_calendar_feed() {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
            .date();
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Events",
                Some(json!({"fields": {"subject": "客户拜访, 签约; 准备", "activitytype": "Visit", "date_start": today.to_string(), "time_start": "23:50", "location": "上海"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Tasks",
                Some(json!({"fields": {"subject": "寄合同", "due_date": today.to_string()}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        for view in [
            "",
            "?view=day",
            "?view=week",
            "?view=month",
            "?view=week&date=2020-02-29",
        ] {
            let page = b.get(&app, &format!("/agenda{view}")).await;
            assert_eq!(page.status, StatusCode::OK, "{view}");
        }
        let page = b.get(&app, "/agenda").await;
        assert!(page.body.contains("寄合同"), "{}", page.body);
        assert!(page.body.contains("id=\"reminder-count\""), "a task due today reminds");
        let badge = b.get(&app, "/agenda/reminders").await;
        assert_eq!(badge.status, StatusCode::OK);
        assert!(
            badge.body.contains("reminders-badge") && badge.body.contains("寄合同"),
            "{}",
            badge.body
        );

        // Create the feed address; it is shown once.
        let csrf = hidden(&page.body, "_csrf");
        let created = b
            .post(&app, "/agenda/feed", &[("_csrf", &csrf), ("action", "rotate")])
            .await;
        assert_eq!(created.status, StatusCode::OK);
        let body = created.body.replace("&#x2f;", "/");
        let start = body.find("/ics/").expect("feed address shown");
        let path: String = body[start..].split('"').next().unwrap().to_string();
        assert!(path.ends_with(".ics"), "{path}");
        let fetch = |path: String| {
            let router = app.router.clone();
            async move {
                let res = router
                    .oneshot(Request::get(path).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let status = res.status();
                let ctype = res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let body = res.into_body().collect().await.unwrap().to_bytes();
                (status, ctype, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let (s, ctype, ics) = fetch(path.clone()).await;
        assert_eq!(s, StatusCode::OK, "{}", db.backend);
        assert!(ctype.starts_with("text/calendar"), "{ctype}");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{ics}");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("SUMMARY:客户拜访\\, 签约\\; 准备\r\n"), "{ics}");
        assert!(ics.contains("BEGIN:VTODO\r\n") && ics.contains("SUMMARY:寄合同\r\n"));
        // The open task is also an event, for subscribers that do not show VTODOs.
        assert!(ics.contains("UID:sable-task-event-"), "{ics}");
        assert_eq!(ics.matches("SUMMARY:寄合同\r\n").count(), 2, "{ics}");
        assert!(ics.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"));
        assert!(ics.contains("X-PUBLISHED-TTL:PT1H\r\n"));
        // 23:50 in Shanghai is 15:50 UTC.
        assert!(
            ics.contains(&format!("DTSTART:{}T155000Z\r\n", today.strftime("%Y%m%d"))),
            "{ics}"
        );
        assert!(ics.split("\r\n").all(|l| l.len() <= 75));

        // Rotating retires the old address; a wrong one is not found.
        let page = b.get(&app, "/agenda").await;
        let csrf = hidden(&page.body, "_csrf");
        b.post(&app, "/agenda/feed", &[("_csrf", &csrf), ("action", "rotate")])
            .await;
        assert_eq!(fetch(path.clone()).await.0, StatusCode::NOT_FOUND);
        assert_eq!(fetch("/ics/nothing.ics".into()).await.0, StatusCode::NOT_FOUND);
        let refused = b.post(&app, "/agenda/feed", &[("action", "revoke")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "CSRF");
        app.store.close().await;
        db.cleanup().await;
    }
}
