//! The store's admin API under hostile input: workflows, templates and SMTP settings are
//! refused with a message saying what and where, nothing is half-written, and only
//! administrators may touch them.

use sable_core::workflow::WorkflowDef;
use sable_store::email_templates::{self, TemplateContent};
use sable_store::mail_settings::{self, Security, SmtpSettings};
use sable_store::{StoreError, workflows};
use serde_json::json;

use crate::helpers::*;
use crate::on_all_backends;

fn refusal(e: StoreError) -> String {
    e.refusal().map(|r| r.en).unwrap_or_else(|| e.to_string())
}

#[tokio::test]
async fn workflows_templates_and_smtp_refuse_bad_input() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let alice = user(&store, "alice", "en").await;
        let good = WorkflowDef::from_json(
            &json!({"module": "Leads", "name": "n", "trigger": {"type": "on_create"},
            "actions": [{"type": "send_email", "subject": "s", "body": "b", "to": "owner"}]}),
        )
        .expect("def");
        // Only administrators.
        assert!(
            workflows::create_workflow(&store, &alice.actor(), &good).await.is_err(),
            "{backend}"
        );
        assert!(
            workflows::list_workflows(&store, &alice.actor(), None).await.is_err(),
            "{backend}"
        );
        // A definition that does not fit the metadata names the place.
        let mut bad = good.clone();
        bad.condition = Some(json!({"all": [{"field": "nope", "op": "eq", "value": 1}]}));
        let e = refusal(workflows::create_workflow(&store, &admin(), &bad).await.unwrap_err());
        assert!(e.contains(".condition") && e.contains("nope"), "{backend}: {e}");
        let mut bad = good.clone();
        bad.name = "x".repeat(500);
        assert!(workflows::create_workflow(&store, &admin(), &bad).await.is_err());
        assert!(
            workflows::list_workflows(&store, &admin(), None)
                .await
                .expect("list")
                .is_empty(),
            "{backend}: nothing written"
        );
        // CRUD and enable/disable.
        let wf = workflows::create_workflow(&store, &admin(), &good)
            .await
            .expect("create");
        assert!(!wf.def.enabled);
        let on = workflows::set_enabled(&store, &admin(), wf.id, true)
            .await
            .expect("enable");
        assert!(on.def.enabled);
        let mut changed = good.clone();
        changed.name = "renamed 改名".into();
        let upd = workflows::update_workflow(&store, &admin(), wf.id, &changed)
            .await
            .expect("update");
        assert_eq!(upd.def.name, "renamed 改名");
        assert!(
            workflows::update_workflow(&store, &admin(), 9999, &changed)
                .await
                .is_err()
        );
        workflows::delete_workflow(&store, &admin(), wf.id)
            .await
            .expect("delete");
        assert!(workflows::get_workflow(&store, &admin(), wf.id).await.is_err());

        // Templates: syntax errors name the part and line; names are unique; sizes capped.
        let t = TemplateContent {
            name: "welcome".into(),
            module: Some("Leads".into()),
            subject_en: "Welcome {{ lastname }}".into(),
            body_en: "Hello".into(),
            subject_zh: "欢迎 {{ lastname }}".into(),
            body_zh: "您好".into(),
        };
        assert!(
            email_templates::create_template(&store, &alice.actor(), &t)
                .await
                .is_err()
        );
        let created = email_templates::create_template(&store, &admin(), &t)
            .await
            .expect("template");
        let e = refusal(
            email_templates::create_template(&store, &admin(), &t)
                .await
                .unwrap_err(),
        );
        assert!(e.contains("another template"), "{backend}: {e}");
        let broken = TemplateContent {
            name: "broken".into(),
            body_zh: "第一行\n{% for x in %}".into(),
            ..t.clone()
        };
        let e = refusal(
            email_templates::create_template(&store, &admin(), &broken)
                .await
                .unwrap_err(),
        );
        assert!(e.contains("body_zh") && e.contains("line 2"), "{backend}: {e}");
        for bad in [
            TemplateContent {
                name: " ".into(),
                ..t.clone()
            },
            TemplateContent {
                name: "m".into(),
                module: Some("Nope".into()),
                ..t.clone()
            },
            TemplateContent {
                name: "s".into(),
                subject_en: String::new(),
                subject_zh: String::new(),
                ..t.clone()
            },
            TemplateContent {
                name: "l".into(),
                body_en: "x".repeat(email_templates::MAX_TEXT_BYTES + 1),
                ..t.clone()
            },
        ] {
            assert!(
                email_templates::create_template(&store, &admin(), &bad).await.is_err(),
                "{backend}: {:?}",
                bad.name
            );
        }
        assert_eq!(
            email_templates::list_templates(&store, Some("Leads"))
                .await
                .expect("list")
                .len(),
            1
        );
        assert_eq!(created.content.in_lang(sable_core::Lang::Zh).0, "欢迎 {{ lastname }}");

        // SMTP settings: checked, admin only, the password kept when left empty.
        let s = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            security: Security::Starttls,
            username: "crm".into(),
            password: "s3cret".into(),
            from_address: "crm@example.com".into(),
            from_name: "CRM".into(),
        };
        assert!(mail_settings::set_smtp(&store, &alice.actor(), &s).await.is_err());
        assert!(mail_settings::get_smtp(&store, &alice.actor()).await.is_err());
        for bad in [
            SmtpSettings {
                host: "bad host; rm".into(),
                ..s.clone()
            },
            SmtpSettings { port: 0, ..s.clone() },
            SmtpSettings {
                from_address: "nobody".into(),
                ..s.clone()
            },
            SmtpSettings {
                from_name: "a\r\nBcc: x".into(),
                ..s.clone()
            },
        ] {
            assert!(
                mail_settings::set_smtp(&store, &admin(), &bad).await.is_err(),
                "{backend}: {bad:?}"
            );
        }
        assert!(
            mail_settings::get_smtp(&store, &admin()).await.expect("get").is_none(),
            "{backend}: nothing saved"
        );
        mail_settings::set_smtp(&store, &admin(), &s).await.expect("save");
        mail_settings::set_smtp(
            &store,
            &admin(),
            &SmtpSettings {
                password: String::new(),
                port: 465,
                ..s.clone()
            },
        )
        .await
        .expect("save again");
        let got = mail_settings::get_smtp(&store, &admin())
            .await
            .expect("get")
            .expect("row");
        assert_eq!((got.port, got.password.as_str()), (465, "s3cret"), "{backend}");
        assert!(!format!("{got:?}").contains("s3cret"), "Debug hides the password");
    });
}

