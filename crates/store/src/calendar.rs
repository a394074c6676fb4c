//! A user's calendar: their tasks and events by day, what is overdue, the reminders due
//! now, and the secret-token iCalendar feed.
//!
//! Activity dates and times are local to the user who reads them (vtiger keeps them as a
//! date and a time); this module turns them into instants in that user's zone, so reminders
//! are decided in UTC and shown in the user's zone. Reads go through the record service,
//! which adds visibility; the feed token is kept only as its SHA-256.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use sable_core::{Filter, Value};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::activities::instant;
use crate::actor::Actor;
use crate::error::StoreResult;
use crate::now_ms;
use crate::record::{Query, Record, SortKey};
use crate::store::Store;
use crate::users::{User, get_user, random_secret};

/// How long before an event starts its reminder shows.
pub const REMINDER_LEAD: SignedDuration = SignedDuration::from_mins(15);

/// One task or event on the calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaItem {
    /// `Tasks` or `Events`.
    pub module: String,
    pub id: i64,
    pub subject: String,
    /// Status value (vtiger's, untranslated).
    pub status: String,
    /// Event type value (Call, Meeting, Visit); empty for tasks.
    pub kind: String,
    /// The day it is on: an event's start, a task's due date (else its start).
    pub day: Date,
    /// Local time on that day, if any.
    pub time: Option<Time>,
    /// When it starts (events) or is due (tasks), as an instant, if it has a time.
    pub at: Option<Timestamp>,
    /// When it ends (events with an end), as an instant.
    pub end: Option<Timestamp>,
    /// The last day of an all-day event.
    pub end_day: Option<Date>,
    pub all_day: bool,
    /// Still to do: an open task or a planned event.
    pub open: bool,
    pub location: String,
    pub description: String,
    /// The linked record's label.
    pub related: String,
    pub modified: Timestamp,
}

