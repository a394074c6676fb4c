//! Throughput figures for docs/performance.md (ignored: run with
//! `cargo test --workspace -- --ignored engine_throughput --nocapture`). It prints; it does
//! not time-limit anything.

use std::time::Instant;

use serde_json::json;

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;

#[tokio::test]
#[ignore]
async fn engine_throughput() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        workflow(
            &store,
            json!({"module": "Leads", "name": "bench", "enabled": true, "trigger": {"type": "on_create"},
                   "actions": [
                       {"type": "update_fields", "values": {"description": "today + 1 day"}},
                       {"type": "webhook", "url": hook.url, "format": "json"}]}),
        )
        .await;
        let n = 500;
        let actor = alice.actor();
        let svc = store.records(&actor);
        for i in 0..n {
            svc.create("Leads", &obj(json!({"lastname": format!("B{i}")})))
                .await
                .expect("lead");
        }
        let clock = clock();
        let engine = engine(&store, &clock, "bench");
        let t = Instant::now();
        let report = engine.tick().await.expect("tick");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(hook.hits().await.len(), n);
        let line = format!(
            "{backend}: {n} events → {} jobs (update + webhook each) in {secs:.2} s = {:.0} runs/s",
            report.jobs_run,
            n as f64 / secs
        );
        sable_store::testing::announce_skip(&line);
    });
}
