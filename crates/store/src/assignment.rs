//! Assignment rules in the database: their CRUD (administrators only), the round-robin
//! pointers, the decision log, and [`assign`] — choose an owner, set it through the record
//! service, create the follow-up task, log why, all in one transaction.
//!
//! The pointer row is locked (`FOR UPDATE` on PostgreSQL; SQLite has one writer) and
//! advanced in the same transaction as the owner change, so two nodes never pick the same
//! slot and a crash never skips or repeats one. Matching and picking are pure and live in
//! `sable_core::assignment`; nothing here writes a record except through `RecordService`.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use sable_core::assignment::{RuleSpec, Target, pick};
use sable_core::{ModuleDef, Refusal, Registry, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::actor::{Actor, time_zone};
use crate::db::{Row, Tx};
use crate::error::{StoreError, StoreResult};
use crate::record::format_ms;
use crate::service::CreateOptions;
use crate::store::Store;
use crate::{now_ms, read};

/// Longest rule name.
pub const MAX_NAME: usize = 100;

/// A stored assignment rule.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub module: String,
    pub active: bool,
    /// On the wire at the top level, the same shape as [`NewRule`].
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub created_at: String,
    pub updated_at: String,
}

/// What an administrator sends to create or replace a rule.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub name: String,
    pub module: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(flatten)]
    pub spec: RuleSpec,
}

fn yes() -> bool {
    true
}

/// What [`assign`] decided.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Assignment {
    pub user_id: i64,
    /// The follow-up task, when the rule asks for one.
    pub task_id: Option<i64>,
    pub reason: String,
}

/// One logged decision.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub rule_id: i64,
    pub module: String,
    pub record_id: i64,
    /// None when no one could be chosen (the owner was left as it was).
    pub user_id: Option<i64>,
    pub task_id: Option<i64>,
    pub reason: String,
    pub created_at: String,
}

fn require_admin(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(StoreError::Forbidden(
            "only an administrator may manage assignment rules".into(),
        ))
    }
}

fn refused(key: &'static str, en: String) -> StoreError {
    StoreError::Refused(Refusal::new(key, en.clone()).arg("reason", en))
}

fn row_to_rule(r: &Row) -> StoreResult<Rule> {
    let spec: RuleSpec =
        serde_json::from_str(&r.text("spec")?).map_err(|e| anyhow::anyhow!("stored rule spec: {e}"))?;
    Ok(Rule {
        id: r.int("id")?,
        name: r.text("name")?,
        module: r.text("module")?,
        active: r.int("active")? != 0,
        spec,
        created_at: format_ms(r.int("created_at")?),
        updated_at: format_ms(r.int("updated_at")?),
    })
}

const RULE_COLUMNS: &str = "SELECT id, name, module, active, spec, created_at, updated_at FROM assignment_rules";

/// Every rule, by name.
pub async fn list_rules(store: &Store, actor: &Actor) -> StoreResult<Vec<Rule>> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push(RULE_COLUMNS).push(" ORDER BY name, id");
    db.fetch_all(&q).await?.iter().map(row_to_rule).collect()
}

/// One rule.
pub async fn get_rule(store: &Store, actor: &Actor, id: i64) -> StoreResult<Rule> {
    require_admin(actor)?;
    load_rule(store, id).await
}

async fn load_rule(store: &Store, id: i64) -> StoreResult<Rule> {
    let db = store.db();
    let mut q = db.sql();
    q.push(RULE_COLUMNS).push(" WHERE id = ").bind(id);
    match db.fetch_optional(&q).await? {
        Some(r) => row_to_rule(&r),
        None => Err(StoreError::not_found("AssignmentRules", id)),
    }
}

/// Checks a rule against the metadata and the users table.
async fn check(store: &Store, new: &NewRule) -> StoreResult<()> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(refused(
            "form6_rule_invalid",
            format!("a rule needs a name of 1 to {MAX_NAME} characters"),
        ));
    }
    let registry = store.registry().await?;
    let m = module_for_rules(&registry, &new.module)?;
    new.spec.check(&|f| m.field(f).is_some()).map_err(StoreError::Refused)?;
    let mut ids: Vec<i64> = new
        .spec
        .branches
        .iter()
        .map(|b| &b.target)
        .chain(new.spec.fallback.as_ref())
        .flat_map(Target::users)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let known = match facts_query(store.db().sql(), &ids) {
        Some(q) => facts_from(&store.db().fetch_all(&q).await?)?,
        None => UserFacts::new(),
    };
    if let Some(missing) = ids.iter().find(|id| !known.contains_key(id)) {
        return Err(StoreError::Refused(
            Refusal::new("form6_rule_user", format!("there is no user with id {missing}"))
                .arg("id", missing.to_string()),
        ));
    }
    Ok(())
}

