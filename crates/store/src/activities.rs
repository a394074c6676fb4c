//! Follow-up bookkeeping: the figures a lead, contact, organization or opportunity
//! carries about its linked tasks and events.
//!
//! A follow-up is a completed task or a held event linked by `parent_id`. The record
//! service calls [`refresh_parents`] inside its own transaction whenever an activity is
//! created, changed, deleted, restored or purged, so the figures are never out of step
//! with the activities. The figures are recomputed from scratch each time (a record has
//! few activities), which makes delete and restore as correct as create. Nothing here
//! writes anything but the three read-only follow-up columns.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use sable_core::Value;
use sable_core::record::FieldValues;
use sable_core::registry::FOLLOWUP_MODULES;
use sable_core::{ModuleDef, Registry};

use crate::db::{Row, Tx};
use crate::schema::table_name;

/// Modules whose records are activities linked to a parent by `parent_id`.
pub const ACTIVITY_MODULES: [&str; 2] = ["Tasks", "Events"];

/// Task statuses that no longer wait for anything: not counted as the next follow-up.
const CLOSED_TASK: [&str; 2] = ["Completed", "Deferred"];

/// The follow-up figures of one record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Completed tasks plus held events.
    pub count: i64,
    /// When the latest follow-up took place.
    pub last_contacted: Option<Timestamp>,
    /// The earliest open task's due date or planned event's start date (may be past: overdue).
    pub next_followup: Option<Date>,
}

/// The parent record of an activity's values, if it has one.
pub fn parent_of(values: &FieldValues) -> Option<i64> {
    match values.get("parent_id") {
        Some(Value::Id(id)) => Some(*id),
        _ => None,
    }
}

/// True for Tasks and Events.
pub fn is_activity(module: &str) -> bool {
    ACTIVITY_MODULES.contains(&module)
}

/// Recomputes and stores the follow-up figures of each parent, in the caller's
/// transaction. `tz` reads an activity's local date and time (the acting user's zone).
pub(crate) async fn refresh_parents(
    tx: &mut Tx,
    registry: &Registry,
    parents: impl IntoIterator<Item = i64>,
    tz: &TimeZone,
) -> anyhow::Result<()> {
    let parents: BTreeSet<i64> = parents.into_iter().collect();
    for parent in parents {
        let mut q = tx.sql();
        q.push("SELECT module FROM records WHERE id = ").bind(parent);
        let Some(row) = tx.fetch_optional(&q).await? else {
            continue;
        };
        let module = row.text("module")?;
        if !FOLLOWUP_MODULES.contains(&module.as_str()) {
            continue;
        }
        let m = registry.module(&module)?;
        let figures = compute(tx, registry, parent, tz).await?;
        store_figures(tx, m, parent, &figures).await?;
    }
    Ok(())
}

async fn compute(tx: &mut Tx, registry: &Registry, parent: i64, tz: &TimeZone) -> anyhow::Result<Figures> {
    let mut figures = Figures::default();
    let consider_next = |d: Option<Date>, f: &mut Figures| {
        if let Some(d) = d
            && f.next_followup.is_none_or(|n| d < n)
        {
            f.next_followup = Some(d);
        }
    };
    for (module, status_field) in [("Tasks", "taskstatus"), ("Events", "eventstatus")] {
        let m = registry.module(module)?;
        let mut q = tx.sql();
        q.push("SELECT ")
            .ident(status_field)
            .push(" AS status, date_start, time_start, due_date, time_end, createdtime FROM ")
            .ident(&table_name(m))
            .push(" WHERE parent_id = ")
            .bind(parent)
            .push(" AND deleted_at IS NULL");
        for row in tx.fetch_all(&q).await? {
            let status = row.opt_text("status")?.unwrap_or_default();
            let start = local(&row, "date_start", "time_start")?;
            let due = local(&row, "due_date", "time_end")?;
            let done = if module == "Tasks" {
                status == "Completed"
            } else {
                status == "Held"
            };
            if done {
                figures.count += 1;
                let when = start.or(due).map(|(d, t)| instant(d, t, tz)).transpose()?.or_else(|| {
                    row.opt_int("createdtime")
                        .ok()
                        .flatten()
                        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                });
                if let Some(when) = when
                    && figures.last_contacted.is_none_or(|l| when > l)
                {
                    figures.last_contacted = Some(when);
                }
            } else if module == "Tasks" && !CLOSED_TASK.contains(&status.as_str()) {
                consider_next(due.or(start).map(|(d, _)| d), &mut figures);
            } else if module == "Events" && status == "Planned" {
                consider_next(start.map(|(d, _)| d), &mut figures);
            }
        }
    }
    Ok(figures)
}

/// A date column and its optional time column.
fn local(row: &Row, date: &str, time: &str) -> anyhow::Result<Option<(Date, Option<Time>)>> {
    let Some(d) = row.opt_text(date)?.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let d: Date = d.parse()?;
    let t = row
        .opt_text(time)?
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<Time>().ok());
    Ok(Some((d, t)))
}

/// The instant of a local date and time (midnight when the time is missing).
pub fn instant(d: Date, t: Option<Time>, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    Ok(tz
        .to_ambiguous_timestamp(d.to_datetime(t.unwrap_or(Time::midnight())))
        .compatible()?)
}

async fn store_figures(tx: &mut Tx, m: &ModuleDef, id: i64, f: &Figures) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("UPDATE ")
        .ident(&table_name(m))
        .push(" SET followup_count = ")
        .bind(f.count)
        .push(", last_contacted = ")
        .bind(f.last_contacted.map(|t| t.as_millisecond()))
        .push(", next_followup = ")
        .bind(f.next_followup.map(|d| d.to_string()))
        .push(" WHERE id = ")
        .bind(id);
    tx.execute(&q).await?;
    Ok(())
}
