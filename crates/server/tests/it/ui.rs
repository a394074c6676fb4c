//! The browser interface over HTTP (no browser): login and sessions, CSRF, escaping of
//! hostile text on every page that shows it, forms that keep what was typed, conflicts.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sable_store::testing::all_backends;
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};

pub(crate) struct Browser {
    cookies: Vec<(String, String)>,
    accept_language: &'static str,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser::speaking("zh-CN")
    }

    /// A browser whose Accept-Language is `accept_language`.
    fn speaking(accept_language: &'static str) -> Browser {
        Browser {
            cookies: Vec::new(),
            accept_language,
        }
    }

    async fn request(&mut self, app: &TestApp, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("accept-language", self.accept_language);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        let req = match form {
            Some(pairs) => {
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter())
                    .finish();
                req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap()
            }
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = app.router.clone().oneshot(req).await.unwrap();
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !val.is_empty() {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        Page { status, location, body }
    }

    pub(crate) async fn get(&mut self, app: &TestApp, path: &str) -> Page {
        self.request(app, "GET", path, None).await
    }

    pub(crate) async fn post(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> Page {
        self.request(app, "POST", path, Some(form)).await
    }

    pub(crate) async fn login(&mut self, app: &TestApp, user: &str, password: &str) -> Page {
        let page = self.get(app, "/login").await;
        let csrf = hidden(&page.body, "_csrf");
        self.post(
            app,
            "/login",
            &[("username", user), ("password", password), ("_csrf", &csrf)],
        )
        .await
    }
}

/// The value of a hidden input in a page.
pub(crate) fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in page")) + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn login_csrf_and_sessions() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        // not logged in → to the login page, remembering where we were going
        let p = b.get(&app, "/m/Leads").await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", db.backend);
        assert_eq!(p.location.as_deref(), Some("/login?next=%2Fm%2FLeads"));
        // a login without the form's token is refused
        let p = b
            .post(
                &app,
                "/login",
                &[("username", "admin"), ("password", ADMIN_PASSWORD), ("_csrf", "forged")],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        // wrong password: a clear message, in the browser's language
        let p = b.login(&app, "admin", "nope").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert!(p.body.contains("用户名或密码错误"), "{}", p.body);
        let p = b.login(&app, "admin", ADMIN_PASSWORD).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let home = b.get(&app, "/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("Administrator"));
        // a POST without a valid CSRF token is refused and changes nothing
        let p = b.post(&app, "/m/Leads", &[("lastname", "无令牌")]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = b
            .post(&app, "/m/Leads", &[("lastname", "错令牌"), ("_csrf", "wrong")])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let (_, page) = app.admin("POST", "/api/v1/records/Leads/query", Some(json!({}))).await;
        assert_eq!(page["count"], 0);
        // switching language is saved for the user
        let csrf = hidden(&home.body, "_csrf");
        let p = b
            .post(&app, "/settings/language", &[("lang", "en"), ("_csrf", &csrf)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let home = b.get(&app, "/").await;
        assert!(home.body.contains(">Organizations<"), "English navigation expected");
        // a deactivated user gets a clear message
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "leaver", "password": "leaver-pass-1", "last_name": "Leaver"})),
        )
        .await;
        sable_store::users::deactivate(
            &app.store,
            &sable_store::Actor::unrestricted_for_system_jobs(),
            "leaver",
        )
        .await
        .unwrap();
        let p = Browser::new().login(&app, "leaver", "leaver-pass-1").await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(p.body.contains("已停用"), "{}", p.body);
        // logout ends the session
        let p = b.post(&app, "/logout", &[("_csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(b.get(&app, "/").await.status, StatusCode::SEE_OTHER);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn language_follows_the_browser_unless_the_user_chose_one() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut admin = Browser::new();
        admin.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = admin.get(&app, "/admin/users").await;
        assert!(page.body.contains("跟随浏览器"), "browser default is offered");
        let csrf = hidden(&page.body, "_csrf");
        for (user, language) in [("follower", ""), ("chooser", "zh-CN")] {
            let p = admin
                .post(
                    &app,
                    "/admin/users",
                    &[
                        ("_csrf", &csrf),
                        ("user_name", user),
                        ("password", "user-pass-1"),
                        ("last_name", user),
                        ("language", language),
                        ("time_zone", "Asia/Shanghai"),
                    ],
                )
                .await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        }
        // no preference: the browser's language, English or Chinese
        let mut en = Browser::speaking("en-US,en;q=0.9");
        en.login(&app, "follower", "user-pass-1").await;
        let home = en.get(&app, "/").await;
        assert!(
            home.body.contains(">Organizations<"),
            "{}: English expected",
            db.backend
        );
        let mut zh = Browser::speaking("zh-CN,zh;q=0.9,en;q=0.5");
        zh.login(&app, "follower", "user-pass-1").await;
        assert!(zh.get(&app, "/").await.body.contains(">客户<"), "Chinese expected");
        // an explicit choice wins over the browser
        let mut en = Browser::speaking("en");
        en.login(&app, "chooser", "user-pass-1").await;
        let settings = en.get(&app, "/settings").await;
        assert!(settings.body.contains(">客户<"), "the user's choice expected");
        // …and choosing "browser default" in the preferences goes back to following it
        let csrf = hidden(&settings.body, "_csrf");
        let p = en
            .post(
                &app,
                "/settings",
                &[
                    ("_csrf", &csrf),
                    ("language", ""),
                    ("time_zone", "Asia/Shanghai"),
                    ("date_format", "yyyy-mm-dd"),
                    ("number_format", "1,234.56"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert!(en.get(&app, "/").await.body.contains(">Organizations<"));
        let chooser = sable_store::users::find_user(&app.store, "chooser")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(chooser.language, "");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn refusals_are_shown_in_the_readers_language() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        // the seeded admin follows the browser: the same refusal in Chinese, then English
        for (accept, expected) in [
            ("zh-CN", "密码至少需要 8 个字符。"),
            ("en", "The password must have at least 8 characters."),
        ] {
            let mut b = Browser::speaking(accept);
            b.login(&app, "admin", ADMIN_PASSWORD).await;
            let page = b.get(&app, "/admin/users").await;
            let csrf = hidden(&page.body, "_csrf");
            let p = b
                .post(
                    &app,
                    "/admin/users",
                    &[
                        ("_csrf", &csrf),
                        ("user_name", "short"),
                        ("password", "1234"),
                        ("last_name", "短"),
                    ],
                )
                .await;
            assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", db.backend);
            assert!(p.body.contains(expected), "{accept}: {}", p.body);
        }
        // a view that cannot be saved comes back as a message key, never as text
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let list = b.get(&app, "/m/Leads").await;
        let csrf = hidden(&list.body, "_csrf");
        let p = b.post(&app, "/m/Leads/views", &[("_csrf", &csrf), ("name", " ")]).await;
        let location = p.location.unwrap_or_default();
        assert!(location.contains("error=view_name_invalid"), "{location}");
        let shown = b.get(&app, &location).await;
        assert!(
            shown.body.contains("视图未保存：名称需要 1 到 100 个字符。"),
            "{}",
            shown.body
        );
        // …and a crafted link cannot put its own words on the page
        let crafted = b.get(&app, "/m/Leads?error=Your+account+is+locked%2C+call+555").await;
        assert_eq!(crafted.status, StatusCode::OK);
        assert!(!crafted.body.contains("call 555") && !crafted.body.contains("Your account"));
        app.store.close().await;
        db.cleanup().await;
    }
}

/// Every `aria-label` value in a page.
fn aria_labels(body: &str) -> Vec<&str> {
    body.split("aria-label=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[tokio::test]
async fn controls_are_named_in_the_page_language() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, org) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "Reachable Ltd"}})),
            )
            .await;
        let org = org["id"].as_i64().unwrap();
        let mut b = Browser::speaking("en");
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let cjk = |s: &str| s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c));
        for path in [
            "/".to_string(),
            "/m/Accounts".to_string(),
            format!("/m/Accounts/{org}?tab=related"),
            "/admin/fields?module=Leads".to_string(),
        ] {
            let p = b.get(&app, &path).await;
            assert_eq!(p.status, StatusCode::OK, "{path}");
            assert!(
                p.body.contains("href=\"#main\"") && p.body.contains("Skip to content"),
                "{path}"
            );
            let labels = aria_labels(&p.body);
            assert!(!labels.contains(&"all"), "{path}");
            let chinese: Vec<&&str> = labels.iter().filter(|l| cjk(l)).collect();
            assert!(chinese.is_empty(), "{}: {path}: {chinese:?}", db.backend);
        }
        let related = b.get(&app, &format!("/m/Accounts/{org}?tab=related")).await;
        assert!(
            related.body.contains("aria-label=\"New record in "),
            "the + link is named"
        );
        let detail = b.get(&app, &format!("/m/Accounts/{org}")).await;
        assert!(detail.body.contains("key==' '"), "Space opens an inline edit");
        let login = Browser::speaking("zh-CN").get(&app, "/login").await;
        assert!(login.body.contains("跳到主要内容"));
        app.store.close().await;
        db.cleanup().await;
    }
}

