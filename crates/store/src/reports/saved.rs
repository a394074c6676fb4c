//! Saved reports: a name, a spec, chart settings (opaque JSON for the dashboard) and an
//! optional delivery schedule, owned by a user and shared with chosen users.
//!
//! The owner and administrators change and delete a report; users it is shared with read
//! and run it. Running always counts what the *viewer* may see, never what the owner may.
//! Deliveries: [`due_deliveries`] lists the schedules that are due, for the workflow
//! engine to run (as the owner) and send, then [`mark_delivered`].

use anyhow::Context;
use jiff::Timestamp;
use sable_core::Refusal;
use sable_core::report::schedule::Schedule;
use sable_core::report::{ReportResult, ReportSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::actor::{Actor, time_zone};
use crate::db::Row;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::record::format_ms;
use crate::store::Store;

/// Most users one report is shared with.
pub const MAX_SHARES: usize = 100;
/// Largest chart settings document, in bytes of JSON.
pub const MAX_CHART_BYTES: usize = 16 * 1024;

/// What a client sends to save a report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub name: String,
    pub spec: ReportSpec,
    /// Chart type, colours … as the dashboard wants them; stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Users (ids) who may read and run the report.
    #[serde(default)]
    pub shared_with: Vec<i64>,
}

/// A saved report as read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavedReport {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub spec: ReportSpec,
    pub chart: Option<Json>,
    pub schedule: Option<Schedule>,
    pub shared_with: Vec<i64>,
    /// Whether the reader may change and delete it (owner or administrator).
    pub editable: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A delivery that is due: run the report as its owner and e-mail it.
#[derive(Clone, Debug, PartialEq)]
pub struct DueDelivery {
    pub report_id: i64,
    pub name: String,
    pub owner_id: i64,
    pub schedule: Schedule,
    /// The scheduled instant that made it due (pass it to [`mark_delivered`]).
    pub due_at: Timestamp,
}

fn refuse(key: &'static str, en: impl Into<String>) -> StoreError {
    StoreError::Refused(Refusal::new(key, en))
}

async fn check_input(store: &Store, actor: &Actor, input: &ReportInput) -> StoreResult<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(refuse(
            "rep_refused_name",
            "a report needs a name of 1 to 100 characters without control characters",
        ));
    }
    let registry = store.registry().await?;
    let checked = input.spec.check(&registry)?;
    let ctx = sable_core::FilterContext {
        registry: &registry,
        today: sable_core::FilterContext::today_in(&actor.tz),
        tz: &actor.tz,
    };
    checked.filter.resolve(&checked.module, &ctx)?;
    if let Some(chart) = &input.chart {
        let size = serde_json::to_string(chart).map_or(usize::MAX, |s| s.len());
        if !chart.is_object() || size > MAX_CHART_BYTES {
            return Err(refuse(
                "rep_refused_chart",
                format!("chart settings must be a JSON object of at most {MAX_CHART_BYTES} bytes"),
            ));
        }
    }
    if let Some(s) = &input.schedule {
        s.check().map_err(StoreError::Refused)?;
    }
    if input.shared_with.len() > MAX_SHARES {
        return Err(StoreError::Refused(
            Refusal::new("rep_refused_share", format!("share with at most {MAX_SHARES} users"))
                .arg("message", format!("at most {MAX_SHARES}")),
        ));
    }
    for id in &input.shared_with {
        let active = crate::users::get_user(store, *id)
            .await?
            .is_some_and(|u| u.status == "Active");
        if !active {
            return Err(StoreError::Refused(
                Refusal::new("rep_refused_share", format!("user {id} does not exist or is inactive"))
                    .arg("message", format!("user {id} does not exist or is inactive")),
            ));
        }
    }
    Ok(())
}

fn row_to_report(actor: &Actor, r: &Row, shared_with: Vec<i64>) -> anyhow::Result<SavedReport> {
    let owner_id = r.int("owner_id")?;
    let parse = |col: &str| -> anyhow::Result<Option<Json>> {
        r.opt_text(col)?
            .map(|t| serde_json::from_str(&t).with_context(|| format!("reading report {col}")))
            .transpose()
    };
    Ok(SavedReport {
        id: r.int("id")?,
        owner_id,
        name: r.text("name")?,
        spec: serde_json::from_str(&r.text("spec")?).context("reading a report spec")?,
        chart: parse("chart")?,
        schedule: parse("schedule")?.map(serde_json::from_value).transpose()?,
        shared_with,
        editable: actor.is_admin || owner_id == actor.user_id,
        created_at: format_ms(r.int("created_at")?),
        updated_at: format_ms(r.int("updated_at")?),
    })
}

