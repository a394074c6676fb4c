//! A sales rep's day in the browser: log in, add a Chinese organization and a contact
//! linked to it with the type-ahead, find both, switch to English, and get a form error.
//! Takes the screenshots of the main pages on the way.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Browser, TestServer, browser_available, with_browser};

const ORG: &str = "北京星辰科技有限公司";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_records_typeahead_search_language_and_form_errors() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let store = server.store.clone();
    with_browser("workflow", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        // A user created without a language works in Chinese.
        assert_eq!(
            b.js("return document.documentElement.lang;", vec![]).await,
            json!("zh-CN")
        );
        assert_eq!(b.text("aside.sidebar a[href='/m/Accounts']").await, "客户");
        b.screenshot("01-home-zh").await;

        let org_id = create_organization(&b).await;
        let contact_id = create_contact_with_typeahead(&b, org_id).await;

        // The organization's Related tab lists the contact.
        b.goto(&format!("/m/Accounts/{org_id}")).await;
        b.click_and_wait("nav.tabs a.tab[href*='tab=related']").await;
        assert_eq!(b.path().await, format!("/m/Accounts/{org_id}?tab=related"));
        let link = format!("section.related table.list a[href='/m/Contacts/{contact_id}']");
        assert_eq!(b.text(&link).await, "李娜");
        b.screenshot("06-related-zh").await;

        // Global search finds both by two-character Chinese fragments.
        let hits = search(&b, "星辰").await;
        assert!(
            hits.contains(&(ORG.to_string(), format!("/m/Accounts/{org_id}"))),
            "searching 星辰 should find {ORG}: {hits:?}"
        );
        b.screenshot("05-search-zh").await;
        // The contact by its whole name (a 2-character fragment), by a two-character
        // fragment of its city, and by its family name.
        let contact_hit = ("李娜".to_string(), format!("/m/Contacts/{contact_id}"));
        let hits = search(&b, "李娜").await;
        assert!(
            hits.contains(&contact_hit),
            "searching 李娜 should find the contact: {hits:?}"
        );
        let hits = search(&b, "杭州").await;
        assert!(hits.contains(&contact_hit), "searching 杭州 should find 李娜: {hits:?}");
        let hits = search(&b, "李").await;
        assert!(hits.contains(&contact_hit), "searching 李 should find 李娜: {hits:?}");
        assert!(
            !hits.iter().any(|(_, href)| *href == format!("/m/Accounts/{org_id}")),
            "searching 李 should not find {ORG}: {hits:?}"
        );
        let hits = search(&b, "辰科").await;
        assert!(
            hits.iter().any(|(_, href)| *href == format!("/m/Accounts/{org_id}")),
            "searching 辰科 (inside the name) should find {ORG}: {hits:?}"
        );

        edit_contact_and_see_history(&b, contact_id).await;

        // Switch to English: the labels change and the choice is saved.
        b.goto("/m/Accounts").await;
        b.screenshot("02-list-zh").await;
        b.click_and_wait("form.lang-switch button[name=lang][value=en]").await;
        assert_eq!(b.js("return document.documentElement.lang;", vec![]).await, json!("en"));
        assert_eq!(b.text("aside.sidebar a[href='/m/Accounts']").await, "Organizations");
        assert_eq!(b.text("aside.sidebar a[href='/m/Contacts']").await, "Contacts");
        assert_eq!(
            b.prop("form.lang-switch button[name=lang]", "value").await,
            "zh-CN",
            "in English the switch should offer Chinese"
        );
        let admin = sable_store::users::find_user(&store, "admin").await.unwrap().unwrap();
        assert_eq!(admin.language, "en", "the language choice was not saved");
        b.goto("/").await;
        assert_eq!(b.text("aside.sidebar a[href='/m/Accounts']").await, "Organizations");
        b.goto("/m/Accounts").await;
        assert!(
            b.text("table.list tbody").await.contains(ORG),
            "the English list should still show {ORG}"
        );
        b.screenshot("02-list-en").await;

        invalid_email_keeps_the_typed_values(&b).await;
    })
    .await;
    server.stop().await;
}

/// Creates the organization through the list page's "new" button; returns its id.
async fn create_organization(b: &Browser) -> i64 {
    b.goto("/m/Accounts").await;
    let new = b.find("a.btn.primary[href='/m/Accounts/new']").await;
    assert!(
        !new.text().await.unwrap().trim().is_empty(),
        "the new button has no text"
    );
    b.click_and_wait("a.btn.primary[href='/m/Accounts/new']").await;
    assert_eq!(b.path_only().await, "/m/Accounts/new");
    b.fill(
        "form.record-form div.form-field[data-field=accountname] input[name=accountname]",
        ORG,
    )
    .await;
    b.click_and_wait("form.record-form button.btn.primary[type=submit]")
        .await;
    let org_id = b.record_id_in_path("Accounts").await;
    assert_eq!(b.text("h1").await, ORG);
    assert_eq!(b.text("dl.fields div.field[data-field=accountname] dd").await, ORG);
    assert!(
        !b.text(".flash.success").await.trim().is_empty(),
        "no confirmation after creating the organization"
    );
    org_id
}

