//! An administrator builds a workflow in the browser: from the admin menu, a new Leads
//! workflow with a trigger, a condition row of the filter builder, an e-mail action and
//! a webhook added with the form's own button; saved, it is listed as enabled.

use std::time::Duration;

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, TestServer, browser_available, with_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_workflow_in_the_ui_and_see_it_listed_enabled() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let store = server.store.clone();
    with_browser("workflows_admin", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        b.click_and_wait("aside.sidebar a[href='/admin/workflows']").await;
        assert_eq!(b.path_only().await, "/admin/workflows");
        b.js(
            "document.querySelector('#new-module').value = 'Leads'; return null;",
            vec![],
        )
        .await;
        b.click_and_wait("#new-workflow").await;
        assert_eq!(b.path_only().await, "/admin/workflows/new");
        b.fill("#wf-name", "新网络线索提醒").await;
        b.js(
            "document.querySelector('input[name=trigger][value=field_changed]').click(); return null;",
            vec![],
        )
        .await;
        b.js(
            "document.querySelector('#t-field').value = 'leadstatus'; return null;",
            vec![],
        )
        .await;
        b.fill("#t-to", "Hot").await;
        // a condition row of the list pages' filter builder: picking the field fetches
        // the row again with that field's operators (htmx)
        b.js(
            "const s = document.querySelector('.filter-row select[name=f]'); s.value = 'leadsource'; s.dispatchEvent(new Event('change', {bubbles: true})); return null;",
            vec![],
        )
        .await;
        assert!(
            b.wait_until(
                "const s = document.querySelector('.filter-row select[name=f]'); return !!s && s.value === 'leadsource' && !!document.querySelector('.filter-row select[name=v]');",
                vec![],
                Duration::from_secs(10)
            )
            .await,
            "the condition row should be fetched again for leadsource"
        );
        b.js(
            "const v = document.querySelector('.filter-row select[name=v]'); v.value = v.options[1].value; return null;",
            vec![],
        )
        .await;
        // the first action (an e-mail) is there; fill it
        b.fill("#a0-subject", "热线索：{{ lastname }}").await;
        b.fill("#a0-body", "请今天联系。").await;
        // (scrolled under the sticky top bar: ticked by script, as a keyboard user would)
        b.js("document.querySelector('#wf-enabled').click(); return null;", vec![]).await;
        // add a webhook with the form's button (a round trip that keeps what was typed)
        b.js(
            "document.querySelector('#add-type').value = 'webhook'; return null;",
            vec![],
        )
        .await;
        b.click_and_wait("#add-action").await;
        assert_eq!(b.prop("#wf-name", "value").await, "新网络线索提醒", "typed name kept");
        assert_eq!(b.prop("#a0-subject", "value").await, "热线索：{{ lastname }}");
        b.fill("#a1-url", "https://hooks.example.com/wecom").await;
        b.js(
            "document.querySelector('#a1-format').value = 'wecom'; return null;",
            vec![],
        )
        .await;
        b.screenshot("30-workflow-edit-zh").await;
        b.click_and_wait("#save-workflow").await;
        b.assert_no_alert("saving the workflow").await;
        assert!(
            b.path().await.ends_with("?saved=1"),
            "saved: {} {}",
            b.path().await,
            b.text("main").await
        );
        // listed, enabled
        b.click_and_wait("aside.sidebar a[href='/admin/workflows']").await;
        let row = b.text("table.workflows tbody tr").await;
        assert!(row.contains("新网络线索提醒"), "{row}");
        assert!(row.contains("开启"), "listed as enabled: {row}");
        b.screenshot("31-workflows-zh").await;
        let admin = sable_store::users::find_user(&store, "admin")
            .await
            .expect("users")
            .expect("admin")
            .actor();
        let list = sable_store::workflows::list_workflows(&store, &admin, None)
            .await
            .expect("workflows");
        assert_eq!(list.len(), 1);
        let def = &list[0].def;
        assert!(def.enabled);
        assert_eq!(
            serde_json::to_value(&def.trigger).expect("json"),
            json!({"type": "field_changed", "field": "leadstatus", "to": "Hot"})
        );
        assert_eq!(def.condition.as_ref().and_then(|c| c["all"][0]["field"].as_str()), Some("leadsource"));
        assert_eq!(
            def.actions.iter().map(|a| a.kind()).collect::<Vec<_>>(),
            ["send_email", "webhook"]
        );
    })
    .await;
    server.stop().await;
}