#[tokio::test]
async fn stage_guidance_goes_to_the_owner_in_their_language() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = crate::smtp::SmtpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let carol = user(&store, "carol", "zh-CN").await;
        let (_, mut def) = sable_workflow::defaults::all(1).remove(1);
        def.enabled = true;
        let wf = workflows::create_workflow(&store, &admin(), &def)
            .await
            .expect("workflow");
        let actor = carol.actor();
        let svc = store.records(&actor);
        let opp = svc
            .create(
                "Opportunities",
                &obj(json!({"potentialname": "大单", "closingdate": "2027-01-31", "sales_stage": "Prospecting"})),
            )
            .await
            .expect("opportunity");
        svc.update(
            "Opportunities",
            opp.id,
            None,
            &obj(json!({"sales_stage": "Needs Analysis"})),
        )
        .await
        .expect("move");
        svc.update("Opportunities", opp.id, None, &obj(json!({"potentialname": "大单二"})))
            .await
            .expect("rename: no stage entered");
        let clock = clock();
        engine(&store, &clock, "w1").tick().await.expect("tick");
        let mails = smtp.messages().await;
        assert_eq!(
            mails.len(),
            2,
            "{backend}: created in a stage, then moved: {:#?}",
            runs(&store, wf.id).await
        );
        let stage = sable_store::stages::stage(&store, "Needs Analysis")
            .await
            .expect("stages")
            .expect("stage");
        let moved = &mails[1];
        assert!(
            moved.header("Subject").unwrap_or_default().contains(&stage.labels.zh),
            "{backend}"
        );
        assert!(
            moved
                .body()
                .contains(stage.guidance.zh.lines().next().unwrap_or_default()),
            "{}",
            moved.body()
        );
        assert_eq!(moved.rcpt, vec!["carol@example.com".to_string()]);
    });
}
