//! The dispatcher: turns outbox events into workflow runs.
//!
//! In one transaction it claims a batch of unprocessed events, matches the enabled
//! workflows by module and trigger, evaluates each condition against the record (old and
//! new values for "becomes true" and "changes from X to Y"), logs a run (with the reason
//! when the condition did not hold), queues one job per matched run, and marks the events
//! processed. A crash before the commit leaves the events to dispatch again; the jobs'
//! idempotency keys (workflow + event) keep a second dispatch from queueing twice.

use jiff::tz::TimeZone;
use sable_core::filter::{Filter, FilterContext, Resolved};
use sable_core::filter_eval;
use sable_core::parse::{ParseContext, parse_json};
use sable_core::record::FieldValues;
use sable_core::workflow::Trigger;
use sable_core::{ModuleDef, Registry, Value};
use sable_store::jobs::{self, NewJob};
use sable_store::outbox::{self, OutboxEvent};
use sable_store::workflows::{self, NewRun, Workflow};
use sable_store::{Actor, Store, StoreError};
use serde_json::{Value as Json, json};

/// How many workflows may trigger one another in a chain before the engine stops.
pub const MAX_DEPTH: i64 = 3;
/// Events dispatched per transaction.
pub const BATCH: i64 = 200;

/// The workflow, depth and key prefix a run's job carries.
pub fn run_job(workflow_id: i64, key: &str, module: &str, record_id: i64, depth: i64, run_at: i64) -> NewJob {
    NewJob {
        kind: jobs::KIND_WORKFLOW_RUN.into(),
        payload: json!({"workflow_id": workflow_id, "module": module, "record_id": record_id, "depth": depth}),
        idempotency_key: key.to_string(),
        run_at,
        max_attempts: jobs::DEFAULT_MAX_ATTEMPTS,
    }
}

/// The idempotency key of action `index` of the run keyed `run_key` (`wf:7:e:42` →
/// `wf:7:e:42:a1`): one user action produces each notification once.
pub fn action_key(run_key: &str, index: usize) -> String {
    format!("{run_key}:a{index}")
}

/// A run for a workflow whose trigger fired on a record.
#[allow(clippy::too_many_arguments)]
pub fn plan_run(
    wf: &Workflow,
    trigger: Json,
    event_id: Option<i64>,
    record_id: i64,
    matched: bool,
    reason: Option<String>,
    run_key: &str,
    depth: i64,
    now: i64,
) -> NewRun {
    let actions = if matched {
        wf.def
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.kind().to_string(), action_key(run_key, i)))
            .collect()
    } else {
        Vec::new()
    };
    NewRun {
        workflow_id: wf.id,
        trigger,
        event_id,
        module: wf.def.module.clone(),
        record_id: Some(record_id),
        matched,
        reason,
        actions,
        job: matched.then(|| run_job(wf.id, run_key, &wf.def.module, record_id, depth, now)),
    }
}

/// Resolves a workflow's condition against its module; `None` means "always".
pub fn resolve_condition(
    wf: &Workflow,
    module: &ModuleDef,
    registry: &Registry,
    tz: &TimeZone,
    today: jiff::civil::Date,
) -> Result<Option<Resolved>, String> {
    let Some(c) = &wf.def.condition else {
        return Ok(None);
    };
    let ctx = FilterContext { registry, today, tz };
    Filter::from_json(c)
        .and_then(|f| f.resolve(module, &ctx))
        .map(Some)
        .map_err(|e| format!("the condition no longer fits the module: {e}"))
}

/// The values a record had before an update: its values with each change's old value.
fn values_before(
    registry: &Registry,
    module: &ModuleDef,
    current: &FieldValues,
    changes: &[Json],
    tz: &TimeZone,
) -> (FieldValues, FieldValues) {
    let mut old = current.clone();
    let mut new = current.clone();
    for c in changes {
        let Some(field) = c.get("field").and_then(Json::as_str).and_then(|f| module.field(f)) else {
            continue;
        };
        let ctx = ParseContext {
            picklist: registry.picklist_of(field),
            tz,
        };
        let parse = |v: Option<&Json>| parse_json(field, v.unwrap_or(&Json::Null), &ctx).unwrap_or(Value::Null);
        old.insert(field.name.clone(), parse(c.get("old")));
        new.insert(field.name.clone(), parse(c.get("new")));
    }
    (old, new)
}

/// Puts back the old value of each change, in the order given (newest change first).
fn undo(registry: &Registry, module: &ModuleDef, values: &mut FieldValues, changes: &[Json], tz: &TimeZone) {
    for c in changes {
        let Some(field) = c.get("field").and_then(Json::as_str).and_then(|f| module.field(f)) else {
            continue;
        };
        let ctx = ParseContext {
            picklist: registry.picklist_of(field),
            tz,
        };
        let old = parse_json(field, c.get("old").unwrap_or(&Json::Null), &ctx).unwrap_or(Value::Null);
        values.insert(field.name.clone(), old);
    }
}

/// Loose equality of wire values: `5` matches `"5"`, strings compare exactly.
fn same(a: &Json, b: &Json) -> bool {
    let text = |j: &Json| match j {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    a == b || text(a) == text(b)
}

fn change_of<'a>(changes: &'a [Json], field: &str) -> Option<&'a Json> {
    changes
        .iter()
        .find(|c| c.get("field").and_then(Json::as_str) == Some(field))
}

