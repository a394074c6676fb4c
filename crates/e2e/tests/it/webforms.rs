//! A visitor fills the hosted web form in Chromium: a wrong captcha keeps the values and
//! shows a new picture; the right one thanks the visitor, and the lead exists, assigned
//! by round robin (an inactive user skipped), with a hostile name stored as text.

use sable_core::Value as FieldValue;
use sable_core::assignment::{RuleSpec, Target};
use sable_server::forms::captcha;
use sable_store::assignment::{NewRule, create_rule};
use sable_store::webforms::{FormField, FormSpec, NewForm, Returning, create_form};
use sable_store::{Actor, Query};

use crate::harness::{TestServer, browser_available, with_browser};

const HOSTILE: &str = "<script>alert(1)</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_fills_the_hosted_form() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    server.add_user("zhao", "zhao-password-1", "赵", Some("en")).await;
    server.add_user("qian", "qian-password-1", "钱", Some("en")).await;
    let admin = server.user("admin").await.actor();
    let zhao = server.user("zhao").await.id;
    let qian = server.user("qian").await.id;
    sable_store::users::deactivate(&server.store, &admin, "zhao")
        .await
        .unwrap();
    let rule = create_rule(
        &server.store,
        &admin,
        &NewRule {
            name: "web".into(),
            module: "Leads".into(),
            active: true,
            spec: RuleSpec {
                branches: vec![],
                fallback: Some(Target::RoundRobin {
                    user_ids: vec![zhao, qian],
                }),
                followup_hours: Some(24),
            },
        },
    )
    .await
    .unwrap();
    let field = |name: &str, required: bool| FormField {
        name: name.into(),
        label: Default::default(),
        required,
    };
    let form = create_form(
        &server.store,
        &admin,
        &NewForm {
            name: "Contact us".into(),
            module: "Leads".into(),
            active: true,
            spec: FormSpec {
                title: sable_core::Labels::new("Contact us", "联系我们"),
                fields: vec![field("lastname", true), field("email", true), field("company", false)],
                defaults: serde_json::json!({"leadsource": "Web Site"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                thanks: sable_core::Labels::new("Thank you, visitor!", "谢谢您！"),
                return_url: None,
                assignment_rule_id: Some(rule.id),
                consent: Some(sable_core::Labels::new("You may contact me.", "同意联系我。")),
                consent_required: true,
                allowed_origins: vec![],
                captcha: true,
                returning: Returning::Attach,
            },
        },
    )
    .await
    .unwrap();
    let secret = sable_store::webforms::captcha_secret(&server.store).await.unwrap();
    let path = format!("/forms/{}?lang=en", form.public_id);
    with_browser("webforms", &server.base, move |b| async move {
        b.goto(&path).await;
        assert_eq!(b.text("h1").await, "Contact us");
        b.fill("#f-lastname", HOSTILE).await;
        b.fill("#f-email", "visitor@example.com").await;
        b.fill("#f-company", "访客公司").await;
        b.click("#f-consent").await;
        b.fill("#f-captcha", "WRONG").await;
        b.click_and_wait("#webform button[type=submit]").await;
        // Refused: the values are kept, the picture is new.
        assert!(!b.text("#e-captcha_answer").await.is_empty());
        assert_eq!(b.prop("#f-lastname", "value").await, HOSTILE);
        assert_eq!(b.prop("#f-consent", "checked").await, "true");
        let token = b.prop("input[name=captcha_token]", "value").await;
        let answer = captcha::answer(&secret, &token).expect("a token of this server");
        b.fill("#f-captcha", &answer.to_lowercase()).await;
        b.click_and_wait("#webform button[type=submit]").await;
        assert_eq!(b.text("#webform-thanks").await, "Thank you, visitor!");
        b.assert_no_alert("thank-you page").await;
        b.screenshot("webform-thanks").await;
    })
    .await;
    let system = Actor::unrestricted_for_system_jobs();
    let leads = server
        .store
        .records(&system)
        .query("Leads", &Query::default())
        .await
        .unwrap();
    assert_eq!(leads.items.len(), 1);
    let lead = &leads.items[0];
    assert_eq!(lead.values.get("lastname"), Some(&FieldValue::Text(HOSTILE.into())));
    assert_eq!(
        lead.values.get("assigned_user_id"),
        Some(&FieldValue::Id(qian)),
        "zhao is inactive"
    );
    server.stop().await;
}
