//! Lead conversion in the browser: from a lead's page, preview, set the opportunity's
//! amount and close date, convert, and land on the new contact showing its organization
//! and its opportunity; the lead is then read-only.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, TestServer, browser_available, with_browser};

const ORG: &str = "苏州明远精密机械";
const DEAL: &str = "明远设备年度采购";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_a_lead_and_land_on_the_contact() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let setup = server.records_as("admin");
    with_browser("convert", &server.base, move |b| async move {
        let lead = setup
            .create(
                "Leads",
                json!({"lastname": "孙", "firstname": "悦", "company": ORG, "mobile": "13912345678", "leadsource": "Web Site"}),
            )
            .await;
        b.login("admin", ADMIN_PASSWORD).await;
        b.goto(&format!("/m/Leads/{lead}")).await;
        b.click_and_wait("#convert-lead").await;
        assert_eq!(b.path_only().await, format!("/m/Leads/{lead}/convert"));
        assert!(!b.text("#conv-account-status").await.trim().is_empty());
        assert_eq!(b.prop("input[name='account.accountname']", "value").await, ORG);
        assert_eq!(b.prop("input[name='contact.lastname']", "value").await, "孙");
        b.fill("input[name='opportunity.potentialname']", DEAL).await;
        b.fill("input[name='opportunity.amount']", "260000").await;
        b.js(
            "document.querySelector(\"input[name='opportunity.closingdate']\").value = '2027-06-30';",
            vec![],
        )
        .await;
        b.screenshot("convert-preview").await;
        b.click_and_wait("#convert-submit").await;
        if b.path_only().await.ends_with("/convert") {
            panic!("conversion refused: {}", b.text(".flash.error").await);
        }

        let contact = b.record_id_in_path("Contacts").await;
        assert!(b.text("h1").await.contains('孙'));
        assert_eq!(b.text("dl.fields div.field[data-field=account_id] dd").await.trim(), ORG);
        b.click_and_wait("nav.tabs a.tab[href*='tab=related']").await;
        let related = b
            .js(
                "return Array.from(document.querySelectorAll('section.related')).map(s => s.innerText).join('\\n');",
                vec![],
            )
            .await;
        let related = related.as_str().unwrap_or_default().to_string();
        assert!(related.contains(DEAL), "the contact's related lists show the opportunity: {related}");
        b.screenshot("convert-contact").await;

        // The lead is converted: no Convert button, a read-only notice, links to the contact.
        b.goto(&format!("/m/Leads/{lead}")).await;
        assert!(b.find_all("#convert-lead").await.is_empty());
        assert!(!b.text(".flash.warning").await.trim().is_empty());
        let links = b
            .find_all(&format!("a[href='/m/Contacts/{contact}'], a[href='/r/{contact}']"))
            .await;
        assert!(!links.is_empty(), "the lead links to its contact");
    })
    .await;
    server.stop().await;
}
