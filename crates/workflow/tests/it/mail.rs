//! The queued e-mail path that test-send and "send from a record" use.

use sable_store::jobs::{self, MailRequest};
use serde_json::json;

use crate::helpers::*;
use crate::on_all_backends;
use crate::smtp::SmtpReceiver;

#[tokio::test]
async fn queued_mail_is_sent_once_and_logged_on_the_record() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let bob = user(&store, "bob", "en").await;
        let lead = store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Chen", "email": "chen@example.com"})))
            .await
            .expect("lead");
        let req = MailRequest {
            to: vec!["chen@example.com".into()],
            subject: "Hello 你好".into(),
            body: "Dear Chen,\n尊敬的陈先生：\n.\nA line with a dot above.".into(),
            module: Some("Leads".into()),
            record_id: Some(lead.id),
            idempotency_key: Some("ui:send:1".into()),
        };
        // Bob cannot see Alice's lead (private by default), so cannot mail from it.
        let refused = jobs::enqueue_mail(&store, &bob.actor(), &req).await;
        assert!(refused.is_err(), "{backend}: {refused:?}");
        let id = jobs::enqueue_mail(&store, &alice.actor(), &req).await.expect("queued");
        // Asking twice (a double click) queues one.
        assert_eq!(
            jobs::enqueue_mail(&store, &alice.actor(), &req).await.expect("again"),
            id,
            "{backend}"
        );
        // Bad requests are refused before anything is written.
        for bad in [
            MailRequest {
                to: vec![],
                ..req.clone()
            },
            MailRequest {
                to: vec!["not an address".into()],
                ..req.clone()
            },
            MailRequest {
                to: vec!["a@b.com\r\nBcc: x@y.com".into()],
                ..req.clone()
            },
            MailRequest {
                subject: String::new(),
                ..req.clone()
            },
            MailRequest {
                body: "x".repeat(jobs::MAX_BODY_BYTES + 1),
                ..req.clone()
            },
        ] {
            assert!(
                jobs::enqueue_mail(&store, &alice.actor(), &bad).await.is_err(),
                "{backend}: {:?}",
                bad.to
            );
        }
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        // No SMTP server configured yet: the mail waits (and says why) instead of vanishing.
        engine.tick().await.expect("tick");
        let mail = jobs::get_sent_mail(&store, id).await.expect("mail").expect("row");
        assert_eq!(mail.status, "queued", "{backend}");
        assert!(mail.error.unwrap_or_default().contains("no SMTP server"), "{backend}");
        smtp_to(&store, smtp.port).await;
        clock.advance_ms(jobs::backoff_ms(1));
        engine.tick().await.expect("tick");
        let got = smtp.messages().await;
        assert_eq!(got.len(), 1, "{backend}");
        assert_eq!(got[0].header("Subject").as_deref(), Some("Hello 你好"));
        assert!(got[0].body().contains("尊敬的陈先生"), "{}", got[0].body());
        assert!(
            got[0].body().contains("\n.\n") || got[0].body().contains("\r\n.\r\n"),
            "{backend}: dot line kept"
        );
        let expected = jobs::message_id_for("ui:send:1", "sable.test");
        assert_eq!(got[0].header("Message-ID").as_deref(), Some(expected.as_str()));
        let timeline = jobs::mail_for_record(&store, &alice.actor(), "Leads", lead.id)
            .await
            .expect("timeline");
        assert_eq!(timeline.len(), 1);
        assert_eq!(
            (timeline[0].status.as_str(), timeline[0].message_id.as_str()),
            ("sent", expected.as_str())
        );
    });
}