fn text(r: &Record, f: &str) -> String {
    match r.values.get(f) {
        Some(Value::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

fn date(r: &Record, f: &str) -> Option<Date> {
    match r.values.get(f) {
        Some(Value::Date(d)) => Some(*d),
        _ => None,
    }
}

fn time(r: &Record, f: &str) -> Option<Time> {
    match r.values.get(f) {
        Some(Value::Time(t)) => Some(*t),
        _ => None,
    }
}

fn item(r: &Record, actor: &Actor) -> Option<AgendaItem> {
    let is_task = r.module == "Tasks";
    let status = text(r, if is_task { "taskstatus" } else { "eventstatus" });
    let all_day = matches!(r.values.get("allday"), Some(Value::Bool(true)));
    let (day, t) = if is_task {
        match date(r, "due_date") {
            Some(d) => (d, time(r, "time_end")),
            None => (date(r, "date_start")?, time(r, "time_start")),
        }
    } else {
        (date(r, "date_start")?, time(r, "time_start"))
    };
    let t = if all_day { None } else { t };
    let at = t.and_then(|t| instant(day, Some(t), actor.tz()).ok());
    let end = if is_task || all_day {
        None
    } else {
        match (date(r, "due_date").unwrap_or(day), time(r, "time_end")) {
            (d, Some(e)) => instant(d, Some(e), actor.tz()).ok(),
            _ => None,
        }
    };
    let open = if is_task {
        !matches!(status.as_str(), "Completed" | "Deferred")
    } else {
        status == "Planned"
    };
    Some(AgendaItem {
        module: r.module.clone(),
        id: r.id,
        subject: r.label.clone(),
        kind: text(r, "activitytype"),
        status,
        day,
        time: t,
        at,
        end,
        end_day: if all_day { date(r, "due_date") } else { None },
        all_day,
        open,
        location: text(r, "location"),
        description: text(r, "description"),
        related: r.labels.get("parent_id").cloned().unwrap_or_default(),
        modified: match r.values.get("modifiedtime") {
            Some(Value::DateTime(t)) => *t,
            _ => Timestamp::UNIX_EPOCH,
        },
    })
}

async fn mine(
    store: &Store,
    actor: &Actor,
    module: &str,
    day_field: &str,
    (from, to): (Date, Date),
    open_only: bool,
) -> StoreResult<Vec<Record>> {
    let mut all = vec![
        json!({"field": "assigned_user_id", "op": "eq", "value": actor.user_id()}),
        json!({"field": day_field, "op": "between", "value": [from.to_string(), to.to_string()]}),
    ];
    if open_only {
        all.push(if module == "Tasks" {
            json!({"field": "taskstatus", "op": "not_in", "value": ["Completed", "Deferred"]})
        } else {
            json!({"field": "eventstatus", "op": "eq", "value": "Planned"})
        });
    }
    let query = Query {
        filter: Filter::from_json(&json!({ "all": all }))?,
        sort: vec![SortKey {
            field: day_field.into(),
            desc: false,
        }],
        limit: 500,
        ..Query::default()
    };
    Ok(store.records(actor).query(module, &query).await?.items)
}

async fn items_between(
    store: &Store,
    actor: &Actor,
    range: (Date, Date),
    open_only: bool,
) -> StoreResult<Vec<AgendaItem>> {
    let mut records = mine(store, actor, "Tasks", "due_date", range, open_only).await?;
    // Tasks without a due date are on their start day.
    records.extend(
        mine(store, actor, "Tasks", "date_start", range, open_only)
            .await?
            .into_iter()
            .filter(|r| date(r, "due_date").is_none()),
    );
    records.extend(mine(store, actor, "Events", "date_start", range, open_only).await?);
    let mut items: Vec<AgendaItem> = records.iter().filter_map(|r| item(r, actor)).collect();
    items.sort_by_key(|i| (i.day, i.time, i.id));
    Ok(items)
}

/// The actor's own tasks and events on the days `from..=to`, in time order.
pub async fn agenda(store: &Store, actor: &Actor, from: Date, to: Date) -> StoreResult<Vec<AgendaItem>> {
    items_between(store, actor, (from, to), false).await
}

/// Open tasks due and planned events that started before `today` (the last year of them).
pub async fn overdue(store: &Store, actor: &Actor, today: Date) -> StoreResult<Vec<AgendaItem>> {
    let Ok(yesterday) = today.yesterday() else {
        return Ok(Vec::new());
    };
    let from = today.saturating_sub(jiff::Span::new().days(365));
    items_between(store, actor, (from, yesterday), true).await
}

/// What to remind the actor of at `now`: planned events starting within
/// [`REMINDER_LEAD`] (or started and not yet ended), open tasks due today at a time
/// within the same lead (or past it), and open tasks due today with no time.
pub async fn reminders(store: &Store, actor: &Actor, now: Timestamp) -> StoreResult<Vec<AgendaItem>> {
    let today = now.to_zoned_datetime(actor.tz().clone()).date();
    let soon = now + REMINDER_LEAD;
    Ok(items_between(store, actor, (today, today), true)
        .await?
        .into_iter()
        .filter(|i| {
            i.open
                && if i.module == "Tasks" {
                    i.at.is_none_or(|at| at <= soon)
                } else {
                    i.at.is_some_and(|at| at <= soon && i.end.map_or(at >= now, |end| end > now))
                }
        })
        .collect())
}

fn feed_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates or replaces the actor's calendar-feed token; the old one stops working.
/// Returns the new token, which is shown once and never stored.
pub async fn rotate_feed_token(store: &Store, actor: &Actor) -> StoreResult<String> {
    let Some(user_id) = actor.user_ref() else {
        return Err(crate::StoreError::Forbidden("a calendar feed belongs to a user".into()));
    };
    let token = random_secret("")?;
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM calendar_feeds WHERE user_id = ").bind(user_id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO calendar_feeds (user_id, token_hash, created_at, updated_at) VALUES (")
        .bind(user_id)
        .push(", ")
        .bind(feed_hash(&token))
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(token)
}

/// Revokes the actor's calendar-feed token, if any.
pub async fn revoke_feed_token(store: &Store, actor: &Actor) -> StoreResult<()> {
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM calendar_feeds WHERE user_id = ")
        .bind(actor.user_id());
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(())
}

/// Whether the actor has a feed token.
pub async fn has_feed_token(store: &Store, actor: &Actor) -> StoreResult<bool> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT user_id FROM calendar_feeds WHERE user_id = ")
        .bind(actor.user_id());
    Ok(db.fetch_optional(&q).await?.is_some())
}

/// The active user a feed token belongs to, if any.
pub async fn feed_user(store: &Store, token: &str) -> StoreResult<Option<User>> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT user_id FROM calendar_feeds WHERE token_hash = ")
        .bind(feed_hash(token));
    let Some(row) = db.fetch_optional(&q).await? else {
        return Ok(None);
    };
    let user = get_user(store, row.int("user_id")?).await?;
    Ok(user.filter(User::is_active))
}