/// Creates 李娜 and links her to the organization by typing 星辰 and picking the match.
async fn create_contact_with_typeahead(b: &Browser, org_id: i64) -> i64 {
    b.goto("/m/Contacts").await;
    b.click_and_wait("a.btn.primary[href='/m/Contacts/new']").await;
    b.fill("form.record-form input[name=lastname]", "李").await;
    b.fill("form.record-form input[name=firstname]", "娜").await;
    b.fill("form.record-form input[name=email]", "li.na@example.cn").await;
    b.fill("form.record-form input[name=mobile]", "13800138000").await;
    b.fill("form.record-form input[name=mailingcity]", "杭州市").await;

    let field = "form.record-form div.form-field[data-field=account_id]";
    b.fill(
        &format!("{field} div.typeahead input.typeahead-input[name=account_id__label]"),
        "星辰",
    )
    .await;
    let option = format!("{field} ul.typeahead-results li[data-index]");
    let first = b.find(&option).await;
    assert_eq!(first.text().await.unwrap(), ORG);
    assert_eq!(b.find_all(&option).await.len(), 1, "星辰 matches one organization");
    b.screenshot("07-typeahead-zh").await;
    first.click().await.expect("picking the organization");
    assert_eq!(
        b.prop(&format!("{field} input[type=hidden][name=account_id]"), "value")
            .await,
        org_id.to_string(),
        "picking did not set the hidden id"
    );
    assert_eq!(b.prop(&format!("{field} input.typeahead-input"), "value").await, ORG);
    assert!(
        b.find_all(&option).await.is_empty(),
        "the result list should close after picking"
    );

    b.click_and_wait("form.record-form button.btn.primary[type=submit]")
        .await;
    let contact_id = b.record_id_in_path("Contacts").await;
    assert_eq!(b.text("h1").await, "李娜");
    assert_eq!(b.text("dl.fields div.field[data-field=account_id] dd").await, ORG);
    assert_eq!(
        b.text("dl.fields div.field[data-field=email] dd").await,
        "li.na@example.cn"
    );
    b.screenshot("03-detail-zh").await;
    // The organization shows as a link that leads to it.
    b.click_and_wait("dl.fields div.field[data-field=account_id] dd a")
        .await;
    assert_eq!(b.path_only().await, format!("/m/Accounts/{org_id}"));
    assert_eq!(b.text("h1").await, ORG);
    contact_id
}

/// Searches from the top bar; returns the (text, href) of every hit.
async fn search(b: &Browser, q: &str) -> Vec<(String, String)> {
    b.fill("form.global-search input[name=q]", q).await;
    b.enter_and_wait("form.global-search input[name=q]").await;
    let path = b.path().await;
    assert!(path.starts_with("/search?q="), "searching {q} went to {path}");
    let mut hits = Vec::new();
    for a in b.find_all(".search-group ul.results li a").await {
        hits.push((
            a.text().await.unwrap(),
            a.attr("href").await.unwrap().unwrap_or_default(),
        ));
    }
    hits
}

/// The edit form shows the saved values (and the linked organization); a change shows in History.
async fn edit_contact_and_see_history(b: &Browser, contact_id: i64) {
    b.goto(&format!("/m/Contacts/{contact_id}/edit")).await;
    assert_eq!(b.prop("form.record-form input[name=lastname]", "value").await, "李");
    assert_eq!(b.prop("form.record-form input[name=firstname]", "value").await, "娜");
    assert_eq!(b.prop("form.record-form input.typeahead-input", "value").await, ORG);
    b.screenshot("04-edit-zh").await;
    b.fill("form.record-form input[name=mobile]", "13900139000").await;
    b.click_and_wait("form.record-form button.btn.primary[type=submit]")
        .await;
    assert_eq!(b.path_only().await, format!("/m/Contacts/{contact_id}"));
    assert_eq!(b.text("dl.fields div.field[data-field=mobile] dd").await, "13900139000");
    b.click_and_wait("nav.tabs a.tab[href*='tab=history']").await;
    let changes: Vec<String> = {
        let mut v = Vec::new();
        for li in b.find_all("ul.history li.change").await {
            v.push(li.text().await.unwrap());
        }
        v
    };
    assert!(
        changes
            .iter()
            .any(|c| c.contains("13800138000") && c.contains("13900139000")),
        "the history should show the mobile change: {changes:?}"
    );
    b.screenshot("08-history-zh").await;
}

/// An invalid e-mail gets an error on that field only, and what was typed stays.
async fn invalid_email_keeps_the_typed_values(b: &Browser) {
    b.goto("/m/Contacts/new").await;
    b.fill("form.record-form input[name=lastname]", "王").await;
    b.fill("form.record-form input[name=firstname]", "芳").await;
    b.fill("form.record-form input[name=email]", "not-an-email").await;
    b.fill("form.record-form input[name=mobile]", "13700137000").await;
    b.click_and_wait("form.record-form button.btn.primary[type=submit]")
        .await;

    assert!(
        !b.text(".flash.error").await.trim().is_empty(),
        "no error summary at the top of the form"
    );
    let error = b
        .text("form.record-form div.form-field.has-error[data-field=email] .error")
        .await;
    assert!(!error.trim().is_empty(), "the e-mail field shows no error message");
    assert_eq!(
        b.find_all("form.record-form div.form-field.has-error").await.len(),
        1,
        "only the e-mail field should be in error"
    );
    assert_eq!(b.prop("form.record-form input[name=lastname]", "value").await, "王");
    assert_eq!(b.prop("form.record-form input[name=firstname]", "value").await, "芳");
    assert_eq!(
        b.prop("form.record-form input[name=mobile]", "value").await,
        "13700137000"
    );
    assert_eq!(
        b.prop("form.record-form input[name=email]", "value").await,
        "not-an-email"
    );
    assert_eq!(b.js("return document.documentElement.lang;", vec![]).await, json!("en"));
    b.screenshot("09-form-errors-en").await;

    b.goto("/m/Contacts").await;
    let list = b.text("table.list tbody").await;
    assert_eq!(
        b.find_all("table.list tbody tr").await.len(),
        1,
        "only 李娜 should be in the contact list: {list}"
    );
    assert!(
        list.contains("李") && list.contains("娜"),
        "the contact list lost 李娜: {list}"
    );
    assert!(!list.contains("芳"), "the invalid contact was saved anyway: {list}");
}
