//! Following up in the browser: from a contact, "Log a follow-up", fill what happened and
//! the next date, save, and see the follow-up count and next date change on the record.

use std::time::Duration;

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, TestServer, browser_available, with_browser};

/// How long the htmx-loaded activity tab may take.
const SWAP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_a_followup_and_see_the_count_and_next_date() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let contact = server
        .records_as("admin")
        .create("Contacts", json!({"lastname": "周", "firstname": "杰"}))
        .await;
    with_browser("activities", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        b.goto(&format!("/m/Contacts/{contact}")).await;
        // Click one: the button opens the activity tab with the form.
        b.click_and_wait("#log-followup").await;
        assert!(
            b.wait_until("return !!document.querySelector('#followup-summary');", vec![], SWAP)
                .await,
            "the follow-up form should load"
        );
        assert_eq!(b.text("[data-field=followup_count] dd").await, "0");
        assert_eq!(b.text("[data-field=next_followup] dd").await, "");
        b.fill("#followup-summary", "电话沟通报价").await;
        b.fill("#followup-outcome", "客户需要折扣").await;
        b.js(
            "document.querySelector('#followup-next').value = '2030-03-15'; return null;",
            vec![],
        )
        .await;
        // Click two: save.
        b.click_and_wait("#followup-save").await;
        assert!(
            b.wait_until(
                "return !!document.querySelector('[data-field=followup_count] dd');",
                vec![],
                SWAP
            )
            .await
        );
        assert_eq!(b.text("[data-field=followup_count] dd").await, "1");
        let next = b.text("[data-field=next_followup] dd").await;
        assert!(next.contains("2030"), "next follow-up shown: {next}");
        let timeline = b.text("ul.timeline").await;
        assert!(timeline.contains("电话沟通报价"), "{timeline}");
        b.screenshot("20-followup-zh").await;
        // The figures are fields of the record too, on the Details tab.
        b.goto(&format!("/m/Contacts/{contact}")).await;
        let count = b.text(".field[data-field=followup_count]").await;
        assert!(count.contains('1'), "{count}");

        // My agenda, and a calendar address created there (shown once).
        b.click_and_wait("aside.sidebar a[href='/agenda']").await;
        assert_eq!(b.path_only().await, "/agenda");
        b.click_and_wait("#calendar-feed button[value=rotate]").await;
        let url = b.prop("#feed-url", "value").await;
        assert!(url.contains("/ics/") && url.ends_with(".ics"), "{url}");
        b.screenshot("21-agenda-zh").await;
    })
    .await;
    server.stop().await;
}
