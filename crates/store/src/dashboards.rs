//! Dashboards and their widgets: owned by a user, private or shared with everyone. A
//! dashboard only says what to draw; every figure on it is computed for the viewer
//! (`dashboard_data`), so sharing a dashboard never shares records.
//!
//! Only the owner (or an administrator) changes a dashboard; anyone may open a shared one.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value as Json;

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::store::Store;

/// The built-in widget kinds, in the order the "add widget" menu offers them.
pub const BUILTIN_KINDS: [&str; 9] = [
    "pipeline_funnel",
    "leads_by_source",
    "leads_by_status",
    "won_by_month",
    "closing_this_month",
    "followups_per_week",
    "overdue_followups",
    "conversion",
    "pareto",
];

/// The kind of a widget drawing a saved report's chart.
pub const REPORT_KIND: &str = "report";

/// Most widgets on one dashboard.
pub const MAX_WIDGETS: usize = 24;

/// A dashboard's header.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dashboard {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub shared: bool,
}

/// One widget, in its dashboard's order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Widget {
    pub id: i64,
    pub position: i64,
    /// One of [`BUILTIN_KINDS`] or [`REPORT_KIND`].
    pub kind: String,
    pub report_id: Option<i64>,
    /// The chart type chosen for a report widget (empty = the report's own).
    pub chart: String,
    pub settings: Json,
}

fn dashboard_of(r: &crate::db::Row) -> anyhow::Result<Dashboard> {
    Ok(Dashboard {
        id: r.int("id")?,
        owner_id: r.int("owner_id")?,
        name: r.text("name")?,
        shared: r.int("shared")? != 0,
    })
}

fn check_name(name: &str) -> StoreResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::refused(
            "dash_refused_name",
            "a dashboard needs a name of 1 to 100 characters",
        ));
    }
    Ok(name.to_string())
}

/// The dashboards the actor may open: their own and the shared ones, own first.
pub async fn list_dashboards(store: &Store, actor: &Actor) -> StoreResult<Vec<Dashboard>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, owner_id, name, shared FROM dashboards WHERE owner_id = ")
        .bind(actor.user_id)
        .push(" OR shared = 1 ORDER BY CASE WHEN owner_id = ")
        .bind(actor.user_id)
        .push(" THEN 0 ELSE 1 END, name, id");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(dashboard_of)
        .collect::<anyhow::Result<_>>()?)
}

/// A dashboard the actor may open (own, shared, or any for an administrator); another
/// user's private dashboard is `Forbidden`.
pub async fn get_dashboard(store: &Store, actor: &Actor, id: i64) -> StoreResult<Dashboard> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, owner_id, name, shared FROM dashboards WHERE id = ")
        .bind(id);
    let Some(row) = db.fetch_optional(&q).await? else {
        return Err(StoreError::not_found("dashboards", id));
    };
    let d = dashboard_of(&row)?;
    if d.owner_id != actor.user_id && !d.shared && !actor.is_admin {
        return Err(StoreError::Forbidden("another user's private dashboard".into()));
    }
    Ok(d)
}

/// Whether the actor may change the dashboard (its owner or an administrator).
pub fn may_edit(actor: &Actor, d: &Dashboard) -> bool {
    actor.is_admin || d.owner_id == actor.user_id
}

async fn editable(store: &Store, actor: &Actor, id: i64) -> StoreResult<Dashboard> {
    let d = get_dashboard(store, actor, id).await?;
    if !may_edit(actor, &d) {
        return Err(StoreError::Forbidden("only its owner changes a dashboard".into()));
    }
    Ok(d)
}

/// Creates an empty dashboard owned by the actor.
pub async fn create_dashboard(store: &Store, actor: &Actor, name: &str, shared: bool) -> StoreResult<i64> {
    let name = check_name(name)?;
    if actor.user_ref().is_none() {
        return Err(StoreError::Forbidden("a dashboard belongs to a user".into()));
    }
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO dashboards (owner_id, name, shared, created_at, updated_at) VALUES (")
        .bind(actor.user_id)
        .push(", ")
        .bind(name.as_str())
        .push(", ")
        .bind(shared)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(db.fetch_optional(&q).await?.context("dashboard row")?.int("id")?)
}

/// Renames a dashboard and sets whether everyone may open it.
pub async fn update_dashboard(store: &Store, actor: &Actor, id: i64, name: &str, shared: bool) -> StoreResult<()> {
    editable(store, actor, id).await?;
    let name = check_name(name)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE dashboards SET name = ")
        .bind(name.as_str())
        .push(", shared = ")
        .bind(shared)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    db.execute(&q).await?;
    Ok(())
}

/// Deletes a dashboard and its widgets.
pub async fn delete_dashboard(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    editable(store, actor, id).await?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM dashboard_widgets WHERE dashboard_id = ").bind(id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM dashboards WHERE id = ").bind(id);
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(())
}