/// The module a rule may assign: an entity module with an owner field.
fn module_for_rules<'r>(registry: &'r Registry, name: &str) -> StoreResult<&'r ModuleDef> {
    match registry.module(name) {
        Ok(m) if m.entity && m.field("assigned_user_id").is_some() => Ok(m),
        _ => Err(StoreError::Refused(
            Refusal::new(
                "form6_rule_module",
                format!("`{name}` is not a module whose records have an owner"),
            )
            .arg("name", name),
        )),
    }
}

/// Facts about users: id → (active, language, time zone).
type UserFacts = HashMap<i64, (bool, String, String)>;

/// The statement reading [`UserFacts`] (`None` for no ids).
fn facts_query(mut q: crate::sql::Sql, ids: &[i64]) -> Option<crate::sql::Sql> {
    if ids.is_empty() {
        return None;
    }
    q.push("SELECT id, status, language, time_zone FROM users WHERE id IN (");
    q.bind_list(ids.iter().map(|i| crate::sql::Arg::Int(*i))).push(")");
    q.one_off();
    Some(q)
}

fn facts_from(rows: &[Row]) -> anyhow::Result<UserFacts> {
    let mut out = HashMap::new();
    for r in rows {
        out.insert(
            r.int("id")?,
            (r.text("status")? == "Active", r.text("language")?, r.text("time_zone")?),
        );
    }
    Ok(out)
}

/// Adds a rule.
pub async fn create_rule(store: &Store, actor: &Actor, new: &NewRule) -> StoreResult<Rule> {
    require_admin(actor)?;
    check(store, new).await?;
    let now = now_ms();
    let spec = serde_json::to_string(&new.spec).map_err(anyhow::Error::from)?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO assignment_rules (name, module, spec, active, created_at, updated_at) VALUES (")
        .bind(new.name.trim())
        .push(", ")
        .bind(new.module.as_str())
        .push(", ")
        .bind(spec)
        .push(", ")
        .bind(new.active)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = w.tx.fetch_one(&q).await?.int("id")?;
    w.commit().await?;
    load_rule(store, id).await
}

/// Replaces a rule. Its round-robin pointers carry on (taken modulo the new group sizes).
pub async fn update_rule(store: &Store, actor: &Actor, id: i64, new: &NewRule) -> StoreResult<Rule> {
    require_admin(actor)?;
    check(store, new).await?;
    let spec = serde_json::to_string(&new.spec).map_err(anyhow::Error::from)?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("UPDATE assignment_rules SET name = ")
        .bind(new.name.trim())
        .push(", module = ")
        .bind(new.module.as_str())
        .push(", spec = ")
        .bind(spec)
        .push(", active = ")
        .bind(new.active)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    if w.tx.execute(&q).await? != 1 {
        return Err(StoreError::not_found("AssignmentRules", id));
    }
    w.commit().await?;
    load_rule(store, id).await
}

/// Removes a rule and its pointers; its log stays.
pub async fn delete_rule(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    require_admin(actor)?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM assignment_pointers WHERE rule_id = ").bind(id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM assignment_rules WHERE id = ").bind(id);
    if w.tx.execute(&q).await? != 1 {
        return Err(StoreError::not_found("AssignmentRules", id));
    }
    w.commit().await?;
    Ok(())
}

/// Chooses an owner for a record by a rule, sets it through the record service (as the
/// system), creates the follow-up task, and logs the decision — one transaction.
/// `None` when no one could be chosen (every candidate inactive): logged, owner kept.
pub async fn assign(store: &Store, rule_id: i64, module: &str, record_id: i64) -> StoreResult<Option<Assignment>> {
    let mut out = assign_many(store, rule_id, module, &[record_id]).await?;
    Ok(out.pop().flatten())
}

/// [`assign`] for many records of one module in one transaction (a bulk assignment):
/// the pointer advances once per record, in order.
pub async fn assign_many(
    store: &Store,
    rule_id: i64,
    module: &str,
    record_ids: &[i64],
) -> StoreResult<Vec<Option<Assignment>>> {
    assign_many_as(
        store,
        &Actor::unrestricted_for_system_jobs(),
        rule_id,
        module,
        record_ids,
    )
    .await
}

/// [`assign`] writing as `actor` — the system marked with a workflow's origin, so the
/// workflow engine can tell its own writes from a person's (loop prevention).
pub async fn assign_as(
    store: &Store,
    actor: &Actor,
    rule_id: i64,
    module: &str,
    record_id: i64,
) -> StoreResult<Option<Assignment>> {
    let mut out = assign_many_as(store, actor, rule_id, module, &[record_id]).await?;
    Ok(out.pop().flatten())
}

