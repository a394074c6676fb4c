//! Timed triggers on a hand-moved clock: a daily schedule and "N days before a date".

use serde_json::json;

use sable_workflow::Clock;

use crate::helpers::*;
use crate::http::HttpReceiver;
use crate::on_all_backends;

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn a_daily_schedule_runs_once_per_slot_over_matching_records() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let actor = alice.actor();
        let svc = store.records(&actor);
        for (name, status) in [("A", "Hot"), ("B", "Hot"), ("C", "Cold")] {
            svc.create("Leads", &obj(json!({"lastname": name, "leadstatus": status})))
                .await
                .expect("lead");
        }
        // Clock at 09:00 Shanghai; the schedule is 10:00 every day.
        let clock = clock();
        let worker = engine(&store, &clock, "w1");
        worker
            .tick()
            .await
            .expect("tick: creating the leads dispatches nothing timed");
        let wf = workflow(
            &store,
            json!({"module": "Leads", "name": "daily hot", "enabled": true,
                   "trigger": {"type": "schedule", "every": "daily", "at": "10:00"},
                   "condition": {"all": [{"field": "leadstatus", "op": "eq", "value": "Hot"}]},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "wecom", "template": "{{ lastname }}"}]}),
        )
        .await;
        // Saved at the real "now" (after the fake clock's 2026-12-07): move the clock past it.
        clock.set_ms(wf.updated_at + 1);
        worker.tick().await.expect("tick");
        let before = hook.hits().await.len();
        // Find the next 10:00 Shanghai from the clock and step just before and after it.
        let slot = sable_workflow::schedule::last_slot(
            &wf.def.trigger,
            &jiff::tz::TimeZone::get("Asia/Shanghai").expect("tz"),
            wf.updated_at + 24 * HOUR,
        )
        .expect("slot");
        clock.set_ms(slot - 60_000);
        worker.tick().await.expect("tick");
        assert_eq!(hook.hits().await.len(), before, "{backend}: nothing before 10:00");
        clock.set_ms(slot);
        worker.tick().await.expect("tick");
        worker.tick().await.expect("tick again: the slot is not run twice");
        let hits = hook.hits().await;
        assert_eq!(hits.len() - before, 2, "{backend}: the two hot leads: {hits:#?}");
        let mut names: Vec<String> = hits[before..]
            .iter()
            .map(|h| h.body["text"]["content"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["A", "B"]);
        // A second engine (another node) at the same slot queues nothing more.
        let other = engine(&store, &clock, "w2");
        other.tick().await.expect("tick");
        assert_eq!(
            hook.hits().await.len() - before,
            2,
            "{backend}: one run per slot across nodes"
        );
        // The next day at 10:00: again.
        clock.set_ms(slot + 24 * HOUR);
        worker.tick().await.expect("tick");
        assert_eq!(hook.hits().await.len() - before, 4, "{backend}: the next day's slot");
    });
}

#[tokio::test]
async fn date_offset_runs_n_days_before_a_date_once_a_day() {
    on_all_backends!(|store: sable_store::Store, backend: &'static str| async move {
        let hook = HttpReceiver::start().await;
        let alice = user(&store, "alice", "en").await;
        let wf = workflow(
            &store,
            json!({"module": "Opportunities", "name": "closing soon", "enabled": true,
                   "trigger": {"type": "date_offset", "field": "closingdate", "days": -3},
                   "actions": [{"type": "webhook", "url": hook.url, "format": "dingtalk", "template": "{{ potentialname }} closes {{ closingdate }}"}]}),
        )
        .await;
        let clock = clock();
        clock.set_ms(wf.updated_at + 1);
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").expect("tz");
        let today = jiff::Timestamp::from_millisecond(clock.now_ms())
            .expect("now")
            .to_zoned_datetime(tz)
            .date();
        let in3 = today.checked_add(jiff::Span::new().days(3)).expect("date");
        let in4 = today.checked_add(jiff::Span::new().days(4)).expect("date");
        let actor = alice.actor();
        let svc = store.records(&actor);
        for (name, date) in [("Soon", in3), ("Later", in4)] {
            svc.create(
                "Opportunities",
                &obj(json!({"potentialname": name, "closingdate": date.to_string(), "sales_stage": "Prospecting"})),
            )
            .await
            .expect("opportunity");
        }
        let engine = engine(&store, &clock, "w1");
        engine.tick().await.expect("tick");
        engine.tick().await.expect("tick");
        let hits = hook.hits().await;
        assert_eq!(hits.len(), 1, "{backend}: only the one closing in 3 days: {hits:#?}");
        assert_eq!(hits[0].body["text"]["content"], json!(format!("Soon closes {in3}")));
        clock.advance_ms(24 * HOUR);
        engine.tick().await.expect("tick");
        let hits = hook.hits().await;
        assert_eq!(hits.len(), 2, "{backend}: the next day, the other one: {hits:#?}");
        assert_eq!(hits[1].body["text"]["content"], json!(format!("Later closes {in4}")));
    });
}
