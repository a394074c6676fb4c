//! Hostile record names in a real browser: they show as text on every page and never run;
//! and a form posted without the session's CSRF token is refused.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Browser, TestServer, browser_available, with_browser};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const PASSWORD: &str = "wang-password-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_text_and_csrf_is_enforced() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    server.add_user("wang", PASSWORD, "王", Some("en")).await;
    let setup = server.records_as("wang");
    with_browser("security", &server.base, move |b| async move {
        b.login("wang", PASSWORD).await;
        alert_detection_works(&b).await;

        // One hostile organization through the form, one through the store; a contact
        // named with the other payload, linked to the first.
        b.goto("/m/Accounts/new").await;
        b.fill("form.record-form input[name=accountname]", SCRIPT).await;
        b.fill(
            "form.record-form textarea[name=description]",
            &format!("{IMG}\n{SCRIPT}"),
        )
        .await;
        b.click_and_wait("form.record-form button.btn.primary[type=submit]")
            .await;
        let script_org = b.record_id_in_path("Accounts").await;
        assert_eq!(b.text("h1").await, SCRIPT);
        let img_org = setup.create("Accounts", json!({"accountname": IMG})).await;
        let contact = setup
            .create("Contacts", json!({"lastname": IMG, "account_id": script_org}))
            .await;
        // A change, so the history tab has old and new hostile values.
        b.goto(&format!("/m/Accounts/{script_org}/edit")).await;
        b.fill(
            "form.record-form textarea[name=description]",
            &format!("{SCRIPT} {IMG}"),
        )
        .await;
        b.click_and_wait("form.record-form button.btn.primary[type=submit]")
            .await;
        assert_eq!(b.path_only().await, format!("/m/Accounts/{script_org}"));

        let both = [SCRIPT, IMG];
        check_page(&b, "/", &both).await;
        check_page(&b, "/m/Accounts", &both).await;
        check_page(&b, "/m/Contacts", &both).await;
        check_page(&b, &format!("/m/Accounts/{script_org}"), &both).await;
        assert_eq!(b.text("h1").await, SCRIPT);
        assert_eq!(
            b.text("dl.fields div.field[data-field=description] dd").await,
            format!("{SCRIPT} {IMG}")
        );
        check_page(&b, &format!("/m/Accounts/{img_org}"), &[IMG]).await;
        assert_eq!(b.text("h1").await, IMG);
        check_page(&b, &format!("/m/Contacts/{contact}"), &both).await;
        assert_eq!(b.text("h1").await, IMG);
        assert_eq!(b.text("dl.fields div.field[data-field=account_id] dd").await, SCRIPT);
        check_page(&b, &format!("/m/Accounts/{script_org}?tab=related"), &[IMG]).await;
        assert_eq!(
            b.text(&format!("section.related table.list a[href='/m/Contacts/{contact}']"))
                .await,
            IMG
        );
        check_page(&b, &format!("/m/Accounts/{script_org}?tab=history"), &both).await;
        let history = b.text("ul.history").await;
        assert!(
            history.contains(&format!("{IMG}\n{SCRIPT}")) || history.contains(&format!("{IMG} {SCRIPT}")),
            "the history should show the old description: {history}"
        );
        b.screenshot("10-history-hostile-en").await;

        // Search results, and the search box and heading echoing a hostile query.
        check_page(&b, "/search?q=alert", &both).await;
        let hits: Vec<String> = texts(&b, ".search-group ul.results li a").await;
        assert!(
            hits.iter().any(|h| h == SCRIPT) && hits.iter().any(|h| h == IMG),
            "searching alert should find both hostile records: {hits:?}"
        );
        b.screenshot("11-search-hostile-en").await;
        let q = IMG
            .replace('"', "%22")
            .replace(' ', "+")
            .replace('<', "%3C")
            .replace('>', "%3E");
        check_page(&b, &format!("/search?q={q}"), &[IMG]).await;
        assert_eq!(b.prop("form.global-search input[name=q]", "value").await, IMG);

        // Attribute context: the edit form puts the name in value="…".
        check_page(&b, &format!("/m/Accounts/{img_org}/edit"), &[]).await;
        assert_eq!(b.prop("form.record-form input[name=accountname]", "value").await, IMG);
        check_page(&b, &format!("/m/Contacts/{contact}/edit"), &[]).await;
        assert_eq!(b.prop("form.record-form input.typeahead-input", "value").await, SCRIPT);

        // The type-ahead renders results with the page's JavaScript.
        check_page(&b, "/m/Contacts/new", &[]).await;
        b.fill("form.record-form div.typeahead input.typeahead-input", "alert")
            .await;
        b.find("form.record-form ul.typeahead-results li[data-index]").await;
        let started = Instant::now();
        let mut options = Vec::new();
        while options.len() < 2 && started.elapsed() < Duration::from_secs(5) {
            options = texts(&b, "form.record-form ul.typeahead-results li[data-index]").await;
        }
        options.sort();
        let mut expected = vec![SCRIPT.to_string(), IMG.to_string()];
        expected.sort();
        assert_eq!(options, expected, "the type-ahead should list both names as text");
        assert_safe(&b, "the type-ahead results").await;

        csrf_is_enforced(&b, img_org).await;
    })
    .await;
    server.stop().await;
}

