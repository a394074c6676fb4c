//! Web forms end to end through the router: a post becomes a lead, assigned round robin
//! (an inactive user skipped) with a follow-up task in the owner's agenda; refusals,
//! honeypot, rate limit, captcha, CORS, returning visitors, hostile and oversized input.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use sable_server::forms::{WebFormLimits, captcha};
use sable_store::testing::all_backends;
use sable_store::users::{NewUser, create_user, deactivate};
use sable_store::{Actor, Query};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
    extra: &[(&str, &str)],
    ip: [u8; 4],
) -> Reply {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.into())).unwrap();
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    send(app, req).await
}

async fn send(app: &TestApp, req: Request<Body>) -> Reply {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(app: &TestApp, path: &str, extra: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().method("GET").uri(path);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

async fn user(app: &TestApp, name: &str) -> (i64, String) {
    let u = create_user(
        &app.store,
        &Actor::unrestricted_for_system_jobs(),
        &NewUser {
            user_name: name.into(),
            password: "correct horse battery".into(),
            last_name: name.into(),
            language: Some("en".into()),
            ..NewUser::default()
        },
    )
    .await
    .unwrap();
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": name, "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (u.id, body["token"].as_str().unwrap_or_default().to_string())
}

async fn make_form(app: &TestApp, extra: Value) -> (i64, String) {
    let mut body = json!({
        "name": "Website contact",
        "module": "Leads",
        "title": {"en": "Contact us", "zh-CN": "联系我们"},
        "fields": [
            {"name": "lastname", "label": {"en": "Your name", "zh-CN": "姓名"}, "required": true},
            {"name": "email", "required": false},
            {"name": "mobile"},
            {"name": "company"},
            {"name": "description"}
        ],
        "defaults": {"leadsource": "Web Site"},
        "thanks": {"en": "Thanks, we will call you.", "zh-CN": "谢谢，我们会联系您。"},
        "consent": {"en": "I agree to be contacted.", "zh-CN": "我同意被联系。"}
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, form) = app.admin("POST", "/api/v1/webforms", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{form}");
    assert!(form["public_id"].as_str().unwrap().len() >= 32);
    (
        form["id"].as_i64().unwrap(),
        form["public_id"].as_str().unwrap().to_string(),
    )
}

async fn lead_count(app: &TestApp) -> usize {
    app.store
        .records(&Actor::unrestricted_for_system_jobs())
        .query("Leads", &Query::default())
        .await
        .unwrap()
        .items
        .len()
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[tokio::test]
async fn a_web_lead_is_assigned_round_robin_with_a_follow_up_in_the_agenda() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (a, a_token) = user(&app, "anna").await;
        let (b, _) = user(&app, "bo").await;
        let (c, c_token) = user(&app, "chen").await;
        deactivate(&app.store, &Actor::unrestricted_for_system_jobs(), "bo")
            .await
            .unwrap();
        let (s, rule) = app
            .admin(
                "POST",
                "/api/v1/assignment-rules",
                Some(json!({"name": "web leads", "module": "Leads",
                    "fallback": {"kind": "round_robin", "user_ids": [a, b, c]}, "followup_hours": 24})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{rule}");
        let (form_id, pid) = make_form(&app, json!({"assignment_rule_id": rule["id"]})).await;
        let path = format!("/forms/{pid}");

        // The hosted page, in both languages.
        let page = get(&app, &format!("{path}?lang=en"), &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Your name") && page.text.contains("I agree to be contacted."));
        let page = get(&app, &path, &[("accept-language", "zh-CN")]).await;
        assert!(page.text.contains("姓名") && page.text.contains("联系我们"));

        // Form-encoded, as the plain HTML snippet posts: the thank-you page.
        let r = post(&app, &path, FORM, "lastname=%E7%8E%8B%E4%BC%9F&email=wang%40example.cn&company=%E5%8C%97%E4%BA%AC%E5%85%AC%E5%8F%B8&consent=1&lang=zh-CN", &[], [10, 0, 0, 1]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.contains("谢谢，我们会联系您。"), "{}", r.text);
        // JSON, as a page's script posts.
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "Li Na", "mobile": "+86 138 0013 8000"}).to_string(),
            &[],
            [10, 0, 0, 2],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.json()["status"], "received");

        let (s, subs) = app
            .admin("GET", &format!("/api/v1/webforms/{form_id}/submissions"), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let items = subs["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{}", db.backend);
        let first = items[1]["record_id"].as_i64().unwrap();
        let second = items[0]["record_id"].as_i64().unwrap();
        assert_eq!(items[1]["consent_given"], true);
        assert!(items[1]["consent_text"].as_str().unwrap().contains("I agree"));
        assert_eq!(items[0]["consent_given"], false);

        let (_, lead1) = app.admin("GET", &format!("/api/v1/records/Leads/{first}"), None).await;
        let (_, lead2) = app.admin("GET", &format!("/api/v1/records/Leads/{second}"), None).await;
        assert_eq!(lead1["fields"]["assigned_user_id"], a, "{lead1}");
        assert_eq!(
            lead2["fields"]["assigned_user_id"], c,
            "bo is inactive and skipped: {lead2}"
        );
        assert_eq!(lead1["fields"]["leadsource"], "Web Site");
        assert_eq!(lead1["fields"]["lastname"], "王伟");

        // The consent is visible on the record.
        let (_, comments) = app
            .admin("GET", &format!("/api/v1/records/Leads/{first}/comments"), None)
            .await;
        assert!(comments.to_string().contains("I agree to be contacted."), "{comments}");

        // The follow-up task (from the rule's log) is in each owner's agenda, and only theirs.
        let (_, log) = app
            .admin("GET", &format!("/api/v1/assignment-rules/{}/log", rule["id"]), None)
            .await;
        let task_of = |lead: i64| {
            log["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["record_id"] == lead)
                .and_then(|e| e["task_id"].as_i64())
                .expect("a follow-up task")
        };
        for (token, mine, theirs) in [(&a_token, first, second), (&c_token, second, first)] {
            let (s, agenda) = app.call("GET", "/api/v1/agenda", Some(token), None).await;
            assert_eq!(s, StatusCode::OK);
            let ids: Vec<i64> = agenda["upcoming"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["module"] == "Tasks")
                .filter_map(|i| i["id"].as_i64())
                .collect();
            assert!(ids.contains(&task_of(mine)), "{}: {agenda}", db.backend);
            assert!(!ids.contains(&task_of(theirs)), "{}: {agenda}", db.backend);
        }
        let reasons = log.to_string();
        assert!(reasons.contains(&format!("skipped inactive user(s) {b}")), "{reasons}");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn refusals_say_which_field_and_write_nothing() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, pid) = make_form(&app, json!({"consent_required": true})).await;
        let path = format!("/forms/{pid}");
        // Required field and consent missing: per-field errors as JSON.
        let r = post(
            &app,
            &path,
            JSON,
            json!({"email": "a@b.cn"}).to_string(),
            &[],
            [1, 1, 1, 1],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let fields = &r.json()["error"]["fields"];
        assert!(
            fields.get("lastname").is_some() && fields.get("consent").is_some(),
            "{}",
            r.text
        );
        // A field not on the form (never the owner from a visitor): refused, named.
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "x", "consent": true, "assigned_user_id": 1}).to_string(),
            &[],
            [1, 1, 1, 1],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.json()["error"]["fields"].get("assigned_user_id").is_some(),
            "{}",
            r.text
        );
        // An invalid value comes back from the record service as a field error.
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "x", "consent": true, "email": "not-mail"}).to_string(),
            &[],
            [1, 1, 1, 1],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.json()["error"]["fields"].get("email").is_some(), "{}", r.text);
        // Hostile HTML is shown back escaped on the hosted page.
        let hostile = "lastname=&company=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E&description=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E";
        let r = post(&app, &path, FORM, hostile, &[], [1, 1, 1, 1]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.text.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;&gt;"),
            "{}",
            r.text
        );
        assert!(
            !r.text.contains("<script>alert") && !r.text.contains("<img src=x"),
            "{}",
            r.text
        );
        assert!(r.text.contains("id=\"e-lastname\""), "per-field error on the page");
        // Malformed, wrong type, oversized bodies and fields.
        let r = post(&app, &path, JSON, "{\"lastname\":", &[], [1, 1, 1, 1]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        let r = post(&app, &path, JSON, "[1,2]", &[], [1, 1, 1, 1]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": {"nested": 1}}).to_string(),
            &[],
            [1, 1, 1, 1],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = post(&app, &path, "text/plain", "lastname=x", &[], [1, 1, 1, 1]).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = post(
            &app,
            &path,
            FORM,
            format!("lastname={}", "x".repeat(40_000)),
            &[],
            [1, 1, 1, 2],
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "x", "consent": true, "description": "长".repeat(4001)}).to_string(),
            &[],
            [1, 1, 1, 2],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.json()["error"]["fields"].get("description").is_some());
        let r = post(&app, &path, FORM, b"lastname=\xff\xfe".to_vec(), &[], [1, 1, 1, 2]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(lead_count(&app).await, 0, "{}: nothing was written", db.backend);
        // The honeypot: answered as a success, nothing stored.
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "bot", "consent": true, "hp_website": "http://spam"}).to_string(),
            &[],
            [1, 1, 1, 3],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(lead_count(&app).await, 0);
        // An unknown form.
        let r = post(&app, "/forms/doesnotexist", JSON, "{}", &[], [1, 1, 1, 3]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, "/forms/%3Cx%3E", &[]).await.status, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_rate_limit_counts_posts_per_address() {
    for db in all_backends().await {
        let app = spawn_app_with(
            &db,
            WebFormLimits {
                posts_per_window: 3,
                ..WebFormLimits::default()
            },
        )
        .await;
        let (_, pid) = make_form(&app, json!({})).await;
        let path = format!("/forms/{pid}");
        for i in 0..3 {
            let r = post(
                &app,
                &path,
                JSON,
                json!({"lastname": format!("r{i}")}).to_string(),
                &[],
                [9, 9, 9, 9],
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "r4"}).to_string(),
            &[],
            [9, 9, 9, 9],
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        let r = post(&app, &path, FORM, "lastname=r5", &[], [9, 9, 9, 9]).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "other"}).to_string(),
            &[],
            [9, 9, 9, 8],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(lead_count(&app).await, 4);
        app.store.close().await;
        db.cleanup().await;
    }
}