async fn assign_many_as(
    store: &Store,
    system: &Actor,
    rule_id: i64,
    module: &str,
    record_ids: &[i64],
) -> StoreResult<Vec<Option<Assignment>>> {
    let rule = load_rule(store, rule_id).await?;
    if rule.module != module {
        return Err(StoreError::BadRequest(format!(
            "rule {rule_id} assigns {} records, not {module}",
            rule.module
        )));
    }
    let registry = store.registry().await?;
    let m = module_for_rules(&registry, module)?.clone();
    let mut w = store.begin_write().await?;
    let mut out = Vec::with_capacity(record_ids.len());
    for id in record_ids {
        out.push(assign_in(&mut w.tx, store, &registry, &m, &rule, *id, system).await?);
    }
    w.commit().await?;
    store.note_writes(out.len() as u64 * 2).await;
    Ok(out)
}

/// One decision inside the caller's transaction.
async fn assign_in(
    tx: &mut Tx,
    store: &Store,
    registry: &Registry,
    m: &ModuleDef,
    rule: &Rule,
    record_id: i64,
    system: &Actor,
) -> StoreResult<Option<Assignment>> {
    let record = read::lock_record(tx, m, record_id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(|| StoreError::not_found(&m.name, record_id))?;
    let text = |f: &str| match (m.field(f), record.values.get(f)) {
        (Some(def), Some(v)) => v.to_text(def),
        _ => String::new(),
    };
    let now = now_ms();
    let Some(matched) = rule.spec.matching(&text) else {
        let reason = format!(
            "rule “{}”: no branch matched and there is no fallback; owner left as is",
            rule.name
        );
        log(tx, rule.id, &m.name, record_id, None, None, &reason, now).await?;
        return Ok(None);
    };
    let slot = matched.slot.key();
    let pointer = lock_pointer(tx, rule.id, &slot, now).await?;
    let candidates = matched.target.users();
    let facts = match facts_query(tx.sql(), &candidates) {
        Some(q) => facts_from(&tx.fetch_all(&q).await?)?,
        None => UserFacts::new(),
    };
    let chosen = pick(matched.target, pointer, &|u| facts.get(&u).is_some_and(|f| f.0));
    let skipped = if chosen.skipped.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = chosen.skipped.iter().map(i64::to_string).collect();
        format!("; skipped inactive user(s) {}", list.join(", "))
    };
    let how = match matched.target {
        Target::User { .. } => "fixed user",
        Target::RoundRobin { .. } => "round robin",
    };
    let Some(user_id) = chosen.user_id else {
        let reason = format!(
            "rule “{}”: {}; every candidate of the {how} is inactive{skipped}; owner left as is",
            rule.name, matched.why
        );
        log(tx, rule.id, &m.name, record_id, None, None, &reason, now).await?;
        return Ok(None);
    };
    if chosen.next_pointer != pointer {
        let mut q = tx.sql();
        q.push("UPDATE assignment_pointers SET position = ")
            .bind(chosen.next_pointer)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE rule_id = ")
            .bind(rule.id)
            .push(" AND slot = ")
            .bind(slot.as_str());
        tx.execute(&q).await?;
    }
    let svc = store.records(system);
    let owner: sable_core::record::FieldValues = [("assigned_user_id".to_string(), Value::Id(user_id))].into();
    svc.update_in(tx, registry, m, record_id, None, owner).await?;
    let reason = format!(
        "rule “{}”: {}; {how} chose user {user_id}{skipped}",
        rule.name, matched.why
    );
    let task_id = match rule.spec.followup_hours {
        Some(hours) => {
            let (_, lang, tz) = facts.get(&user_id).cloned().unwrap_or_default();
            Some(followup_task(tx, store, registry, system, &record, user_id, hours, &lang, &tz).await?)
        }
        None => None,
    };
    log(tx, rule.id, &m.name, record_id, Some(user_id), task_id, &reason, now).await?;
    Ok(Some(Assignment {
        user_id,
        task_id,
        reason,
    }))
}

/// Makes sure the pointer row exists and locks it; returns its position.
async fn lock_pointer(tx: &mut Tx, rule_id: i64, slot: &str, now: i64) -> anyhow::Result<i64> {
    let mut q = tx.sql();
    q.push("INSERT INTO assignment_pointers (rule_id, slot, position, created_at, updated_at) VALUES (")
        .bind(rule_id)
        .push(", ")
        .bind(slot)
        .push(", 0, ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (rule_id, slot) DO NOTHING");
    tx.execute(&q).await?;
    let mut q = tx.sql();
    q.push("SELECT position FROM assignment_pointers WHERE rule_id = ")
        .bind(rule_id)
        .push(" AND slot = ")
        .bind(slot);
    if q.dialect() == crate::sql::Dialect::Postgres {
        q.push(" FOR UPDATE");
    }
    tx.fetch_one(&q).await?.int("position")
}