/// Injects the image payload into the page as markup, and checks that the harness sees the
/// dialog, the `img[src=x]` and the handler: without this control, the "nothing ran"
/// checks below could pass for the wrong reason.
async fn alert_detection_works(b: &Browser) {
    b.js(
        "document.body.insertAdjacentHTML('beforeend', arguments[0]); return null;",
        vec![json!(IMG)],
    )
    .await;
    let started = Instant::now();
    loop {
        match b.client.get_alert_text().await {
            Ok(text) => {
                assert_eq!(text, "1", "the injected payload opened an unexpected dialog");
                b.client.dismiss_alert().await.expect("dismissing the control alert");
                break;
            }
            Err(e) if e.is_no_such_alert() => {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "the injected payload never opened its alert: the dialog check is blind"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("asking for the control alert: {e}"),
        }
    }
    assert_eq!(
        b.find_all("img[src='x']").await.len(),
        1,
        "the `img[src=x]` check is blind"
    );
    let handlers = b
        .js("return document.querySelectorAll('[onerror]').length;", vec![])
        .await;
    assert_eq!(handlers, json!(1), "the `[onerror]` check is blind");
    b.assert_no_alert("after the control").await;
}

/// Opens a page; checks that each string shows literally and that nothing ran.
async fn check_page(b: &Browser, path: &str, literal: &[&str]) {
    b.goto(path).await;
    let body = b.text("body").await;
    for s in literal {
        assert!(body.contains(s), "{path} should show {s:?} as text; it shows:\n{body}");
    }
    assert_safe(b, path).await;
}

/// No dialog, no injected image or handler, and no script carrying the payload.
async fn assert_safe(b: &Browser, context: &str) {
    // An image error handler runs after the image fails to load: give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.assert_no_alert(context).await;
    assert!(
        b.find_all("img[src='x']").await.is_empty(),
        "an injected <img> exists at {context}"
    );
    let injected = b
        .js(
            "return {
                handlers: document.querySelectorAll('[onerror]').length,
                scripts: Array.from(document.scripts).filter(function (s) {
                    return s.textContent.indexOf('alert(1)') >= 0;
                }).length
            };",
            vec![],
        )
        .await;
    assert_eq!(
        injected,
        json!({"handlers": 0, "scripts": 0}),
        "injected markup at {context}"
    );
}

async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut v = Vec::new();
    for el in b.find_all(css).await {
        // The list can be replaced while it is read; skip elements that went away.
        if let Ok(t) = el.text().await {
            v.push(t);
        }
    }
    v
}

/// Posts forms from the page with `fetch`: a missing or wrong token is refused with 403 and
/// changes nothing; the page's own token works.
async fn csrf_is_enforced(b: &Browser, img_org: i64) {
    b.goto("/m/Accounts").await;
    let script = r#"
        var good = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
        function post(url, fields) {
            return fetch(url, {
                method: 'POST',
                credentials: 'same-origin',
                headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                body: new URLSearchParams(fields).toString()
            }).then(function (r) {
                return {status: r.status, redirected: r.redirected, path: new URL(r.url).pathname};
            });
        }
        var imgOrg = arguments[0];
        var calls = [
            ['/m/Accounts', {accountname: 'csrf-missing'}],
            ['/m/Accounts', {_csrf: 'wrong-token', accountname: 'csrf-wrong'}],
            ['/m/Accounts', {_csrf: good + 'x', accountname: 'csrf-longer'}],
            ['/m/Accounts', {_csrf: '', accountname: 'csrf-empty'}],
            ['/m/Accounts/' + imgOrg + '/delete', {_csrf: 'wrong-token'}],
            ['/settings/language', {_csrf: 'wrong-token', lang: 'zh-CN'}],
            ['/logout', {}],
        ];
        var out = [];
        var chain = Promise.resolve();
        calls.forEach(function (c) {
            chain = chain.then(function () { return post(c[0], c[1]); })
                         .then(function (r) { r.url = c[0]; out.push(r); });
        });
        return chain
            .then(function () { return post('/m/Accounts', {_csrf: good, accountname: 'csrf-ok'}); })
            .then(function (r) { return {refused: out, accepted: r, token: good}; });
    "#;
    let result = b.js(script, vec![json!(img_org)]).await;
    let token = result["token"].as_str().unwrap_or_default();
    assert!(token.len() >= 16, "the page carries no real CSRF token: {result}");
    let refused = result["refused"].as_array().expect("refused results");
    assert_eq!(refused.len(), 7, "{result}");
    for r in refused {
        assert_eq!(
            r["status"],
            json!(403),
            "a POST without a valid token was not refused: {r}"
        );
        assert_eq!(r["redirected"], json!(false), "{r}");
    }
    let accepted = &result["accepted"];
    assert_eq!(
        accepted["status"],
        json!(200),
        "the page's own token was refused: {accepted}"
    );
    assert_eq!(accepted["redirected"], json!(true), "{accepted}");
    assert!(
        accepted["path"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/m/Accounts/"),
        "the accepted POST should lead to the new record: {accepted}"
    );

    // Nothing the refused posts asked for happened: still logged in, still English,
    // the organization not deleted, and only csrf-ok created.
    b.goto("/m/Accounts").await;
    assert_eq!(
        b.path_only().await,
        "/m/Accounts",
        "a refused logout logged the user out"
    );
    assert_eq!(
        b.js("return document.documentElement.lang;", vec![]).await,
        Value::from("en")
    );
    let list = b.text("table.list tbody").await;
    assert!(list.contains("csrf-ok"), "{list}");
    for name in ["csrf-missing", "csrf-wrong", "csrf-longer", "csrf-empty"] {
        assert!(!list.contains(name), "a refused POST created {name}: {list}");
    }
    assert!(list.contains(IMG), "a refused delete removed the organization: {list}");
}
