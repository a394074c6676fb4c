//! Logging a follow-up on a lead, contact, organization or opportunity, and the activity
//! timeline of such a record.
//!
//! A follow-up is written as a completed task (or a held call, meeting or visit) linked to
//! the record, plus an open task when a next date is given. Everything goes through the
//! record service, so permission, validation and the follow-up figures behave exactly as
//! for any other activity; nothing here writes a table itself.

use jiff::Timestamp;
use sable_core::Filter;
use sable_core::registry::FOLLOWUP_MODULES;
use sable_core::{Lang, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::actor::Actor;
use crate::comments::list_comments;
use crate::error::{StoreError, StoreResult};
use crate::record::{Query, Record, SortKey};
use crate::service::CreateOptions;
use crate::store::Store;

/// What kind of activity the follow-up was.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FollowupKind {
    /// A completed task.
    #[default]
    Task,
    /// A held event of type Call, Meeting or Visit.
    Call,
    Meeting,
    Visit,
}

/// A follow-up as a person logs it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFollowup {
    /// What happened (the subject of the completed activity).
    pub summary: String,
    /// The outcome (its description).
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub kind: FollowupKind,
    /// The next follow-up date: an open task due then is created.
    #[serde(default)]
    pub next_date: Option<String>,
    /// The subject of the next task (a default naming the record otherwise).
    #[serde(default)]
    pub next_subject: Option<String>,
}

/// What logging a follow-up created.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Logged {
    /// `Tasks` or `Events`.
    pub module: String,
    pub id: i64,
    /// The open task for the next follow-up, if a date was given.
    pub next_task_id: Option<i64>,
}

/// One line of a record's timeline.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimelineItem {
    /// `Tasks`, `Events` or `Comments`.
    pub module: String,
    pub id: i64,
    pub title: String,
    /// Status value (activities) or empty.
    pub status: String,
    /// Activity type for events, or empty.
    pub kind: String,
    /// When, as shown: `YYYY-MM-DD[ HH:MM]` for activities, RFC 3339 for comments.
    pub when: String,
    /// Body of a comment, description of an activity.
    pub text: String,
    #[serde(skip)]
    sort_key: String,
}

fn text(v: Option<&str>) -> Json {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Json::Null, |s| json!(s))
}

/// Logs a follow-up on a record the actor may see.
pub async fn log_followup(
    store: &Store,
    actor: &Actor,
    module: &str,
    id: i64,
    new: &NewFollowup,
) -> StoreResult<Logged> {
    if !FOLLOWUP_MODULES.contains(&module) {
        return Err(StoreError::Refused(
            sable_core::Refusal::new(
                "act_refused_module",
                format!("follow-ups are logged on leads, contacts, organizations and opportunities, not {module}"),
            )
            .arg("module", module),
        ));
    }
    let svc = store.records(actor);
    let parent = svc.get(module, id).await?;
    let now = Timestamp::now().to_zoned_datetime(actor.tz.clone());
    let today = now.date().to_string();
    let time = format!("{:02}:{:02}", now.hour(), now.minute());
    let mut done = Map::new();
    done.insert("subject".into(), json!(new.summary.trim()));
    done.insert("description".into(), text(new.outcome.as_deref()));
    done.insert("parent_id".into(), json!(id));
    done.insert("date_start".into(), json!(today));
    done.insert("time_start".into(), json!(time));
    if module == "Contacts" {
        done.insert("contact_id".into(), json!(id));
    }
    let next = match new.next_date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(date) => {
            let default_subject = match actor.lang() {
                Lang::Zh => format!("跟进：{}", parent.label),
                Lang::En => format!("Follow up: {}", parent.label),
            };
            let subject = new
                .next_subject
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map_or(default_subject, str::to_string);
            let mut t = Map::new();
            t.insert("subject".into(), json!(subject));
            t.insert("due_date".into(), json!(date));
            t.insert("taskstatus".into(), json!("Not Started"));
            t.insert("parent_id".into(), json!(id));
            if module == "Contacts" {
                t.insert("contact_id".into(), json!(id));
            }
            Some(t)
        }
        None => None,
    };
    let all_or_nothing = CreateOptions {
        all_or_nothing: true,
        ..CreateOptions::default()
    };
    if new.kind == FollowupKind::Task {
        done.insert("taskstatus".into(), json!("Completed"));
        // One transaction for both tasks: a bad next date leaves nothing behind.
        let mut inputs = vec![done];
        inputs.extend(next);
        let ids = svc.create_many_with("Tasks", &inputs, &all_or_nothing).await?;
        let mut ids = ids.into_iter().filter_map(Result::ok);
        let first = ids
            .next()
            .ok_or_else(|| anyhow::anyhow!("the follow-up task was not created"))?;
        return Ok(Logged {
            module: "Tasks".into(),
            id: first,
            next_task_id: ids.next(),
        });
    }
    let kind = match new.kind {
        FollowupKind::Meeting => "Meeting",
        FollowupKind::Visit => "Visit",
        _ => "Call",
    };
    done.insert("activitytype".into(), json!(kind));
    done.insert("eventstatus".into(), json!("Held"));
    // An event and a task live in two modules: both are written in one transaction, so a
    // task that fails (a bad next date) leaves no held event behind.
    let registry = store.registry().await?;
    let events = registry.module("Events")?;
    let tasks = registry.module("Tasks")?;
    let mut w = store.begin_write().await?;
    let event_id = write_one(&svc, &mut w.tx, &registry, events, &done, &all_or_nothing).await?;
    let next_task_id = match &next {
        Some(t) => Some(write_one(&svc, &mut w.tx, &registry, tasks, t, &all_or_nothing).await?),
        None => None,
    };
    w.commit().await?;
    store.note_writes(1 + u64::from(next_task_id.is_some())).await;
    Ok(Logged {
        module: "Events".into(),
        id: event_id,
        next_task_id,
    })
}

