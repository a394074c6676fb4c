//! A new web lead → follow-up task for the owner → e-mail and webhook, each delivered once.

use sable_store::jobs;
use sable_store::record::Query;
use serde_json::json;

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;
use crate::smtp::SmtpReceiver;

#[tokio::test]
async fn web_lead_gets_a_task_an_email_and_a_webhook_once() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        let hook = HttpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({
                "module": "Leads", "name": "web lead", "enabled": true,
                "trigger": {"type": "on_create"},
                "condition": {"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]},
                "actions": [
                    {"type": "create_activity", "module": "Tasks", "subject": "Call {{ lastname }}", "due_in_days": 1},
                    {"type": "send_email", "subject": "New lead {{ lastname }} at {{ company }}",
                     "body": "Hello {{ owner.name }}, call {{ lastname }} ({{ email }}).", "to": "owner"},
                    {"type": "webhook", "url": hook.url, "format": "json"}
                ]
            }),
        )
        .await;
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        let lead = store
            .records(&alice.actor())
            .create(
                "Leads",
                &obj(json!({"lastname": "Zhang", "company": "ACME", "email": "zhang@acme.test", "leadsource": "Web Site"})),
            )
            .await
            .expect("lead");
        // A lead from elsewhere: the run is logged with the reason, nothing is done.
        let other = store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Li", "leadsource": "Cold Call"})))
            .await
            .expect("lead");
        engine.tick().await.expect("tick");
        engine.tick().await.expect("second tick");

        // The task: on the lead, owned by the lead's owner, due tomorrow (Shanghai time).
        let tasks = store
            .records(&alice.actor())
            .query("Tasks", &Query::default())
            .await
            .expect("tasks");
        assert_eq!(tasks.items.len(), 1, "{backend}: one task");
        let t = &tasks.items[0];
        let task_json = t.to_json(
            store
                .registry()
                .await
                .expect("registry")
                .module("Tasks")
                .expect("Tasks"),
        );
        assert_eq!(task_json["fields"]["subject"], json!("Call Zhang"), "{backend}");
        assert_eq!(task_json["fields"]["parent_id"], json!(lead.id), "{backend}");
        assert_eq!(task_json["fields"]["assigned_user_id"], json!(alice.id), "{backend}");
        assert_eq!(task_json["fields"]["due_date"], json!("2026-12-08"), "{backend}");

        // The e-mail, once, with the Message-ID of its idempotency key.
        let runs = runs(&store, wf.id).await;
        assert_eq!(runs.len(), 2, "{backend}: {runs:#?}");
        let run = runs
            .iter()
            .find(|r| r.record_id == Some(lead.id))
            .expect("run of the web lead");
        assert_eq!(run.status, "done", "{backend}: {run:#?}");
        assert!(run.actions.iter().all(|a| a.status == "done"), "{backend}: {run:#?}");
        let skipped = runs
            .iter()
            .find(|r| r.record_id == Some(other.id))
            .expect("run of the other lead");
        assert!(
            !skipped.matched && skipped.status == "skipped",
            "{backend}: {skipped:#?}"
        );
        assert!(
            skipped.reason.as_deref().unwrap_or_default().contains("leadsource"),
            "{backend}: {skipped:#?}"
        );

        let mails = smtp.messages().await;
        assert_eq!(mails.len(), 1, "{backend}: exactly one e-mail");
        let m = &mails[0];
        assert_eq!(m.rcpt, vec!["alice@example.com".to_string()]);
        assert!(m.header("To").unwrap_or_default().contains("alice@example.com"));
        assert_eq!(m.header("Subject").as_deref(), Some("New lead Zhang at ACME"));
        assert!(m.body().contains("call Zhang (zhang@acme.test)"), "{}", m.body());
        let key = &run.actions[1].idempotency_key;
        assert_eq!(m.header("Message-ID"), Some(jobs::message_id_for(key, "sable.test")));

        // The webhook, once, with the record and the key.
        let hits = hook.hits().await;
        assert_eq!(hits.len(), 1, "{backend}: exactly one webhook");
        assert_eq!(hits[0].key.as_deref(), Some(run.actions[2].idempotency_key.as_str()));
        assert!(
            hits[0]
                .content_type
                .as_deref()
                .unwrap_or_default()
                .starts_with("application/json")
        );
        assert_eq!(hits[0].body["record"]["lastname"], json!("Zhang"));
        assert_eq!(hits[0].body["record"]["owner"]["email"], json!("alice@example.com"));
        assert_eq!(hits[0].body["workflow"]["id"], json!(wf.id));

        // The e-mail is on the lead's timeline.
        let timeline = jobs::mail_for_record(&store, &alice.actor(), "Leads", lead.id)
            .await
            .expect("mail");
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].status, "sent");
    });
}

#[tokio::test]
async fn field_changes_from_x_to_y_and_becoming_true() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "zh-CN").await;
        let changed = workflow(
            &store,
            json!({"module": "Leads", "name": "cold to hot", "enabled": true,
                   "trigger": {"type": "field_changed", "field": "leadstatus", "from": "Cold", "to": "Hot"},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "slack", "template": "{{ lastname }} is hot"}]}),
        )
        .await;
        let becomes = workflow(
            &store,
            json!({"module": "Leads", "name": "big", "enabled": true,
                   "trigger": {"type": "condition_becomes_true"},
                   "condition": {"all": [{"field": "annualrevenue", "op": "ge", "value": "1000000"}]},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "feishu"}]}),
        )
        .await;
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        let actor = alice.actor();
        let svc = store.records(&actor);
        let lead = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "Wang", "leadstatus": "Cold", "annualrevenue": "10"})),
            )
            .await
            .expect("lead");
        svc.update(
            "Leads",
            lead.id,
            None,
            &obj(json!({"leadstatus": "Warm", "annualrevenue": "2000000"})),
        )
        .await
        .expect("update");
        svc.update(
            "Leads",
            lead.id,
            None,
            &obj(json!({"leadstatus": "Cold", "annualrevenue": "3000000"})),
        )
        .await
        .expect("update");
        svc.update("Leads", lead.id, None, &obj(json!({"leadstatus": "Hot"})))
            .await
            .expect("update");
        engine.tick().await.expect("tick");
        let hits = hook.hits().await;
        let slack: Vec<_> = hits.iter().filter(|h| h.body.get("text").is_some()).collect();
        assert_eq!(slack.len(), 1, "{backend}: Cold → Hot once, not Cold → Warm: {hits:#?}");
        assert_eq!(slack[0].body["text"], json!("Wang is hot"));
        let feishu: Vec<_> = hits.iter().filter(|h| h.body.get("msg_type").is_some()).collect();
        assert_eq!(
            feishu.len(),
            1,
            "{backend}: became true once (not again while it stayed true): {hits:#?}"
        );
        let big_runs = runs(&store, becomes.id).await;
        assert!(
            big_runs
                .iter()
                .any(|r| r.reason.as_deref().unwrap_or_default().contains("held before")),
            "{backend}: {big_runs:#?}"
        );
        assert_eq!(runs(&store, changed.id).await.len(), 1, "{backend}");
    });
}
