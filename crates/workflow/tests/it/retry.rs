//! Failures: retried with exponential back-off, the run log shows each error, the same
//! idempotency key on every attempt; a permanent failure fails the run, and an admin's
//! retry runs it again.

use sable_store::{jobs, workflows};
use serde_json::json;

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;
use crate::smtp::{Mode, SmtpReceiver};

#[tokio::test]
async fn failures_back_off_and_show_in_the_run_log() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({"module": "Leads", "name": "hook", "enabled": true, "trigger": {"type": "on_create"},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "json"}]}),
        )
        .await;
        hook.script(&[500, 503]).await;
        store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Flaky"})))
            .await
            .expect("lead");
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        engine.tick().await.expect("tick");
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "queued", "{backend}: waiting for a retry: {run:#?}");
        let err = run.error.clone().unwrap_or_default();
        assert!(
            err.contains("attempt 1 failed") && err.contains("HTTP 500"),
            "{backend}: {err}"
        );
        assert_eq!(run.actions[0].status, "failed");
        let job = jobs::get_job(&store, run.job_id.expect("job"))
            .await
            .expect("job")
            .expect("row");
        assert_eq!(
            job.run_at,
            clock_now(&clock) + jobs::backoff_ms(1),
            "{backend}: first back-off"
        );
        // Not before the back-off has passed.
        clock.advance_ms(jobs::backoff_ms(1) - 1);
        engine.tick().await.expect("tick");
        assert_eq!(hook.hits().await.len(), 1, "{backend}");
        clock.advance_ms(1);
        engine.tick().await.expect("tick");
        assert_eq!(hook.hits().await.len(), 2, "{backend}");
        let job = jobs::get_job(&store, job.id).await.expect("job").expect("row");
        assert_eq!(
            job.run_at,
            clock_now(&clock) + jobs::backoff_ms(2),
            "{backend}: the back-off doubled"
        );
        assert!(job.last_error.unwrap_or_default().contains("503"));
        clock.advance_ms(jobs::backoff_ms(2));
        engine.tick().await.expect("tick");
        let hits = hook.hits().await;
        assert_eq!(hits.len(), 3, "{backend}");
        assert!(
            hits.iter().all(|h| h.key == hits[0].key),
            "{backend}: one key on every attempt"
        );
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "done", "{backend}: {run:#?}");
        assert_eq!((run.actions[0].status.as_str(), run.actions[0].attempts), ("done", 3));
    });
}

fn clock_now(c: &sable_workflow::ManualClock) -> i64 {
    use sable_workflow::Clock;
    c.now_ms()
}

#[tokio::test]
async fn a_permanent_failure_fails_the_run_and_an_admin_retries_it() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let smtp = SmtpReceiver::start().await;
        smtp_to(&store, smtp.port).await;
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({"module": "Leads", "name": "mail then hook", "enabled": true, "trigger": {"type": "on_create"},
                   "actions": [
                       {"type": "send_email", "subject": "s", "body": "b", "to": "owner"},
                       {"type": "webhook", "url": hook.url, "format": "json"}]}),
        )
        .await;
        hook.script(&[400]).await;
        store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Bad"})))
            .await
            .expect("lead");
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        engine.tick().await.expect("tick");
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "failed", "{backend}: a 400 will not get better: {run:#?}");
        assert!(
            run.error.as_deref().unwrap_or_default().contains("HTTP 400"),
            "{backend}: {run:#?}"
        );
        assert_eq!(run.actions[0].status, "done");
        assert_eq!(run.actions[1].status, "failed");
        // Only failed runs can be retried; a non-admin may not.
        let denied = workflows::retry_run(&store, &alice.actor(), run.id).await;
        assert!(denied.is_err(), "{backend}");
        let again = workflows::retry_run(&store, &admin(), run.id).await.expect("retry");
        assert_eq!(again.status, "queued");
        assert!(
            workflows::retry_run(&store, &admin(), run.id).await.is_err(),
            "{backend}: not twice"
        );
        engine.tick().await.expect("tick");
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "done", "{backend}: {run:#?}");
        // The e-mail was done before: it is not sent again.
        assert_eq!(smtp.messages().await.len(), 1, "{backend}");
        assert_eq!(hook.hits().await.len(), 2, "{backend}");
        // A mail server that keeps refusing for a while: the run waits and says why.
        smtp.set_mode(Mode::TempFail).await;
        store
            .records(&alice.actor())
            .create("Leads", &obj(json!({"lastname": "Later"})))
            .await
            .expect("lead");
        engine.tick().await.expect("tick");
        let run = runs(&store, wf.id).await.pop().expect("run");
        assert_eq!(run.status, "queued", "{backend}: {run:#?}");
        assert!(
            run.error.as_deref().unwrap_or_default().contains("451"),
            "{backend}: {run:#?}"
        );
    });
}
