//! Sessions and the keyboard in the browser: "remember me" keeps the session cookie for
//! about 30 days only when ticked, and a record can be found, opened and edited in place
//! without a mouse.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Browser, TestServer, browser_available, with_browser};

/// Seconds from now until the session cookie expires; `None` for a browser-session cookie.
async fn session_cookie_lifetime(b: &Browser) -> Option<i64> {
    let cookie = b
        .client
        .get_named_cookie("sable_session")
        .await
        .expect("the session cookie after logging in");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    cookie.expires_datetime().map(|t| t.unix_timestamp() - now)
}

async fn login_with(b: &Browser, remember: bool) {
    b.goto("/login").await;
    b.fill("input[name=username]", "admin").await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    if remember {
        b.click("input[name=remember]").await;
    }
    b.click_and_wait("form button[type=submit]").await;
    assert_eq!(b.path_only().await, "/", "logging in did not land on the home page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_keeps_the_session_for_thirty_days_only_when_ticked() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    with_browser("remember-me", &server.base, move |b| async move {
        login_with(&b, false).await;
        assert_eq!(
            session_cookie_lifetime(&b).await,
            None,
            "without \"remember me\" the cookie ends with the browser session"
        );
        b.client.delete_all_cookies().await.expect("forgetting the session");
        login_with(&b, true).await;
        let lifetime = session_cookie_lifetime(&b)
            .await
            .expect("with \"remember me\" the cookie has a Max-Age");
        let thirty_days = 30 * 24 * 3600;
        assert!(
            (thirty_days - 120..=thirty_days + 5).contains(&lifetime),
            "the remembered session lasts about 30 days, not {lifetime} s"
        );
    })
    .await;
    server.stop().await;
}

/// Sends keys to whatever has the focus, as a keyboard would.
async fn press(b: &Browser, keys: &str) {
    let el = b.client.active_element().await.expect("the focused element");
    el.send_keys(keys).await.expect("typing");
}

async fn focused(b: &Browser, script_about_el: &str) -> Value {
    b.js(
        &format!("var el = document.activeElement; return {script_about_el};"),
        vec![],
    )
    .await
}

/// Presses Tab until the focused element satisfies `test` (a JS expression about `el`).
async fn tab_to(b: &Browser, test: &str, what: &str) {
    for _ in 0..120 {
        if focused(b, test).await == Value::Bool(true) {
            return;
        }
        press(b, &char::from(Key::Tab).to_string()).await;
    }
    panic!("Tab never reached {what}");
}

/// Presses a key that loads a new page and waits for it.
async fn press_and_wait(b: &Browser, keys: &str) {
    b.js("window.__sableOldPage = true; return null;", vec![]).await;
    press(b, keys).await;
    assert!(
        b.wait_until(
            "return window.__sableOldPage === undefined && document.readyState === 'complete';",
            vec![],
            Duration::from_secs(10),
        )
        .await,
        "no new page after pressing a key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_found_opened_and_edited_with_the_keyboard_alone() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let admin = server.records_as("admin");
    let admin_id = server.user("admin").await.id;
    let id = admin
        .create(
            "Contacts",
            json!({"lastname": "键盘测试", "mobile": "13800000000", "assigned_user_id": admin_id}),
        )
        .await;
    with_browser("keyboard", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        let enter = char::from(Key::Enter).to_string();
        // The first Tab reaches the skip link, and Enter skips to the content.
        b.find("body").await;
        b.js("document.activeElement && document.activeElement.blur(); return null;", vec![])
            .await;
        press(&b, &char::from(Key::Tab).to_string()).await;
        assert_eq!(
            focused(&b, "el.classList.contains('skip-link')").await,
            json!(true),
            "the first Tab stop is the skip link"
        );
        press(&b, &enter).await;
        assert_eq!(b.js("return location.hash;", vec![]).await, json!("#main"));
        // "/" goes to the search box; Enter searches.
        b.js("document.activeElement && document.activeElement.blur(); return null;", vec![])
            .await;
        b.find("body").await.send_keys("/").await.expect("pressing /");
        assert_eq!(
            focused(&b, "!!el.closest('form.global-search')").await,
            json!(true),
            "/ focuses the search box"
        );
        press(&b, "键盘").await;
        press_and_wait(&b, &enter).await;
        assert_eq!(b.path_only().await, "/search");
        // Tab to the hit, Enter opens it.
        let href = format!("/m/Contacts/{id}");
        tab_to(&b, &format!("el.getAttribute('href') === '{href}'"), "the search hit").await;
        press_and_wait(&b, &enter).await;
        assert_eq!(b.path_only().await, href);
        // Tab to the mobile number, Enter edits it in place, Enter saves.
        tab_to(
            &b,
            "el.matches('dd.inline-edit') && !!el.closest('[data-field=mobile]')",
            "the mobile number",
        )
        .await;
        press(&b, &enter).await;
        assert!(
            b.wait_until(
                "return document.activeElement && document.activeElement.id === 'f-mobile';",
                vec![],
                Duration::from_secs(10),
            )
            .await,
            "the in-place form takes the focus"
        );
        assert_eq!(focused(&b, "el.value").await, json!("13800000000"));
        // Select the old number (as Ctrl+A would) and type over it.
        b.js("document.activeElement.select(); return null;", vec![]).await;
        press(&b, "13912345678").await;
        press(&b, &enter).await;
        assert!(
            b.wait_until(
                "var dd = document.querySelector('[data-field=mobile] dd.inline-edit'); return !!dd && dd.textContent.indexOf('13912345678') >= 0 && document.activeElement === dd;",
                vec![],
                Duration::from_secs(10),
            )
            .await,
            "Enter saved the new number and the focus came back to it"
        );
        b.screenshot("30-keyboard-edit-zh").await;
    })
    .await;
    let actor = sable_store::Actor::unrestricted_for_system_jobs();
    let record = server
        .store
        .records(&actor)
        .get("Contacts", id)
        .await
        .expect("the contact");
    let mobile = record
        .values
        .get("mobile")
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    assert!(mobile.contains("13912345678"), "the edit was saved: {mobile}");
    server.stop().await;
}
