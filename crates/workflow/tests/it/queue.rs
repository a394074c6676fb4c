//! Several workers on one database: no job is claimed twice (SKIP LOCKED on PostgreSQL,
//! the single writer on SQLite), and every job is done.

use std::collections::HashMap;

use sable_store::jobs::{self, NewJob};
use serde_json::json;

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;

#[tokio::test]
async fn two_workers_share_the_queue_without_claiming_twice() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({"module": "Leads", "name": "hook", "enabled": true, "trigger": {"type": "on_create"},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "json"}]}),
        )
        .await;
        let n = 40;
        let actor = alice.actor();
        let svc = store.records(&actor);
        for i in 0..n {
            svc.create("Leads", &obj(json!({"lastname": format!("L{i}")})))
                .await
                .expect("lead");
        }
        let clock = clock();
        // Two nodes: separate stores (own pools) on the same database.
        let other_store = sable_store::Store::open_db(store.db().clone())
            .await
            .expect("second store");
        let a = engine(&store, &clock, "node-a");
        let b = engine(&other_store, &clock, "node-b");
        let (ra, rb) = tokio::join!(a.tick(), b.tick());
        ra.expect("node a");
        rb.expect("node b");
        let hits = hook.hits().await;
        let mut per_key: HashMap<String, usize> = HashMap::new();
        for h in &hits {
            *per_key.entry(h.key.clone().unwrap_or_default()).or_default() += 1;
        }
        assert_eq!(per_key.len(), n, "{backend}: every lead's webhook");
        assert!(per_key.values().all(|c| *c == 1), "{backend}: none twice: {per_key:?}");
        let runs = runs(&store, wf.id).await;
        assert_eq!(
            runs.len(),
            n,
            "{backend}: one run per event, though both nodes dispatched"
        );
        assert!(runs.iter().all(|r| r.status == "done"), "{backend}");

        // The queue itself: the same key enqueued twice is one job; claims never overlap.
        let now = 1_000;
        let job = NewJob {
            kind: "noop".into(),
            payload: json!({}),
            idempotency_key: "k-1".into(),
            run_at: now,
            max_attempts: 2,
        };
        assert!(jobs::enqueue(&store, &job, now).await.expect("enqueue").is_some());
        assert!(
            jobs::enqueue(&store, &job, now).await.expect("enqueue").is_none(),
            "{backend}"
        );
        let (c1, c2) = tokio::join!(
            jobs::claim(&store, "x", now, now + 10, 5),
            jobs::claim(&other_store, "y", now, now + 10, 5)
        );
        let claimed = c1.expect("claim").len() + c2.expect("claim").len();
        assert_eq!(claimed, 1, "{backend}");
        other_store.close().await;
    });
}