fn token_of(page: &str) -> String {
    let marker = "name=\"captcha_token\" value=\"";
    let at = page.find(marker).expect("a captcha token") + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_captcha_is_wrong_expired_or_used_once() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, pid) = make_form(&app, json!({"captcha": true})).await;
        let path = format!("/forms/{pid}");
        let page = get(&app, &path, &[]).await;
        assert!(
            page.text.contains("<svg") && !page.text.contains("<text ") && !page.text.contains("<text>"),
            "drawn as paths"
        );
        let token = token_of(&page.text);
        let secret = sable_store::webforms::captcha_secret(&app.store).await.unwrap();
        let answer = captcha::answer(&secret, &token).unwrap();
        let wrong = if answer == "AAAAA" { "CCCCC" } else { "AAAAA" };
        let ip = [2, 2, 2, 2];
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "c", "captcha_token": token, "captcha_answer": wrong}).to_string(),
            &[],
            ip,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.json()["error"]["fields"].get("captcha_answer").is_some());
        let r = post(&app, &path, JSON, json!({"lastname": "c"}).to_string(), &[], ip).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no token");
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "c", "captcha_token": token, "captcha_answer": answer.to_lowercase()}).to_string(),
            &[],
            ip,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "c2", "captcha_token": token, "captcha_answer": answer}).to_string(),
            &[],
            ip,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "used once");
        assert!(r.text.contains("already used"), "{}", r.text);
        let (old, _) = captcha::issue(&secret, sable_store::now_ms() - captcha::TTL_MS - 1000).unwrap();
        let old_answer = captcha::answer(&secret, &old).unwrap();
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "c3", "captcha_token": old, "captcha_answer": old_answer}).to_string(),
            &[],
            ip,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("expired"), "{}", r.text);
        // Without JavaScript: the first post comes back as the page with a picture.
        let r = post(&app, &path, FORM, "lastname=%E8%B5%B5", &[], ip).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("<svg") && r.text.contains("value=\"赵\""), "{}", r.text);
        assert_eq!(lead_count(&app).await, 1);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn cors_only_for_allowed_origins() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, pid) = make_form(&app, json!({"allowed_origins": ["https://shop.example.com"]})).await;
        let path = format!("/forms/{pid}");
        let pre = |origin: &'static str| {
            Request::builder()
                .method("OPTIONS")
                .uri(path.clone())
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap()
        };
        let r = send(&app, pre("https://shop.example.com")).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(r.headers["access-control-allow-origin"], "https://shop.example.com");
        let r = send(&app, pre("https://evil.example.net")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.headers.get("access-control-allow-origin").is_none());
        let ok = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "o"}).to_string(),
            &[("origin", "https://shop.example.com")],
            [3, 3, 3, 3],
        )
        .await;
        assert_eq!(ok.status, StatusCode::CREATED);
        assert_eq!(ok.headers["access-control-allow-origin"], "https://shop.example.com");
        let other = post(
            &app,
            &path,
            FORM,
            "lastname=p",
            &[("origin", "https://evil.example.net")],
            [3, 3, 3, 3],
        )
        .await;
        assert!(other.headers.get("access-control-allow-origin").is_none());
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_returning_visitor_is_attached_not_refused() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (owner, _) = user(&app, "owner").await;
        let system = Actor::unrestricted_for_system_jobs();
        let svc = app.store.records(&system);
        let lead = svc
            .create(
                "Leads",
                &json!({"lastname": "王", "email": "Wang@Example.com", "assigned_user_id": owner})
                    .as_object()
                    .cloned()
                    .unwrap(),
            )
            .await
            .unwrap();
        let contact = svc
            .create(
                "Contacts",
                &json!({"lastname": "李", "mobile": "+86 138-0013-8000", "assigned_user_id": owner})
                    .as_object()
                    .cloned()
                    .unwrap(),
            )
            .await
            .unwrap();
        let (form_id, pid) = make_form(&app, json!({})).await;
        let path = format!("/forms/{pid}");
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "王", "email": " wang@example.COM ", "description": "again"}).to_string(),
            &[],
            [4, 4, 4, 4],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "李", "mobile": "8613800138000"}).to_string(),
            &[],
            [4, 4, 4, 4],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(lead_count(&app).await, 1, "{}: no new lead", db.backend);
        let (_, subs) = app
            .admin("GET", &format!("/api/v1/webforms/{form_id}/submissions"), None)
            .await;
        let items = subs["items"].as_array().unwrap();
        assert_eq!(items[1]["outcome"], "attached");
        assert_eq!(items[1]["record_id"], lead.id);
        assert_eq!(items[0]["module"], "Contacts");
        assert_eq!(items[0]["record_id"], contact.id);
        let task = svc
            .get("Tasks", items[1]["activity_id"].as_i64().unwrap())
            .await
            .unwrap();
        assert_eq!(task.values.get("parent_id"), Some(&sable_core::Value::Id(lead.id)));
        assert_eq!(task.values.get("assigned_user_id"), Some(&sable_core::Value::Id(owner)));
        let (_, timeline) = app
            .admin("GET", &format!("/api/v1/records/Leads/{}/timeline", lead.id), None)
            .await;
        assert!(timeline.to_string().contains("Web form submission"), "{timeline}");

        // update_empty fills what is empty and leaves the rest; create_new makes a new lead.
        let (s, _) = app
            .admin(
                "PUT",
                &format!("/api/v1/webforms/{form_id}"),
                Some(json!({"name": "w", "module": "Leads", "fields": [{"name": "lastname"}, {"name": "email"}, {"name": "company"}], "returning": "update_empty"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "改名", "email": "wang@example.com", "company": "新公司"}).to_string(),
            &[],
            [4, 4, 4, 4],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let after = svc.get("Leads", lead.id).await.unwrap();
        assert_eq!(
            after.values.get("company"),
            Some(&sable_core::Value::Text("新公司".into()))
        );
        assert_eq!(
            after.values.get("lastname"),
            Some(&sable_core::Value::Text("王".into()))
        );
        let (s, _) = app
            .admin(
                "PUT",
                &format!("/api/v1/webforms/{form_id}"),
                Some(json!({"name": "w", "module": "Leads", "fields": [{"name": "lastname"}, {"name": "email"}], "returning": "create_new"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let r = post(
            &app,
            &path,
            JSON,
            json!({"lastname": "王", "email": "wang@example.com"}).to_string(),
            &[],
            [4, 4, 4, 4],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(lead_count(&app).await, 2);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn forms_and_rules_are_checked_and_admin_only() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, token) = user(&app, "plain").await;
        let (s, _) = app.call("GET", "/api/v1/webforms", Some(&token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.call("GET", "/api/v1/assignment-rules", Some(&token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        for bad in [
            json!({"name": "x", "module": "Opportunities", "fields": [{"name": "potentialname"}]}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "assigned_user_id"}]}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "nope"}]}),
            json!({"name": "x", "module": "Leads", "fields": []}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "lastname"}], "allowed_origins": ["javascript:alert(1)"]}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "lastname"}], "defaults": {"leadsource": "No such source"}}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "lastname"}], "assignment_rule_id": 424242}),
            json!({"name": "x", "module": "Leads", "fields": [{"name": "lastname"}], "unknown": 1}),
        ] {
            let (s, body) = app.admin("POST", "/api/v1/webforms", Some(bad.clone())).await;
            assert!(
                s == StatusCode::BAD_REQUEST || s == StatusCode::NOT_FOUND,
                "{bad} → {s} {body}"
            );
        }
        let (id, pid) = make_form(&app, json!({})).await;
        let (s, form) = app.admin("GET", &format!("/api/v1/webforms/{id}"), None).await;
        assert_eq!(s, StatusCode::OK);
        let snippet = form["snippet"].as_str().unwrap();
        assert!(snippet.contains(&format!("/forms/{pid}\"")) && snippet.contains("name=\"lastname\""));
        assert!(!snippet.contains("<script"));
        let (s, _) = app.admin("DELETE", &format!("/api/v1/webforms/{id}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            get(&app, &format!("/forms/{pid}"), &[]).await.status,
            StatusCode::NOT_FOUND
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn admins_design_rules_and_forms_in_the_browser_interface() {
    use crate::helpers::ADMIN_PASSWORD;
    use crate::ui::{Browser, hidden};
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (li, _) = user(&app, "li").await;
        let (wang, _) = user(&app, "wang").await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let p = b.get(&app, "/admin/assignment-rules").await;
        assert_eq!(p.status, StatusCode::OK);
        let csrf = hidden(&p.body, "_csrf");
        // A bad branch line is refused with its line number, the text kept.
        let p = b
            .post(
                &app,
                "/admin/assignment-rules",
                &[
                    ("_csrf", &csrf),
                    ("name", "区域"),
                    ("module", "Leads"),
                    ("active", "1"),
                    ("branches", "state 北京"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(
            p.body.contains("id=\"rule-error\"") && p.body.contains("line 1") && p.body.contains("state 北京"),
            "{}",
            p.body
        );
        let (li_s, wang_s) = (li.to_string(), wang.to_string());
        let p = b
            .post(
                &app,
                "/admin/assignment-rules",
                &[
                    ("_csrf", &csrf),
                    ("name", "区域"),
                    ("module", "Leads"),
                    ("active", "1"),
                    ("followup_hours", "4"),
                    ("branches", "state = 北京 | Beijing => li"),
                    ("fallback", &li_s),
                    ("fallback", &wang_s),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let (_, rules) = app.admin("GET", "/api/v1/assignment-rules", None).await;
        let rule = &rules["items"][0];
        assert_eq!(rule["fallback"]["kind"], "round_robin");
        assert_eq!(rule["branches"][0]["target"]["user_id"], li);
        let rule_id = rule["id"].as_i64().unwrap().to_string();

        let p = b.get(&app, "/admin/webforms").await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("name=\"f_lastname\""));
        let p = b
            .post(
                &app,
                "/admin/webforms",
                &[
                    ("_csrf", &csrf),
                    ("module", "Leads"),
                    ("name", "官网"),
                    ("active", "1"),
                    ("f_lastname", "1"),
                    ("r_lastname", "1"),
                    ("lz_lastname", "您的姓名"),
                    ("le_lastname", "Your name"),
                    ("f_state", "1"),
                    ("defaults", "leadsource=Web Site"),
                    ("rule", &rule_id),
                    ("consent_zh", "同意"),
                    ("consent_en", "I agree"),
                    ("returning", "update_empty"),
                    ("captcha", "1"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let p = b.get(&app, p.location.as_deref().unwrap()).await;
        assert!(
            p.body.contains("class=\"hosted-link\"") && p.body.contains("&lt;form method="),
            "hosted link and snippet shown: {}",
            p.body
        );
        let (_, forms) = app.admin("GET", "/api/v1/webforms", None).await;
        let form = &forms["items"][0];
        assert_eq!(form["fields"][0]["label"]["zh-CN"], "您的姓名");
        assert_eq!(form["returning"], "update_empty");
        assert_eq!(form["assignment_rule_id"].as_i64().unwrap().to_string(), rule_id);
        // A form posted by the Beijing visitor goes to li by the branch.
        let pid = form["public_id"].as_str().unwrap();
        let (s, _) = app
            .admin(
                "PUT",
                &format!("/api/v1/webforms/{}", form["id"]),
                Some(json!({
            "name": "官网", "module": "Leads", "fields": [{"name": "lastname", "required": true}, {"name": "state"}],
            "assignment_rule_id": rule["id"]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let r = post(
            &app,
            &format!("/forms/{pid}"),
            JSON,
            json!({"lastname": "京", "state": "beijing"}).to_string(),
            &[],
            [5, 5, 5, 5],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let p = b.get(&app, &format!("/admin/assignment-rules?edit={rule_id}")).await;
        assert!(
            p.body.contains("id=\"rule-log\"") && p.body.contains("branch 1 matched"),
            "{}",
            p.body
        );
        // Not for other users.
        let mut other = Browser::new();
        other.login(&app, "li", "correct horse battery").await;
        assert_eq!(other.get(&app, "/admin/webforms").await.status, StatusCode::FORBIDDEN);
        app.store.close().await;
        db.cleanup().await;
    }
}
