//! A workflow's own writes do not trigger it again, and chains of workflows stop.

use serde_json::json;

use crate::helpers::*;
use crate::on_all_backends;

#[tokio::test]
async fn own_writes_do_not_retrigger_and_chains_stop() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let alice = user(&store, "alice", "en").await;
        let stamp = workflow(
            &store,
            json!({"module": "Leads", "name": "stamp", "enabled": true, "trigger": {"type": "on_save"},
                   "actions": [{"type": "update_fields", "values": {"description": "today + 1 day"}}]}),
        )
        .await;
        let ping = workflow(
            &store,
            json!({"module": "Accounts", "name": "ping", "enabled": true, "trigger": {"type": "on_save"},
                   "actions": [{"type": "update_fields", "values": {"website": "https://ping.example"}}]}),
        )
        .await;
        let pong = workflow(
            &store,
            json!({"module": "Accounts", "name": "pong", "enabled": true, "trigger": {"type": "on_save"},
                   "actions": [{"type": "update_fields", "values": {"website": "https://pong.example"}}]}),
        )
        .await;
        let actor = alice.actor();
        let svc = store.records(&actor);
        let lead = svc
            .create("Leads", &obj(json!({"lastname": "Loop"})))
            .await
            .expect("lead");
        svc.create("Accounts", &obj(json!({"accountname": "Echo"})))
            .await
            .expect("account");
        let clock = clock();
        let engine = engine(&store, &clock, "w1");
        for _ in 0..5 {
            engine.tick().await.expect("tick");
        }
        let r = runs(&store, stamp.id).await;
        assert_eq!(r.iter().filter(|r| r.status == "done").count(), 1, "{backend}: {r:#?}");
        assert!(
            r.iter().any(|r| r
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("by this workflow itself")),
            "{backend}: {r:#?}"
        );
        let lead = svc.get("Leads", lead.id).await.expect("lead");
        assert_eq!(lead.version, 2, "{backend}: one workflow write");
        // ping and pong answer each other until the chain is 3 deep: both run on the user's
        // save (depth 0), then on the other's writes at depths 1 and 2 (a write that changes
        // nothing makes no event), and no further.
        let ping_runs = runs(&store, ping.id).await;
        let pong_runs = runs(&store, pong.id).await;
        let done = ping_runs
            .iter()
            .chain(&pong_runs)
            .filter(|r| r.status == "done")
            .count();
        assert!((2..=6).contains(&done), "{backend}: {ping_runs:#?} {pong_runs:#?}");
        assert!(
            ping_runs
                .iter()
                .chain(&pong_runs)
                .any(|r| r.reason.as_deref().unwrap_or_default().contains("in a chain")),
            "{backend}: {ping_runs:#?} {pong_runs:#?}"
        );
        // Nothing left to do, and an idle tick does not wake the runner again (no busy loop).
        let quiet = engine.tick().await.expect("tick");
        assert_eq!((quiet.events, quiet.jobs_run), (0, 0), "{backend}");
        assert!(woken(&store).await, "{backend}: earlier commits left a wake-up");
        engine.tick().await.expect("idle tick");
        assert!(!woken(&store).await, "{backend}: an idle tick must not wake the runner");
    });
}

/// Whether a wake-up is pending, without waiting for one.
async fn woken(store: &sable_store::Store) -> bool {
    tokio::select! {
        biased;
        _ = store.jobs_woken() => true,
        _ = std::future::ready(()) => false,
    }
}
