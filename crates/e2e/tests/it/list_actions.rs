//! Working on records from the detail and list pages: edit one field in place and find the
//! change in History, transfer selected rows to another owner, filter a list with the
//! advanced builder and save the filter as a view; and a phone-sized window that never
//! scrolls sideways.

use std::collections::BTreeSet;
use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Browser, TestServer, browser_available, with_browser};

const OLD_PHONE: &str = "021-5555-0101";
const NEW_PHONE: &str = "021-6666-0202";
const ZHAO: &str = "zhao";
const ZHAO_PASSWORD: &str = "zhao-password-1";
const VIEW: &str = "热线索";

/// How long an htmx swap may take.
const SWAP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_edit_history_and_mass_transfer() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    server.add_user(ZHAO, ZHAO_PASSWORD, "赵敏", None).await;
    let zhao = server.user(ZHAO).await;
    let admin = server.records_as("admin");
    let edited = admin
        .create(
            "Accounts",
            json!({"accountname": "上海云杉贸易有限公司", "phone": OLD_PHONE}),
        )
        .await;
    let mut rows = Vec::new();
    for name in [
        "杭州青禾食品有限公司",
        "成都蓝桥物流有限公司",
        "武汉江城教育咨询有限公司",
    ] {
        rows.push(admin.create("Accounts", json!({"accountname": name})).await);
    }
    with_browser("list-actions", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        inline_edit_and_history(&b, edited).await;
        mass_transfer(&b, &rows, zhao.id, &zhao.display_name()).await;
        inline_edit_shows_errors(&b, edited).await;
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advanced_filter_saved_view_and_phone_width() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let admin = server.records_as("admin");
    let mut hot = BTreeSet::new();
    let mut all = BTreeSet::new();
    let leads = [
        ("张伟", "Hot", "深圳市前海微众创新科技股份有限公司"),
        ("李强", "Hot", "苏州工业园区纳米材料有限公司"),
        ("王芳", "Warm", "青岛海滨渔业合作社"),
        ("刘洋", "Cold", "西安古都文化传媒有限公司"),
    ];
    let mut detail = 0;
    for (name, status, company) in leads {
        let mut fields = json!({"lastname": name, "company": company, "leadstatus": status});
        if detail == 0 {
            // Long unbroken values, to see that the detail page wraps them on a phone.
            fields["email"] = json!("zhang.wei.sales-director@shenzhen-qianhai-innovation.example.cn");
            fields["website"] = json!("https://www.qianhai-weizhong-innovation.example.cn/about/contact-us");
            fields["city"] = json!("深圳市");
            fields["description"] =
                json!("客户希望在下个季度之前完成华南地区全部门店的系统升级，预算已经批准，需要安排技术人员上门演示。");
        }
        let id = admin.create("Leads", fields).await;
        all.insert(id);
        if status == "Hot" {
            hot.insert(id);
        }
        if detail == 0 {
            detail = id;
        }
    }
    with_browser("filter-views-phone", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        filter_and_save_view(&b, &hot, &all).await;
        phone_width(&b, detail).await;
    })
    .await;
    server.stop().await;
}

