//! A worker killed in the middle of a job: the lease expires, another worker claims the
//! job, and the e-mail goes out with the same idempotency key (the same Message-ID).

use sable_store::jobs;
use serde_json::json;

use crate::helpers::*;
use crate::on_all_backends;
use crate::smtp::{Mode, SmtpReceiver};

#[tokio::test]
async fn a_killed_worker_s_job_is_retried_with_the_same_key() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({"module": "Leads", "name": "notify", "enabled": true, "trigger": {"type": "on_create"},
                   "actions": [{"type": "send_email", "subject": "Lead {{ lastname }}", "body": "b", "to": "owner"}]}),
        )
        .await;
        store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Zhao"})))
            .await
            .expect("lead");
        let clock = clock();
        // Worker 1 reads the message into the server, which then stalls: kill worker 1 there.
        smtp.set_mode(Mode::Hang).await;
        let first = engine(&store, &clock, "doomed");
        let task = tokio::spawn({
            let first = first.clone();
            async move {
                let _ = first.tick().await;
            }
        });
        smtp.data_read.notified().await;
        task.abort();
        let _ = task.await;
        let run = runs(&store, wf.id).await.pop().expect("run");
        let job = jobs::get_job(&store, run.job_id.expect("job"))
            .await
            .expect("job")
            .expect("job row");
        assert_eq!(job.status, "running", "{backend}: the dead worker still holds it");
        assert_eq!(job.locked_by.as_deref(), Some("doomed"));

        // Another worker cannot take it while the lease holds …
        smtp.set_mode(Mode::Accept).await;
        let second = engine(&store, &clock, "survivor");
        second.tick().await.expect("tick");
        assert!(
            smtp.messages().await.is_empty(),
            "{backend}: not before the lease expires"
        );
        // … and takes it once the lease expired.
        clock.advance_ms(60_001);
        second.tick().await.expect("tick");
        let mails = smtp.messages().await;
        assert_eq!(mails.len(), 1, "{backend}");
        let key = &run.actions[0].idempotency_key;
        assert_eq!(
            mails[0].header("Message-ID"),
            Some(jobs::message_id_for(key, "sable.test")),
            "{backend}"
        );
        let job = jobs::get_job(&store, job.id).await.expect("job").expect("job row");
        assert_eq!((job.status.as_str(), job.attempts), ("done", 2), "{backend}: {job:#?}");
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "done", "{backend}: {run:#?}");
        // The first worker's conversation reached DATA; the receiver saw two conversations
        // carrying one idempotency key.
        assert!(smtp.conversations.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    });
}
