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
        assert_eq!(contact["fields"]["followup_count"], json!(null));

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
