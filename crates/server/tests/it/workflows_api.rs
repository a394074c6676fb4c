//! Workflows, e-mail templates, the mail server and e-mail from a record over the JSON
//! API, on SQLite and PostgreSQL: the happy paths, bad and hostile bodies, and who may
//! do what (administrators only for the admin parts; e-mail only about visible records).

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A valid workflow body on Leads.
fn lead_workflow(name: &str) -> Value {
    json!({
        "module": "Leads",
        "name": name,
        "trigger": {"type": "field_changed", "field": "leadstatus", "to": "Hot"},
        "condition": {"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]},
        "actions": [
            {"type": "send_email", "subject": "Hot: {{ lastname }}", "body": "Call now", "to": "owner"},
            {"type": "create_activity", "module": "Tasks", "subject": "Call back", "due_in_days": 1}
        ]
    })
}

/// Creates a user and returns their token.
pub(crate) async fn user_token(app: &TestApp, name: &str) -> String {
    let password = format!("{name}-pass-1");
    let (s, e) = app
        .admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": name, "password": password, "last_name": name})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": name, "password": password})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["token"].as_str().expect("token").to_string()
}

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn workflows_are_created_read_replaced_toggled_and_deleted() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (s, wf) = app
            .admin("POST", "/api/v1/workflows", Some(lead_workflow("热线索")))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {wf}");
        let id = wf["id"].as_i64().expect("id");
        assert_eq!(wf["name"], "热线索");
        assert_eq!(wf["enabled"], false, "{b}: a new workflow starts disabled unless asked");
        assert_eq!(wf["trigger"]["type"], "field_changed");
        assert_eq!(wf["actions"].as_array().map(Vec::len), Some(2));

        let (s, list) = app.admin("GET", "/api/v1/workflows", None).await;
        assert_eq!(s, StatusCode::OK);
        let item = list["items"]
            .as_array()
            .and_then(|l| l.iter().find(|w| w["id"] == id))
            .unwrap_or_else(|| panic!("{b}: created workflow not listed: {list}"));
        assert_eq!(item["last_run"], Value::Null);

        let mut changed = lead_workflow("热线索（改）");
        changed["trigger"] = json!({"type": "schedule", "every": "weekly", "at": "09:30", "weekday": 1});
        let (s, wf) = app
            .admin("PUT", &format!("/api/v1/workflows/{id}"), Some(changed))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {wf}");
        assert_eq!(wf["name"], "热线索（改）");
        assert_eq!(wf["trigger"]["weekday"], 1);

        let (s, wf) = app.admin("POST", &format!("/api/v1/workflows/{id}/enable"), None).await;
        assert_eq!((s, &wf["enabled"]), (StatusCode::OK, &json!(true)), "{b}: {wf}");
        let (_, got) = app.admin("GET", &format!("/api/v1/workflows/{id}"), None).await;
        assert_eq!(got["enabled"], true);
        let (s, wf) = app
            .admin("POST", &format!("/api/v1/workflows/{id}/disable"), None)
            .await;
        assert_eq!((s, &wf["enabled"]), (StatusCode::OK, &json!(false)));

        let (s, runs) = app.admin("GET", &format!("/api/v1/workflows/{id}/runs"), None).await;
        assert_eq!(s, StatusCode::OK, "{b}: {runs}");
        assert_eq!(runs["items"], json!([]));
        let (s, _) = app
            .admin("GET", &format!("/api/v1/workflows/{id}/runs?limit=abc"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        let (s, _) = app.admin("DELETE", &format!("/api/v1/workflows/{id}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        for (method, path) in [
            ("GET", format!("/api/v1/workflows/{id}")),
            ("DELETE", format!("/api/v1/workflows/{id}")),
            ("POST", format!("/api/v1/workflows/{id}/enable")),
            ("GET", format!("/api/v1/workflows/{id}/runs")),
            ("POST", "/api/v1/workflow-runs/999999/retry".to_string()),
            ("GET", "/api/v1/workflows/abc".to_string()),
        ] {
            let (s, e) = app.admin(method, &path, None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{b}: {method} {path}: {e}");
        }
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_workflow_bodies_are_refused_saying_where() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let cases: Vec<(Value, &str)> = vec![
            (
                {
                    let mut w = lead_workflow("x");
                    w["trigger"] = json!({"type": "sometimes"});
                    w
                },
                "trigger",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["actions"] = json!([{"type": "explode"}]);
                    w
                },
                "actions[0]",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["condition"] = json!({"all": [{"field": "no_such_field", "op": "eq", "value": 1}]});
                    w
                },
                "no_such_field",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["trigger"] = json!({"type": "field_changed", "field": "nope"});
                    w
                },
                "trigger.field",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["extra"] = json!(1);
                    w
                },
                "extra",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["module"] = json!("Nope'; DROP TABLE workflows; --");
                    w
                },
                "module",
            ),
            (
                {
                    let mut w = lead_workflow("x");
                    w["actions"] = json!([{"type": "webhook", "url": "javascript:alert(1)", "format": "json"}]);
                    w
                },
                "url",
            ),
            (json!({"module": "Leads"}), "name"),
            (json!([]), "expected"),
        ];
        for (body, place) in cases {
            let (s, e) = app.admin("POST", "/api/v1/workflows", Some(body.clone())).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {body} → {e}");
            assert!(message(&e).contains(place), "{b}: `{place}` not named in {e}");
        }
        // the Chinese message too
        let (s, e) = app
            .send(
                axum::http::Request::builder()
                    .method("POST")
                    .uri("/api/v1/workflows")
                    .header("authorization", format!("Bearer {}", app.admin_token))
                    .header("content-type", "application/json")
                    .header("accept-language", "zh-CN")
                    .body(axum::body::Body::from(
                        json!({"module": "Leads", "name": "n", "trigger": {"type": "on_create"},
                               "condition": {"all": [{"field": "nope", "op": "eq", "value": 1}]},
                               "actions": [{"type": "send_email", "subject": "s", "body": "b", "to": "owner"}]})
                        .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(message(&e).contains("nope"), "{b}: {e}");
        // malformed, wrong type, oversized
        let (s, e) = app
            .raw(
                "POST",
                "/api/v1/workflows",
                "application/json",
                b"{\"module\":".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        let (s, _) = app.raw("POST", "/api/v1/workflows", "text/plain", b"{}".to_vec()).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let mut big = lead_workflow("big");
        big["description"] = json!("长".repeat(100_000));
        let (s, _) = app
            .raw(
                "POST",
                "/api/v1/workflows",
                "application/json",
                big.to_string().into_bytes(),
            )
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        // hostile but valid text is kept as written, never interpreted
        let hostile = "<script>alert('x')</script>\"; DROP TABLE workflows; --";
        let (s, wf) = app
            .admin("POST", "/api/v1/workflows", Some(lead_workflow(hostile)))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {wf}");
        let (_, got) = app.admin("GET", &format!("/api/v1/workflows/{}", wf["id"]), None).await;
        assert_eq!(got["name"], hostile);
        // nothing half-written: only the hostile one exists
        let (_, list) = app.admin("GET", "/api/v1/workflows", None).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{b}: {list}");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn only_administrators_manage_workflows_templates_and_the_mail_server() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (_, wf) = app.admin("POST", "/api/v1/workflows", Some(lead_workflow("w"))).await;
        let id = wf["id"].as_i64().expect("id");
        let (_, tpl) = app
            .admin(
                "POST",
                "/api/v1/email-templates",
                Some(
                    json!({"name": "Welcome", "subject_en": "Hi {{ lastname }}", "subject_zh": "您好 {{ lastname }}"}),
                ),
            )
            .await;
        let tid = tpl["id"].as_i64().expect("template id");
        let rep = user_token(&app, "rep").await;
        let forbidden = [
            ("GET", "/api/v1/workflows".to_string(), None),
            ("POST", "/api/v1/workflows".to_string(), Some(lead_workflow("mine"))),
            ("GET", format!("/api/v1/workflows/{id}"), None),
            ("PUT", format!("/api/v1/workflows/{id}"), Some(lead_workflow("mine"))),
            ("DELETE", format!("/api/v1/workflows/{id}"), None),
            ("POST", format!("/api/v1/workflows/{id}/enable"), None),
            ("GET", format!("/api/v1/workflows/{id}/runs"), None),
            ("POST", "/api/v1/workflow-runs/1/retry".to_string(), None),
            (
                "POST",
                "/api/v1/email-templates".to_string(),
                Some(json!({"name": "x", "subject_en": "x"})),
            ),
            (
                "PUT",
                format!("/api/v1/email-templates/{tid}"),
                Some(json!({"name": "x", "subject_en": "x"})),
            ),
            ("DELETE", format!("/api/v1/email-templates/{tid}"), None),
            ("GET", "/api/v1/settings/smtp".to_string(), None),
            (
                "PUT",
                "/api/v1/settings/smtp".to_string(),
                Some(json!({"host": "evil.example", "port": 25, "security": "none", "from_address": "a@evil.example"})),
            ),
            (
                "POST",
                "/api/v1/settings/smtp/test".to_string(),
                Some(json!({"to": "a@example.com"})),
            ),
            ("GET", "/api/v1/jobs/1".to_string(), None),
        ];
        for (method, path, body) in forbidden {
            let (s, e) = app.call(method, &path, Some(&rep), body).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {method} {path} as a non-admin: {e}");
        }
        // templates may be read by anyone (to send one from a record)
        let (s, list) = app.call("GET", "/api/v1/email-templates", Some(&rep), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["items"][0]["name"], "Welcome");
        // nothing changed
        let (_, still) = app.admin("GET", &format!("/api/v1/workflows/{id}"), None).await;
        assert_eq!(still["name"], "w");
        let (_, smtp) = app.admin("GET", "/api/v1/settings/smtp", None).await;
        assert_eq!(smtp["configured"], false, "{b}");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn email_templates_in_both_languages() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let body = json!({"name": "跟进", "module": "Leads",
            "subject_en": "Following up, {{ lastname }}", "body_en": "Dear {{ lastname }},",
            "subject_zh": "跟进：{{ lastname }}", "body_zh": "{{ lastname }}，您好："});
        let (s, t) = app.admin("POST", "/api/v1/email-templates", Some(body.clone())).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
        let id = t["id"].as_i64().expect("id");
        let (_, got) = app.admin("GET", &format!("/api/v1/email-templates/{id}"), None).await;
        assert_eq!(got["subject_zh"], "跟进：{{ lastname }}");
        let (_, leads) = app.admin("GET", "/api/v1/email-templates?module=Leads", None).await;
        assert_eq!(leads["items"].as_array().map(Vec::len), Some(1));
        let (s, _) = app.admin("GET", "/api/v1/email-templates?colour=red", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: an unknown parameter");
        // a syntax error is refused with the line
        let mut bad = body.clone();
        bad["name"] = json!("坏模板");
        bad["body_en"] = json!("line one\n{% if %}");
        let (s, e) = app.admin("POST", "/api/v1/email-templates", Some(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert!(message(&e).contains("body_en"), "{e}");
        // the same name twice
        let (s, _) = app.admin("POST", "/api/v1/email-templates", Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let mut changed = body.clone();
        changed["subject_en"] = json!("Still there, {{ lastname }}?");
        let (s, t) = app
            .admin("PUT", &format!("/api/v1/email-templates/{id}"), Some(changed))
            .await;
        assert_eq!(
            (s, &t["subject_en"]),
            (StatusCode::OK, &json!("Still there, {{ lastname }}?"))
        );
        let (s, _) = app
            .admin("DELETE", &format!("/api/v1/email-templates/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.admin("GET", &format!("/api/v1/email-templates/{id}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn smtp_password_is_write_only_and_a_test_send_is_a_queued_job() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (s, e) = app
            .admin(
                "POST",
                "/api/v1/settings/smtp/test",
                Some(json!({"to": "ops@example.com"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: a test before any settings: {e}");
        let settings = json!({"host": "127.0.0.1", "port": 2525, "security": "none",
            "username": "mailer", "password": "s3cret-口令", "from_address": "crm@example.com", "from_name": "Sable 销售"});
        let (s, shown) = app.admin("PUT", "/api/v1/settings/smtp", Some(settings.clone())).await;
        assert_eq!(s, StatusCode::OK, "{b}: {shown}");
        assert_eq!(shown["password_set"], true);
        let (_, shown) = app.admin("GET", "/api/v1/settings/smtp", None).await;
        assert!(
            !shown.to_string().contains("s3cret"),
            "{b}: the password came back: {shown}"
        );
        assert_eq!(
            (shown["host"].as_str(), shown["port"].as_i64()),
            (Some("127.0.0.1"), Some(2525))
        );
        // an empty password keeps the stored one
        let mut again = settings.clone();
        again["password"] = json!("");
        again["from_name"] = json!("Sable");
        app.admin("PUT", "/api/v1/settings/smtp", Some(again)).await;
        let stored = sable_store::mail_settings::load_smtp(&app.store)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.password.as_str(), stored.from_name.as_str()),
            ("s3cret-口令", "Sable")
        );
        // bad settings
        for (k, v) in [
            ("host", json!("smtp.example.com\r\nRCPT TO:<x@y>")),
            ("port", json!(0)),
            ("port", json!(70000)),
            ("security", json!("ssl3")),
            ("from_address", json!("not-an-address")),
        ] {
            let mut bad = settings.clone();
            bad[k] = v.clone();
            let (s, e) = app.admin("PUT", "/api/v1/settings/smtp", Some(bad)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {k} = {v}: {e}");
        }
        // the test e-mail is a job like every e-mail
        let (s, queued) = app
            .admin(
                "POST",
                "/api/v1/settings/smtp/test",
                Some(json!({"to": "ops@example.com"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {queued}");
        let job_id = queued["job_id"].as_i64().expect("job id");
        let (s, job) = app.admin("GET", &format!("/api/v1/jobs/{job_id}"), None).await;
        assert_eq!(s, StatusCode::OK, "{b}: {job}");
        assert_eq!(job["kind"], "mail");
        assert_eq!(job["mail"]["to"], json!(["ops@example.com"]));
        assert!(
            ["queued", "running", "done", "failed"].contains(&job["status"].as_str().unwrap_or("")),
            "{job}"
        );
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/settings/smtp/test",
                Some(json!({"to": "ops@example.com\r\nBcc: x@y.z"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: header injection in the address");
        let (s, _) = app.admin("GET", "/api/v1/jobs/999999", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn email_from_a_record_goes_to_its_timeline_and_only_for_visible_records() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (s, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "王", "firstname": "芳", "company": "星辰", "email": "wang@example.com"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{lead}");
        let id = lead["id"].as_i64().expect("id");
        let (_, tpl) = app
            .admin(
                "POST",
                "/api/v1/email-templates",
                Some(
                    json!({"name": "Hello", "module": "Leads", "subject_en": "Hello {{ lastname }}",
                    "subject_zh": "{{ lastname }}{{ firstname }}，您好", "body_zh": "来自 {{ company }} 的问候"}),
                ),
            )
            .await;
        let tid = tpl["id"].as_i64().expect("template id");
        let path = format!("/api/v1/records/Leads/{id}/email");
        // a template, in Chinese, to the lead's own address
        let (s, mail) = app
            .admin("POST", &path, Some(json!({"template_id": tid, "lang": "zh-CN"})))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {mail}");
        assert_eq!(mail["to"], json!(["wang@example.com"]));
        assert_eq!(mail["subject"], "王芳，您好");
        assert_eq!(mail["body"], "来自 星辰 的问候");
        assert_eq!(mail["status"], "queued");
        // free text to another address; a line break in the subject cannot add a header
        let (s, mail2) = app
            .admin(
                "POST",
                &path,
                Some(json!({"to": ["boss@example.com"], "subject": "Re: {{ lastname }}\r\nBcc: spy@evil.example", "body": "<b>hi</b>"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {mail2}");
        assert!(
            !mail2["subject"].as_str().unwrap_or("\n").contains(['\r', '\n']),
            "{mail2}"
        );
        assert_eq!(mail2["body"], "<b>hi</b>");
        // the same idempotency key sends once
        let keyed = json!({"subject": "Once", "body": "x", "idempotency_key": "click-1"});
        let (_, a) = app.admin("POST", &path, Some(keyed.clone())).await;
        let (_, c) = app.admin("POST", &path, Some(keyed)).await;
        assert_eq!(a["id"], c["id"], "{b}: a retried request sent twice");
        // on the timeline and in the record's list
        let (_, tl) = app
            .admin("GET", &format!("/api/v1/records/Leads/{id}/timeline"), None)
            .await;
        let mails: Vec<&Value> = tl["items"]
            .as_array()
            .map(|l| l.iter().filter(|i| i["module"] == "Emails").collect())
            .unwrap_or_default();
        assert_eq!(mails.len(), 3, "{b}: {tl}");
        assert!(mails.iter().any(|m| m["title"] == "王芳，您好"), "{tl}");
        let (_, list) = app
            .admin("GET", &format!("/api/v1/records/Leads/{id}/emails"), None)
            .await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
        let (s, one) = app.admin("GET", &format!("/api/v1/emails/{}", mail["id"]), None).await;
        assert_eq!((s, &one["subject"]), (StatusCode::OK, &json!("王芳，您好")));
        // bad requests
        for (body, why) in [
            (json!({}), "no subject"),
            (json!({"template_id": 999999}), "unknown template"),
            (json!({"subject": "s", "to": ["not an address"]}), "bad address"),
            (json!({"subject": "{% if %}", "body": ""}), "template syntax"),
            (json!({"subject": "s", "cc": ["x@y.z"]}), "unknown member"),
        ] {
            let (s, e) = app.admin("POST", &path, Some(body)).await;
            assert!(
                s == StatusCode::BAD_REQUEST || s == StatusCode::NOT_FOUND,
                "{b}: {why}: {s} {e}"
            );
        }
        // a record without an address needs `to`
        let (_, bare) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "无邮箱"}})),
            )
            .await;
        let (s, e) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Leads/{}/email", bare["id"]),
                Some(json!({"subject": "s", "body": "b"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        // another user cannot see the lead, so cannot e-mail about it or read its e-mails
        let other = user_token(&app, "other").await;
        let (s, _) = app
            .call(
                "POST",
                &path,
                Some(&other),
                Some(json!({"subject": "s", "body": "b", "to": ["x@example.com"]})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}: e-mail about an invisible record");
        let (s, _) = app
            .call("GET", &format!("/api/v1/records/Leads/{id}/emails"), Some(&other), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = app
            .call("GET", &format!("/api/v1/emails/{}", mail["id"]), Some(&other), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, still) = app
            .admin("GET", &format!("/api/v1/records/Leads/{id}/emails"), None)
            .await;
        assert_eq!(
            still["items"].as_array().map(Vec::len),
            Some(3),
            "{b}: nothing was queued by the refused ones"
        );
        // their own lead works
        let (_, own) = app
            .call(
                "POST",
                "/api/v1/records/Leads",
                Some(&other),
                Some(json!({"fields": {"lastname": "李", "email": "li@example.com"}})),
            )
            .await;
        let (s, m) = app
            .call(
                "POST",
                &format!("/api/v1/records/Leads/{}/email", own["id"]),
                Some(&other),
                Some(json!({"template_id": tid, "lang": "en"})),
            )
            .await;
        assert_eq!(
            (s, &m["subject"]),
            (StatusCode::ACCEPTED, &json!("Hello 李")),
            "{b}: {m}"
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_email_from_a_record_shows_only_linked_records_its_sender_may_see() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let seller = user_token(&app, "seller").await;
        // The seller's own contact, which the administrator links to an organization only
        // the administrator may see (organizations are private).
        let (s, contact) = app
            .call(
                "POST",
                "/api/v1/records/Contacts",
                Some(&seller),
                Some(json!({"fields": {"lastname": "赵", "email": "zhao@example.com"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {contact}");
        let (s, account) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "机密客户", "phone": "010-88886666"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {account}");
        let cid = contact["id"].as_i64().expect("id");
        let (s, linked) = app
            .admin(
                "PATCH",
                &format!("/api/v1/records/Contacts/{cid}"),
                Some(json!({"version": contact["version"], "fields": {"account_id": account["id"]}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {linked}");
        let (_, tpl) = app
            .admin(
                "POST",
                "/api/v1/email-templates",
                Some(json!({"name": "Account", "module": "Contacts",
                    "subject_en": "About [{{ account_id.accountname }}]",
                    "body_en": "Call [{{ account_id.phone }}]"})),
            )
            .await;
        let tid = tpl["id"].as_i64().expect("template id");
        let path = format!("/api/v1/records/Contacts/{cid}/email");
        // The administrator sees the organization, so the template shows it.
        let (s, mail) = app
            .admin("POST", &path, Some(json!({"template_id": tid, "lang": "en"})))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {mail}");
        assert_eq!(mail["subject"], "About [机密客户]", "{b}");
        assert_eq!(mail["body"], "Call [010-88886666]", "{b}");
        // The seller may e-mail about their contact, but the template shows nothing of the
        // organization hidden from them.
        let (s, mail) = app
            .call(
                "POST",
                &path,
                Some(&seller),
                Some(json!({"template_id": tid, "lang": "en"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {mail}");
        assert_eq!(mail["subject"], "About []", "{b}: {mail}");
        assert_eq!(mail["body"], "Call []", "{b}: {mail}");
        app.store.close().await;
        db.cleanup().await;
    }
}

/// Logs two runs of a workflow the way the engine does: one that did not match (skipped,
/// with its reason) and one whose second action failed. Returns (failed, skipped) run ids.
pub(crate) async fn seed_runs(app: &TestApp, workflow_id: i64, record_id: i64) -> (i64, i64) {
    use sable_store::workflows::{NewRun, insert_run, set_action_outcome, set_run_status};
    let now = sable_store::now_ms();
    let skipped = NewRun {
        workflow_id,
        trigger: json!({"event": "record.updated"}),
        event_id: None,
        module: "Leads".into(),
        record_id: Some(record_id),
        matched: false,
        reason: Some("leadsource is not Web Site".into()),
        actions: Vec::new(),
        job: None,
    };
    let skipped = insert_run(&app.store, &skipped, now).await.unwrap().expect("run");
    let failing = NewRun {
        matched: true,
        reason: None,
        trigger: json!({"event": "record.created"}),
        actions: vec![
            ("send_email".into(), format!("wf:{workflow_id}:a0:{now}")),
            ("webhook".into(), format!("wf:{workflow_id}:a1:{now}")),
        ],
        job: Some(sable_store::jobs::NewJob {
            kind: sable_store::jobs::KIND_WORKFLOW_RUN.into(),
            payload: json!({"workflow_id": workflow_id}),
            idempotency_key: format!("run:{workflow_id}:{now}"),
            run_at: now,
            max_attempts: 1,
        }),
        ..skipped_clone(workflow_id, record_id)
    };
    let failed = insert_run(&app.store, &failing, now + 1).await.unwrap().expect("run");
    set_action_outcome(
        &app.store,
        failed,
        0,
        "done",
        Some(&json!({"sent_mail_id": 1})),
        None,
        now + 2,
    )
    .await
    .unwrap();
    set_action_outcome(
        &app.store,
        failed,
        1,
        "failed",
        None,
        Some("POST https://hooks.example.com: connection refused <script>"),
        now + 2,
    )
    .await
    .unwrap();
    set_run_status(&app.store, failed, "failed", Some("1 action failed"), now + 3)
        .await
        .unwrap();
    (failed, skipped)
}

fn skipped_clone(workflow_id: i64, record_id: i64) -> sable_store::workflows::NewRun {
    sable_store::workflows::NewRun {
        workflow_id,
        trigger: Value::Null,
        event_id: None,
        module: "Leads".into(),
        record_id: Some(record_id),
        matched: false,
        reason: None,
        actions: Vec::new(),
        job: None,
    }
}

#[tokio::test]
async fn runs_show_each_action_and_a_failed_run_is_retried() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (_, wf) = app.admin("POST", "/api/v1/workflows", Some(lead_workflow("w"))).await;
        let id = wf["id"].as_i64().expect("id");
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "运行"}})),
            )
            .await;
        let (failed, skipped) = seed_runs(&app, id, lead["id"].as_i64().expect("lead")).await;
        let (s, runs) = app.admin("GET", &format!("/api/v1/workflows/{id}/runs"), None).await;
        assert_eq!(s, StatusCode::OK, "{b}: {runs}");
        let items = runs["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], failed, "{b}: newest first");
        assert_eq!(items[0]["status"], "failed");
        assert_eq!(items[0]["actions"][0]["status"], "done");
        assert_eq!(items[0]["actions"][1]["status"], "failed");
        assert!(
            items[0]["actions"][1]["error"]
                .as_str()
                .unwrap_or("")
                .contains("connection refused")
        );
        assert_eq!(items[1]["matched"], false);
        assert_eq!(items[1]["reason"], "leadsource is not Web Site");
        // paging
        let (_, page) = app
            .admin("GET", &format!("/api/v1/workflows/{id}/runs?limit=1"), None)
            .await;
        assert_eq!(page["next_before"], failed);
        let (_, older) = app
            .admin(
                "GET",
                &format!("/api/v1/workflows/{id}/runs?limit=1&before={failed}"),
                None,
            )
            .await;
        assert_eq!(older["items"][0]["id"], skipped);
        // the list shows the last run's status
        let (_, list) = app.admin("GET", "/api/v1/workflows", None).await;
        assert_eq!(list["items"][0]["last_run"]["status"], "failed", "{b}: {list}");
        // only a failed run is retried; the finished action is kept
        let (s, e) = app
            .admin("POST", &format!("/api/v1/workflow-runs/{skipped}/retry"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        let (s, run) = app
            .admin("POST", &format!("/api/v1/workflow-runs/{failed}/retry"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {run}");
        assert_eq!(run["status"], "queued");
        assert_eq!(run["actions"][0]["status"], "done");
        assert_eq!(run["actions"][1]["status"], "pending");
        let (s, _) = app
            .admin("POST", &format!("/api/v1/workflow-runs/{failed}/retry"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: a queued run is not retried twice");
        app.store.close().await;
        db.cleanup().await;
    }
}

/// A minimal SMTP receiver on loopback: accepts every message and hands over its DATA.
async fn smtp_receiver() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 loopback ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(body));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 loopback\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn the_test_email_goes_over_smtp_through_the_mail_job() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (port, mut received) = smtp_receiver().await;
        let (s, e) = app
            .admin(
                "PUT",
                "/api/v1/settings/smtp",
                Some(json!({"host": "127.0.0.1", "port": port, "security": "none", "from_address": "crm@example.com", "from_name": "Sable"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {e}");
        let (s, queued) = app
            .admin(
                "POST",
                "/api/v1/settings/smtp/test",
                Some(json!({"to": "ops@example.com"})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}: {queued}");
        let job_id = queued["job_id"].as_i64().expect("job id");
        let (_, before) = app.admin("GET", &format!("/api/v1/jobs/{job_id}"), None).await;
        assert_eq!(before["status"], "queued", "{b}: {before}");
        // the engine's job runner sends it, the same way it sends workflow e-mail
        let engine = sable_workflow::Engine::new(
            app.store.clone(),
            std::sync::Arc::new(sable_workflow::clock::SystemClock),
            sable_workflow::EngineConfig::default(),
        )
        .expect("engine");
        engine.tick().await.expect("tick");
        let message = received.recv().await.expect("a message over SMTP");
        assert!(message.contains("To: ops@example.com"), "{b}: {message}");
        assert!(
            message.contains("Subject: Sable "),
            "the test subject (in the admin's language): {message}"
        );
        let (_, after) = app.admin("GET", &format!("/api/v1/jobs/{job_id}"), None).await;
        assert_eq!(after["status"], "done", "{b}: {after}");
        assert_eq!(after["mail"]["status"], "sent", "{after}");
        let message_id = after["mail"]["message_id"].as_str().unwrap_or("").to_string();
        assert!(
            message.contains(&format!("Message-ID: {message_id}")),
            "{message_id} in {message}"
        );
        // a server that refuses: the job says why and will retry
        app.admin(
            "PUT",
            "/api/v1/settings/smtp",
            Some(json!({"host": "127.0.0.1", "port": 1, "security": "none", "from_address": "crm@example.com"})),
        )
        .await;
        let (_, queued) = app
            .admin(
                "POST",
                "/api/v1/settings/smtp/test",
                Some(json!({"to": "ops@example.com"})),
            )
            .await;
        engine.tick().await.expect("tick");
        let (_, failed) = app
            .admin("GET", &format!("/api/v1/jobs/{}", queued["job_id"]), None)
            .await;
        assert_eq!(failed["status"], "queued", "{b}: waiting to retry: {failed}");
        assert!(
            failed["last_error"].as_str().is_some_and(|e| e.contains("127.0.0.1:1")),
            "{b}: {failed}"
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn template_smtp_and_record_email_bodies_are_checked() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let b = db.backend;
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "检", "email": "j@example.com"}})),
            )
            .await;
        let email_path = format!("/api/v1/records/Leads/{}/email", lead["id"]);
        let huge = "大".repeat(40_000);
        for (method, path, ok) in [
            (
                "POST",
                "/api/v1/email-templates".to_string(),
                json!({"name": "n", "subject_en": "s"}),
            ),
            (
                "PUT",
                "/api/v1/settings/smtp".to_string(),
                json!({"host": "h.example", "port": 25, "security": "none", "from_address": "a@b.cn"}),
            ),
            (
                "POST",
                "/api/v1/settings/smtp/test".to_string(),
                json!({"to": "a@b.cn"}),
            ),
            ("POST", email_path.clone(), json!({"subject": "s", "body": "b"})),
        ] {
            let (s, e) = app
                .raw(method, &path, "application/json", b"{\"name\": ".to_vec())
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: malformed {path}: {e}");
            assert_eq!(e["error"]["code"], "bad_json");
            let mut extra = ok.clone();
            extra["sneaky"] = json!(true);
            let (s, e) = app.admin(method, &path, Some(extra)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: unknown member on {path}: {e}");
            assert!(message(&e).contains("sneaky"), "{e}");
            let mut big = ok.clone();
            big["padding"] = json!(huge);
            let (s, _) = app
                .raw(method, &path, "application/json", big.to_string().into_bytes())
                .await;
            assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}: oversized {path}");
            let (s, _) = app.raw(method, &path, "text/plain", ok.to_string().into_bytes()).await;
            assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        // hostile text is kept as written
        let name = "<img src=x onerror=alert(1)>'; DROP TABLE email_templates; --";
        let (s, t) = app
            .admin(
                "POST",
                "/api/v1/email-templates",
                Some(json!({"name": name, "subject_en": "{{ lastname }}\u{202e}"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
        let (_, got) = app
            .admin("GET", &format!("/api/v1/email-templates/{}", t["id"]), None)
            .await;
        assert_eq!(got["name"], name);
        // a template that loops forever is stopped, not run
        let (s, e) = app
            .admin(
                "POST",
                &email_path,
                Some(json!({"subject": "s", "body": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        let (_, mails) = app
            .admin("GET", &format!("/api/v1/records/Leads/{}/emails", lead["id"]), None)
            .await;
        assert_eq!(mails["items"], json!([]), "{b}: nothing queued by refused requests");
        app.store.close().await;
        db.cleanup().await;
    }
}