/// Whether a record event fires a trigger; `Some(info)` says how, for the run log.
fn fires(
    trigger: &Trigger,
    event: &OutboxEvent,
    created: bool,
    changes: &[Json],
    current_stage: Option<&str>,
) -> Option<Json> {
    let base = json!({"event": event.event, "event_id": event.id});
    let with = |extra: Json| {
        let mut b = base.clone();
        if let (Some(o), Json::Object(e)) = (b.as_object_mut(), extra) {
            o.extend(e);
        }
        b
    };
    match trigger {
        Trigger::OnCreate => created.then_some(base),
        Trigger::OnSave | Trigger::ConditionBecomesTrue => Some(base),
        Trigger::FieldChanged { field, from, to } => {
            let c = change_of(changes, field)?;
            let old = c.get("old").unwrap_or(&Json::Null);
            let new = c.get("new").unwrap_or(&Json::Null);
            let ok = from.as_ref().is_none_or(|f| same(f, old)) && to.as_ref().is_none_or(|t| same(t, new));
            ok.then(|| with(json!({"field": field, "old": old, "new": new})))
        }
        Trigger::StageEntered { stage } => {
            let entered = if created {
                current_stage?.to_string()
            } else {
                change_of(changes, "sales_stage")?.get("new")?.as_str()?.to_string()
            };
            if entered.is_empty() || stage.as_ref().is_some_and(|s| *s != entered) {
                return None;
            }
            Some(with(json!({"stage": entered})))
        }
        Trigger::Schedule { .. } | Trigger::DateOffset { .. } => None,
    }
}

/// Dispatches one batch of outbox events. Returns how many events it handled.
pub async fn dispatch_batch(store: &Store, tz: &TimeZone, now: i64) -> anyhow::Result<usize> {
    let all = workflows::enabled_workflows(store).await?;
    let registry = store.registry().await?;
    let today = jiff::Timestamp::from_millisecond(now)?
        .to_zoned_datetime(tz.clone())
        .date();
    let mut w = store.begin_write().await?;
    let events = outbox::claim_pending(&mut w.tx, BATCH).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let system = Actor::unrestricted_for_system_jobs();
    for event in &events {
        let created = event.event == "record.created";
        if !created && event.event != "record.updated" {
            continue;
        }
        let candidates: Vec<&Workflow> = all
            .iter()
            .filter(|wf| wf.def.module == event.module && !wf.def.is_timed())
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let Ok(module) = registry.module(&event.module) else {
            continue;
        };
        let record = match store.records(&system).get(&event.module, event.record_id).await {
            Ok(r) => r,
            // Deleted (or purged) since: nothing to run on.
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let changes: Vec<Json> = event
            .payload
            .get("changes")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        // The values as this event left them: later saves (already committed when the
        // dispatcher looks) are undone from the history.
        let version = event
            .payload
            .get("version")
            .and_then(Json::as_i64)
            .unwrap_or(record.version);
        let at_event = if record.version > version {
            let history = store.records(&system).history(&event.module, record.id).await?;
            let later: Vec<Json> = history
                .iter()
                .filter(|h| h.version > version && h.action == "update")
                .rev()
                .flat_map(|h| h.changes.as_array().cloned().unwrap_or_default())
                .collect();
            let mut values = record.values.clone();
            undo(&registry, module, &mut values, &later, tz);
            values
        } else {
            record.values.clone()
        };
        let (old, new) = values_before(&registry, module, &at_event, &changes, tz);
        let origin = event.payload.get("origin");
        let origin_wf = origin.and_then(|o| o.get("workflow")).and_then(Json::as_i64);
        let depth = origin.and_then(|o| o.get("depth")).and_then(Json::as_i64).unwrap_or(0);
        for wf in candidates {
            let stage = match new.get("sales_stage") {
                Some(Value::Text(s)) => Some(s.as_str()),
                _ => None,
            };
            let Some(info) = fires(&wf.def.trigger, event, created, &changes, stage) else {
                continue;
            };
            let run_key = format!("wf:{}:e:{}", wf.id, event.id);
            let (matched, reason) = if origin_wf == Some(wf.id) {
                (
                    false,
                    Some("skipped: the change was made by this workflow itself".to_string()),
                )
            } else if depth >= MAX_DEPTH {
                (
                    false,
                    Some(format!(
                        "skipped: {depth} workflows already ran in a chain (at most {MAX_DEPTH})"
                    )),
                )
            } else {
                evaluate(wf, module, &registry, tz, today, &old, &new, created)
            };
            let run = plan_run(
                wf,
                info,
                Some(event.id),
                record.id,
                matched,
                reason,
                &run_key,
                depth,
                now,
            );
            workflows::insert_run_in(&mut w.tx, &run, now).await?;
        }
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    outbox::mark_processed(&mut w.tx, &ids, now).await?;
    w.commit().await?;
    Ok(events.len())
}

/// Whether the condition holds (for "becomes true": holds now and did not before).
#[allow(clippy::too_many_arguments)]
fn evaluate(
    wf: &Workflow,
    module: &ModuleDef,
    registry: &Registry,
    tz: &TimeZone,
    today: jiff::civil::Date,
    old: &FieldValues,
    new: &FieldValues,
    created: bool,
) -> (bool, Option<String>) {
    let cond = match resolve_condition(wf, module, registry, tz, today) {
        Ok(c) => c,
        Err(e) => return (false, Some(e)),
    };
    let Some(cond) = cond else {
        return (true, None);
    };
    if let Some(why) = filter_eval::explain(&cond, new) {
        return (false, Some(format!("condition not met: {why}")));
    }
    if matches!(wf.def.trigger, Trigger::ConditionBecomesTrue) && !created && filter_eval::matches(&cond, old) {
        return (false, Some("the condition held before this change already".into()));
    }
    (true, None)
}
