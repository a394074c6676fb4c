//! Timed triggers. Each tick, every node looks at the enabled scheduled workflows and
//! date offsets and queues a "sweep" job for the current slot (a schedule's latest time,
//! or today for a date offset); the slot is in the job's idempotency key, so it is queued
//! once however many nodes look. The sweep job lists the records that meet the condition
//! (in SQL, through the record service) and logs one run per record, each keyed by the
//! slot and the record, so a record runs once per slot (once a day for date offsets).

use std::collections::HashMap;

use jiff::tz::TimeZone;
use sable_core::filter::Filter;
use sable_core::meta::FieldType;
use sable_core::workflow::Trigger;
use sable_store::jobs::{self, NewJob};
use sable_store::record::Query;
use sable_store::workflows::{self, Workflow};
use sable_store::{Actor, Store};
use serde_json::{Value as Json, json};

use crate::dispatch::plan_run;
use crate::schedule::last_slot;

/// Job kind: list the records of one slot of a timed workflow and log their runs.
pub const KIND_SWEEP: &str = "workflow_sweep";
/// Most records one slot runs on.
pub const MAX_RECORDS_PER_SLOT: usize = 10_000;

/// Which slot each workflow was last queued for by this node (saves a write per tick).
#[derive(Default)]
pub struct SweepState {
    queued: HashMap<i64, String>,
}

/// The current slot of a timed workflow: a name for keys and its filter on the records.
fn current_slot(wf: &Workflow, tz: &TimeZone, now: i64) -> Option<(String, Json)> {
    match &wf.def.trigger {
        Trigger::Schedule { .. } => {
            let slot = last_slot(&wf.def.trigger, tz, now)?;
            // A slot that passed before the workflow was (re)saved is not run late.
            (slot >= wf.updated_at).then(|| (format!("slot:{slot}"), json!({"slot": slot})))
        }
        Trigger::DateOffset { .. } => {
            let today = jiff::Timestamp::from_millisecond(now)
                .ok()?
                .to_zoned_datetime(tz.clone())
                .date();
            Some((format!("date:{today}"), json!({"date": today.to_string()})))
        }
        _ => None,
    }
}

/// Queues the sweep job of each timed workflow's current slot, once.
pub async fn queue_due(store: &Store, state: &mut SweepState, tz: &TimeZone, now: i64) -> anyhow::Result<usize> {
    let mut queued = 0;
    for wf in workflows::enabled_workflows(store).await? {
        if !wf.def.is_timed() {
            continue;
        }
        let Some((slot, info)) = current_slot(&wf, tz, now) else {
            continue;
        };
        if state.queued.get(&wf.id) == Some(&slot) {
            continue;
        }
        let job = NewJob {
            kind: KIND_SWEEP.into(),
            payload: json!({"workflow_id": wf.id, "slot": slot, "info": info}),
            idempotency_key: format!("wf:{}:{slot}", wf.id),
            run_at: now,
            max_attempts: jobs::DEFAULT_MAX_ATTEMPTS,
        };
        if jobs::enqueue(store, &job, now).await?.is_some() {
            queued += 1;
        }
        state.queued.insert(wf.id, slot);
    }
    Ok(queued)
}

/// Runs a sweep job: one run per record that meets the condition in this slot.
pub async fn run_sweep(store: &Store, payload: &Json, tz: &TimeZone, now: i64) -> anyhow::Result<usize> {
    let wf_id = payload.get("workflow_id").and_then(Json::as_i64).unwrap_or(0);
    let slot = payload
        .get("slot")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let info = payload.get("info").cloned().unwrap_or(Json::Null);
    let system = Actor::unrestricted_for_system_jobs();
    let Ok(wf) = workflows::get_workflow(store, &system, wf_id).await else {
        return Ok(0);
    };
    if !wf.def.enabled {
        return Ok(0);
    }
    let mut filter = match &wf.def.condition {
        Some(c) => Filter::from_json(c)?,
        None => Filter::everything(),
    };
    if let Trigger::DateOffset { field, days } = &wf.def.trigger {
        let date = info
            .get("date")
            .and_then(Json::as_str)
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .ok_or_else(|| anyhow::anyhow!("sweep job without a date"))?;
        // Today is `days` after the field's date: the field holds today − days.
        let target = date.checked_sub(jiff::Span::new().days(i64::from(*days)))?;
        filter = filter.and(date_filter(store, &wf, field, target, tz).await?);
    }
    let mut query = Query {
        filter,
        limit: 500,
        with_count: false,
        ..Query::default()
    };
    let mut done = 0;
    loop {
        let page = store.records(&system).query(&wf.def.module, &query).await?;
        for r in &page.items {
            let run_key = format!("wf:{}:{slot}:r:{}", wf.id, r.id);
            let trigger = json!({"trigger": wf.def.trigger, "slot": info});
            let run = plan_run(&wf, trigger, None, r.id, true, None, &run_key, 0, now);
            workflows::insert_run(store, &run, now).await?;
            done += 1;
            if done >= MAX_RECORDS_PER_SLOT {
                tracing::warn!(
                    workflow = wf.id,
                    "a timed workflow reached {MAX_RECORDS_PER_SLOT} records in one slot; the rest wait for the next"
                );
                return Ok(done);
            }
        }
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    Ok(done)
}

/// The filter "this date field falls on `day`" (a whole day in the zone for date-times).
async fn date_filter(
    store: &Store,
    wf: &Workflow,
    field: &str,
    day: jiff::civil::Date,
    tz: &TimeZone,
) -> anyhow::Result<Filter> {
    let registry = store.registry().await?;
    let f = registry.module(&wf.def.module)?.field(field);
    let json = match f.map(|f| f.field_type) {
        Some(FieldType::Datetime) => {
            let start = day.to_zoned_datetime(tz.clone())?.timestamp();
            let end = day.tomorrow()?.to_zoned_datetime(tz.clone())?.timestamp() - jiff::SignedDuration::from_millis(1);
            json!({"field": field, "op": "between", "value": [start.to_string(), end.to_string()]})
        }
        _ => json!({"field": field, "op": "eq", "value": day.to_string()}),
    };
    Ok(Filter::from_json(&json)?)
}