/// Clicks the phone number, types a new one in the form that replaces it, saves, and finds
/// the change (old and new) in History.
async fn inline_edit_and_history(b: &Browser, org: i64) {
    b.goto(&format!("/m/Accounts/{org}")).await;
    let field = "dl.fields div.field[data-field=phone]";
    let value = format!("{field} dd.inline-edit");
    assert_eq!(b.text(&value).await, OLD_PHONE);
    b.click(&value).await;
    let input = format!("{field} dd.inline-editing form input[name=phone]");
    assert_eq!(
        b.prop(&input, "value").await,
        OLD_PHONE,
        "the inline form should start from the saved value"
    );
    assert_eq!(
        b.find_all("dd.inline-editing").await.len(),
        1,
        "only the clicked field should turn into a form"
    );
    b.screenshot("14-inline-form-zh").await;
    b.fill(&input, NEW_PHONE).await;
    b.click(&format!("{field} dd.inline-editing form button[type=submit]"))
        .await;
    let shown = b
        .wait_until(
            "var dd = document.querySelector(arguments[0]);
             return !!dd && dd.textContent.trim() === arguments[1];",
            vec![json!(value), json!(NEW_PHONE)],
            SWAP,
        )
        .await;
    assert!(
        shown,
        "the new phone number never showed in place of the form: {:?}",
        b.text(&format!("{field} dd")).await
    );
    assert!(
        b.find_all(&format!("{field} dd.inline-editing")).await.is_empty(),
        "the form should be gone after saving"
    );
    assert_eq!(
        b.path().await,
        format!("/m/Accounts/{org}"),
        "saving in place should not leave the page"
    );

    // Saved for real: a fresh page shows it, and History has old → new.
    b.goto(&format!("/m/Accounts/{org}")).await;
    assert_eq!(b.text(&value).await, NEW_PHONE);
    b.click_and_wait("nav.tabs a.tab[href*='tab=history']").await;
    assert_eq!(b.path().await, format!("/m/Accounts/{org}?tab=history"));
    let mut changes = Vec::new();
    for li in b.find_all("ul.history li.change").await {
        let old = li.find(Locator::Css("del")).await.expect("a change without <del>");
        let new = li.find(Locator::Css("ins")).await.expect("a change without <ins>");
        changes.push((old.text().await.unwrap(), new.text().await.unwrap()));
    }
    assert!(
        changes.iter().any(|(old, new)| old == OLD_PHONE && new == NEW_PHONE),
        "History should show the phone change {OLD_PHONE} → {NEW_PHONE}: {changes:?}"
    );
}

/// A bad e-mail typed in place: the form stays, with the error and what was typed.
async fn inline_edit_shows_errors(b: &Browser, org: i64) {
    b.goto(&format!("/m/Accounts/{org}")).await;
    let field = "dl.fields div.field[data-field=email1]";
    b.click(&format!("{field} dd.inline-edit")).await;
    let form = format!("{field} dd.inline-editing form");
    b.fill(&format!("{form} input[name=email1]"), "bad").await;
    b.click(&format!("{form} button[type=submit]")).await;
    let error_shown = b
        .wait_until(
            "var e = document.querySelector(arguments[0]);
             return !!e && e.textContent.trim() !== '';",
            vec![json!(format!("{form} .error"))],
            SWAP,
        )
        .await;
    scroll_into_view(b, &form).await;
    if !error_shown {
        b.screenshot("FAILED-inline-email-error").await;
        let state = b
            .js(
                "var f = document.querySelector(arguments[0]);
                 var i = f && f.querySelector('input[name=email1]');
                 return f && {noValidate: f.noValidate, formValid: f.checkValidity(),
                              type: i.type, message: i.validationMessage};",
                vec![json!(form)],
            )
            .await;
        panic!(
            "submitting email1 = \"bad\" in place showed no `.error` in the inline form \
             (the form and input, as the browser sees them: {state}); \
             screenshot target/screenshots/FAILED-inline-email-error.png"
        );
    }
    assert_eq!(
        b.prop(&format!("{form} input[name=email1]"), "value").await,
        "bad",
        "the inline form should keep what was typed"
    );
    b.screenshot("15-inline-error-zh").await;
    // Nothing was saved.
    b.goto(&format!("/m/Accounts/{org}")).await;
    assert_eq!(b.text(&format!("{field} dd.inline-edit")).await, "");
}

/// Ticks two of three rows, transfers them to another user, and checks all three owners.
async fn mass_transfer(b: &Browser, rows: &[i64], owner_id: i64, owner_name: &str) {
    assert_eq!(rows.len(), 3);
    assert!(!owner_name.is_empty());
    b.goto("/m/Accounts").await;
    let bar = b.find(".bulk-bar").await;
    assert!(
        !bar.is_displayed().await.unwrap(),
        "the bulk bar should stay hidden until a row is ticked"
    );
    for id in &rows[..2] {
        b.click(&format!("table.list input.row-select[value='{id}']")).await;
    }
    assert!(
        bar.is_displayed().await.unwrap(),
        "ticking rows should show the bulk bar"
    );
    assert_eq!(b.text(".bulk-bar .selected-count").await, "2");
    b.find(".bulk-bar select[name=owner]")
        .await
        .select_by_value(&owner_id.to_string())
        .await
        .expect("choosing the new owner");
    b.screenshot("16-bulk-bar-zh").await;
    b.click_and_wait(".bulk-bar button[name=action][value=transfer]").await;
    assert_eq!(b.path_only().await, "/m/Accounts");
    let flash = b.text(".flash.success").await;
    assert!(
        flash.contains("已修改 2 条记录"),
        "the confirmation should say 2 records changed: {flash:?}"
    );

    for (i, id) in rows.iter().enumerate() {
        b.goto(&format!("/m/Accounts/{id}")).await;
        let meta = b.text(".record-meta").await;
        if i < 2 {
            assert!(
                meta.contains(owner_name),
                "record {id} should now belong to {owner_name}: {meta:?}"
            );
        } else {
            assert!(
                !meta.contains(owner_name) && meta.contains("Administrator"),
                "record {id} was not ticked and should still belong to admin: {meta:?}"
            );
        }
    }
}