const COLUMNS: &str = "r.id, r.owner_id, r.name, r.spec, r.chart, r.schedule, r.created_at, r.updated_at";

async fn shares_of(store: &Store, report_id: i64) -> anyhow::Result<Vec<i64>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT user_id FROM report_shares WHERE report_id = ")
        .bind(report_id)
        .push(" ORDER BY user_id");
    db.fetch_all(&q).await?.iter().map(|r| r.int("user_id")).collect()
}

/// Appends the condition "the actor may read report `r`".
fn readable(q: &mut crate::sql::Sql, actor: &Actor) {
    if actor.is_admin {
        return;
    }
    q.push(" AND (r.owner_id = ")
        .bind(actor.user_id)
        .push(" OR EXISTS (SELECT 1 FROM report_shares s WHERE s.report_id = r.id AND s.user_id = ")
        .bind(actor.user_id)
        .push("))");
}

/// The reports the actor may read: their own, those shared with them (all, for an admin).
pub async fn list_reports(store: &Store, actor: &Actor) -> StoreResult<Vec<SavedReport>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ").push(COLUMNS).push(" FROM reports r WHERE 1=1");
    readable(&mut q, actor);
    q.push(" ORDER BY r.name, r.id");
    let mut out = Vec::new();
    for row in db.fetch_all(&q).await? {
        let id = row.int("id")?;
        out.push(row_to_report(actor, &row, shares_of(store, id).await?)?);
    }
    Ok(out)
}

/// One report the actor may read.
pub async fn get_report(store: &Store, actor: &Actor, id: i64) -> StoreResult<SavedReport> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM reports r WHERE r.id = ")
        .bind(id);
    readable(&mut q, actor);
    let row = db
        .fetch_optional(&q)
        .await?
        .ok_or_else(|| StoreError::not_found("reports", id))?;
    Ok(row_to_report(actor, &row, shares_of(store, id).await?)?)
}

async fn write_shares(
    tx: &mut crate::db::Tx,
    report_id: i64,
    owner_id: i64,
    users: &[i64],
    now: i64,
) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("DELETE FROM report_shares WHERE report_id = ").bind(report_id);
    tx.execute(&q).await?;
    let mut users: Vec<i64> = users.iter().copied().filter(|u| *u != owner_id).collect();
    users.sort_unstable();
    users.dedup();
    for u in users {
        let mut q = tx.sql();
        q.push("INSERT INTO report_shares (report_id, user_id, created_at, updated_at) VALUES (")
            .bind(report_id)
            .push(", ")
            .bind(u)
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(")");
        tx.execute(&q).await?;
    }
    Ok(())
}

fn json_text(v: Option<&impl Serialize>) -> anyhow::Result<Option<String>> {
    v.map(|v| serde_json::to_string(v).context("encoding report"))
        .transpose()
}