/// An `href` from a page, unescaped.
fn href_of(body: &str, marker: &str) -> String {
    let at = body.find(marker).unwrap_or_else(|| panic!("no {marker} in page"));
    let start = body[..at].rfind("href=\"").unwrap() + 6;
    body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn related_lists_count_and_link_to_all_and_lists_page_back() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, org) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "大客户"}})),
            )
            .await;
        let org = org["id"].as_i64().unwrap();
        for i in 0..52 {
            let mut fields = json!({"lastname": format!("联系人{i:02}")});
            if i < 22 {
                fields["account_id"] = json!(org);
            }
            app.admin("POST", "/api/v1/records/Contacts", Some(json!({ "fields": fields })))
                .await;
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let related = b.get(&app, &format!("/m/Accounts/{org}?tab=related")).await;
        assert!(related.body.contains("共 22 条"), "{}: the total", db.backend);
        let all = href_of(&related.body, ">查看全部 22 条<");
        let list = b.get(&app, &all).await;
        assert_eq!(list.status, StatusCode::OK, "{all}");
        assert!(
            list.body.contains("联系人00") && list.body.contains("联系人21"),
            "{all}"
        );
        assert!(!list.body.contains("联系人22"), "only this organization's contacts");
        // pages: next, then previous back to the first
        let first = b.get(&app, "/m/Contacts?sort=lastname&dir=asc").await;
        assert!(!first.body.contains("rel=\"prev\""));
        let second = b.get(&app, &href_of(&first.body, "rel=\"next\"")).await;
        assert!(second.body.contains("联系人51") && !second.body.contains("联系人00"));
        let back = b.get(&app, &href_of(&second.body, "rel=\"prev\"")).await;
        assert!(back.body.contains("联系人00") && !back.body.contains("联系人51"));
        assert!(!back.body.contains("rel=\"prev\""), "the first page has no previous");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn deactivation_waits_until_every_record_is_transferred() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        for (user, last) in [("leaving", "离开"), ("taking", "接收")] {
            app.admin(
                "POST",
                "/api/v1/users",
                Some(json!({"user_name": user, "password": "user-pass-1", "last_name": last})),
            )
            .await;
        }
        let leaving = sable_store::users::find_user(&app.store, "leaving")
            .await
            .unwrap()
            .unwrap();
        let taking = sable_store::users::find_user(&app.store, "taking")
            .await
            .unwrap()
            .unwrap();
        let mut ids = Vec::new();
        for name in ["可转移", "被锁定"] {
            let (_, r) = app
                .admin(
                    "POST",
                    "/api/v1/records/Accounts",
                    Some(json!({"fields": {"accountname": name, "assigned_user_id": leaving.id}})),
                )
                .await;
            ids.push(r["id"].as_i64().unwrap());
        }
        // the database refuses to change the second record
        let lock = if db.backend == "sqlite" {
            format!(
                "CREATE TRIGGER lock_one BEFORE UPDATE ON m_accounts WHEN OLD.id = {} \
                 BEGIN SELECT RAISE(ABORT, 'locked'); END;",
                ids[1]
            )
        } else {
            format!(
                "CREATE FUNCTION lock_one() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'locked'; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER lock_one BEFORE UPDATE ON m_accounts FOR EACH ROW WHEN (OLD.id = {}) EXECUTE FUNCTION lock_one();",
                ids[1]
            )
        };
        app.store.db().execute_script(&lock).await.unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, "/admin/users").await;
        let csrf = hidden(&page.body, "_csrf");
        let to = taking.id.to_string();
        let p = b
            .post(
                &app,
                &format!("/admin/users/{}/deactivate", leaving.id),
                &[("_csrf", &csrf), ("transfer_to", &to)],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}: {}", db.backend, p.body);
        assert!(
            p.body.contains("未停用离开：已转移 1 条记录，但有 1 条无法转移"),
            "{}",
            p.body
        );
        let failures = &p.body[p.body.find("transfer-failures").unwrap()..];
        assert!(
            failures.contains("被锁定") && !failures.contains("可转移"),
            "{failures}"
        );
        let still = sable_store::users::find_user(&app.store, "leaving")
            .await
            .unwrap()
            .unwrap();
        assert!(still.is_active(), "not deactivated while a record is left behind");
        // once the record can move, deactivating finishes the job
        let unlock = if db.backend == "sqlite" {
            "DROP TRIGGER lock_one;"
        } else {
            "DROP TRIGGER lock_one ON m_accounts; DROP FUNCTION lock_one();"
        };
        app.store.db().execute_script(unlock).await.unwrap();
        let p = b
            .post(
                &app,
                &format!("/admin/users/{}/deactivate", leaving.id),
                &[("_csrf", &csrf), ("transfer_to", &to)],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert!(p.location.unwrap().contains("done=1"));
        let gone = sable_store::users::find_user(&app.store, "leaving")
            .await
            .unwrap()
            .unwrap();
        assert!(!gone.is_active());
        for id in &ids {
            let (_, r) = app.admin("GET", &format!("/api/v1/records/Accounts/{id}"), None).await;
            assert_eq!(r["fields"]["assigned_user_id"], taking.id);
        }
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_text_is_escaped_everywhere() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let hostile = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"];
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "x", "website": "javascript:alert(1)"}})),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a javascript: address is not a web address"
        );
        let (_, acc) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": hostile[0]}})),
            )
            .await;
        let acc_id = acc["id"].as_i64().unwrap();
        let (_, con) = app
            .admin(
                "POST",
                "/api/v1/records/Contacts",
                Some(json!({"fields": {"lastname": hostile[1], "account_id": acc_id, "title": "alert"}})),
            )
            .await;
        let con_id = con["id"].as_i64().unwrap();
        app.admin(
            "PATCH",
            &format!("/api/v1/records/Contacts/{con_id}"),
            Some(json!({"version": 1, "fields": {"department": hostile[0]}})),
        )
        .await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        for path in [
            "/m/Accounts".to_string(),
            "/m/Contacts".to_string(),
            format!("/m/Accounts/{acc_id}"),
            format!("/m/Accounts/{acc_id}?tab=related"),
            format!("/m/Contacts/{con_id}"),
            format!("/m/Contacts/{con_id}?tab=history"),
            format!("/m/Contacts/{con_id}/edit"),
            "/search?q=alert".to_string(),
            "/".to_string(),
        ] {
            let p = b.get(&app, &path).await;
            assert_eq!(p.status, StatusCode::OK, "{path}");
            for h in hostile {
                assert!(!p.body.contains(h), "{path} contains unescaped {h}");
            }
            assert!(!p.body.contains("<img src=x"), "{path}");
            assert!(!p.body.contains("href=\"javascript:"), "{path} links to javascript:");
        }
        let p = b.get(&app, &format!("/m/Accounts/{acc_id}")).await;
        assert!(
            p.body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "the name is shown as text"
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn forms_keep_input_show_errors_and_conflicts() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let form = b.get(&app, "/m/Contacts/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = hidden(&form.body, "_csrf");
        // invalid e-mail: the error is shown at the field and the other values are kept
        let p = b
            .post(
                &app,
                "/m/Contacts",
                &[
                    ("_csrf", &csrf),
                    ("lastname", "欧阳"),
                    ("firstname", "娜娜"),
                    ("email", "not-an-email"),
                    ("mobile", "138 0013 8000"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", db.backend);
        assert!(p.body.contains("不是有效的电子邮件地址"));
        assert!(
            p.body.contains("value=\"欧阳\"")
                && p.body.contains("value=\"138 0013 8000\"")
                && p.body.contains("value=\"not-an-email\"")
        );
        // a valid one is created and we land on it
        let p = b
            .post(
                &app,
                "/m/Contacts",
                &[
                    ("_csrf", &csrf),
                    ("lastname", "欧阳"),
                    ("firstname", "娜娜"),
                    ("email", "nana@example.cn"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let location = p.location.unwrap();
        assert!(location.contains("flash=created"));
        let id: i64 = location
            .trim_start_matches("/m/Contacts/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let detail = b.get(&app, &location).await;
        assert!(detail.body.contains("欧阳娜娜") && detail.body.contains("已创建"));
        // while creating, likely duplicates are offered with a link
        assert!(form.body.contains("id=\"duplicates\""));
        let dup = b
            .post(
                &app,
                "/m/Contacts/duplicates",
                &[("_csrf", &csrf), ("lastname", "Other"), ("email", "NANA@example.cn")],
            )
            .await;
        assert_eq!(dup.status, StatusCode::OK);
        assert!(
            dup.body.contains("可能已有重复记录") && dup.body.contains(&format!("/m/Contacts/{id}")),
            "{}",
            dup.body
        );
        let none = b
            .post(
                &app,
                "/m/Contacts/duplicates",
                &[("_csrf", &csrf), ("lastname", "Nobody")],
            )
            .await;
        assert!(!none.body.contains("可能已有重复记录"));
        // someone else saves first: the form says so, shows their change and keeps ours
        let edit = b.get(&app, &format!("/m/Contacts/{id}/edit")).await;
        assert_eq!(hidden(&edit.body, "_version"), "1");
        app.admin(
            "PATCH",
            &format!("/api/v1/records/Contacts/{id}"),
            Some(json!({"version": 1, "fields": {"title": "采购经理"}})),
        )
        .await;
        let p = b
            .post(
                &app,
                &format!("/m/Contacts/{id}"),
                &[
                    ("_csrf", &csrf),
                    ("_version", "1"),
                    ("lastname", "欧阳"),
                    ("firstname", "娜"),
                    ("title", ""),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("其他人已先保存了此记录") && p.body.contains("采购经理"));
        assert!(p.body.contains("value=\"娜\""), "our value is kept");
        assert_eq!(
            hidden(&p.body, "_version"),
            "2",
            "saving again applies ours on top of theirs"
        );
        let p = b
            .post(
                &app,
                &format!("/m/Contacts/{id}"),
                &[
                    ("_csrf", &csrf),
                    ("_version", "2"),
                    ("lastname", "欧阳"),
                    ("firstname", "娜"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, rec) = app.admin("GET", &format!("/api/v1/records/Contacts/{id}"), None).await;
        assert_eq!(rec["fields"]["firstname"], "娜");
        assert_eq!(
            rec["fields"]["title"], "采购经理",
            "a field not on the resubmitted form keeps their value"
        );
        // delete to the recycle bin and restore
        let p = b
            .post(&app, &format!("/m/Contacts/{id}/delete"), &[("_csrf", &csrf)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let bin = b.get(&app, "/m/Contacts?deleted=1").await;
        assert!(bin.body.contains("欧阳娜"));
        let p = b
            .post(&app, &format!("/m/Contacts/{id}/restore"), &[("_csrf", &csrf)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        // unknown pages are error pages, not JSON
        let p = b.get(&app, "/m/Spaceships").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert!(p.body.contains("<html"));
        let p = b.get(&app, "/nowhere").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert!(p.body.contains("<html"), "{}", p.body);
        // assets are served with caching headers
        let p = b.get(&app, "/assets/app.css").await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("--"), "a stylesheet");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn conflicts_show_their_change_with_names_and_formats() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, org) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "星辰科技"}})),
            )
            .await;
        let org = org["id"].as_i64().unwrap();
        let (_, contact) = app
            .admin(
                "POST",
                "/api/v1/records/Contacts",
                Some(json!({"fields": {"lastname": "冲突", "title": "旧职位"}})),
            )
            .await;
        let id = contact["id"].as_i64().unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let settings = b.get(&app, "/settings").await;
        let csrf = hidden(&settings.body, "_csrf");
        let p = b
            .post(
                &app,
                "/settings",
                &[
                    ("_csrf", &csrf),
                    ("language", "zh-CN"),
                    ("time_zone", "Asia/Shanghai"),
                    ("date_format", "yyyy年m月d日"),
                    ("number_format", "1,234.56"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        // someone else links the organization and sets a date after we opened the record
        app.admin(
            "PATCH",
            &format!("/api/v1/records/Contacts/{id}"),
            Some(json!({"version": 1, "fields": {"account_id": org, "birthday": "1990-03-05"}})),
        )
        .await;
        let p = b
            .post(
                &app,
                &format!("/m/Contacts/{id}"),
                &[("_csrf", &csrf), ("_version", "1"), ("lastname", "冲突")],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", db.backend);
        let table = &p.body[p.body.find("class=\"conflict\"").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(
            table.contains("星辰科技"),
            "the organization's name, not its id: {table}"
        );
        assert!(!table.contains(&format!(">{org}<")), "{table}");
        assert!(table.contains("1990年3月5日"), "the date in the user's format: {table}");
        assert!(table.contains("Administrator"), "who changed it");
        // inline edit with a stale version: the same, for the one field
        let p = b
            .post(
                &app,
                &format!("/m/Contacts/{id}/inline/title"),
                &[("_csrf", &csrf), ("_version", "1"), ("title", "我的职位")],
            )
            .await;
        assert!(p.body.contains("其他人已先保存了此记录"), "{}", p.body);
        assert!(
            p.body.contains("星辰科技") && p.body.contains("1990年3月5日") && p.body.contains("对方的值"),
            "{}",
            p.body
        );
        assert!(p.body.contains("value=\"我的职位\""), "our value is kept");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn inline_edit_and_mass_actions() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "wangfang", "password": "wang-pass-1", "last_name": "王", "first_name": "芳"})),
        )
        .await;
        let wang = sable_store::users::find_user(&app.store, "wangfang")
            .await
            .unwrap()
            .unwrap();
        let mut ids = Vec::new();
        for name in ["甲公司", "乙公司", "丙公司"] {
            let (_, r) = app
                .admin(
                    "POST",
                    "/api/v1/records/Accounts",
                    Some(json!({"fields": {"accountname": name}})),
                )
                .await;
            ids.push(r["id"].as_i64().unwrap());
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let detail = b.get(&app, &format!("/m/Accounts/{}", ids[0])).await;
        let csrf = hidden(&detail.body, "_csrf");
        assert!(
            detail
                .body
                .contains(&format!("hx-get=\"/m/Accounts/{}/inline/phone\"", ids[0]))
                || detail.body.contains("inline&#x2f;phone"),
            "fields are editable in place"
        );
        // inline: the one-field form, then a save through the record service
        let form = b.get(&app, &format!("/m/Accounts/{}/inline/phone", ids[0])).await;
        assert_eq!(form.status, StatusCode::OK, "{}", db.backend);
        assert!(form.body.contains("name=\"phone\""));
        let saved = b
            .post(
                &app,
                &format!("/m/Accounts/{}/inline/phone", ids[0]),
                &[("_csrf", &csrf), ("_version", "1"), ("phone", "010-8888 6666")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK);
        assert!(saved.body.contains("010-8888 6666") && saved.body.contains("inline-edit"));
        let bad = b
            .post(
                &app,
                &format!("/m/Accounts/{}/inline/email1", ids[0]),
                &[("_csrf", &csrf), ("_version", "2"), ("email1", "bad")],
            )
            .await;
        assert!(bad.body.contains("不是有效的电子邮件地址") && bad.body.contains("value=\"bad\""));
        let stale = b
            .post(
                &app,
                &format!("/m/Accounts/{}/inline/phone", ids[0]),
                &[("_csrf", &csrf), ("_version", "1"), ("phone", "010-1234 5678")],
            )
            .await;
        assert!(stale.body.contains("其他人已先保存了此记录"));
        let history = b.get(&app, &format!("/m/Accounts/{}?tab=history", ids[0])).await;
        assert!(
            history.body.contains("010-8888 6666"),
            "the inline change is in the history"
        );
        // read-only fields are not editable in place
        assert_eq!(
            b.get(&app, &format!("/m/Accounts/{}/inline/account_no", ids[0]))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        // mass transfer of two records to another user
        let owner = wang.id.to_string();
        let (a, c) = (ids[0].to_string(), ids[1].to_string());
        let p = b
            .post(
                &app,
                "/m/Accounts/bulk",
                &[
                    ("_csrf", &csrf),
                    ("ids", &a),
                    ("ids", &c),
                    ("action", "transfer"),
                    ("owner", &owner),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let list = b.get(&app, p.location.as_deref().unwrap()).await;
        assert!(list.body.contains("已修改 2 条记录"), "{}", list.body);
        for id in &ids[..2] {
            let (_, r) = app.admin("GET", &format!("/api/v1/records/Accounts/{id}"), None).await;
            assert_eq!(r["fields"]["assigned_user_id"], wang.id);
        }
        let (_, r) = app
            .admin("GET", &format!("/api/v1/records/Accounts/{}", ids[2]), None)
            .await;
        assert_ne!(
            r["fields"]["assigned_user_id"], wang.id,
            "the unselected record keeps its owner"
        );
        // mass edit and delete
        let p = b
            .post(
                &app,
                "/m/Accounts/bulk",
                &[
                    ("_csrf", &csrf),
                    ("ids", &a),
                    ("ids", &c),
                    ("action", "edit"),
                    ("field", "industry"),
                    ("value", "科技"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, r) = app
            .admin("GET", &format!("/api/v1/records/Accounts/{}", ids[1]), None)
            .await;
        assert_eq!(r["fields"]["industry"], "Technology");
        let p = b
            .post(
                &app,
                "/m/Accounts/bulk",
                &[
                    ("_csrf", &csrf),
                    ("ids", &a),
                    ("action", "edit"),
                    ("field", "email1"),
                    ("value", "bad"),
                ],
            )
            .await;
        // which records failed and why, not only how many
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("已修改 0 条记录；1 条无法修改"), "{}", p.body);
        let failures = &p.body[p.body.find("bulk-failures").unwrap()..];
        assert!(
            failures.contains(&format!("Accounts&#x2f;{}\"", ids[0]))
                && failures.contains("甲公司")
                && failures.contains("不是有效的电子邮件地址"),
            "{failures}"
        );
        // the list offers each field's own widget for mass edit: picklist labels, yes/no, dates
        let list = b.get(&app, "/m/Accounts").await;
        let bar = &list.body[list.body.find("bulk-bar").unwrap()..];
        assert!(
            bar.contains("id=\"bulk-value-industry\"") && bar.contains(">科技<"),
            "picklist labels"
        );
        let optout = &bar[bar.find("id=\"bulk-value-emailoptout\"").unwrap()..];
        assert!(
            optout.starts_with("id=\"bulk-value-emailoptout\" name=\"value\" disabled><option value=\"1\">是</option>"),
            "{optout}"
        );
        let p = b
            .post(&app, "/m/Accounts/bulk", &[("ids", &a), ("action", "delete")])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "no token, no mass delete");
        let p = b
            .post(
                &app,
                "/m/Accounts/bulk",
                &[("_csrf", &csrf), ("ids", &a), ("action", "delete")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.admin("GET", &format!("/api/v1/records/Accounts/{}", ids[0]), None)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn admin_adds_users_and_deactivates_with_transfer() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut admin = Browser::new();
        admin.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = admin.get(&app, "/admin/users").await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        let csrf = hidden(&page.body, "_csrf");
        for (user, last) in [("leaver", "离职"), ("heir", "接手")] {
            let p = admin
                .post(
                    &app,
                    "/admin/users",
                    &[
                        ("_csrf", &csrf),
                        ("user_name", user),
                        ("password", "user-pass-1"),
                        ("last_name", last),
                        ("language", "zh-CN"),
                        ("time_zone", "Asia/Shanghai"),
                    ],
                )
                .await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        }
        let bad = admin
            .post(
                &app,
                "/admin/users",
                &[
                    ("_csrf", &csrf),
                    ("user_name", "x y"),
                    ("password", "short"),
                    ("last_name", "坏"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body.contains("无法保存") && bad.body.contains("value=\"坏\""),
            "the error is shown and input kept"
        );
        // a non-administrator may not open the page
        let mut leaver = Browser::new();
        leaver.login(&app, "leaver", "user-pass-1").await;
        assert_eq!(leaver.get(&app, "/admin/users").await.status, StatusCode::FORBIDDEN);
        // the leaver owns records; deactivating hands them to the heir in the same step
        let leaver_user = sable_store::users::find_user(&app.store, "leaver")
            .await
            .unwrap()
            .unwrap();
        let heir = sable_store::users::find_user(&app.store, "heir")
            .await
            .unwrap()
            .unwrap();
        for name in ["客户一", "客户二"] {
            app.admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": name, "assigned_user_id": leaver_user.id}})),
            )
            .await;
        }
        app.admin(
            "POST",
            "/api/v1/records/Leads",
            Some(json!({"fields": {"lastname": "线索", "assigned_user_id": leaver_user.id}})),
        )
        .await;
        let heir_id = heir.id.to_string();
        let p = admin
            .post(
                &app,
                &format!("/admin/users/{}/deactivate", leaver_user.id),
                &[("_csrf", &csrf), ("transfer_to", &heir_id)],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let done = admin.get(&app, p.location.as_deref().unwrap()).await;
        assert!(done.body.contains("转移了 3 条记录"), "{}", done.body);
        let (_, page) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts/query",
                Some(json!({"filter": {"field": "assigned_user_id", "op": "eq", "value": heir.id}})),
            )
            .await;
        assert_eq!(page["count"], 2);
        let (_, page) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"filter": {"field": "assigned_user_id", "op": "eq", "value": leaver_user.id}})),
            )
            .await;
        assert_eq!(page["count"], 0, "nothing is left orphaned");
        assert_eq!(
            leaver.get(&app, "/").await.status,
            StatusCode::SEE_OTHER,
            "the leaver's session ended"
        );
        // password reset and preferences
        let p = admin
            .post(
                &app,
                &format!("/admin/users/{}/password", heir.id),
                &[("_csrf", &csrf), ("password", "new-heir-pass")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert!(
            sable_store::users::login(&app.store, "heir", "new-heir-pass")
                .await
                .unwrap()
                .is_ok()
        );
        let p = admin
            .post(
                &app,
                &format!("/admin/users/{}/preferences", heir.id),
                &[("_csrf", &csrf), ("language", "en"), ("time_zone", "Europe/London")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let heir = sable_store::users::find_user(&app.store, "heir")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (heir.language.as_str(), heir.time_zone.as_str()),
            ("en", "Europe/London")
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn admin_edits_fields_picklists_and_order() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, "/admin/fields?module=Leads").await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        let csrf = hidden(&page.body, "_csrf");
        // add a custom picklist field with labels in both languages
        let p = b
            .post(
                &app,
                "/admin/fields/Leads",
                &[
                    ("_csrf", &csrf),
                    ("name", "cf_region"),
                    ("type", "picklist"),
                    ("label_en", "Region"),
                    ("label_zh", "区域"),
                    ("block", "lead_information"),
                    ("values", "North | North China | 华北\nEast | East China | 华东"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let form = b.get(&app, "/m/Leads/new").await;
        assert!(
            form.body.contains("区域") && form.body.contains(">华东<"),
            "the new field appears in the form at once"
        );
        let bad = b
            .post(
                &app,
                "/admin/fields/Leads",
                &[
                    ("_csrf", &csrf),
                    ("name", "Bad Name"),
                    ("type", "text"),
                    ("label_en", "x"),
                    ("label_zh", "x"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        // field types are named in the user's language; an auto-number field takes a prefix
        let page = b.get(&app, "/admin/fields?module=Leads").await;
        assert!(
            page.body.contains(">自动编号<") && page.body.contains(">下拉列表<"),
            "type names in Chinese"
        );
        let p = b
            .post(
                &app,
                "/admin/fields/Leads",
                &[
                    ("_csrf", &csrf),
                    ("name", "cf_serial"),
                    ("type", "auto_number"),
                    ("label_en", "Serial"),
                    ("label_zh", "序列号"),
                    ("prefix", "XS-"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let described = app.store.registry().await.unwrap();
        let serial = described.module("Leads").unwrap().field("cf_serial").unwrap();
        assert_eq!(serial.number_prefix.as_deref(), Some("XS-"));
        // edit values of a built-in picklist: add one, relabel one
        let values = b.get(&app, "/admin/fields/Leads/leadsource/values").await;
        assert!(values.body.contains("Cold Call | Cold Call | 陌生电话"));
        let mut text =
            String::from("Cold Call | Cold Call | 电话陌拜\nWeb Site | Web Site | 官网\nWeChat | WeChat | 微信\n");
        text.push_str("Other | Other | 其他");
        let p = b
            .post(
                &app,
                "/admin/fields/Leads/leadsource/values",
                &[("_csrf", &csrf), ("values", &text)],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (s, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "新", "leadsource": "微信", "cf_region": "华北"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{lead}");
        assert_eq!(lead["fields"]["leadsource"], "WeChat");
        let dup = b
            .post(
                &app,
                "/admin/fields/Leads/leadsource/values",
                &[("_csrf", &csrf), ("values", "A\nA")],
            )
            .await;
        assert_eq!(dup.status, StatusCode::OK);
        assert!(dup.body.contains("无法保存"));
        // stage values keep their probability and kind when relabelled
        let p = b
            .post(
                &app,
                "/admin/fields/Opportunities/sales_stage/values",
                &[
                    ("_csrf", &csrf),
                    (
                        "values",
                        "Prospecting | First contact | 初次接触\nClosed Won | Won | 赢单\nClosed Lost | Lost | 丢单",
                    ),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, described) = app.admin("GET", "/api/v1/modules/Opportunities", None).await;
        let stage = described["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "sales_stage")
            .unwrap();
        assert_eq!(stage["picklist"]["values"][0]["labels"]["zh-CN"], "初次接触");
        assert_eq!(stage["picklist"]["values"][1]["kind"], "won");
        // order: put company first in its block
        let p = b
            .post(
                &app,
                "/admin/fields/Leads/layout",
                &[
                    ("_csrf", &csrf),
                    ("seq.company", "0"),
                    ("block.company", "lead_information"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let form = b.get(&app, "/m/Leads/new").await;
        let company = form.body.find("data-field=\"company\"").unwrap();
        let lastname = form.body.find("data-field=\"lastname\"").unwrap();
        assert!(company < lastname, "company now comes first");
        // only administrators
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "plain", "password": "plain-pass-1", "last_name": "Plain"})),
        )
        .await;
        let mut plain = Browser::new();
        plain.login(&app, "plain", "plain-pass-1").await;
        assert_eq!(plain.get(&app, "/admin/fields").await.status, StatusCode::FORBIDDEN);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn advanced_filter_and_saved_views() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        for (name, status) in [("甲", "Hot"), ("乙", "Cold"), ("丙", "Hot")] {
            app.admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": name, "leadstatus": status, "company": format!("{name}公司")}})),
            )
            .await;
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        // conditions from the builder, with a relative date
        let p = b
            .get(
                &app,
                "/m/Leads?m=all&f=leadstatus&o=eq&v=%E7%83%AD&f=createdtime&o=eq&v=%40this_month",
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", db.backend);
        assert!(
            p.body.contains("甲公司") && p.body.contains("丙公司") && !p.body.contains("乙公司"),
            "{}",
            p.body
        );
        assert!(p.body.contains("共 2 条"));
        // the list exports as it is filtered, in UTF-8 with BOM, with its columns
        let csv = b
            .get(&app, "/m/Leads/export?f=leadstatus&o=eq&v=Hot&cols=lastname,company")
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(
            csv.body.starts_with('\u{feff}'),
            "a BOM so Excel reads the Chinese correctly"
        );
        assert!(
            csv.body.contains("姓,公司") && csv.body.contains("甲公司") && !csv.body.contains("乙公司"),
            "{}",
            csv.body
        );
        let xlsx = b.get(&app, "/m/Leads/export?format=xlsx").await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(xlsx.body.starts_with("PK"), "an XLSX (zip) file");
        // a bad condition says what is wrong and still lists
        let p = b.get(&app, "/m/Leads?f=leadstatus&o=lt&v=x").await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("无法应用筛选") && p.body.contains("乙公司"));
        // save it as a shared view with chosen columns, then open it
        let csrf = hidden(&p.body, "_csrf");
        let s = b
            .post(
                &app,
                "/m/Leads/views",
                &[
                    ("_csrf", &csrf),
                    ("m", "any"),
                    ("f", "leadstatus"),
                    ("o", "in"),
                    ("v", "Cold"),
                    ("col", "lastname"),
                    ("col", "leadstatus"),
                    ("name", "冷线索"),
                    ("shared", "1"),
                ],
            )
            .await;
        assert_eq!(s.status, StatusCode::SEE_OTHER);
        let view = b.get(&app, s.location.as_deref().unwrap()).await;
        assert!(
            view.body.contains("冷线索") && view.body.contains("乙") && !view.body.contains("甲公司"),
            "{}",
            view.body
        );
        // another user sees the shared view
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "viewer", "password": "viewer-pass-1", "last_name": "Viewer"})),
        )
        .await;
        let mut other = Browser::new();
        other.login(&app, "viewer", "viewer-pass-1").await;
        assert!(other.get(&app, "/m/Leads").await.body.contains("冷线索"));
        // a view with a bad filter is refused with the reason
        let s = b
            .post(
                &app,
                "/m/Leads/views",
                &[("_csrf", &csrf), ("f", "nope"), ("o", "eq"), ("v", "1"), ("name", "坏")],
            )
            .await;
        let back = b.get(&app, s.location.as_deref().unwrap()).await;
        assert!(back.body.contains("nope"), "the error names the field");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn comments_on_records() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, acc) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "评论公司"}})),
            )
            .await;
        let id = acc["id"].as_i64().unwrap();
        let path = format!("/api/v1/records/Accounts/{id}/comments");
        let (s, c) = app
            .admin(
                "POST",
                &path,
                Some(json!({"body": "客户说：\"下周再谈\" <script>alert(1)</script>"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{}: {c}", db.backend);
        assert_eq!(
            app.admin("POST", &path, Some(json!({"body": "   "}))).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.admin("POST", &path, Some(json!({"body": "x".repeat(10_001)})))
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.admin(
                "POST",
                "/api/v1/records/Accounts/999999/comments",
                Some(json!({"body": "x"}))
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, &format!("/m/Accounts/{id}?tab=comments")).await;
        assert!(page.body.contains("下周再谈") && !page.body.contains("<script>alert(1)</script>"));
        let csrf = hidden(&page.body, "_csrf");
        let p = b
            .post(
                &app,
                &format!("/m/Accounts/{id}/comments"),
                &[("_csrf", &csrf), ("body", "第二条评论")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        // an empty comment is refused with the reason in the reader's language, page and API
        let empty = b
            .post(
                &app,
                &format!("/m/Accounts/{id}/comments"),
                &[("_csrf", &csrf), ("body", "  ")],
            )
            .await;
        let shown = b.get(&app, empty.location.as_deref().unwrap()).await;
        assert!(shown.body.contains("评论不能为空。"), "{}", shown.body);
        let req = Request::builder()
            .method("POST")
            .uri(&path)
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .header("accept-language", "zh-CN,zh;q=0.9")
            .body(Body::from(json!({"body": "x".repeat(10_001)}).to_string()))
            .unwrap();
        let (s, e) = app.send(req).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["error"]["message"], "评论最多 10000 个字符。", "{e}");
        let (_, list) = app.admin("GET", &path, None).await;
        assert_eq!(list["items"][0]["body"], "第二条评论", "newest first");
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        // another user who cannot see the record cannot read or add comments
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "outsider", "password": "outsider-pass", "last_name": "Out"})),
        )
        .await;
        let (_, body) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "outsider", "password": "outsider-pass"})),
            )
            .await;
        let token = body["token"].as_str().unwrap().to_string();
        assert_eq!(
            app.call("GET", &path, Some(&token), None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.call("POST", &path, Some(&token), Some(json!({"body": "x"})))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn dates_and_numbers_in_the_users_format() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, opp) = app
            .admin("POST", "/api/v1/records/Opportunities", Some(json!({"fields": {"potentialname": "格式商机", "amount": "1234567.5", "closingdate": "2026-03-05"}})))
            .await;
        let id = opp["id"].as_i64().unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let before = b.get(&app, &format!("/m/Opportunities/{id}")).await;
        assert!(
            before.body.contains("¥1,234,567.50") && before.body.contains("2026-03-05"),
            "{}",
            db.backend
        );
        let settings = b.get(&app, "/settings").await;
        assert_eq!(settings.status, StatusCode::OK);
        let csrf = hidden(&settings.body, "_csrf");
        let p = b
            .post(
                &app,
                "/settings",
                &[
                    ("_csrf", &csrf),
                    ("language", "zh-CN"),
                    ("time_zone", "Asia/Shanghai"),
                    ("date_format", "yyyy年m月d日"),
                    ("number_format", "1.234,56"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let after = b.get(&app, &format!("/m/Opportunities/{id}")).await;
        assert!(after.body.contains("¥1.234.567,50"), "number format");
        assert!(
            after.body.contains("2026年3月5日"),
            "date format; the date itself never shifts"
        );
        let bad = b
            .post(
                &app,
                "/settings",
                &[
                    ("_csrf", &csrf),
                    ("language", "zh-CN"),
                    ("time_zone", "Mars/Olympus"),
                    ("date_format", "yyyy-mm-dd"),
                    ("number_format", "1,234.56"),
                ],
            )
            .await;
        assert!(bad.body.contains("无法保存"));
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn import_wizard_preview_dry_run_real_run_and_undo() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, "/import?module=Contacts").await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        let csrf = hidden(&page.body, "_csrf");
        let csv = "姓,名,邮箱,备注列\r\n李,娜,li@example.cn,x\r\n王,芳,bad-email,y\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        let boundary = "wizard-boundary";
        let mut body = Vec::new();
        for (name, value) in [("_csrf", csrf.as_str()), ("module", "Contacts")] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(&gbk);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = Request::builder().method("POST").uri("/import/upload").header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header(header::COOKIE, cookies.join("; "));
        let resp = app
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let preview = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(
            preview.contains(">GBK<") && preview.contains("李"),
            "encoding and rows shown: {preview}"
        );
        assert!(
            preview.contains("<option value=\"lastname\" selected>"),
            "姓 maps to lastname by its Chinese label"
        );
        let token = hidden(&preview, "token");
        // dry run first
        let run = |dry: bool| {
            let mut f = vec![
                ("_csrf", csrf.clone()),
                ("token", token.clone()),
                ("module", "Contacts".into()),
                ("file_name", "c.csv".into()),
                ("encoding", "auto".into()),
            ];
            f.extend([
                ("col.姓", "lastname".to_string()),
                ("col.名", "firstname".into()),
                ("col.邮箱", "email".into()),
                ("col.备注列", String::new()),
                ("on_duplicate", "skip".into()),
            ]);
            if dry {
                f.push(("dry_run", "1".into()));
            }
            f
        };
        let form = run(true);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = b.post(&app, "/import/run", &pairs).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let job_path = p.location.unwrap();
        let mut job = b.get(&app, &job_path).await;
        for _ in 0..100 {
            if !job.body.contains("hx-trigger=\"every 1s\"") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            job = b.get(&app, &job_path).await;
        }
        assert!(
            job.body.contains("试运行") && job.body.contains("新建 1") && job.body.contains("失败 1"),
            "{}",
            job.body
        );
        let (_, page) = app
            .admin("POST", "/api/v1/records/Contacts/query", Some(json!({})))
            .await;
        assert_eq!(page["count"], 0, "the dry run wrote nothing");
        let failed = b.get(&app, &format!("{job_path}/failed.csv")).await;
        assert!(
            failed.body.contains("bad-email") && failed.body.contains(",3,"),
            "failed rows with their line: {}",
            failed.body
        );
        // for real, from the dry run's page
        let p = b.post(&app, &format!("{job_path}/again"), &[("_csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let real_path = p.location.unwrap();
        for _ in 0..100 {
            let (_, page) = app
                .admin("POST", "/api/v1/records/Contacts/query", Some(json!({})))
                .await;
            if page["count"] == 1 && !b.get(&app, &real_path).await.body.contains("every 1s") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (_, page) = app
            .admin("POST", "/api/v1/records/Contacts/query", Some(json!({})))
            .await;
        assert_eq!(page["items"][0]["label"], "李娜");
        // undo
        let p = b.post(&app, &format!("{real_path}/undo"), &[("_csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, page) = app
            .admin("POST", "/api/v1/records/Contacts/query", Some(json!({})))
            .await;
        assert_eq!(page["count"], 0);
        assert!(b.get(&app, &real_path).await.body.contains("已撤销"));
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn multiselects_clear_duplicates_copy_and_zones_stay() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/modules/Leads/fields",
                Some(json!({"name": "cf_lines", "type": "multipicklist", "label": {"en": "Lines", "zh-CN": "产品线"}, "values": ["ERP", "CRM"]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "多选", "company": "复制测试公司", "cf_lines": ["ERP", "CRM"]}})),
            )
            .await;
        let id = lead["id"].as_i64().unwrap();
        let edit = b.get(&app, &format!("/m/Leads/{id}/edit")).await;
        let csrf = hidden(&edit.body, "_csrf");
        assert!(
            edit.body.contains(r#"<input type="hidden" name="cf_lines" value="">"#),
            "the form sends the field even with nothing selected"
        );
        // unselecting every option sends only the hidden empty value: the field is cleared
        let p = b
            .post(
                &app,
                &format!("/m/Leads/{id}"),
                &[
                    ("_csrf", &csrf),
                    ("_version", "1"),
                    ("lastname", "多选"),
                    ("cf_lines", ""),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}: {}", db.backend, p.body);
        let (_, rec) = app.admin("GET", &format!("/api/v1/records/Leads/{id}"), None).await;
        assert!(
            rec["fields"]["cf_lines"].is_null() || rec["fields"]["cf_lines"] == json!([]),
            "{rec}"
        );
        // "duplicate this record" opens a new form filled from it
        let copy = b.get(&app, &format!("/m/Leads/new?from={id}")).await;
        assert_eq!(copy.status, StatusCode::OK);
        assert!(copy.body.contains("value=\"复制测试公司\""), "copied values");
        assert!(!copy.body.contains("name=\"_version\""), "a new record, not an edit");
        // a time zone outside the picker's list stays selected, so saving does not change it
        let (_, user) = app
            .admin(
                "POST",
                "/api/v1/users",
                Some(json!({"user_name": "paris", "password": "paris-pass-1", "last_name": "Paris", "time_zone": "Europe/Paris"})),
            )
            .await;
        assert!(user["id"].is_i64(), "{user}");
        // history names people, not ids, and shows labels of list values
        let (s, _) = app
            .admin(
                "PATCH",
                &format!("/api/v1/records/Leads/{id}"),
                Some(json!({"version": 2, "fields": {"assigned_user_id": user["id"], "cf_lines": ["CRM"]}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let history = b.get(&app, &format!("/m/Leads/{id}?tab=history")).await;
        assert!(
            history.body.contains("<del>Administrator</del> <ins>Paris</ins>"),
            "owner names in history"
        );
        // the earlier clearing shows the labels that were there, then "empty"
        assert!(
            history.body.contains("<del>ERP、CRM</del> <ins>（空）</ins>"),
            "list values in history"
        );
        assert!(!history.body.contains(&format!(">{}<", user["id"])), "no bare ids");
        let page = b.get(&app, "/admin/users").await;
        assert!(
            page.body.contains("<option selected>Europe&#x2f;Paris</option>"),
            "{}",
            db.backend
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

/// Uploads `bytes` to the import wizard and returns the preview page.
async fn wizard_upload(app: &TestApp, b: &Browser, csrf: &str, module: &str, bytes: &[u8]) -> String {
    let boundary = "wizard-boundary";
    let mut body = Vec::new();
    for (name, value) in [("_csrf", csrf), ("module", module)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"w.csv\"\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = Request::builder()
        .method("POST")
        .uri("/import/upload")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookies.join("; "));
    let resp = app
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// Follows a job page until it stops refreshing itself.
async fn wizard_finished(app: &TestApp, b: &mut Browser, path: &str) -> String {
    for _ in 0..200 {
        let page = b.get(app, path).await;
        if !page.body.contains("hx-trigger=\"every 1s\"") {
            return page.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} did not finish");
}

#[tokio::test]
async fn import_wizard_keeps_the_encoding_creates_chosen_fields_and_reports_warnings() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let page = b.get(&app, "/import?module=Leads").await;
        let csrf = hidden(&page.body, "_csrf");
        let csv = "姓,微信,备注列,线索来源,空列\r\n李,wx_li,x,抖音,\r\n王,,y,展会,\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        let preview = wizard_upload(&app, &b, &csrf, "Leads", &gbk).await;
        assert!(
            preview.contains(r#"<option value="auto" selected>"#),
            "{}: auto until one is forced",
            db.backend
        );
        // The columns with data that go nowhere are named, each with its checkbox; the
        // empty one is not.
        assert!(preview.contains(r#"name="create.微信""#) && preview.contains(r#"name="create.备注列""#));
        assert!(!preview.contains(r#"name="create.空列""#), "{preview}");
        assert!(preview.contains(r#"name="add_picklist_values""#) && preview.contains(r#"name="default_owner""#));
        let token = hidden(&preview, "token");
        let form = |extra: &[(&'static str, &'static str)]| {
            let mut f: Vec<(&str, String)> = vec![
                ("_csrf", csrf.clone()),
                ("token", token.clone()),
                ("module", "Leads".into()),
                ("file_name", "w.csv".into()),
                ("col.姓", "lastname".into()),
                ("col.微信", String::new()),
                ("col.备注列", String::new()),
                ("col.线索来源", "leadsource".into()),
                ("col.空列", String::new()),
                ("on_duplicate", "skip".into()),
            ];
            f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            f
        };
        // (a) read again with a forced encoding: the select keeps it, so the start button sends it
        let again = form(&[("encoding", "gb18030"), ("reread", "1")]);
        let pairs: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reread = b.post(&app, "/import/run", &pairs).await;
        assert!(
            reread.body.contains(r#"<option value="gb18030" selected>"#),
            "{}",
            reread.body
        );
        assert!(!reread.body.contains(r#"<option value="auto" selected>"#));
        // (b) a field for 微信 only, the unknown source added, and owned by the admin
        let run = form(&[
            ("encoding", "gb18030"),
            ("create.微信", "1"),
            ("add_picklist_values", "1"),
            ("default_owner", "1"),
        ]);
        let pairs: Vec<(&str, &str)> = run.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = b.post(&app, "/import/run", &pairs).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let job_path = p.location.unwrap();
        let job = wizard_finished(&app, &mut b, &job_path).await;
        assert!(job.contains("新建 2") && job.contains("失败 0"), "{job}");
        // (c) the job page names what it created and what was left out
        assert!(job.contains("已新建自定义字段：cf_col_2"), "{job}");
        assert!(job.contains("已添加下拉选项：leadsource: 抖音"), "{job}");
        assert!(
            job.contains("<li>备注列</li>") && !job.contains("<li>微信</li>"),
            "{job}"
        );
        let (_, page) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"filter": {"field": "cf_col_2", "op": "eq", "value": "wx_li"}})),
            )
            .await;
        assert_eq!(page["count"], 1, "{page}");
        let (_, module) = app.admin("GET", "/api/v1/modules/Leads", None).await;
        assert!(!module.to_string().contains("cf_col_3"), "no field for 备注列");
        // (d) the job knows how many rows it had, for the bar's max
        let id = job_path.rsplit('/').next().unwrap();
        let (_, j) = app.admin("GET", &format!("/api/v1/imports/{id}"), None).await;
        assert_eq!(j["total_rows"], 2, "{j}");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_import_job_page_says_the_detected_date_order() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let boundary = "sable-date-order-boundary";
        let csv = "lastname,birthday\n甲,25/12/1990\n乙,05/03/1991\n";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{{\"module\":\"Contacts\"}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        let (status, started) = app
            .raw(
                "POST",
                "/api/v1/imports",
                &format!("multipart/form-data; boundary={boundary}"),
                body.into_bytes(),
            )
            .await;
        assert!(status.is_success(), "{started}");
        let id = started["id"].as_i64().unwrap();
        let job = wizard_finished(&app, &mut b, &format!("/import/jobs/{id}")).await;
        assert!(
            job.contains("纯数字日期按 DD&#x2f;MM&#x2f;YYYY 读取"),
            "{}: {job}",
            db.backend
        );
        let (_, j) = app.admin("GET", &format!("/api/v1/imports/{id}"), None).await;
        assert_eq!(j["report"]["date_order"], "dmy (detected)", "{j}");
        assert_eq!(j["created"], 2, "{j}");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn selected_rows_export_in_the_chosen_encoding_and_format() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let mut ids = Vec::new();
        for (name, company) in [("甲", "选中一"), ("乙", "没选"), ("丙", "选中二")] {
            let (_, lead) = app
                .admin(
                    "POST",
                    "/api/v1/records/Leads",
                    Some(json!({"fields": {"lastname": name, "company": company}})),
                )
                .await;
            ids.push(lead["id"].as_i64().unwrap().to_string());
        }
        let list = b.get(&app, "/m/Leads").await;
        assert!(
            list.body.contains(r#"formaction="/m/Leads/export""#) && list.body.contains(r#"name="encoding""#),
            "{}: the bulk bar and the header offer export with an encoding",
            db.backend
        );
        let csrf = hidden(&list.body, "_csrf");
        // The raw bytes of a POST, to see the encoding.
        let cookies: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let post_raw = |pairs: Vec<(&'static str, String)>| {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            let req = Request::builder()
                .method("POST")
                .uri("/m/Leads/export")
                .header(header::COOKIE, cookies.join("; "))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            let router = app.router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                let status = resp.status();
                (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
            }
        };
        let (s, bytes) = post_raw(vec![
            ("_csrf", csrf.clone()),
            ("ids", ids[0].clone()),
            ("ids", ids[2].clone()),
            ("format", "csv".into()),
            ("encoding", "gb18030".into()),
        ])
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(std::str::from_utf8(&bytes).is_err(), "GB18030, not UTF-8");
        let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad);
        assert!(
            text.contains("选中一") && text.contains("选中二") && !text.contains("没选"),
            "only the selected rows: {text}"
        );
        let (_, bytes) = post_raw(vec![
            ("_csrf", csrf.clone()),
            ("ids", ids[1].clone()),
            ("encoding", "utf-8".into()),
        ])
        .await;
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.starts_with('\u{feff}') && text.contains("没选") && !text.contains("选中一"));
        let (_, bytes) = post_raw(vec![
            ("_csrf", csrf.clone()),
            ("ids", ids[1].clone()),
            ("format", "xlsx".into()),
        ])
        .await;
        assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
        // The default stays UTF-8 with BOM; the header form's GET takes an encoding too.
        let (_, bytes) = post_raw(vec![("_csrf", csrf.clone()), ("ids", ids[1].clone())]).await;
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let plain = b.get(&app, "/m/Leads/export?encoding=utf-8&format=csv").await;
        assert!(!plain.body.starts_with('\u{feff}') && plain.body.contains("选中二"));
        let (s, _) = post_raw(vec![("_csrf", "wrong".into()), ("ids", ids[1].clone())]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a CSRF token is needed");
        let none = b.post(&app, "/m/Leads/export", &[("_csrf", &csrf)]).await;
        assert_eq!(none.status, StatusCode::SEE_OTHER, "nothing selected");
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_running_import_shows_a_bar_that_fills() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let admin = sable_store::users::find_user(&app.store, "admin")
            .await
            .unwrap()
            .unwrap();
        let id = sable_store::imports::create_job(&app.store, &admin.actor(), "Leads", "big.csv", &json!({}))
            .await
            .unwrap();
        let page = b.get(&app, &format!("/import/jobs/{id}/progress")).await;
        assert!(
            page.body.contains("<progress") && !page.body.contains("max="),
            "{}: an indeterminate bar until the rows are counted: {}",
            db.backend,
            page.body
        );
        sable_store::imports::set_total(&app.store, id, 400).await.unwrap();
        sable_store::imports::set_progress(&app.store, id, 100).await.unwrap();
        let page = b.get(&app, &format!("/import/jobs/{id}/progress")).await;
        assert!(
            page.body.contains(r#"value="100" max="400""#) && page.body.contains("100 &#x2f; 400"),
            "{}",
            page.body
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn type_ahead_searches_only_the_fields_target_modules() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        // 210 newer contacts match the text: a global search (limit 200) would hold no account
        let system = sable_store::Actor::unrestricted_for_system_jobs();
        let admin = sable_store::users::find_user(&app.store, "admin")
            .await
            .unwrap()
            .unwrap()
            .id;
        let account = app
            .store
            .records(&system)
            .create(
                "Accounts",
                json!({"accountname": "星辰科技", "assigned_user_id": admin})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
        let contacts: Vec<_> = (0..210)
            .map(|i| {
                json!({"lastname": format!("星辰联系人{i}"), "assigned_user_id": admin})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect();
        app.store
            .records(&system)
            .create_many("Contacts", &contacts, true)
            .await
            .unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let one = b.get(&app, "/ui/lookup/Accounts?q=%E6%98%9F%E8%BE%B0").await;
        assert_eq!(one.status, StatusCode::OK, "{}", db.backend);
        let hits: serde_json::Value = serde_json::from_str(&one.body).unwrap();
        assert_eq!(
            hits,
            json!([{"id": account.id, "label": "星辰科技"}]),
            "{}: the account is found past 210 contacts",
            db.backend
        );
        // several targets: every one is searched and each hit names its module
        let both = b.get(&app, "/ui/lookup/Accounts,Contacts?q=%E6%98%9F%E8%BE%B0").await;
        let hits: serde_json::Value = serde_json::from_str(&both.body).unwrap();
        let hits = hits.as_array().unwrap();
        assert_eq!(hits.len(), 10, "{}", db.backend);
        assert!(
            hits.iter().all(|h| h["module"] == "联系人"),
            "{both:?}",
            both = both.body
        );
        let found = b
            .get(
                &app,
                "/ui/lookup/Accounts,Contacts?q=%E6%98%9F%E8%BE%B0%E7%A7%91%E6%8A%80",
            )
            .await;
        let hits: serde_json::Value = serde_json::from_str(&found.body).unwrap();
        assert_eq!(hits, json!([{"id": account.id, "label": "星辰科技", "module": "客户"}]));
        // an unknown module finds nothing rather than everything
        let none = b.get(&app, "/ui/lookup/Nope?q=%E6%98%9F%E8%BE%B0").await;
        assert_eq!(none.body, "[]");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn filter_builder_nests_groups_and_fits_widgets_to_fields() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        for (name, status, city) in [
            ("甲", "Hot", "北京"),
            ("乙", "Cold", "上海"),
            ("丙", "Hot", "上海"),
            ("丁", "Warm", "上海"),
        ] {
            app.admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": name, "leadstatus": status, "city": city, "company": format!("{name}公司")}})),
            )
            .await;
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        // city = 上海 and (status = Hot or status = Cold), the date by the relative picker
        let nested = "m=all&f=city&o=eq&v=%E4%B8%8A%E6%B5%B7&r=&n=&g=0\
            &m1=any&f=leadstatus&o=eq&v=Hot&r=&n=&g=1&f=leadstatus&o=eq&v=Cold&r=&n=&g=1\
            &f=createdtime&o=eq&v=&r=last_n_days&n=3&g=0";
        let p = b.get(&app, &format!("/m/Leads?{nested}")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", db.backend);
        assert!(
            p.body.contains("乙公司")
                && p.body.contains("丙公司")
                && !p.body.contains("甲公司")
                && !p.body.contains("丁公司"),
            "{}: {}",
            db.backend,
            p.body
        );
        // the builder shows the group with its mode, the picklist by its labels, the relative date picked
        assert!(
            p.body.contains("name=\"m1\" value=\"any\" checked"),
            "the nested group's mode"
        );
        assert!(
            p.body.contains("<option value=\"Hot\" selected>热</option>"),
            "picklist labels"
        );
        assert!(
            p.body
                .contains("<option value=\"last_n_days\" selected>最近 N 天</option>")
        );
        assert!(
            p.body
                .contains("name=\"n\" type=\"number\" min=\"1\" max=\"3650\" value=\"3\"")
        );
        // saved as a view, it comes back the same
        let csrf = hidden(&p.body, "_csrf");
        let mut form: Vec<(String, String)> = form_urlencoded::parse(nested.replace(' ', "").as_bytes())
            .into_owned()
            .collect();
        form.extend([
            ("_csrf".into(), csrf.clone()),
            ("name".into(), "上海热冷".into()),
            ("shared".into(), "1".into()),
        ]);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let s = b.post(&app, "/m/Leads/views", &pairs).await;
        assert_eq!(s.status, StatusCode::SEE_OTHER);
        let view = b.get(&app, s.location.as_deref().unwrap()).await;
        assert!(
            view.body.contains("乙公司") && view.body.contains("丙公司") && !view.body.contains("甲公司"),
            "{}",
            view.body
        );
        assert!(
            view.body.contains("name=\"m1\" value=\"any\" checked") && view.body.contains("value=\"Cold\" selected")
        );
        let saved =
            sable_store::views::list_views(&app.store, &sable_store::Actor::unrestricted_for_system_jobs(), "Leads")
                .await
                .unwrap();
        assert_eq!(
            saved[0].definition.filter,
            json!({"all": [
                {"field": "city", "op": "eq", "value": "上海"},
                {"any": [
                    {"field": "leadstatus", "op": "eq", "value": "Hot"},
                    {"field": "leadstatus", "op": "eq", "value": "Cold"}
                ]},
                {"field": "createdtime", "op": "eq", "value": {"relative": "last_n_days", "n": 3}}
            ]})
        );
        // a row fetched again for another field: only that type's operators and widget
        let row = b.get(&app, "/m/Leads/filter-row?f=emailoptout&o=contains&v=&g=1").await;
        assert_eq!(row.status, StatusCode::OK);
        assert!(
            !row.body.contains("value=\"contains\"") && !row.body.contains("value=\"lt\""),
            "{}",
            row.body
        );
        assert!(
            row.body.contains(">是</option>")
                && row.body.contains(">否</option>")
                && row.body.contains("name=\"g\" value=\"1\"")
        );
        let row = b.get(&app, "/m/Leads/filter-row?f=createdtime&o=ge").await;
        assert!(
            row.body.contains("type=\"date\"")
                && row.body.contains("value=\"this_quarter\"")
                && row.body.contains("value=\"between\"")
        );
        let row = b.get(&app, "/m/Leads/filter-row?f=leadstatus&o=lt").await;
        assert!(
            !row.body.contains("value=\"lt\"") && row.body.contains("value=\"starts_with\""),
            "{}",
            row.body
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn money_is_shown_in_the_company_base_currency() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, opp) = app
            .admin(
                "POST",
                "/api/v1/records/Opportunities",
                Some(json!({"fields": {"potentialname": "币种商机", "amount": "1234567.5", "closingdate": "2026-03-05"}})),
            )
            .await;
        let id = opp["id"].as_i64().unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        // the default is CNY
        let detail = b.get(&app, &format!("/m/Opportunities/{id}")).await;
        assert!(detail.body.contains("¥1,234,567.50"), "{}", db.backend);
        let company = b.get(&app, "/admin/company").await;
        assert_eq!(company.status, StatusCode::OK);
        assert!(company.body.contains("<option value=\"CNY\" selected>CNY (¥)</option>"));
        let csrf = hidden(&company.body, "_csrf");
        let saved = b
            .post(&app, "/admin/company", &[("_csrf", &csrf), ("currency", "USD")])
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let detail = b.get(&app, &format!("/m/Opportunities/{id}")).await;
        assert!(detail.body.contains("$1,234,567.50") && !detail.body.contains("¥1,234,567"));
        let list = b.get(&app, "/m/Opportunities").await;
        assert!(list.body.contains("$1,234,567.50"));
        let home = b.get(&app, "/").await;
        assert!(home.body.contains("$1,234,567.50"), "the pipeline on the home page");
        // a currency without a well-known sign is written by its code
        b.post(
            &app,
            "/admin/company",
            &[("_csrf", &csrf), ("currency", "other"), ("currency_other", "chf")],
        )
        .await;
        assert!(
            b.get(&app, &format!("/m/Opportunities/{id}"))
                .await
                .body
                .contains("CHF 1,234,567.50")
        );
        // a bad code is refused in the reader's language
        let bad = b
            .post(
                &app,
                "/admin/company",
                &[("_csrf", &csrf), ("currency", "other"), ("currency_other", "元")],
            )
            .await;
        assert!(bad.body.contains("不是货币代码"), "{}", bad.body);
        // only administrators change it
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "seller", "password": "seller-pass-1", "last_name": "Seller"})),
        )
        .await;
        let mut other = Browser::new();
        other.login(&app, "seller", "seller-pass-1").await;
        assert_eq!(other.get(&app, "/admin/company").await.status, StatusCode::FORBIDDEN);
        let page = other.get(&app, "/").await;
        let csrf = hidden(&page.body, "_csrf");
        let refused = other
            .post(&app, "/admin/company", &[("_csrf", &csrf), ("currency", "EUR")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn mass_edit_sets_references_and_multiselects() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, acc) = app
            .admin(
                "POST",
                "/api/v1/records/Accounts",
                Some(json!({"fields": {"accountname": "批量客户"}})),
            )
            .await;
        let acc = acc["id"].as_i64().unwrap();
        let mut contacts = Vec::new();
        for name in ["赵", "钱"] {
            let (_, c) = app
                .admin(
                    "POST",
                    "/api/v1/records/Contacts",
                    Some(json!({"fields": {"lastname": name}})),
                )
                .await;
            contacts.push(c["id"].as_i64().unwrap().to_string());
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        // the bulk bar offers the reference with its type-ahead, but not the owner (transfer)
        let list = b.get(&app, "/m/Contacts").await;
        let bar = &list.body[list.body.find("bulk-bar").unwrap()..];
        assert!(
            bar.contains("<option value=\"account_id\">") && !bar.contains("<option value=\"assigned_user_id\">"),
            "{}",
            db.backend
        );
        let widget = &bar[bar.find("data-field=\"account_id\"").unwrap()..];
        let search_url = &widget[widget.find("data-search-url=\"").unwrap()..];
        assert!(
            widget.contains("class=\"typeahead-input\"")
                && search_url.contains("lookup")
                && search_url.contains("Accounts"),
            "{widget}"
        );
        let csrf = hidden(&list.body, "_csrf");
        let acc_text = acc.to_string();
        let p = b
            .post(
                &app,
                "/m/Contacts/bulk",
                &[
                    ("_csrf", &csrf),
                    ("ids", &contacts[0]),
                    ("ids", &contacts[1]),
                    ("action", "edit"),
                    ("field", "account_id"),
                    ("value", &acc_text),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        for id in &contacts {
            let (_, c) = app.admin("GET", &format!("/api/v1/records/Contacts/{id}"), None).await;
            assert_eq!(c["fields"]["account_id"], json!(acc), "{c}");
        }
        // a multi-select: every chosen value, and nothing chosen clears it
        app.admin(
            "POST",
            "/api/v1/modules/Leads/fields",
            Some(json!({"name": "cf_lines", "type": "multipicklist", "label": {"en": "Lines", "zh-CN": "产品线"}, "values": ["ERP", "CRM", "OA"]})),
        )
        .await;
        let mut leads = Vec::new();
        for name in ["孙", "李"] {
            let (_, l) = app
                .admin(
                    "POST",
                    "/api/v1/records/Leads",
                    Some(json!({"fields": {"lastname": name, "cf_lines": ["OA"]}})),
                )
                .await;
            leads.push(l["id"].as_i64().unwrap().to_string());
        }
        let list = b.get(&app, "/m/Leads").await;
        let bar = &list.body[list.body.find("bulk-bar").unwrap()..];
        assert!(
            bar.contains("id=\"bulk-value-cf_lines\" name=\"value\" multiple"),
            "the multi-select"
        );
        let edit = |values: &'static [&'static str]| {
            let mut form = vec![
                ("_csrf", csrf.as_str()),
                ("ids", leads[0].as_str()),
                ("ids", leads[1].as_str()),
                ("action", "edit"),
                ("field", "cf_lines"),
                ("value", ""),
            ];
            form.extend(values.iter().map(|v| ("value", *v)));
            form
        };
        let p = b.post(&app, "/m/Leads/bulk", &edit(&["ERP", "CRM"])).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        for id in &leads {
            let (_, l) = app.admin("GET", &format!("/api/v1/records/Leads/{id}"), None).await;
            assert_eq!(l["fields"]["cf_lines"], json!(["ERP", "CRM"]), "{l}");
        }
        let p = b.post(&app, "/m/Leads/bulk", &edit(&[])).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, l) = app
            .admin("GET", &format!("/api/v1/records/Leads/{}", leads[0]), None)
            .await;
        assert!(
            l["fields"]["cf_lines"].is_null() || l["fields"]["cf_lines"] == json!([]),
            "{l}"
        );
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_bad_field_default_is_refused_in_the_callers_language() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/modules/Leads/fields")
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/json")
            .header("accept-language", "zh-CN,zh;q=0.9")
            .body(Body::from(
                json!({"name": "cf_grade", "type": "picklist", "label": {"en": "Grade", "zh-CN": "等级"}, "values": ["A", "B"], "default": "C"})
                    .to_string(),
            ))
            .unwrap();
        let (s, e) = app.send(req).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{}: {e}", db.backend);
        assert_eq!(
            e["error"]["message"], "默认值“C”对此字段无效（下拉列表字段须为其中的一个值）。",
            "{e}"
        );
        db.cleanup().await;
    }
}

/// Every form the interface posts to refuses a request without the session's CSRF token,
/// and nothing changes.
#[tokio::test]
async fn every_form_route_refuses_a_missing_csrf_token() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "令牌", "company": "令牌公司"}})),
            )
            .await;
        let id = lead["id"].as_i64().expect("lead id");
        let (_, me) = app.admin("GET", "/api/v1/me", None).await;
        let uid = me["id"].as_i64().unwrap_or(1);
        let routes = [
            "/logout".to_string(),
            "/settings/language".into(),
            "/settings".into(),
            "/m/Leads".into(),
            "/m/Leads/export".into(),
            "/m/Leads/bulk".into(),
            "/m/Leads/duplicates".into(),
            "/m/Leads/views".into(),
            "/m/Leads/views/1/delete".into(),
            format!("/m/Leads/{id}"),
            format!("/m/Leads/{id}/inline/company"),
            format!("/m/Leads/{id}/delete"),
            format!("/m/Leads/{id}/restore"),
            format!("/m/Leads/{id}/comments"),
            format!("/m/Leads/{id}/followups"),
            "/agenda/feed".into(),
            format!("/m/Leads/{id}/convert"),
            "/admin/lead-conversion".into(),
            "/admin/stages".into(),
            "/pipeline/1/move".into(),
            "/pipeline/1/check".into(),
            "/admin/users".into(),
            format!("/admin/users/{uid}/deactivate"),
            "/admin/company".into(),
            "/admin/fields/Leads".into(),
            "/admin/assignment-rules".into(),
            "/admin/assignment-rules/1/delete".into(),
            "/admin/webforms".into(),
            "/admin/webforms/1/delete".into(),
            "/admin/fields/Leads/layout".into(),
            "/admin/fields/Leads/leadsource/values".into(),
            "/import/run".into(),
            "/import/jobs/1/undo".into(),
            "/import/jobs/1/again".into(),
            "/dashboards".into(),
            "/dashboards/1/settings".into(),
            "/dashboards/1/delete".into(),
            "/dashboards/1/widgets".into(),
            "/dashboards/1/widgets/1/remove".into(),
            "/dashboards/1/widgets/1/up".into(),
            "/reports".into(),
            "/reports/1/delete".into(),
            "/admin/workflows/new".into(),
            "/admin/workflows/1".into(),
            "/admin/workflows/1/toggle".into(),
            "/admin/workflows/1/delete".into(),
            "/admin/workflow-runs/1/retry".into(),
            "/admin/email-templates/new".into(),
            "/admin/email-templates/1".into(),
            "/admin/email-templates/1/delete".into(),
            "/admin/smtp".into(),
            "/admin/smtp/test".into(),
            format!("/m/Leads/{id}/email"),
        ];
        for route in &routes {
            let p = b
                .post(
                    &app,
                    route,
                    &[
                        ("company", "改了"),
                        ("lastname", "改了"),
                        ("ids", &id.to_string()),
                        ("body", "x"),
                    ],
                )
                .await;
            assert_eq!(
                p.status,
                StatusCode::FORBIDDEN,
                "{}: POST {route} without a token",
                db.backend
            );
        }
        let (_, after) = app.admin("GET", &format!("/api/v1/records/Leads/{id}"), None).await;
        assert_eq!(after["version"], 1, "{}: nothing changed: {after}", db.backend);
        assert_eq!(after["fields"]["company"], "令牌公司");
        // still logged in: the refused logout did not end the session
        assert_eq!(b.get(&app, "/").await.status, StatusCode::OK);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn convert_a_lead_from_its_page_and_edit_the_mapping() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "何", "company": "成都 <b>锦程</b> 物流"}})),
            )
            .await;
        let id = lead["id"].as_i64().unwrap();
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let detail = b.get(&app, &format!("/m/Leads/{id}")).await;
        assert!(
            detail.body.contains(&format!("/m/Leads/{id}/convert")),
            "{}",
            db.backend
        );
        let preview = b.get(&app, &format!("/m/Leads/{id}/convert")).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(preview.body.contains("将创建新组织") && !preview.body.contains("<b>锦程</b>"));
        let csrf = hidden(&preview.body, "_csrf");
        let path = format!("/m/Leads/{id}/convert");
        let refused = b.post(&app, &path, &[("contact.lastname", "何")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF token");
        let invalid = b
            .post(
                &app,
                &path,
                &[
                    ("_csrf", &csrf),
                    ("contact.lastname", "何"),
                    ("create_opportunity", "1"),
                    ("opportunity.potentialname", "锦程运输"),
                    ("opportunity.closingdate", "明天"),
                ],
            )
            .await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            invalid.body.contains("预计成交日期") && invalid.body.contains("锦程运输"),
            "{}",
            invalid.body
        );
        let done = b
            .post(
                &app,
                &path,
                &[
                    ("_csrf", &csrf),
                    ("create_account", "1"),
                    ("account.accountname", "成都 <b>锦程</b> 物流"),
                    ("contact.lastname", "何"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert!(done.location.as_deref().unwrap_or_default().starts_with("/m/Contacts/"));
        let again = b.get(&app, &path).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(again.body.contains("此线索已转化"), "{}", again.body);
        let detail = b.get(&app, &format!("/m/Leads/{id}")).await;
        assert!(detail.body.contains("此线索已转化，只读。") && !detail.body.contains(&path));

        let mapping = b.get(&app, "/admin/lead-conversion").await;
        assert_eq!(mapping.status, StatusCode::OK);
        assert!(mapping.body.contains("city = Contacts.mailingcity"));
        let csrf = hidden(&mapping.body, "_csrf");
        let wrong = b
            .post(
                &app,
                "/admin/lead-conversion",
                &[("_csrf", &csrf), ("rows", "annualrevenue = Contacts.birthday")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::OK);
        assert!(wrong.body.contains("Contacts.birthday"), "{}", wrong.body);
        let saved = b
            .post(
                &app,
                "/admin/lead-conversion",
                &[("_csrf", &csrf), ("rows", "city = Contacts.mailingcity")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let (_, m) = app.admin("GET", "/api/v1/lead-conversion/mapping", None).await;
        assert!(!m["rows"].as_array().unwrap().iter().any(|r| r["field"] == "bill_city"));
        app.store.close().await;
        db.cleanup().await;
    }
}

/// Home lists my overdue and today's open tasks, with a way to the agenda.
#[tokio::test]
async fn home_lists_my_overdue_and_todays_tasks() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let empty = b.get(&app, "/").await;
        assert!(empty.body.contains("href=\"/agenda\""), "{}", db.backend);
        let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
        let day = jiff::Timestamp::now().to_zoned_datetime(shanghai).date();
        let today = day.to_string();
        let last_week = day.saturating_sub(jiff::Span::new().days(5)).to_string();
        for (subject, due, status) in [
            ("逾期报价", last_week.as_str(), "Not Started"),
            ("今天回访", today.as_str(), "In Progress"),
            ("已完成的事", today.as_str(), "Completed"),
        ] {
            let (s, t) = app
                .admin(
                    "POST",
                    "/api/v1/records/Tasks",
                    Some(json!({"fields": {"subject": subject, "due_date": due, "taskstatus": status}})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{t}");
        }
        let home = b.get(&app, "/").await;
        // the tasks card: from its heading to its agenda link
        let start = home.body.find("我的待办任务与跟进").expect("tasks card");
        let card = &home.body[start..];
        let card = &card[..card.find("href=\"/agenda\"").expect("agenda link")];
        assert!(
            card.contains("逾期报价") && card.contains("今天回访"),
            "{}: {card}",
            db.backend
        );
        assert!(!card.contains("已完成的事"), "done tasks are not listed: {card}");
        assert!(card.contains("badge-overdue"), "{card}");
        app.store.close().await;
        db.cleanup().await;
    }
}