/// The lead ids the list shows now.
async fn listed_leads(b: &Browser) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    for a in b.find_all("table.list tbody tr td a[href^='/m/Leads/']").await {
        let href = a.attr("href").await.unwrap().unwrap_or_default();
        if let Some(id) = href.strip_prefix("/m/Leads/").and_then(|s| s.parse().ok()) {
            ids.insert(id);
        }
    }
    ids
}

/// Opens the filter builder when it is closed.
async fn open_filter_builder(b: &Browser) {
    let open = || b.js("return document.querySelector('details.filter-builder').open;", vec![]);
    if open().await != Value::Bool(true) {
        b.click("details.filter-builder > summary").await;
    }
    assert_eq!(open().await, Value::Bool(true), "the filter builder did not open");
}

/// Lead status = 热 shows only the hot leads; saved as a view, the filter gets a tab.
async fn filter_and_save_view(b: &Browser, hot: &BTreeSet<i64>, all: &BTreeSet<i64>) {
    b.goto("/m/Leads").await;
    assert_eq!(
        &listed_leads(b).await,
        all,
        "the unfiltered list should show every lead"
    );
    open_filter_builder(b).await;
    let rows = b.find_all("details.filter-builder div.filter-row").await;
    let row = rows.first().expect("the filter builder has no condition row");
    row.find(Locator::Css("select[name=f]"))
        .await
        .expect("the field select")
        .select_by_value("leadstatus")
        .await
        .expect("choosing leadstatus");
    // The row comes back with the picklist's operators and its values, labelled in Chinese.
    assert!(
        b.wait_until(
            "return !!document.querySelector('details.filter-builder div.filter-row select[name=v] option[value=Hot]');",
            vec![],
            Duration::from_secs(5),
        )
        .await,
        "the value became a picklist select"
    );
    let row = b.find("details.filter-builder div.filter-row").await;
    let ops = b
        .js(
            "return Array.from(document.querySelector('details.filter-builder div.filter-row select[name=o]').options).map(o => o.value);",
            vec![],
        )
        .await;
    assert!(
        !ops.as_array().is_some_and(|o| o.contains(&json!("lt")))
            && ops.as_array().is_some_and(|o| o.contains(&json!("eq"))),
        "no order operators for a picklist: {ops}"
    );
    row.find(Locator::Css("select[name=o]"))
        .await
        .expect("the operator select")
        .select_by_value("eq")
        .await
        .expect("choosing eq");
    let value = b.find("details.filter-builder div.filter-row select[name=v]").await;
    let label = value
        .find(Locator::Css("option[value=Hot]"))
        .await
        .expect("the Hot option")
        .text()
        .await
        .unwrap();
    assert_eq!(label, "热");
    value.select_by_value("Hot").await.expect("choosing Hot");
    b.click_and_wait("details.filter-builder form:not(.save-view) button[type=submit]")
        .await;
    assert!(
        b.find_all(".flash.error").await.is_empty(),
        "the filter was refused: {}",
        b.text(".flash.error").await
    );
    let path = b.path().await;
    assert!(
        path.contains("f=leadstatus") && path.contains("o=eq"),
        "applying the filter went to {path}"
    );
    assert_eq!(
        &listed_leads(b).await,
        hot,
        "lead status = 热 should list only the hot leads"
    );
    let body = b.text("table.list tbody").await;
    assert!(
        !body.contains("王芳") && !body.contains("刘洋"),
        "filtered list: {body}"
    );

    // Save it as a view: a new tab, active, with the same rows.
    open_filter_builder(b).await;
    assert_eq!(
        b.prop("details.filter-builder div.filter-row select[name=f]", "value")
            .await,
        "leadstatus",
        "the builder should show the applied condition"
    );
    b.fill("form.save-view input[name=name]", VIEW).await;
    b.click_and_wait("form.save-view button[type=submit]").await;
    let path = b.path().await;
    assert!(path.starts_with("/m/Leads?view="), "saving the view went to {path}");
    let tabs = texts(b, "nav.tabs.views a.tab").await;
    assert_eq!(
        tabs.iter().filter(|t| t.as_str() == VIEW).count(),
        1,
        "one tab should be named {VIEW}: {tabs:?}"
    );
    assert_eq!(b.text("nav.tabs.views a.tab.active").await, VIEW);
    assert_eq!(b.find_all("nav.tabs.views a.tab.active").await.len(), 1);
    assert_eq!(&listed_leads(b).await, hot, "the saved view should keep the filter");
    b.screenshot("17-saved-view-zh").await;

    // Back to all records and into the view again through its tab.
    let view_href = b
        .find("nav.tabs.views a.tab.active")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("the view tab has no link");
    b.click_and_wait("nav.tabs.views a.tab:first-child").await;
    assert_eq!(&listed_leads(b).await, all, "全部记录 should show every lead again");
    assert_ne!(b.text("nav.tabs.views a.tab.active").await, VIEW);
    b.click_and_wait(&format!("nav.tabs.views a.tab[href='{view_href}']"))
        .await;
    assert_eq!(b.text("nav.tabs.views a.tab.active").await, VIEW);
    assert_eq!(&listed_leads(b).await, hot, "the view's tab should filter again");
}

