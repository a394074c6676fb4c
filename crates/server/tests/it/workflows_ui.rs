//! The workflow, e-mail template, mail server and "send e-mail" pages over HTTP (no
//! browser), on SQLite and PostgreSQL: forms that work without JavaScript, refusals that
//! keep what was typed, escaping, and who may open what.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, spawn_app};
use crate::ui::{Browser, hidden};

/// `pairs` with `over` replacing the values of the same names and adding the others.
fn form<'a>(pairs: &[(&'a str, &'a str)], over: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
        .copied()
        .collect();
    out.extend(over.iter().copied());
    out
}

#[tokio::test]
async fn admin_builds_a_workflow_in_the_form_and_toggles_it() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let list = b.get(&app, "/admin/workflows").await;
        assert_eq!(list.status, StatusCode::OK, "{backend}");
        assert!(
            list.body.contains("href=\"&#x2f;admin&#x2f;workflows\""),
            "the admin menu links the page"
        );
        assert!(list.body.contains("还没有工作流"), "{}", list.body);
        let page = b.get(&app, "/admin/workflows/new?module=Leads").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = hidden(&page.body, "_csrf");
        // the condition uses the list pages' filter builder
        assert!(page.body.contains("hx-get=\"/m/Leads/filter-row\""), "{}", page.body);
        let base = [
            ("_csrf", csrf.as_str()),
            ("name", "<b>热线索</b>"),
            ("module", "Leads"),
            ("enabled", "1"),
            ("trigger", "field_changed"),
            ("t_field", "leadstatus"),
            ("t_to", "Hot"),
            ("m", "all"),
            ("f", "leadsource"),
            ("o", "eq"),
            ("v", "Web Site"),
            ("g", "0"),
            ("acount", "1"),
            ("a0_type", "send_email"),
            ("a0_subject", "热线索：{{ lastname }}"),
            ("a0_body", "请尽快联系"),
            ("a0_to", "owner"),
        ];
        // "add" shows the draft again with a webhook form, nothing saved yet
        let p = b
            .post(
                &app,
                "/admin/workflows/new",
                &form(&base, &[("op", "add"), ("add_type", "webhook")]),
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p.body.contains("name=\"a1_url\""), "the webhook form appears");
        assert!(p.body.contains("热线索：{{ lastname }}"), "typed text is kept");
        assert!(
            p.body.contains("&lt;b&gt;热线索&lt;&#x2f;b&gt;") || p.body.contains("&lt;b&gt;热线索&lt;/b&gt;"),
            "escaped"
        );
        let (_, none) = app.admin("GET", "/api/v1/workflows", None).await;
        assert_eq!(none["items"], json!([]), "{backend}: a draft was saved");
        // a bad webhook URL is refused, saying where, and the form keeps everything
        let with_hook = form(
            &base,
            &[
                ("acount", "2"),
                ("a1_type", "webhook"),
                ("a1_url", "ftp://example.com/hook"),
                ("a1_format", "wecom"),
                ("a1_order", "2"),
                ("op", "save"),
            ],
        );
        let p = b.post(&app, "/admin/workflows/new", &with_hook).await;
        assert_eq!(p.status, StatusCode::OK, "{backend}: {}", p.body);
        assert!(p.body.contains("id=\"workflow-error\""), "{}", p.body);
        assert!(p.body.contains("actions[1].url"), "{}", p.body);
        assert!(p.body.contains("ftp:&#x2f;&#x2f;example.com&#x2f;hook"), "{}", p.body);
        // saved with a good URL
        let good = form(&with_hook, &[("a1_url", "https://example.com/hook")]);
        let p = b.post(&app, "/admin/workflows/new", &good).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{backend}: {}", p.body);
        let location = p.location.expect("redirect");
        assert!(
            location.starts_with("/admin/workflows/") && location.ends_with("?saved=1"),
            "{location}"
        );
        let (_, list) = app.admin("GET", "/api/v1/workflows", None).await;
        let wf = &list["items"][0];
        assert_eq!(wf["name"], "<b>热线索</b>");
        assert_eq!(wf["enabled"], true);
        assert_eq!(
            wf["trigger"],
            json!({"type": "field_changed", "field": "leadstatus", "to": "Hot"})
        );
        assert_eq!(
            wf["condition"],
            json!({"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]})
        );
        assert_eq!(wf["actions"][0]["type"], "send_email");
        assert_eq!(
            wf["actions"][1],
            json!({"type": "webhook", "url": "https://example.com/hook", "format": "wecom"})
        );
        let id = wf["id"].as_i64().expect("id");
        // the edit page shows it back; "up" reorders without saving
        let edit = b.get(&app, &location).await;
        assert!(edit.body.contains("工作流已保存"), "{}", edit.body);
        assert!(edit.body.contains("value=\"https:&#x2f;&#x2f;example.com&#x2f;hook\""));
        let p = b
            .post(&app, &format!("/admin/workflows/{id}"), &form(&good, &[("op", "up:1")]))
            .await;
        assert_eq!(p.status, StatusCode::OK);
        let first = p.body.find("name=\"a0_type\" value=\"webhook\"");
        assert!(first.is_some(), "after up, the webhook is first: {}", p.body);
        // the list shows it enabled, escaped, and toggles it
        let list = b.get(&app, "/admin/workflows").await;
        assert!(list.body.contains("&lt;b&gt;热线索"), "{}", list.body);
        assert!(!list.body.contains("<b>热线索"), "unescaped name on the list");
        assert!(list.body.contains("从未运行"));
        let csrf = hidden(&list.body, "_csrf");
        let p = b
            .post(
                &app,
                &format!("/admin/workflows/{id}/toggle"),
                &[("_csrf", &csrf), ("enabled", "0")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, got) = app.admin("GET", &format!("/api/v1/workflows/{id}"), None).await;
        assert_eq!(got["enabled"], false, "{backend}");
        let list = b.get(&app, "/admin/workflows?done=disabled").await;
        assert!(list.body.contains("工作流已停用"));
        // the run log renders empty
        let runs = b.get(&app, &format!("/admin/workflows/{id}/runs")).await;
        assert_eq!(runs.status, StatusCode::OK, "{}", runs.body);
        assert!(runs.body.contains("还没有运行记录"));
        // delete
        let p = b
            .post(&app, &format!("/admin/workflows/{id}/delete"), &[("_csrf", &csrf)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(
            b.get(&app, &format!("/admin/workflows/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn non_admins_cannot_open_or_post_the_admin_pages() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "rep", "password": "rep-pass-1", "last_name": "Rep"})),
        )
        .await;
        let (_, wf) = app
            .admin(
                "POST",
                "/api/v1/workflows",
                Some(json!({"module": "Leads", "name": "w", "trigger": {"type": "on_create"},
                    "actions": [{"type": "send_email", "subject": "s", "body": "b", "to": "owner"}]})),
            )
            .await;
        let id = wf["id"].as_i64().expect("id");
        let mut b = Browser::new();
        b.login(&app, "rep", "rep-pass-1").await;
        let home = b.get(&app, "/").await;
        assert!(
            !home.body.contains("/admin/workflows"),
            "{backend}: the menu shows admin links to a rep"
        );
        let csrf = hidden(&home.body, "_csrf");
        for path in [
            "/admin/workflows".to_string(),
            "/admin/workflows/new".into(),
            format!("/admin/workflows/{id}"),
            format!("/admin/workflows/{id}/runs"),
            "/admin/email-templates".into(),
            "/admin/email-templates/new".into(),
            "/admin/smtp".into(),
            "/admin/smtp/jobs/1".into(),
        ] {
            assert_eq!(
                b.get(&app, &path).await.status,
                StatusCode::FORBIDDEN,
                "{backend}: GET {path}"
            );
        }
        let wf_form = [
            ("_csrf", csrf.as_str()),
            ("name", "mine"),
            ("module", "Leads"),
            ("trigger", "on_create"),
            ("acount", "1"),
            ("a0_type", "send_stage_guidance"),
        ];
        for path in [
            "/admin/workflows/new".to_string(),
            format!("/admin/workflows/{id}"),
            format!("/admin/workflows/{id}/toggle"),
            format!("/admin/workflows/{id}/delete"),
            "/admin/workflow-runs/1/retry".into(),
            "/admin/email-templates/new".into(),
            "/admin/smtp".into(),
            "/admin/smtp/test".into(),
        ] {
            let p = b.post(&app, &path, &wf_form).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{backend}: POST {path}");
        }
        let (_, still) = app.admin("GET", &format!("/api/v1/workflows/{id}"), None).await;
        assert_eq!(still["name"], "w");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn templates_smtp_and_sending_from_a_record_page() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        // a template with the placeholder help of its module
        let page = b.get(&app, "/admin/email-templates/new?module=Leads").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("{{ lastname }}"),
            "the placeholders list the fields: {}",
            page.body
        );
        let csrf = hidden(&page.body, "_csrf");
        let p = b
            .post(
                &app,
                "/admin/email-templates/new",
                &[
                    ("_csrf", &csrf),
                    ("name", "问候"),
                    ("module", "Leads"),
                    ("subject_zh", "{{ lastname }}，您好"),
                    ("body_zh", "<script>x</script>"),
                    ("subject_en", "Hello {{ lastname }}"),
                    ("body_en", ""),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{backend}: {}", p.body);
        let edit = b.get(&app, p.location.as_deref().unwrap_or("/")).await;
        assert!(edit.body.contains("&lt;script&gt;x&lt;"), "escaped in the textarea");
        // a syntax error keeps the typed text
        let p = b
            .post(
                &app,
                "/admin/email-templates/new",
                &[("_csrf", &csrf), ("name", "坏"), ("subject_en", "{% if %}")],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(
            p.body.contains("{% if %}") && p.body.contains("flash error"),
            "{}",
            p.body
        );
        let list = b.get(&app, "/admin/email-templates").await;
        assert!(list.body.contains("问候"));

        // the mail server: saved, password never shown, test-send shows its job
        let smtp = b.get(&app, "/admin/smtp").await;
        assert_eq!(smtp.status, StatusCode::OK);
        assert!(smtp.body.contains("请先保存邮件服务器设置"), "no test before settings");
        let p = b
            .post(
                &app,
                "/admin/smtp",
                &[
                    ("_csrf", &csrf),
                    ("host", "127.0.0.1"),
                    ("port", "2525"),
                    ("security", "none"),
                    ("username", "u"),
                    ("password", "hunter2-秘密"),
                    ("from_address", "crm@example.com"),
                    ("from_name", "Sable"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{backend}: {}", p.body);
        let smtp = b.get(&app, "/admin/smtp?saved=1").await;
        assert!(!smtp.body.contains("hunter2"), "the password is shown");
        assert!(smtp.body.contains("已设置"), "says a password is set");
        let p = b
            .post(
                &app,
                "/admin/smtp",
                &[
                    ("_csrf", &csrf),
                    ("host", "127.0.0.1"),
                    ("port", "nope"),
                    ("from_address", "x"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("flash error"), "{}", p.body);
        let p = b
            .post(&app, "/admin/smtp/test", &[("_csrf", &csrf), ("to", "ops@example.com")])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let location = p.location.expect("redirect");
        assert!(location.starts_with("/admin/smtp?job="), "{location}");
        let shown = b.get(&app, &location).await;
        assert!(shown.body.contains("id=\"smtp-job\""), "{}", shown.body);
        assert!(shown.body.contains("ops@example.com"));
        let job = location.trim_start_matches("/admin/smtp?job=");
        let partial = b.get(&app, &format!("/admin/smtp/jobs/{job}")).await;
        assert_eq!(partial.status, StatusCode::OK);
        assert!(partial.body.contains("data-status="));

        // send e-mail from a lead's page
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "赵", "company": "长城", "email": "zhao@example.com"}})),
            )
            .await;
        let id = lead["id"].as_i64().expect("id");
        let detail = b.get(&app, &format!("/m/Leads/{id}")).await;
        assert!(
            detail.body.contains(&format!("href=\"/m/Leads/{id}/email\"")),
            "the Send e-mail button"
        );
        let form_page = b.get(&app, &format!("/m/Leads/{id}/email")).await;
        assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.body);
        assert!(
            form_page.body.contains("value=\"zhao@example.com\""),
            "the lead's address is the default: {}",
            form_page.body
        );
        assert!(form_page.body.contains(">问候<"), "the Leads templates are offered");
        let key = hidden(&form_page.body, "key");
        let (_, tpls) = app.admin("GET", "/api/v1/email-templates", None).await;
        let tid = tpls["items"][0]["id"].to_string();
        let send = [
            ("_csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("to", "zhao@example.com"),
            ("template_id", tid.as_str()),
            ("lang", "zh-CN"),
            ("subject", ""),
            ("body", ""),
        ];
        let p = b.post(&app, &format!("/m/Leads/{id}/email"), &send).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{backend}: {}", p.body);
        assert!(p.location.as_deref().unwrap_or("").contains("flash=wfui_email_queued"));
        // a double submit sends once
        let p = b.post(&app, &format!("/m/Leads/{id}/email"), &send).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let tab = b.get(&app, &format!("/m/Leads/{id}/activities")).await;
        assert!(
            tab.body.contains("赵，您好"),
            "the e-mail is on the timeline: {}",
            tab.body
        );
        assert_eq!(tab.body.matches("data-module=\"Emails\"").count(), 1, "{}", tab.body);
        // refused: no subject, the form keeps the address
        let p = b
            .post(
                &app,
                &format!("/m/Leads/{id}/email"),
                &[
                    ("_csrf", &csrf),
                    ("to", "keep@example.com"),
                    ("subject", ""),
                    ("body", "x"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(
            p.body.contains("id=\"email-error\"") && p.body.contains("keep@example.com"),
            "{}",
            p.body
        );
        // another user cannot open or post it
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "other", "password": "other-pass-1", "last_name": "O"})),
        )
        .await;
        let mut o = Browser::new();
        let home = o.login(&app, "other", "other-pass-1").await;
        assert_eq!(home.status, StatusCode::SEE_OTHER);
        let home = o.get(&app, "/").await;
        let ocsrf = hidden(&home.body, "_csrf");
        assert_eq!(
            o.get(&app, &format!("/m/Leads/{id}/email")).await.status,
            StatusCode::NOT_FOUND
        );
        let p = o
            .post(
                &app,
                &format!("/m/Leads/{id}/email"),
                &[
                    ("_csrf", &ocsrf),
                    ("to", "x@example.com"),
                    ("subject", "s"),
                    ("body", "b"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{backend}");
        let (_, mails) = app
            .admin("GET", &format!("/api/v1/records/Leads/{id}/emails"), None)
            .await;
        assert_eq!(mails["items"].as_array().map(Vec::len), Some(1));
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_run_log_shows_outcomes_and_retries_a_failed_run() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        let (_, wf) = app
            .admin(
                "POST",
                "/api/v1/workflows",
                Some(
                    json!({"module": "Leads", "name": "跟进", "trigger": {"type": "on_create"},
                    "actions": [{"type": "send_email", "subject": "s", "body": "b", "to": "owner"},
                                {"type": "webhook", "url": "https://hooks.example.com", "format": "json"}]}),
                ),
            )
            .await;
        let id = wf["id"].as_i64().expect("id");
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "日志"}})),
            )
            .await;
        let lead_id = lead["id"].as_i64().expect("lead");
        let (failed, skipped) = crate::workflows_api::seed_runs(&app, id, lead_id).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let list = b.get(&app, "/admin/workflows").await;
        assert!(
            list.body.contains("status-failed"),
            "{backend}: last run status on the list"
        );
        let runs = b.get(&app, &format!("/admin/workflows/{id}/runs")).await;
        assert_eq!(runs.status, StatusCode::OK, "{}", runs.body);
        let body = &runs.body;
        assert!(body.contains("leadsource is not Web Site"), "why it did not match");
        assert!(
            body.contains("connection refused &lt;script&gt;"),
            "the action's error, escaped: {body}"
        );
        assert!(
            body.contains(&format!("href=\"&#x2f;m&#x2f;Leads&#x2f;{lead_id}\"")),
            "links the record"
        );
        assert!(
            body.contains(&format!("action=\"/admin/workflow-runs/{failed}/retry\"")),
            "retry on the failed run"
        );
        assert!(
            !body.contains(&format!("/admin/workflow-runs/{skipped}/retry")),
            "no retry on a skipped run"
        );
        let csrf = hidden(body, "_csrf");
        let p = b
            .post(
                &app,
                &format!("/admin/workflow-runs/{failed}/retry"),
                &[("_csrf", &csrf)],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/admin/workflows/{id}/runs?retried=1").as_str())
        );
        let after = b.get(&app, p.location.as_deref().unwrap_or("/")).await;
        assert!(after.body.contains("已重新排队运行"), "{}", after.body);
        assert!(
            !after.body.contains(&format!("/admin/workflow-runs/{failed}/retry")),
            "queued: no retry button"
        );
        // retrying it again is refused with a message, not an error page
        let p = b
            .post(
                &app,
                &format!("/admin/workflow-runs/{failed}/retry"),
                &[("_csrf", &csrf)],
            )
            .await;
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/admin/workflows/{id}/runs?refused=1").as_str())
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_shipped_workflows_open_in_the_editor() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        let added = sable_workflow::defaults::install(&app.store).await.expect("defaults");
        assert_eq!(added, 2);
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let list = b.get(&app, "/admin/workflows").await;
        assert_eq!(list.body.matches("内置").count(), 2, "{backend}: {}", list.body);
        let (_, all) = app.admin("GET", "/api/v1/workflows", None).await;
        for wf in all["items"].as_array().expect("items") {
            let page = b.get(&app, &format!("/admin/workflows/{}", wf["id"])).await;
            assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
            assert!(page.body.contains("新网站线索") || page.body.contains("阶段指引"));
        }
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_task_is_emailed_from_its_page_and_lists_its_emails() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;
        let (s, task) = app
            .admin(
                "POST",
                "/api/v1/records/Tasks",
                Some(json!({"fields": {"subject": "<i>报价</i>", "due_date": "2030-01-02"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{task}");
        let id = task["id"].as_i64().expect("id");
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, &format!("/m/Tasks/{id}/email")).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert!(page.body.contains("还没有。"));
        let csrf = hidden(&page.body, "_csrf");
        let p = b
            .post(
                &app,
                &format!("/m/Tasks/{id}/email"),
                &[
                    ("_csrf", &csrf),
                    ("to", "boss@example.com；cfo@example.com"),
                    ("subject", "任务：{{ subject }}"),
                    ("body", "截止 {{ due_date }}"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{backend}: {}", p.body);
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/m/Tasks/{id}/email?sent=1").as_str())
        );
        let after = b.get(&app, &format!("/m/Tasks/{id}/email?sent=1")).await;
        assert!(after.body.contains("邮件已排队"), "{}", after.body);
        assert!(
            after.body.contains("任务：&lt;i&gt;报价&lt;"),
            "rendered and escaped: {}",
            after.body
        );
        assert!(after.body.contains("boss@example.com, cfo@example.com"));
        app.store.close().await;
        db.cleanup().await;
    }
}
