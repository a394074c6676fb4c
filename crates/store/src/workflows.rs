//! Workflow definitions and their run logs.
//!
//! Administrators create, edit, enable and disable workflows here (each checked against
//! the metadata by `sable_core::workflow`). The engine (the workflow crate) reads the
//! enabled ones, logs a run per trigger with each action's outcome, and admins retry a
//! failed run. Nothing here executes an action.

use anyhow::Context;
use sable_core::workflow::{Trigger, WorkflowDef};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::actor::Actor;
use crate::db::{Row, Tx};
use crate::error::{StoreError, StoreResult};
use crate::jobs::{self, NewJob};
use crate::now_ms;
use crate::store::Store;

/// A stored workflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workflow {
    pub id: i64,
    #[serde(flatten)]
    pub def: WorkflowDef,
    /// Set for the defaults Sable ships (`web_lead_round_robin`, `stage_guidance`).
    pub builtin_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One logged run of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkflowRun {
    pub id: i64,
    pub workflow_id: i64,
    /// What triggered it: `{"event": "record.updated", …}` or `{"schedule": …}`.
    pub trigger: Json,
    pub event_id: Option<i64>,
    pub module: String,
    pub record_id: Option<i64>,
    /// Whether the condition held.
    pub matched: bool,
    /// Why the condition did not hold, or why the run was skipped.
    pub reason: Option<String>,
    /// `skipped`, `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub job_id: Option<i64>,
    pub error: Option<String>,
    pub finished_at: Option<i64>,
    pub created_at: i64,
    pub actions: Vec<ActionOutcome>,
}

/// What became of one action of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionOutcome {
    pub action_index: i64,
    pub action_type: String,
    /// `pending`, `done`, `failed` or `skipped`.
    pub status: String,
    /// The key the action's e-mail or webhook carries.
    pub idempotency_key: String,
    pub attempts: i64,
    /// What it did (e.g. `{"record_id": 7}` for a created task).
    pub detail: Option<Json>,
    pub error: Option<String>,
}

fn admin_only(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(StoreError::refused(
            "wf_refused_admin",
            "only administrators manage workflows",
        ))
    }
}

fn trigger_type(t: &Trigger) -> &'static str {
    match t {
        Trigger::OnCreate => "on_create",
        Trigger::OnSave => "on_save",
        Trigger::ConditionBecomesTrue => "condition_becomes_true",
        Trigger::FieldChanged { .. } => "field_changed",
        Trigger::StageEntered { .. } => "stage_entered",
        Trigger::Schedule { .. } => "schedule",
        Trigger::DateOffset { .. } => "date_offset",
    }
}

/// Stored definition: everything but module, name, description and enabled (columns).
fn definition_json(def: &WorkflowDef) -> anyhow::Result<String> {
    Ok(json!({"trigger": def.trigger, "condition": def.condition, "actions": def.actions}).to_string())
}