async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut v = Vec::new();
    for el in b.find_all(css).await {
        v.push(el.text().await.unwrap());
    }
    v
}

/// Scrolls an element to the middle of the window, for a screenshot.
async fn scroll_into_view(b: &Browser, css: &str) {
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'}); return null;",
        vec![json!(css)],
    )
    .await;
}

/// In a 375 px wide window the list page (with the filter builder open too), the detail
/// page and a field edited in place fit: no sideways scrolling.
async fn phone_width(b: &Browser, lead: i64) {
    b.client.set_window_size(375, 800).await.expect("resizing the window");
    b.goto("/m/Leads").await;
    assert_fits(b, "the lead list", "12-list-phone").await;
    open_filter_builder(b).await;
    scroll_into_view(b, "details.filter-builder").await;
    assert_fits(b, "the lead list with the filter builder open", "18-filter-phone").await;

    b.goto(&format!("/m/Leads/{lead}")).await;
    assert_fits(b, "a lead's detail page", "13-detail-phone").await;
    let field = "dl.fields div.field[data-field=email]";
    b.click(&format!("{field} dd.inline-edit")).await;
    b.find(&format!("{field} dd.inline-editing form input[name=email]"))
        .await;
    scroll_into_view(b, field).await;
    assert_fits(b, "a lead's e-mail edited in place", "19-inline-phone").await;
}

/// Fails when the page is wider than the (phone-sized) window; saves a screenshot either way.
async fn assert_fits(b: &Browser, what: &str, shot: &str) {
    let m = b
        .js(
            "var w = window.innerWidth;
             var wide = [];
             document.querySelectorAll('body *').forEach(function (el) {
                 var r = el.getBoundingClientRect();
                 var p = el.parentElement && el.parentElement.getBoundingClientRect();
                 if (r.width > 0 && r.right > w + 1 && (!p || p.right <= w + 1) && wide.length < 8) {
                     wide.push(el.tagName.toLowerCase() + '.' + el.className + ' → ' + Math.round(r.right));
                 }
             });
             return {inner: w, scroll: document.documentElement.scrollWidth,
                     phone: window.matchMedia('(max-width: 768px)').matches, wide: wide};",
            vec![],
        )
        .await;
    let shot_path = b.screenshot(shot).await;
    let inner = m["inner"].as_f64().unwrap_or_default();
    let scroll = m["scroll"].as_f64().unwrap_or_default();
    assert!(
        inner > 300.0 && inner <= 400.0 && m["phone"] == json!(true),
        "the window is not phone-sized for {what}: {m}"
    );
    assert!(
        scroll <= inner + 1.0,
        "{what} scrolls sideways at {inner} px: the page is {scroll} px wide \
         (elements past the right edge, outermost first: {}); see {}",
        m["wide"],
        shot_path.display()
    );
}