/// The widgets of a dashboard the actor may open, in order.
pub async fn widgets(store: &Store, actor: &Actor, dashboard_id: i64) -> StoreResult<Vec<Widget>> {
    get_dashboard(store, actor, dashboard_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, position, kind, report_id, chart, settings FROM dashboard_widgets WHERE dashboard_id = ")
        .bind(dashboard_id)
        .push(" ORDER BY position, id");
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(Widget {
                id: r.int("id")?,
                position: r.int("position")?,
                kind: r.text("kind")?,
                report_id: r.opt_int("report_id")?,
                chart: r.text("chart")?,
                settings: serde_json::from_str(&r.text("settings")?).unwrap_or(Json::Null),
            })
        })
        .collect::<anyhow::Result<_>>()
        .map_err(Into::into)
}

/// Appends a widget: a built-in `kind`, or [`REPORT_KIND`] with a report and a chart
/// type (checked by the caller against the report, which lives in the reports store).
pub async fn add_widget(
    store: &Store,
    actor: &Actor,
    dashboard_id: i64,
    kind: &str,
    report_id: Option<i64>,
    chart: &str,
) -> StoreResult<i64> {
    editable(store, actor, dashboard_id).await?;
    let valid = match kind {
        REPORT_KIND => report_id.is_some() && (chart.is_empty() || sable_core::dashboard::is_chart_kind(chart)),
        k => BUILTIN_KINDS.contains(&k) && report_id.is_none(),
    };
    if !valid {
        return Err(StoreError::refused("dash_refused_widget", "no such widget"));
    }
    let existing = widgets(store, actor, dashboard_id).await?;
    if existing.len() >= MAX_WIDGETS {
        return Err(StoreError::refused(
            "dash_refused_full",
            "a dashboard holds at most 24 widgets",
        ));
    }
    let position = existing.iter().map(|w| w.position).max().unwrap_or(0) + 1;
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO dashboard_widgets (dashboard_id, position, kind, report_id, chart, settings, created_at, updated_at) VALUES (")
        .bind(dashboard_id)
        .push(", ")
        .bind(position)
        .push(", ")
        .bind(kind)
        .push(", ")
        .bind(report_id)
        .push(", ")
        .bind(chart)
        .push(", '{}', ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(db.fetch_optional(&q).await?.context("widget row")?.int("id")?)
}

/// Removes a widget from a dashboard.
pub async fn remove_widget(store: &Store, actor: &Actor, dashboard_id: i64, widget_id: i64) -> StoreResult<()> {
    editable(store, actor, dashboard_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM dashboard_widgets WHERE id = ")
        .bind(widget_id)
        .push(" AND dashboard_id = ")
        .bind(dashboard_id);
    if db.execute(&q).await? == 0 {
        return Err(StoreError::not_found("dashboard_widgets", widget_id));
    }
    Ok(())
}

/// Moves a widget one place earlier (`up`) or later, renumbering the dashboard 1..n.
pub async fn move_widget(store: &Store, actor: &Actor, dashboard_id: i64, widget_id: i64, up: bool) -> StoreResult<()> {
    let mut order: Vec<i64> = widgets(store, actor, dashboard_id)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    editable(store, actor, dashboard_id).await?;
    let Some(at) = order.iter().position(|id| *id == widget_id) else {
        return Err(StoreError::not_found("dashboard_widgets", widget_id));
    };
    let to = if up {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|t| *t < order.len())
    };
    let Some(to) = to else {
        return Ok(()); // already first or last
    };
    order.swap(at, to);
    let mut w = store.begin_write().await?;
    for (i, id) in order.iter().enumerate() {
        let mut q = w.tx.sql();
        q.push("UPDATE dashboard_widgets SET position = ")
            .bind(i64::try_from(i).unwrap_or(0) + 1)
            .push(", updated_at = ")
            .bind(now_ms())
            .push(" WHERE id = ")
            .bind(*id);
        w.tx.execute(&q).await?;
    }
    w.commit().await?;
    Ok(())
}