/// Saves a new report owned by the actor.
pub async fn create_report(store: &Store, actor: &Actor, input: &ReportInput) -> StoreResult<SavedReport> {
    if actor.user_ref().is_none() {
        return Err(StoreError::Forbidden(
            "a report belongs to a user, not the system".into(),
        ));
    }
    check_input(store, actor, input).await?;
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO reports (owner_id, name, module, spec, chart, schedule, created_at, updated_at) VALUES (")
        .bind(actor.user_id)
        .push(", ")
        .bind(input.name.trim())
        .push(", ")
        .bind(input.spec.module.as_str())
        .push(", ")
        .bind(serde_json::to_string(&input.spec).context("encoding report")?)
        .push(", ")
        .bind(json_text(input.chart.as_ref())?)
        .push(", ")
        .bind(json_text(input.schedule.as_ref())?)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = w.tx.fetch_one(&q).await?.int("id")?;
    write_shares(&mut w.tx, id, actor.user_id, &input.shared_with, now).await?;
    w.commit().await?;
    get_report(store, actor, id).await
}

/// The report if the actor may change it: NotFound when they may not even read it,
/// Forbidden when they only read it.
async fn editable(store: &Store, actor: &Actor, id: i64) -> StoreResult<SavedReport> {
    let report = get_report(store, actor, id).await?;
    if !report.editable {
        return Err(StoreError::Forbidden(
            "only the report's owner or an administrator may change it".into(),
        ));
    }
    Ok(report)
}

/// Replaces a report's name, spec, chart, schedule and sharing (owner or admin).
pub async fn update_report(store: &Store, actor: &Actor, id: i64, input: &ReportInput) -> StoreResult<SavedReport> {
    let current = editable(store, actor, id).await?;
    check_input(store, actor, input).await?;
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("UPDATE reports SET name = ")
        .bind(input.name.trim())
        .push(", module = ")
        .bind(input.spec.module.as_str())
        .push(", spec = ")
        .bind(serde_json::to_string(&input.spec).context("encoding report")?)
        .push(", chart = ")
        .bind(json_text(input.chart.as_ref())?)
        .push(", schedule = ")
        .bind(json_text(input.schedule.as_ref())?);
    if input.schedule != current.schedule {
        // A new schedule starts counting from now, not from the last delivery.
        q.push(", last_delivered_at = NULL");
    }
    q.push(", updated_at = ").bind(now).push(" WHERE id = ").bind(id);
    w.tx.execute(&q).await?;
    write_shares(&mut w.tx, id, current.owner_id, &input.shared_with, now).await?;
    w.commit().await?;
    get_report(store, actor, id).await
}

/// Deletes a report (owner or admin).
pub async fn delete_report(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    editable(store, actor, id).await?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM report_shares WHERE report_id = ").bind(id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM reports WHERE id = ").bind(id);
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(())
}

/// Runs a saved report for the actor (who must be able to read it), counting what the
/// actor may see.
pub async fn run_saved(store: &Store, actor: &Actor, id: i64) -> StoreResult<(SavedReport, ReportResult)> {
    let report = get_report(store, actor, id).await?;
    let result = super::run(store, actor, &report.spec).await?;
    Ok((report, result))
}

/// Scheduled deliveries due at `now`: each report whose next delivery after its last one
/// (or after its last change, when never delivered) is not later than `now`, in its
/// owner's zone. A run missed for days is delivered once, not once per missed day.
pub async fn due_deliveries(store: &Store, now: Timestamp) -> StoreResult<Vec<DueDelivery>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT r.id, r.owner_id, r.name, r.schedule, r.last_delivered_at, r.updated_at, u.time_zone, u.status FROM reports r JOIN users u ON u.id = r.owner_id WHERE r.schedule IS NOT NULL ORDER BY r.id");
    let mut due = Vec::new();
    for row in db.fetch_all(&q).await? {
        if row.text("status")? != "Active" {
            continue;
        }
        let Some(text) = row.opt_text("schedule")? else {
            continue;
        };
        let schedule: Schedule = serde_json::from_str(&text).context("reading a delivery schedule")?;
        let since_ms = row.opt_int("last_delivered_at")?.unwrap_or(row.int("updated_at")?);
        let since = Timestamp::from_millisecond(since_ms).context("delivery time")?;
        let tz = time_zone(&row.text("time_zone")?);
        if let Some(next) = schedule.next_after(since, &tz)
            && next <= now
        {
            due.push(DueDelivery {
                report_id: row.int("id")?,
                name: row.text("name")?,
                owner_id: row.int("owner_id")?,
                schedule,
                due_at: next,
            });
        }
    }
    Ok(due)
}

/// Records that a delivery was sent (or given up), so it is not due again until the next
/// scheduled time after `at`.
pub async fn mark_delivered(store: &Store, report_id: i64, at: Timestamp) -> StoreResult<()> {
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("UPDATE reports SET last_delivered_at = ")
        .bind(at.as_millisecond())
        .push(" WHERE id = ")
        .bind(report_id);
    if w.tx.execute(&q).await? == 0 {
        return Err(StoreError::not_found("reports", report_id));
    }
    w.commit().await?;
    Ok(())
}