fn row_to_workflow(r: &Row) -> anyhow::Result<Workflow> {
    let stored: Json = serde_json::from_str(&r.text("definition")?).context("workflow definition")?;
    let def = WorkflowDef {
        module: r.text("module")?,
        name: r.text("name")?,
        description: r.text("description")?,
        enabled: r.int("enabled")? != 0,
        trigger: serde_json::from_value(stored["trigger"].clone()).context("workflow trigger")?,
        condition: match &stored["condition"] {
            Json::Null => None,
            c => Some(c.clone()),
        },
        actions: serde_json::from_value(stored["actions"].clone()).context("workflow actions")?,
    };
    Ok(Workflow {
        id: r.int("id")?,
        def,
        builtin_key: r.opt_text("builtin_key")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

const COLUMNS: &str = "id, module, name, description, enabled, definition, builtin_key, created_at, updated_at";

async fn validate(store: &Store, def: &WorkflowDef) -> StoreResult<()> {
    let registry = store.registry().await?;
    def.validate(&registry).map_err(|e| {
        StoreError::Refused(
            sable_core::Refusal::new("wf_refused_invalid", e.to_string())
                .arg("path", e.path.clone())
                .arg("en", e.labels.en.clone())
                .arg("zh", e.labels.zh.clone()),
        )
    })
}

/// Every workflow (optionally of one module), by name.
pub async fn list_workflows(store: &Store, actor: &Actor, module: Option<&str>) -> StoreResult<Vec<Workflow>> {
    admin_only(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ").push(COLUMNS).push(" FROM workflows");
    if let Some(m) = module {
        q.push(" WHERE module = ").bind(m);
    }
    q.push(" ORDER BY name, id");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_workflow)
        .collect::<anyhow::Result<Vec<_>>>()?)
}

/// One workflow.
pub async fn get_workflow(store: &Store, actor: &Actor, id: i64) -> StoreResult<Workflow> {
    admin_only(actor)?;
    load(store, id)
        .await?
        .ok_or_else(|| StoreError::not_found("workflows", id))
}

async fn load(store: &Store, id: i64) -> anyhow::Result<Option<Workflow>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM workflows WHERE id = ")
        .bind(id);
    db.fetch_optional(&q).await?.as_ref().map(row_to_workflow).transpose()
}

/// Creates a workflow after checking it against the metadata.
pub async fn create_workflow(store: &Store, actor: &Actor, def: &WorkflowDef) -> StoreResult<Workflow> {
    admin_only(actor)?;
    validate(store, def).await?;
    let id = insert(store, def, None, actor.user_ref()).await?;
    get_workflow(store, actor, id).await
}

async fn insert(store: &Store, def: &WorkflowDef, builtin_key: Option<&str>, by: Option<i64>) -> anyhow::Result<i64> {
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO workflows (module, name, description, enabled, trigger_type, definition, builtin_key, created_by, created_at, updated_at) VALUES (")
        .bind(def.module.as_str())
        .push(", ")
        .bind(def.name.trim())
        .push(", ")
        .bind(def.description.as_str())
        .push(", ")
        .bind(def.enabled)
        .push(", ")
        .bind(trigger_type(&def.trigger))
        .push(", ")
        .bind(definition_json(def)?)
        .push(", ")
        .bind(builtin_key.map(str::to_string))
        .push(", ")
        .bind(by)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = w.tx.fetch_one(&q).await?.int("id")?;
    w.commit().await?;
    Ok(id)
}

/// Replaces a workflow's definition (module, name, trigger, condition, actions, enabled).
pub async fn update_workflow(store: &Store, actor: &Actor, id: i64, def: &WorkflowDef) -> StoreResult<Workflow> {
    admin_only(actor)?;
    validate(store, def).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE workflows SET module = ")
        .bind(def.module.as_str())
        .push(", name = ")
        .bind(def.name.trim())
        .push(", description = ")
        .bind(def.description.as_str())
        .push(", enabled = ")
        .bind(def.enabled)
        .push(", trigger_type = ")
        .bind(trigger_type(&def.trigger))
        .push(", definition = ")
        .bind(definition_json(def)?)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    if db.execute(&q).await? != 1 {
        return Err(StoreError::not_found("workflows", id));
    }
    get_workflow(store, actor, id).await
}

/// Turns a workflow on or off. Enabling re-checks it, since metadata may have changed.
pub async fn set_enabled(store: &Store, actor: &Actor, id: i64, enabled: bool) -> StoreResult<Workflow> {
    let current = get_workflow(store, actor, id).await?;
    if enabled {
        validate(store, &current.def).await?;
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE workflows SET enabled = ")
        .bind(enabled)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    db.execute(&q).await?;
    get_workflow(store, actor, id).await
}

/// Deletes a workflow; its run log stays for the record.
pub async fn delete_workflow(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    admin_only(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM workflows WHERE id = ").bind(id);
    if db.execute(&q).await? != 1 {
        return Err(StoreError::not_found("workflows", id));
    }
    Ok(())
}

/// The enabled workflows, for the engine (no actor: the engine is the system).
pub async fn enabled_workflows(store: &Store) -> anyhow::Result<Vec<Workflow>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM workflows WHERE enabled = 1 ORDER BY id");
    let rows = db.fetch_all(&q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        // One unreadable definition must not stop every other workflow.
        match row_to_workflow(r) {
            Ok(w) => out.push(w),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "skipping an unreadable workflow"),
        }
    }
    Ok(out)
}

/// Adds the shipped defaults (disabled) unless they exist: returns how many were added.
pub async fn ensure_defaults(store: &Store, defaults: &[(&str, WorkflowDef)]) -> anyhow::Result<usize> {
    let db = store.db();
    let mut added = 0;
    for (key, def) in defaults {
        let mut q = db.sql();
        q.push("SELECT id FROM workflows WHERE builtin_key = ").bind(*key);
        if db.fetch_optional(&q).await?.is_none() {
            insert(store, def, Some(key), None).await?;
            added += 1;
        }
    }
    Ok(added)
}

/// A run to log (the engine fills it in).
#[derive(Clone, Debug)]
pub struct NewRun {
    pub workflow_id: i64,
    pub trigger: Json,
    pub event_id: Option<i64>,
    pub module: String,
    pub record_id: Option<i64>,
    pub matched: bool,
    pub reason: Option<String>,
    /// `(action type, idempotency key)` per action; empty for a run that did not match.
    pub actions: Vec<(String, String)>,
    /// The job that runs the actions, with the run's id added to its payload.
    pub job: Option<NewJob>,
}

/// Logs a run inside the caller's transaction and queues its job: returns the run id, or
/// `None` when the job's idempotency key was used before (the same trigger, seen again).
pub async fn insert_run_in(tx: &mut Tx, run: &NewRun, now: i64) -> anyhow::Result<Option<i64>> {
    let status = if run.job.is_some() { "queued" } else { "skipped" };
    let mut q = tx.sql();
    q.push("INSERT INTO workflow_runs (workflow_id, trigger_info, event_id, module, record_id, matched, reason, status, created_at, updated_at) VALUES (")
        .bind(run.workflow_id)
        .push(", ")
        .bind(run.trigger.to_string())
        .push(", ")
        .bind(run.event_id)
        .push(", ")
        .bind(run.module.as_str())
        .push(", ")
        .bind(run.record_id)
        .push(", ")
        .bind(run.matched)
        .push(", ")
        .bind(run.reason.clone())
        .push(", ")
        .bind(status)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let run_id = tx.fetch_one(&q).await?.int("id")?;
    if let Some(job) = &run.job {
        let mut job = job.clone();
        if let Some(o) = job.payload.as_object_mut() {
            o.insert("run_id".into(), json!(run_id));
        }
        let Some(job_id) = jobs::enqueue_in(tx, &job, now).await? else {
            // Already queued once for this trigger: forget this duplicate run row.
            let mut q = tx.sql();
            q.push("DELETE FROM workflow_runs WHERE id = ").bind(run_id);
            tx.execute(&q).await?;
            return Ok(None);
        };
        let mut q = tx.sql();
        q.push("UPDATE workflow_runs SET job_id = ")
            .bind(job_id)
            .push(" WHERE id = ")
            .bind(run_id);
        tx.execute(&q).await?;
        for (i, (kind, key)) in run.actions.iter().enumerate() {
            let mut q = tx.sql();
            q.push("INSERT INTO workflow_run_actions (run_id, action_index, action_type, status, idempotency_key, created_at, updated_at) VALUES (")
                .bind(run_id)
                .push(", ")
                .bind(i64::try_from(i).unwrap_or(i64::MAX))
                .push(", ")
                .bind(kind.as_str())
                .push(", 'pending', ")
                .bind(key.as_str())
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
            tx.execute(&q).await?;
        }
    }
    Ok(Some(run_id))
}

/// Logs a run in its own transaction; see [`insert_run_in`].
pub async fn insert_run(store: &Store, run: &NewRun, now: i64) -> anyhow::Result<Option<i64>> {
    let mut w = store.begin_write().await?;
    let id = insert_run_in(&mut w.tx, run, now).await?;
    w.commit().await?;
    Ok(id)
}

/// Records one action's outcome (`done`, `failed`, `skipped`) and counts the attempt.
pub async fn set_action_outcome(
    store: &Store,
    run_id: i64,
    index: usize,
    status: &str,
    detail: Option<&Json>,
    error: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE workflow_run_actions SET status = ")
        .bind(status)
        .push(", attempts = attempts + 1, detail = ")
        .bind(detail.map(Json::to_string))
        .push(", error = ")
        .bind(error.map(|e| e.chars().take(4000).collect::<String>()))
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE run_id = ")
        .bind(run_id)
        .push(" AND action_index = ")
        .bind(i64::try_from(index).unwrap_or(i64::MAX));
    db.execute(&q).await?;
    Ok(())
}

/// Sets a run's state (`running`, `done`, `failed`, or `queued` for a retry to come).
pub async fn set_run_status(
    store: &Store,
    run_id: i64,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE workflow_runs SET status = ")
        .bind(status)
        .push(", error = ")
        .bind(error.map(|e| e.chars().take(4000).collect::<String>()))
        .push(", finished_at = ")
        .bind(matches!(status, "done" | "failed").then_some(now))
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(run_id);
    db.execute(&q).await?;
    Ok(())
}

const RUN_COLUMNS: &str = "id, workflow_id, trigger_info, event_id, module, record_id, matched, reason, status, job_id, error, finished_at, created_at";

fn row_to_run(r: &Row) -> anyhow::Result<WorkflowRun> {
    Ok(WorkflowRun {
        id: r.int("id")?,
        workflow_id: r.int("workflow_id")?,
        trigger: serde_json::from_str(&r.text("trigger_info")?).unwrap_or(Json::Null),
        event_id: r.opt_int("event_id")?,
        module: r.text("module")?,
        record_id: r.opt_int("record_id")?,
        matched: r.int("matched")? != 0,
        reason: r.opt_text("reason")?,
        status: r.text("status")?,
        job_id: r.opt_int("job_id")?,
        error: r.opt_text("error")?,
        finished_at: r.opt_int("finished_at")?,
        created_at: r.int("created_at")?,
        actions: Vec::new(),
    })
}

async fn attach_actions(store: &Store, runs: &mut [WorkflowRun]) -> anyhow::Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT run_id, action_index, action_type, status, idempotency_key, attempts, detail, error FROM workflow_run_actions WHERE run_id IN (")
        .bind_list(runs.iter().map(|r| r.id.into()))
        .push(") ORDER BY run_id, action_index");
    for r in db.fetch_all(&q).await? {
        let run_id = r.int("run_id")?;
        if let Some(run) = runs.iter_mut().find(|x| x.id == run_id) {
            run.actions.push(ActionOutcome {
                action_index: r.int("action_index")?,
                action_type: r.text("action_type")?,
                status: r.text("status")?,
                idempotency_key: r.text("idempotency_key")?,
                attempts: r.int("attempts")?,
                detail: r.opt_text("detail")?.and_then(|t| serde_json::from_str(&t).ok()),
                error: r.opt_text("error")?,
            });
        }
    }
    Ok(())
}

/// A workflow's runs, newest first; `before` (a run id) pages back.
pub async fn list_runs(
    store: &Store,
    actor: &Actor,
    workflow_id: i64,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<WorkflowRun>> {
    admin_only(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(RUN_COLUMNS)
        .push(" FROM workflow_runs WHERE workflow_id = ")
        .bind(workflow_id);
    if let Some(b) = before {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit.clamp(1, 500));
    let mut runs = db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_run)
        .collect::<anyhow::Result<Vec<_>>>()?;
    attach_actions(store, &mut runs).await?;
    Ok(runs)
}

/// One run with its actions (for admins).
pub async fn get_run(store: &Store, actor: &Actor, run_id: i64) -> StoreResult<WorkflowRun> {
    admin_only(actor)?;
    load_run(store, run_id)
        .await?
        .ok_or_else(|| StoreError::not_found("workflow_runs", run_id))
}

/// One run with its actions (for the engine).
pub async fn load_run(store: &Store, run_id: i64) -> anyhow::Result<Option<WorkflowRun>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(RUN_COLUMNS)
        .push(" FROM workflow_runs WHERE id = ")
        .bind(run_id);
    let Some(run) = db.fetch_optional(&q).await?.as_ref().map(row_to_run).transpose()? else {
        return Ok(None);
    };
    let mut runs = [run];
    attach_actions(store, &mut runs).await?;
    let [run] = runs;
    Ok(Some(run))
}

/// Runs a failed run again: its job is queued from the first attempt with the same
/// idempotency key, and the actions that did not finish run again (done ones are kept).
pub async fn retry_run(store: &Store, actor: &Actor, run_id: i64) -> StoreResult<WorkflowRun> {
    let run = get_run(store, actor, run_id).await?;
    let Some(job_id) = run.job_id.filter(|_| run.status == "failed") else {
        return Err(StoreError::refused(
            "wf_refused_retry",
            "only a failed run can be retried",
        ));
    };
    let now = now_ms();
    let mut w = store.begin_write().await?;
    jobs::requeue_in(&mut w.tx, job_id, now).await?;
    let mut q = w.tx.sql();
    q.push("UPDATE workflow_runs SET status = 'queued', error = NULL, finished_at = NULL, updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(run_id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("UPDATE workflow_run_actions SET status = 'pending', updated_at = ")
        .bind(now)
        .push(" WHERE run_id = ")
        .bind(run_id)
        .push(" AND status = 'failed'");
    w.tx.execute(&q).await?;
    w.commit().await?;
    get_run(store, actor, run_id).await
}