/// Validates and writes one record inside the caller's transaction.
async fn write_one(
    svc: &crate::service::RecordService<'_>,
    tx: &mut crate::db::Tx,
    registry: &sable_core::Registry,
    m: &sable_core::ModuleDef,
    input: &Map<String, Json>,
    opts: &CreateOptions,
) -> StoreResult<i64> {
    let values = svc
        .parse_create(registry, m, input, opts)
        .map_err(StoreError::Invalid)?;
    let out = svc
        .write_many_in(tx, registry, m, vec![Ok(values)], opts)
        .await
        .map_err(StoreError::unique_race)?;
    match out.into_iter().next() {
        Some(Ok(id)) => Ok(id),
        Some(Err(e)) => Err(StoreError::Invalid(e)),
        None => Err(StoreError::Other(anyhow::anyhow!("the follow-up wrote nothing"))),
    }
}

fn shown(r: &Record, field: &str) -> String {
    match r.values.get(field) {
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Date(d)) => d.to_string(),
        Some(Value::Time(t)) => format!("{:02}:{:02}", t.hour(), t.minute()),
        _ => String::new(),
    }
}

/// The activities linked to a record and its comments, newest first.
pub async fn timeline(store: &Store, actor: &Actor, module: &str, id: i64) -> StoreResult<Vec<TimelineItem>> {
    let svc = store.records(actor);
    svc.get(module, id).await?;
    let mut items = Vec::new();
    for (m, status) in [("Tasks", "taskstatus"), ("Events", "eventstatus")] {
        let query = Query {
            filter: Filter::from_json(&json!({"field": "parent_id", "op": "eq", "value": id}))?,
            sort: vec![SortKey {
                field: "createdtime".into(),
                desc: true,
            }],
            limit: 200,
            ..Query::default()
        };
        for r in svc.query(m, &query).await?.items {
            let (date, time) = if m == "Tasks" && !shown(&r, "date_start").is_empty() {
                (shown(&r, "date_start"), shown(&r, "time_start"))
            } else if m == "Tasks" {
                (shown(&r, "due_date"), shown(&r, "time_end"))
            } else {
                (shown(&r, "date_start"), shown(&r, "time_start"))
            };
            let created = match r.values.get("createdtime") {
                Some(Value::DateTime(t)) => sable_core::value::format_timestamp(*t),
                _ => String::new(),
            };
            let when = format!("{date} {time}").trim().to_string();
            items.push(TimelineItem {
                module: m.into(),
                id: r.id,
                title: r.label.clone(),
                status: shown(&r, status),
                kind: shown(&r, "activitytype"),
                sort_key: format!("{date}T{time}|{created}"),
                when,
                text: shown(&r, "description"),
            });
        }
    }
    for c in list_comments(store, actor, module, id).await? {
        items.push(TimelineItem {
            module: "Comments".into(),
            id: c.id,
            title: c.author.clone(),
            status: String::new(),
            kind: String::new(),
            // Activities are in the user's local time; so is the comment's place in the list.
            sort_key: c
                .at
                .parse::<Timestamp>()
                .map(|t| {
                    t.to_zoned_datetime(actor.tz.clone())
                        .strftime("%Y-%m-%dT%H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default(),
            when: c.at.clone(),
            text: c.body.clone(),
        });
    }
    items.sort_by(|a, b| b.sort_key.cmp(&a.sort_key).then(b.id.cmp(&a.id)));
    Ok(items)
}
