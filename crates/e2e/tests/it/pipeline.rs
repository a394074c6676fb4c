//! The pipeline board in the browser: drag a card to the next stage (HTML5 drag and drop,
//! dispatched as the browser would, since WebDriver cannot drive native drag and drop),
//! then see the stage history on the opportunity's stage page.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, TestServer, browser_available, with_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drag_a_card_to_the_next_stage_and_see_the_history() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let id = server
        .records_as("admin")
        .create(
            "Opportunities",
            json!({"potentialname": "拖拽测试商机", "amount": "50000", "closingdate": "2026-12-31"}),
        )
        .await;
    with_browser("pipeline-drag", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        b.goto("/pipeline").await;
        let card = format!("#card-{id}");
        let column_of = format!("return document.querySelector('{card}').closest('.board-column').dataset.stage;");
        assert_eq!(b.js(&column_of, vec![]).await, json!("Prospecting"));
        // The column shows its count, total and weighted amount.
        let head = b.text(".board-column[data-stage='Prospecting'] .board-head").await;
        assert!(
            head.contains('1') && head.contains("50,000.00") && head.contains("5,000.00"),
            "{head}"
        );
        b.screenshot("pipeline-board").await;
        drop_on(&b, &card, "Qualification").await;
        b.assert_no_alert("after the drop").await;
        assert_eq!(b.js(&column_of, vec![]).await, json!("Qualification"), "the card moved");
        // The record's page leads to the stage page: guidance, checklist and the history.
        b.goto(&format!("/m/Opportunities/{id}")).await;
        b.click_and_wait("#stage-guidance-link").await;
        assert_eq!(b.path_only().await, format!("/pipeline/{id}"));
        let current = b.text("#current-stage").await;
        assert!(current == "立项评估" || current == "Qualification", "{current}");
        assert!(
            !b.find_all(".checklist li").await.is_empty(),
            "the stage's checklist is shown"
        );
        b.click_and_wait(".checklist li:first-child button").await;
        assert_eq!(
            b.prop(".checklist li:first-child button", "ariaPressed").await,
            "true",
            "a ticked item stays ticked"
        );
        let history = b.text("#stage-history tbody").await;
        let prospecting = history.find("初期沟通").or_else(|| history.find("Prospecting"));
        let qualification = history.find("立项评估").or_else(|| history.find("Qualification"));
        assert!(
            matches!((prospecting, qualification), (Some(p), Some(q)) if p < q),
            "the history lists both stages in order: {history}"
        );
        b.screenshot("pipeline-stage-history").await;
        // Dropping on a lost stage asks for the reason (the dialog answered by a stand-in,
        // as WebDriver cannot type into a prompt opened from a script it runs).
        b.goto("/pipeline").await;
        b.js(
            "window.prompt = function () { return '预算被砍'; }; return null;",
            vec![],
        )
        .await;
        drop_on(&b, &card, "Closed Lost").await;
        b.assert_no_alert("after dropping on a lost stage").await;
        assert_eq!(
            b.js(&column_of, vec![]).await,
            json!("Closed Lost"),
            "the card moved to lost"
        );
        b.goto(&format!("/m/Opportunities/{id}")).await;
        let page = b.text("main").await;
        assert!(page.contains("预算被砍"), "the lost reason is on the record");
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_renames_a_stage_and_cannot_remove_one_in_use() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let id = server
        .records_as("admin")
        .create(
            "Opportunities",
            json!({"potentialname": "阶段设置测试", "amount": "1000", "closingdate": "2026-12-31"}),
        )
        .await;
    with_browser("pipeline-admin-stages", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        b.goto("/admin/stages").await;
        b.fill("input[name=s0_label_zh]", "首次接触").await;
        b.click_and_wait("form.record-form button[type=submit]").await;
        assert!(b.path().await.contains("saved=1"), "{}", b.path().await);
        assert_eq!(b.prop("input[name=s0_label_zh]", "value").await, "首次接触");
        assert_eq!(b.prop("input[name=s0_value]", "value").await, "Prospecting");
        // The record keeps its stored value and shows the new label.
        b.goto(&format!("/pipeline/{id}")).await;
        assert_eq!(b.text("#current-stage").await, "首次接触");
        // Removing the stage the opportunity is in is refused with a message.
        b.goto("/admin/stages").await;
        b.click("input[name=s0_remove]").await;
        b.click_and_wait("form.record-form button[type=submit]").await;
        let error = b.text(".flash.error").await;
        assert!(error.contains("首次接触") && error.contains('1'), "{error}");
        b.goto("/admin/stages").await;
        assert_eq!(b.prop("input[name=s0_value]", "value").await, "Prospecting");
        b.screenshot("pipeline-admin-stages").await;
    })
    .await;
    server.stop().await;
}

/// Drags a card onto a stage's column as the browser would, and waits for the board to
/// come back after the card's form posted.
async fn drop_on(b: &crate::harness::Browser, card: &str, stage: &str) {
    b.js("window.__sableOldPage = true; return null;", vec![]).await;
    b.js(
        "var card = document.querySelector(arguments[0]);
         var target = document.querySelector(\".board-column[data-stage='\" + arguments[1] + \"']\");
         var dt = new DataTransfer();
         card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
         target.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
         target.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
         card.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: dt}));
         return null;",
        vec![Value::String(card.to_string()), Value::String(stage.to_string())],
    )
    .await;
    // Errors while the old page unloads are expected.
    let started = std::time::Instant::now();
    loop {
        let done = b
            .client
            .execute(
                "return window.__sableOldPage === undefined && document.readyState === 'complete' && !!document.querySelector('.board');",
                vec![],
            )
            .await;
        if matches!(done, Ok(Value::Bool(true))) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "dropping the card did not reload the board"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