/// Creates the assignee's follow-up task, linked to the record, due `hours` from now in
/// the assignee's time zone, titled in the assignee's language.
#[allow(clippy::too_many_arguments)]
async fn followup_task(
    tx: &mut Tx,
    store: &Store,
    registry: &Registry,
    system: &Actor,
    record: &crate::Record,
    user_id: i64,
    hours: i64,
    lang: &str,
    tz: &str,
) -> StoreResult<i64> {
    let tz = time_zone(tz);
    let now = Timestamp::now();
    let due = now
        .checked_add(SignedDuration::from_hours(hours))
        .map_err(anyhow::Error::from)?
        .to_zoned_datetime(tz.clone());
    let today = now.to_zoned_datetime(tz).date();
    let subject = if lang.starts_with("zh") || lang.is_empty() {
        format!("跟进：{}", record.label)
    } else {
        format!("Follow up: {}", record.label)
    };
    let input: Map<String, Json> = json!({
        "subject": subject.chars().take(250).collect::<String>(),
        "date_start": today.to_string(),
        "due_date": due.date().to_string(),
        "time_end": format!("{:02}:{:02}", due.hour(), due.minute()),
        "parent_id": record.id,
        "assigned_user_id": user_id,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let tasks = registry.module("Tasks")?.clone();
    let svc = store.records(system);
    let opts = CreateOptions {
        all_or_nothing: true,
        ..CreateOptions::default()
    };
    let parsed = svc.parse_create(registry, &tasks, &input, &opts);
    let mut out = svc.write_many_in(tx, registry, &tasks, vec![parsed], &opts).await?;
    match out.pop() {
        Some(Ok(id)) => Ok(id),
        Some(Err(e)) => Err(StoreError::Invalid(e)),
        None => Err(StoreError::Other(anyhow::anyhow!("task batch returned nothing"))),
    }
}

#[allow(clippy::too_many_arguments)]
async fn log(
    tx: &mut Tx,
    rule_id: i64,
    module: &str,
    record_id: i64,
    user_id: Option<i64>,
    task_id: Option<i64>,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("INSERT INTO assignment_log (rule_id, module, record_id, user_id, task_id, reason, created_at, updated_at) VALUES (")
        .bind(rule_id)
        .push(", ")
        .bind(module)
        .push(", ")
        .bind(record_id)
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(task_id)
        .push(", ")
        .bind(reason)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(&q).await?;
    Ok(())
}

fn row_to_log(r: &Row) -> anyhow::Result<LogEntry> {
    Ok(LogEntry {
        id: r.int("id")?,
        rule_id: r.int("rule_id")?,
        module: r.text("module")?,
        record_id: r.int("record_id")?,
        user_id: r.opt_int("user_id")?,
        task_id: r.opt_int("task_id")?,
        reason: r.text("reason")?,
        created_at: format_ms(r.int("created_at")?),
    })
}

const LOG_COLUMNS: &str =
    "SELECT id, rule_id, module, record_id, user_id, task_id, reason, created_at FROM assignment_log";

/// A rule's latest decisions, newest first (administrators only).
pub async fn log_for_rule(store: &Store, actor: &Actor, rule_id: i64, limit: u32) -> StoreResult<Vec<LogEntry>> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push(LOG_COLUMNS)
        .push(" WHERE rule_id = ")
        .bind(rule_id)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(limit.clamp(1, 1000)));
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_log)
        .collect::<anyhow::Result<_>>()?)
}

/// The decisions about one record, oldest first, for anyone who may see the record.
pub async fn log_for_record(store: &Store, actor: &Actor, module: &str, record_id: i64) -> StoreResult<Vec<LogEntry>> {
    store.records(actor).get(module, record_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push(LOG_COLUMNS)
        .push(" WHERE record_id = ")
        .bind(record_id)
        .push(" ORDER BY id");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_log)
        .collect::<anyhow::Result<_>>()?)
}

/// A rule's round-robin pointers: slot key (`branch0`, …, `fallback`) → position.
pub async fn pointers(store: &Store, actor: &Actor, rule_id: i64) -> StoreResult<Vec<(String, i64)>> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT slot, position FROM assignment_pointers WHERE rule_id = ")
        .bind(rule_id)
        .push(" ORDER BY slot");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(|r| Ok((r.text("slot")?, r.int("position")?)))
        .collect::<anyhow::Result<_>>()?)
}
