//! The whole story: a web-form post creates a lead, the shipped "new web lead" workflow
//! assigns it by round robin (an inactive user skipped), gives the owner a follow-up task
//! in their agenda, and e-mails them; a webhook fires; each is delivered once.

use std::collections::BTreeMap;

use sable_core::assignment::{RuleSpec, Target};
use sable_core::workflow::{Action, WebhookFormat};
use sable_store::assignment::{self, NewRule};
use sable_store::record::Query;
use sable_store::users::{self, NewUser};
use sable_store::webforms::{self, FormField, FormSpec, NewForm, Submission};
use sable_store::workflows;
use serde_json::{Map, json};

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;
use crate::smtp::SmtpReceiver;

#[tokio::test]
async fn web_form_lead_is_assigned_round_robin_with_task_mail_and_webhook_once() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        let hook = HttpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let boss = users::create_user(
            &store,
            &admin(),
            &NewUser {
                user_name: "boss".into(),
                password: "correct horse battery".into(),
                last_name: "Boss".into(),
                is_admin: true,
                ..NewUser::default()
            },
        )
        .await
        .expect("admin user");
        let bob = user(&store, "bob", "en").await;
        let alice = user(&store, "alice", "en").await;
        let carol = user(&store, "carol", "zh-CN").await;
        users::deactivate(&store, &boss.actor(), "bob")
            .await
            .expect("deactivate bob");
        let rule = assignment::create_rule(
            &store,
            &boss.actor(),
            &NewRule {
                name: "sales team".into(),
                module: "Leads".into(),
                active: true,
                spec: RuleSpec {
                    branches: vec![],
                    fallback: Some(Target::RoundRobin {
                        user_ids: vec![bob.id, alice.id, carol.id],
                    }),
                    followup_hours: None,
                },
            },
        )
        .await
        .expect("rule");
        // The shipped default, pointed at the rule, with a webhook added, and enabled.
        let (_, mut def) = sable_workflow::defaults::all(rule.id).remove(0);
        def.enabled = true;
        def.actions.push(Action::Webhook {
            url: hook.url.clone(),
            format: WebhookFormat::Json,
            template: None,
        });
        let wf = workflows::create_workflow(&store, &admin(), &def)
            .await
            .expect("workflow");
        let form = webforms::create_form(
            &store,
            &boss.actor(),
            &NewForm {
                name: "contact us".into(),
                module: "Leads".into(),
                active: true,
                spec: FormSpec {
                    title: Default::default(),
                    fields: ["lastname", "company", "email"]
                        .iter()
                        .map(|f| FormField {
                            name: (*f).into(),
                            label: Default::default(),
                            required: *f == "lastname",
                        })
                        .collect(),
                    defaults: Map::from_iter([("leadsource".to_string(), json!("Web Site"))]),
                    thanks: Default::default(),
                    return_url: None,
                    assignment_rule_id: None,
                    consent: None,
                    consent_required: false,
                    allowed_origins: vec![],
                    captcha: false,
                    returning: Default::default(),
                },
            },
        )
        .await
        .expect("form");
        let mut lead_ids = Vec::new();
        for (name, email) in [("Zhou", "zhou@visitor.test"), ("Wu", "wu@visitor.test")] {
            let values = BTreeMap::from([
                ("lastname".to_string(), name.to_string()),
                ("company".to_string(), format!("{name} Co")),
                ("email".to_string(), email.to_string()),
            ]);
            let out = webforms::submit(
                &store,
                &form,
                &Submission {
                    values,
                    consent: false,
                    ip_hash: "h".into(),
                },
            )
            .await
            .expect("submit");
            lead_ids.push(out.record_id);
        }
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        engine.tick().await.expect("tick");
        engine.tick().await.expect("again: nothing more");

        let system = admin();
        let mut owners = Vec::new();
        for id in &lead_ids {
            let lead = store.records(&system).get("Leads", *id).await.expect("lead");
            let owner = match lead.values.get("assigned_user_id") {
                Some(sable_core::Value::Id(o)) => *o,
                other => panic!("{backend}: no owner: {other:?}"),
            };
            owners.push(owner);
        }
        assert!(
            !owners.contains(&bob.id),
            "{backend}: the inactive user is skipped: {owners:?}"
        );
        owners.sort();
        let mut expected = vec![alice.id, carol.id];
        expected.sort();
        assert_eq!(owners, expected, "{backend}: one lead each, in turn");

        // Each owner has the follow-up task in their own agenda (what they can see).
        for (u, name) in [(&alice, "alice"), (&carol, "carol")] {
            let actor = u.actor();
            let tasks = store
                .records(&actor)
                .query("Tasks", &Query::default())
                .await
                .expect("tasks");
            assert_eq!(tasks.items.len(), 1, "{backend}: {name}'s task");
            assert_eq!(
                tasks.items[0].values.get("assigned_user_id"),
                Some(&sable_core::Value::Id(u.id))
            );
            let mails: Vec<_> = smtp
                .messages()
                .await
                .into_iter()
                .filter(|m| m.rcpt == vec![format!("{name}@example.com")])
                .collect();
            assert_eq!(mails.len(), 1, "{backend}: one e-mail to {name}");
            assert!(mails[0].header("Subject").unwrap_or_default().contains("New web lead"));
        }
        assert_eq!(smtp.messages().await.len(), 2, "{backend}");
        let hits = hook.hits().await;
        assert_eq!(hits.len(), 2, "{backend}: one webhook per lead");
        assert_ne!(hits[0].key, hits[1].key);
        let runs = runs(&store, wf.id).await;
        assert_eq!(runs.len(), 2, "{backend}: {runs:#?}");
        assert!(
            runs.iter().all(|r| r.status == "done" && r.actions.len() == 4),
            "{backend}: {runs:#?}"
        );
        let log = assignment::log_for_record(&store, &boss.actor(), "Leads", lead_ids[0])
            .await
            .expect("log");
        assert_eq!(log.len(), 1, "{backend}: the decision is logged");
    });
}
