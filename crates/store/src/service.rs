//! The record service: the one door through which records are written.
//!
//! coerce + validate → permission → one transaction { module row, `records` row,
//! history, search tokens, outbox event } → commit. UI, API, import, web forms and
//! workflows all come here; nothing else in Sable writes records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sable_core::meta::{FieldDef, FieldType, ModuleDef};
use sable_core::record::{FieldValues, Mode, display_label, searchable_text, validate_input};
use sable_core::{FieldError, Registry, ValidationErrors, Value};
use serde_json::{Map, Value as Json, json};

use crate::actor::Actor;
use crate::batch::{self, Column};
use crate::db::Tx;
use crate::error::{ChangeSince, Conflict, StoreError, StoreResult};
use crate::read::{self, may_write};
use crate::record::{HistoryEntry, Page, Query, Record, SearchHit};
use crate::schema::table_name;
use crate::sql::Arg;
use crate::store::Store;
use crate::{activities, now_ms, search};

/// After this many records that could not be moved, [`RecordService::reassign_all`] stops.
pub const MAX_REASSIGN_FAILURES: usize = 100;

/// What [`RecordService::reassign_all`] did.
#[derive(Debug, Default)]
pub struct Reassignment {
    /// Records now owned by the new owner.
    pub moved: u64,
    /// Records that still belong to the old owner, and why.
    pub failed: Vec<ReassignFailure>,
    /// True when the walk stopped at [`MAX_REASSIGN_FAILURES`]: there may be more.
    pub stopped: bool,
}

/// A record [`RecordService::reassign_all`] could not move.
#[derive(Debug)]
pub struct ReassignFailure {
    pub module: String,
    pub id: i64,
    pub label: String,
    pub error: StoreError,
}

/// Reads and writes records on behalf of one actor.
pub struct RecordService<'a> {
    store: &'a Store,
    actor: &'a Actor,
}

/// What happened to one input of a batch.
pub type BatchOutcome = Result<i64, ValidationErrors>;

/// What [`RecordService::update_in`] did inside its caller's transaction.
pub(crate) enum UpdateStep {
    Written,
    Unchanged,
    Stale { expected: i64, current: i64 },
}

/// How [`RecordService::create_many_with`] creates.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// One invalid input aborts the whole batch.
    pub all_or_nothing: bool,
    /// Record numbers and created times may come from the input (importing history).
    pub allow_system: bool,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// The `source` field of the new records (default `CRM`).
    pub source: Option<String>,
}

impl<'a> RecordService<'a> {
    pub(crate) fn new(store: &'a Store, actor: &'a Actor) -> RecordService<'a> {
        RecordService { store, actor }
    }

    async fn entity_module(&self, name: &str) -> StoreResult<(Arc<Registry>, ModuleDef)> {
        let registry = self.store.registry().await?;
        let module = registry.module(name)?.clone();
        if !module.entity {
            return Err(StoreError::Refused(
                sable_core::Refusal::new(
                    "refused_not_entity",
                    format!("{name} records are managed through their own endpoints"),
                )
                .arg("module", name),
            ));
        }
        Ok((registry, module))
    }

    /// One record the actor may see.
    pub async fn get(&self, module: &str, id: i64) -> StoreResult<Record> {
        let (_, m) = self.entity_module(module).await?;
        read::get_record(self.store.db(), self.actor, &m, id, false).await
    }

    /// One record, also when it is in the recycle bin.
    pub async fn get_including_deleted(&self, module: &str, id: i64) -> StoreResult<Record> {
        let (_, m) = self.entity_module(module).await?;
        read::get_record(self.store.db(), self.actor, &m, id, true).await
    }

    /// The module of a record id (live or deleted), if any. Says nothing about visibility:
    /// callers go on to `get`, which checks it.
    pub async fn module_of(&self, id: i64) -> StoreResult<Option<String>> {
        let db = self.store.db();
        let mut q = db.sql();
        q.push("SELECT module FROM records WHERE id = ")
            .bind(id)
            .push(" AND module <> 'Users'");
        Ok(db.fetch_optional(&q).await?.map(|r| r.text("module")).transpose()?)
    }

    /// Records the actor may see that are probably the same as this input: the same
    /// normalised e-mail or phone in any e-mail or phone field, or the same display label.
    /// Fields that do not parse are ignored; this is a hint while typing, not validation.
    pub async fn likely_duplicates(
        &self,
        module: &str,
        input: &Map<String, Json>,
        exclude: Option<i64>,
    ) -> StoreResult<Vec<(i64, String)>> {
        let (registry, m) = self.entity_module(module).await?;
        let mut values = FieldValues::new();
        for (name, raw) in input.iter().filter(|(name, _)| m.field(name).is_some()) {
            let single: Map<String, Json> = [(name.clone(), raw.clone())].into_iter().collect();
            if let Ok(v) = validate_input(&registry, &m, &single, Mode::Update, &self.actor.tz, true) {
                values.extend(v.into_iter().filter(|(_, v)| !v.is_empty()));
            }
        }
        let keys: Vec<(FieldType, String)> = m
            .fields
            .iter()
            .filter_map(|f| match values.get(&f.name).map(Value::match_key) {
                Some(sable_core::Stored::Text(k)) if !k.is_empty() => Some((f.field_type, k)),
                _ => None,
            })
            .collect();
        let label = display_label(&m, &values).trim().to_string();
        if keys.is_empty() && label.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let db = self.store.db();
        let mut q = db.sql();
        q.push("SELECT t.\"id\", t.\"label\" FROM ")
            .ident(&table_name(&m))
            .push(" t WHERE t.\"deleted_at\" IS NULL");
        read::visibility(&mut q, self.actor, &m);
        if let Some(id) = exclude {
            q.push(" AND t.\"id\" <> ").bind(id);
        }
        q.push(" AND (1=0");
        if label.chars().count() >= 2 {
            q.push(" OR t.\"label\" = ").bind(label.clone());
        }
        for f in m.fields.iter().filter(|f| f.field_type.has_match_key()) {
            let same_kind: Vec<Arg> = keys
                .iter()
                .filter(|(t, _)| *t == f.field_type)
                .map(|(_, k)| Arg::Text(k.clone()))
                .collect();
            if let (Some(mc), false) = (f.match_column(), same_kind.is_empty()) {
                q.push(" OR ").col("t", &mc).push(" IN (");
                q.bind_list(same_kind).push(")");
            }
        }
        q.push(") ORDER BY t.\"id\" LIMIT 5");
        let mut found: Vec<(i64, String)> = db
            .fetch_all(&q)
            .await?
            .iter()
            .map(|r| Ok((r.int("id")?, r.text("label")?)))
            .collect::<anyhow::Result<_>>()?;
        found.extend(self.similar_names(&m, &label, exclude).await?);
        found.sort();
        found.dedup_by_key(|(id, _)| *id);
        found.truncate(5);
        Ok(found)
    }

    /// Visible records whose label is very similar to `label` (see
    /// [`sable_core::search::similar_names`]): candidates come from the search index, at
    /// most a couple of hundred, and are compared here.
    async fn similar_names(&self, m: &ModuleDef, label: &str, exclude: Option<i64>) -> StoreResult<Vec<(i64, String)>> {
        let alternatives = sable_core::search::similar_name_terms(label);
        if alternatives.is_empty() || sable_core::search::normalized_name(label).chars().count() < 2 {
            return Ok(Vec::new());
        }
        let db = self.store.db();
        let mut q = db.sql();
        q.push("SELECT t.\"id\", t.\"label\" FROM ")
            .ident(&table_name(m))
            .push(" t WHERE t.\"deleted_at\" IS NULL");
        read::visibility(&mut q, self.actor, m);
        if let Some(id) = exclude {
            q.push(" AND t.\"id\" <> ").bind(id);
        }
        q.push(" AND t.\"id\"");
        search::push_matching_ids(&mut q, &m.name, &alternatives, 200);
        let rows = db.fetch_all(&q).await?;
        let mut similar = Vec::new();
        for r in &rows {
            let other = r.text("label")?;
            if sable_core::search::similar_names(label, &other) {
                similar.push((r.int("id")?, other));
            }
        }
        Ok(similar)
    }

    /// Gives every live record owned by `from` to `to`, module by module, each through
    /// [`RecordService::update`] (validation, history, search, events as for any edit).
    /// A record that cannot be moved does not stop the others: it is reported in
    /// [`Reassignment::failed`] (after [`MAX_REASSIGN_FAILURES`] the walk stops, so a
    /// database that stopped answering is not tried record by record). Administrators only.
    pub async fn reassign_all(&self, from: i64, to: i64) -> StoreResult<Reassignment> {
        if !self.actor.is_admin {
            return Err(StoreError::Forbidden(
                "only an administrator may transfer all of a user's records".into(),
            ));
        }
        let registry = self.store.registry().await?;
        let input: Map<String, Json> = [("assigned_user_id".to_string(), json!(to))].into_iter().collect();
        let mut outcome = Reassignment::default();
        for m in registry.entity_modules() {
            let filter =
                sable_core::Filter::from_json(&json!({"field": "assigned_user_id", "op": "eq", "value": from}))?;
            // Walk by id with the cursor: moved records leave the filter, failed ones stay
            // behind the cursor and are not tried again.
            let mut query = Query {
                filter,
                limit: 200,
                with_count: false,
                ..Query::default()
            };
            loop {
                let page = self.query(&m.name, &query).await?;
                for r in &page.items {
                    match self.update(&m.name, r.id, None, &input).await {
                        Ok(_) => outcome.moved += 1,
                        Err(error) => {
                            outcome.failed.push(ReassignFailure {
                                module: m.name.clone(),
                                id: r.id,
                                label: r.label.clone(),
                                error,
                            });
                            if outcome.failed.len() >= MAX_REASSIGN_FAILURES {
                                outcome.stopped = true;
                                return Ok(outcome);
                            }
                        }
                    }
                }
                match page.next_cursor {
                    Some(next) if !page.items.is_empty() => query.cursor = Some(next),
                    _ => break,
                }
            }
        }
        Ok(outcome)
    }

    /// Visible live records whose display label or record number is exactly `text`
    /// (at most 3: enough to tell "none", "one" and "several" apart).
    pub async fn find_by_label_or_number(&self, module: &str, text: &str) -> StoreResult<Vec<i64>> {
        let (_, m) = self.entity_module(module).await?;
        let db = self.store.db();
        let mut q = db.sql();
        q.push("SELECT t.\"id\" FROM ")
            .ident(&table_name(&m))
            .push(" t WHERE t.\"deleted_at\" IS NULL");
        read::visibility(&mut q, self.actor, &m);
        q.push(" AND (t.\"label\" = ").bind(text);
        if !m.number_field.is_empty() {
            q.push(" OR ").col("t", &m.number_field).push(" = ").bind(text);
        }
        q.push(") ORDER BY t.\"id\" LIMIT 3");
        Ok(db
            .fetch_all(&q)
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<anyhow::Result<_>>()?)
    }

    /// A page of records the actor may see.
    pub async fn query(&self, module: &str, query: &Query) -> StoreResult<Page> {
        let (registry, m) = self.entity_module(module).await?;
        read::query_records(self.store.db(), &registry, self.actor, &m, query).await
    }

    /// A record's history (the actor must be able to see the record).
    pub async fn history(&self, module: &str, id: i64) -> StoreResult<Vec<HistoryEntry>> {
        match self.get_including_deleted(module, id).await {
            Ok(_) => {}
            // A purged record keeps its history, for administrators to read.
            Err(StoreError::NotFound { .. })
                if self.actor.is_admin && self.module_of(id).await?.as_deref() == Some(module) => {}
            Err(e) => return Err(e),
        }
        Ok(read::history(self.store.db(), id, None).await?)
    }

    /// Display labels of the records and users these ids name (for references in history).
    pub async fn labels_of(&self, ids: &[i64]) -> StoreResult<BTreeMap<i64, String>> {
        Ok(read::labels_of(self.store.db(), ids).await?)
    }

    /// Global search over every module the actor may see.
    pub async fn search(&self, text: &str, limit: u32) -> StoreResult<Vec<SearchHit>> {
        self.search_in(text, &[], limit).await
    }

    /// Search restricted to the named modules (every module when empty), e.g. the targets
    /// of a reference field, so hits in busier modules cannot crowd them out.
    pub async fn search_in(&self, text: &str, modules: &[String], limit: u32) -> StoreResult<Vec<SearchHit>> {
        let registry = self.store.registry().await?;
        Ok(search::search(self.store.db(), &registry, self.actor, text, modules, limit).await?)
    }

    /// Creates a record and returns it as stored.
    #[tracing::instrument(skip_all, fields(actor = self.actor.user_id, module))]
    pub async fn create(&self, module: &str, input: &Map<String, Json>) -> StoreResult<Record> {
        let mut out = self.create_many(module, std::slice::from_ref(input), false).await?;
        match out.pop() {
            Some(Ok(id)) => self.get(module, id).await,
            Some(Err(e)) => Err(StoreError::Invalid(e)),
            None => Err(StoreError::Other(anyhow::anyhow!("batch returned nothing"))),
        }
    }

    /// Creates many records in one transaction. Each input succeeds or reports its own
    /// errors; with `all_or_nothing` a single invalid input aborts the batch.
    pub async fn create_many(
        &self,
        module: &str,
        inputs: &[Map<String, Json>],
        all_or_nothing: bool,
    ) -> StoreResult<Vec<BatchOutcome>> {
        self.create_many_with(
            module,
            inputs,
            &CreateOptions {
                all_or_nothing,
                ..CreateOptions::default()
            },
        )
        .await
    }

    /// Creates many records with options: importing history (record numbers and created
    /// times from the file), a dry run that checks everything and writes nothing, and the
    /// `source` the records are marked with.
    pub async fn create_many_with(
        &self,
        module: &str,
        inputs: &[Map<String, Json>],
        opts: &CreateOptions,
    ) -> StoreResult<Vec<BatchOutcome>> {
        self.write_many(module, inputs, opts)
            .await
            .map_err(StoreError::unique_race)
    }

    async fn write_many(
        &self,
        module: &str,
        inputs: &[Map<String, Json>],
        opts: &CreateOptions,
    ) -> StoreResult<Vec<BatchOutcome>> {
        let all_or_nothing = opts.all_or_nothing;
        let (registry, m) = self.entity_module(module).await?;
        let mut parsed: Vec<Result<FieldValues, ValidationErrors>> = Vec::with_capacity(inputs.len());
        for input in inputs {
            parsed.push(self.parse_create(&registry, &m, input, opts));
        }
        if all_or_nothing && let Some(Err(e)) = parsed.iter().find(|p| p.is_err()) {
            return Err(StoreError::Invalid(e.clone()));
        }
        let mut w = self.store.begin_write().await?;
        let outcomes = self.write_many_in(&mut w.tx, &registry, &m, parsed, opts).await?;
        if opts.dry_run {
            // Dropping the transaction rolls it back: everything was checked, nothing stays.
            drop(w);
            return Ok(outcomes);
        }
        w.commit().await?;
        let written = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
        self.store.note_writes(written).await;
        Ok(outcomes)
    }

    /// Validates one create input as `create` would (owner defaulted, stage derived),
    /// without writing: pair it with `write_many_in` to write several in one transaction.
    pub(crate) fn parse_create(
        &self,
        registry: &Registry,
        m: &ModuleDef,
        input: &Map<String, Json>,
        opts: &CreateOptions,
    ) -> Result<FieldValues, ValidationErrors> {
        // Copied only when the owner must be added (an import names one on every row).
        let with_owner;
        let input = match self.actor.user_ref() {
            Some(uid) if !input.contains_key("assigned_user_id") => {
                let mut copy = input.clone();
                copy.insert("assigned_user_id".into(), json!(uid));
                with_owner = copy;
                &with_owner
            }
            _ => input,
        };
        let mut checked = validate_input(registry, m, input, Mode::Create, &self.actor.tz, opts.allow_system);
        if let Ok(values) = &mut checked
            && let Err(e) = crate::stages::derive(registry, m, None, values, !opts.allow_system)
        {
            checked = Err(e);
        }
        if opts.allow_system
            && let Ok(values) = &checked
        {
            // Only history may be set, never who made or changed the record.
            let forbidden: Vec<&str> = ["modifiedby", "created_user_id", "modifiedtime"]
                .into_iter()
                .filter(|f| values.contains_key(*f))
                .collect();
            if !forbidden.is_empty() {
                let mut e = ValidationErrors::default();
                for f in forbidden {
                    e.add(f, FieldError::ReadOnly);
                }
                checked = Err(e);
            }
        }
        checked
    }

    /// Writes parsed inputs inside a transaction the caller commits (a batch, or a lead
    /// conversion that creates several records all or nothing).
    pub(crate) async fn write_many_in(
        &self,
        tx: &mut Tx,
        registry: &Registry,
        m: &ModuleDef,
        parsed: Vec<Result<FieldValues, ValidationErrors>>,
        opts: &CreateOptions,
    ) -> StoreResult<Vec<BatchOutcome>> {
        let all_or_nothing = opts.all_or_nothing;
        let m = m.clone();
        let mut checker = DbChecks::for_actor(self.actor, registry);
        let mut outcomes: Vec<BatchOutcome> = Vec::with_capacity(parsed.len());
        let mut ready: Vec<(usize, FieldValues)> = Vec::new();
        for p in parsed {
            let values = match p {
                Ok(v) => v,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            let mut errors = checker.check(tx, &m, &values, None).await?;
            if let Some(Value::Text(number)) = values.get(&m.number_field)
                && checker.number_taken(tx, &m, number).await?
            {
                errors.add(
                    &m.number_field,
                    FieldError::Other(format!("record number {number} is already used")),
                );
            }
            if !errors.is_empty() {
                if all_or_nothing {
                    return Err(StoreError::Invalid(errors));
                }
                outcomes.push(Err(errors));
                continue;
            }
            ready.push((outcomes.len(), values));
            outcomes.push(Ok(0));
        }
        if !ready.is_empty() {
            let now = now_ms();
            let count = ready.len() as i64;
            let first_id = batch::allocate_ids(tx, count, now).await?;
            let first_number = if m.number_field.is_empty() {
                0
            } else {
                reserve_numbers(tx, &m.name, count).await?
            };
            let mut custom_numbers = Vec::new();
            for f in m
                .fields
                .iter()
                .filter(|f| f.custom && f.field_type == FieldType::AutoNumber)
            {
                let first = reserve_field_numbers(tx, &m.name, &f.name, count).await?;
                custom_numbers.push((f, first));
            }
            let ts = jiff::Timestamp::from_millisecond(now).map_err(|e| anyhow::anyhow!(e))?;
            let mut rows = Vec::with_capacity(ready.len());
            for (n, (slot, mut values)) in ready.into_iter().enumerate() {
                let id = first_id + n as i64;
                if !m.number_field.is_empty() && !values.contains_key(&m.number_field) {
                    let number = format!("{}{}", m.number_prefix, first_number + n as i64);
                    values.insert(m.number_field.clone(), Value::Text(number));
                }
                for (f, first) in &custom_numbers {
                    let prefix = f.number_prefix.as_deref().unwrap_or_default();
                    let number = format!("{prefix}{}", first + n as i64);
                    values.entry(f.name.clone()).or_insert(Value::Text(number));
                }
                let created = values.get("createdtime").cloned().unwrap_or(Value::DateTime(ts));
                values.insert("createdtime".into(), created);
                values.insert("modifiedtime".into(), Value::DateTime(ts));
                if let Some(uid) = self.actor.user_ref() {
                    values.insert("created_user_id".into(), Value::Id(uid));
                    values.insert("modifiedby".into(), Value::Id(uid));
                }
                let source = opts.source.clone().unwrap_or_else(|| "CRM".into());
                values.entry("source".into()).or_insert(Value::Text(source));
                outcomes[slot] = Ok(id);
                rows.push((id, values));
            }
            insert_records(tx, &m, &rows, self.actor, now).await?;
            if activities::is_activity(&m.name) {
                let parents = rows.iter().filter_map(|(_, v)| activities::parent_of(v));
                activities::refresh_parents(tx, registry, parents, &self.actor.tz).await?;
            }
            for (id, values) in &rows {
                crate::stages::after_write(tx, &m, *id, values, self.actor.user_id, None).await?;
            }
            // Imported numbers like LEA120 move the counter past them, so new ones never collide.
            let highest = rows
                .iter()
                .filter_map(|(_, v)| match v.get(&m.number_field) {
                    Some(Value::Text(n)) => n.strip_prefix(&m.number_prefix).and_then(|d| d.parse::<i64>().ok()),
                    _ => None,
                })
                .max();
            if let Some(highest) = highest {
                let mut q = tx.sql();
                q.push("UPDATE module_settings SET next_number = ").bind(highest + 1);
                q.push(" WHERE module = ")
                    .bind(m.name.as_str())
                    .push(" AND next_number <= ")
                    .bind(highest);
                tx.execute(&q).await?;
            }
        }
        Ok(outcomes)
    }

    /// Replaces every editable field: those not in `input` are cleared, so a mandatory
    /// field left out is an error (vtiger's `update`, against `revise`'s partial change).
    pub async fn replace(
        &self,
        module: &str,
        id: i64,
        expected_version: Option<i64>,
        input: &Map<String, Json>,
    ) -> StoreResult<Record> {
        let (_, m) = self.entity_module(module).await?;
        let mut full = input.clone();
        for f in m.fields.iter().filter(|f| !f.readonly) {
            full.entry(f.name.clone()).or_insert(Json::Null);
        }
        self.update(module, id, expected_version, &full).await
    }

    /// Changes some fields. `expected_version`, when given, must be the current version.
    #[tracing::instrument(skip_all, fields(actor = self.actor.user_id, module, record_id = id))]
    pub async fn update(
        &self,
        module: &str,
        id: i64,
        expected_version: Option<i64>,
        input: &Map<String, Json>,
    ) -> StoreResult<Record> {
        self.write_update(module, id, expected_version, input)
            .await
            .map_err(StoreError::unique_race)
    }

    async fn write_update(
        &self,
        module: &str,
        id: i64,
        expected_version: Option<i64>,
        input: &Map<String, Json>,
    ) -> StoreResult<Record> {
        let (registry, m) = self.entity_module(module).await?;
        let values = validate_input(&registry, &m, input, Mode::Update, &self.actor.tz, false)?;
        let mut w = self.store.begin_write().await?;
        match self
            .update_in(&mut w.tx, &registry, &m, id, expected_version, values)
            .await?
        {
            UpdateStep::Stale { expected, current } => {
                drop(w);
                return Err(self.stale(id, expected, current).await);
            }
            UpdateStep::Unchanged => drop(w),
            UpdateStep::Written => w.commit().await?,
        }
        self.get(module, id).await
    }

    /// Writes parsed changes inside a transaction the caller commits.
    pub(crate) async fn update_in(
        &self,
        tx: &mut Tx,
        registry: &Registry,
        m: &ModuleDef,
        id: i64,
        expected_version: Option<i64>,
        mut values: FieldValues,
    ) -> StoreResult<UpdateStep> {
        let current = self.writable(tx, m, id, false).await?;
        crate::convert::refuse_if_converted(m, &current)?;
        crate::stages::derive(registry, m, Some(&current.values), &mut values, true).map_err(StoreError::Invalid)?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Ok(UpdateStep::Stale {
                expected,
                current: current.version,
            });
        }
        let mut changed: Vec<(&FieldDef, Value)> = Vec::new();
        for f in &m.fields {
            if let Some(new) = values.get(&f.name) {
                let old = current.values.get(&f.name).cloned().unwrap_or(Value::Null);
                let new = if new.is_empty() { Value::Null } else { new.clone() };
                if old != new {
                    changed.push((f, new));
                }
            }
        }
        if changed.is_empty() {
            return Ok(UpdateStep::Unchanged);
        }
        let changed_values: FieldValues = changed.iter().map(|(f, v)| (f.name.clone(), v.clone())).collect();
        let errors = DbChecks::for_actor(self.actor, registry)
            .check(tx, m, &changed_values, Some(id))
            .await?;
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let now = now_ms();
        let mut merged = current.values.clone();
        for (f, v) in &changed {
            if *v == Value::Null {
                merged.remove(&f.name);
            } else {
                merged.insert(f.name.clone(), v.clone());
            }
        }
        let ts = jiff::Timestamp::from_millisecond(now).map_err(|e| anyhow::anyhow!(e))?;
        merged.insert("modifiedtime".into(), Value::DateTime(ts));
        let mut system = vec![("modifiedtime".to_string(), Value::DateTime(ts))];
        if let Some(uid) = self.actor.user_ref() {
            merged.insert("modifiedby".into(), Value::Id(uid));
            system.push(("modifiedby".to_string(), Value::Id(uid)));
        }
        let label = display_label(m, &merged);
        let new_version = current.version + 1;
        let mut q = tx.sql();
        q.push("UPDATE ")
            .ident(&table_name(m))
            .push(" SET \"version\" = ")
            .bind(new_version);
        q.push(", \"label\" = ").bind(label.clone());
        for (name, v) in changed.iter().map(|(f, v)| (f.name.clone(), v.clone())).chain(system) {
            let Some(f) = m.field(&name) else { continue };
            push_assignments(&mut q, f, &v);
        }
        q.push(" WHERE \"id\" = ")
            .bind(id)
            .push(" AND \"version\" = ")
            .bind(current.version);
        if tx.execute(&q).await? != 1 {
            return Ok(UpdateStep::Stale {
                expected: current.version,
                current: current.version + 1,
            });
        }
        let owner = match merged.get("assigned_user_id") {
            Some(Value::Id(o)) => Some(*o),
            _ => None,
        };
        let mut q = tx.sql();
        q.push("UPDATE records SET label = ")
            .bind(label)
            .push(", owner_id = ")
            .bind(owner);
        q.push(", updated_at = ").bind(now).push(" WHERE id = ").bind(id);
        tx.execute(&q).await?;
        let changes: Vec<Json> = changed
            .iter()
            .map(|(f, new)| {
                let old = current.values.get(&f.name).map_or(Json::Null, |v| v.to_json(f));
                json!({"field": f.name, "old": old, "new": new.to_json(f)})
            })
            .collect();
        write_history(tx, &m.name, id, "update", new_version, self.actor, &changes, now).await?;
        if activities::is_activity(&m.name) {
            let parents = [activities::parent_of(&current.values), activities::parent_of(&merged)];
            activities::refresh_parents(tx, registry, parents.into_iter().flatten(), &self.actor.tz).await?;
        }
        if changed.iter().any(|(f, _)| f.name == "sales_stage") {
            crate::stages::after_write(tx, m, id, &merged, self.actor.user_id, Some(&current.values)).await?;
        }
        if changed.iter().any(|(f, _)| f.searchable) {
            search::index(tx, id, &searchable_text(m, &merged), false, now).await?;
        }
        let fields: Vec<&str> = changed.iter().map(|(f, _)| f.name.as_str()).collect();
        write_outbox(
            tx,
            "record.updated",
            &m.name,
            id,
            self.actor,
            json!({"version": new_version, "changes": changes, "fields": fields}),
            now,
        )
        .await?;
        Ok(UpdateStep::Written)
    }

    /// Moves a record to the recycle bin.
    pub async fn delete(&self, module: &str, id: i64) -> StoreResult<()> {
        self.set_deleted(module, id, true).await
    }

    /// Brings a record back from the recycle bin.
    pub async fn restore(&self, module: &str, id: i64) -> StoreResult<Record> {
        self.set_deleted(module, id, false).await?;
        self.get(module, id).await
    }

    async fn set_deleted(&self, module: &str, id: i64, delete: bool) -> StoreResult<()> {
        self.write_deleted(module, id, delete)
            .await
            .map_err(StoreError::unique_race)
    }

    async fn write_deleted(&self, module: &str, id: i64, delete: bool) -> StoreResult<()> {
        let (_, m) = self.entity_module(module).await?;
        let mut w = self.store.begin_write().await?;
        let current = self.writable(&mut w.tx, &m, id, !delete).await?;
        if current.deleted_at.is_some() == delete {
            return Err(StoreError::Conflict(Conflict::State(if delete {
                "the record is already in the recycle bin".into()
            } else {
                "the record is not in the recycle bin".into()
            })));
        }
        let now = now_ms();
        let deleted_at = if delete { Some(now) } else { None };
        let version = current.version + 1;
        let mut q = w.tx.sql();
        q.push("UPDATE ")
            .ident(&table_name(&m))
            .push(" SET \"deleted_at\" = ")
            .bind(deleted_at);
        q.push(", \"version\" = ")
            .bind(version)
            .push(" WHERE \"id\" = ")
            .bind(id);
        w.tx.execute(&q).await?;
        let mut q = w.tx.sql();
        q.push("UPDATE records SET deleted_at = ")
            .bind(deleted_at)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id);
        w.tx.execute(&q).await?;
        if activities::is_activity(&m.name) {
            let registry = self.store.registry().await?;
            let parents = activities::parent_of(&current.values);
            activities::refresh_parents(&mut w.tx, &registry, parents, &self.actor.tz).await?;
        }
        let action = if delete { "delete" } else { "restore" };
        write_history(&mut w.tx, &m.name, id, action, version, self.actor, &[], now).await?;
        let event = if delete { "record.deleted" } else { "record.restored" };
        write_outbox(
            &mut w.tx,
            event,
            &m.name,
            id,
            self.actor,
            json!({"version": version}),
            now,
        )
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// Removes a record from the recycle bin for good (administrators only). History stays.
    pub async fn purge(&self, module: &str, id: i64) -> StoreResult<()> {
        if !self.actor.is_admin {
            return Err(StoreError::Forbidden(
                "only an administrator may empty the recycle bin".into(),
            ));
        }
        let (_, m) = self.entity_module(module).await?;
        let mut w = self.store.begin_write().await?;
        let current = self.writable(&mut w.tx, &m, id, true).await?;
        if current.deleted_at.is_none() {
            return Err(StoreError::Conflict(Conflict::State(
                "delete the record before purging it".into(),
            )));
        }
        let now = now_ms();
        let mut q = w.tx.sql();
        q.push("DELETE FROM ")
            .ident(&table_name(&m))
            .push(" WHERE \"id\" = ")
            .bind(id);
        w.tx.execute(&q).await?;
        search::unindex(&mut w.tx, id).await?;
        let mut q = w.tx.sql();
        q.push("UPDATE records SET label = ")
            .bind(current.label.clone())
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id);
        w.tx.execute(&q).await?;
        write_history(
            &mut w.tx,
            &m.name,
            id,
            "purge",
            current.version + 1,
            self.actor,
            &[],
            now,
        )
        .await?;
        write_outbox(&mut w.tx, "record.purged", &m.name, id, self.actor, json!({}), now).await?;
        w.commit().await?;
        Ok(())
    }

    /// The current row, if the actor may see and change it.
    async fn writable(&self, tx: &mut Tx, m: &ModuleDef, id: i64, include_deleted: bool) -> StoreResult<Record> {
        let current = read::lock_record(tx, m, id)
            .await?
            .ok_or_else(|| StoreError::not_found(&m.name, id))?;
        if current.deleted_at.is_some() && !include_deleted {
            return Err(StoreError::not_found(&m.name, id));
        }
        let owner = match current.values.get("assigned_user_id") {
            Some(Value::Id(o)) => Some(*o),
            _ => None,
        };
        let visible =
            self.actor.is_admin || m.sharing != sable_core::Sharing::Private || owner == Some(self.actor.user_id);
        if !visible {
            return Err(StoreError::not_found(&m.name, id));
        }
        if !may_write(self.actor, m, owner) {
            return Err(StoreError::Forbidden(format!(
                "you may read but not change {} {id}",
                m.name
            )));
        }
        Ok(current)
    }

    async fn stale(&self, id: i64, expected: i64, current_version: i64) -> StoreError {
        let history = read::history(self.store.db(), id, Some(expected))
            .await
            .unwrap_or_default();
        let mut changes = Vec::new();
        for h in history {
            let items = h.changes.as_array().map(Vec::as_slice).unwrap_or_default();
            // A delete or restore changes no field, but the editor must hear of it too.
            if items.is_empty() {
                changes.push(ChangeSince {
                    version: h.version,
                    action: h.action.clone(),
                    field: String::new(),
                    old: Json::Null,
                    new: Json::Null,
                    actor_id: h.actor_id,
                    actor: h.actor.clone(),
                    at: h.at.clone(),
                });
            }
            for c in items {
                changes.push(ChangeSince {
                    version: h.version,
                    action: h.action.clone(),
                    field: c.get("field").and_then(Json::as_str).unwrap_or_default().to_string(),
                    old: c.get("old").cloned().unwrap_or(Json::Null),
                    new: c.get("new").cloned().unwrap_or(Json::Null),
                    actor_id: h.actor_id,
                    actor: h.actor.clone(),
                    at: h.at.clone(),
                });
            }
        }
        StoreError::Conflict(Conflict::StaleVersion {
            current_version,
            changes,
        })
    }
}

fn push_assignments(q: &mut crate::sql::Sql, f: &FieldDef, v: &Value) {
    let int = f.field_type.storage() == sable_core::meta::Storage::Int;
    q.push(", ")
        .ident(&f.name)
        .push(" = ")
        .bind(Arg::from_stored(&v.to_stored(), int));
    if let Some(mc) = f.match_column() {
        q.push(", ")
            .ident(&mc)
            .push(" = ")
            .bind(Arg::from_stored(&v.match_key(), false));
    }
}

async fn reserve_numbers(tx: &mut Tx, module: &str, count: i64) -> anyhow::Result<i64> {
    let now = now_ms();
    let mut q = tx.sql();
    q.push("INSERT INTO module_settings (module, next_number, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", 1, ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (module) DO NOTHING");
    tx.execute(&q).await?;
    let mut q = tx.sql();
    q.push("UPDATE module_settings SET next_number = next_number + ")
        .bind(count)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE module = ")
        .bind(module)
        .push(" RETURNING next_number");
    Ok(tx.fetch_one(&q).await?.int("next_number")? - count)
}

/// Reserves `count` numbers of a custom auto-number field; returns the first.
async fn reserve_field_numbers(tx: &mut Tx, module: &str, field: &str, count: i64) -> anyhow::Result<i64> {
    let now = now_ms();
    let mut q = tx.sql();
    q.push("INSERT INTO field_counters (module, field, next_number, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(field)
        .push(", 1, ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (module, field) DO NOTHING");
    tx.execute(&q).await?;
    let mut q = tx.sql();
    q.push("UPDATE field_counters SET next_number = next_number + ")
        .bind(count)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE module = ")
        .bind(module)
        .push(" AND field = ")
        .bind(field)
        .push(" RETURNING next_number");
    Ok(tx.fetch_one(&q).await?.int("next_number")? - count)
}

/// Writes new records: `records` rows, module rows, history, search tokens and outbox
/// events, each table in a few multi-row statements.
async fn insert_records(
    tx: &mut Tx,
    m: &ModuleDef,
    rows: &[(i64, FieldValues)],
    actor: &Actor,
    now: i64,
) -> anyhow::Result<()> {
    let labels: Vec<String> = rows.iter().map(|(_, v)| display_label(m, v)).collect();
    let owner = |v: &FieldValues| match v.get("assigned_user_id") {
        Some(Value::Id(o)) => Arg::Int(*o),
        _ => Arg::NullInt,
    };
    let cols = ["id", "module", "label", "owner_id", "created_at", "updated_at"].map(Column::plain);
    let record_rows = rows
        .iter()
        .zip(&labels)
        .map(|((id, v), label)| {
            vec![
                Arg::Int(*id),
                Arg::Text(m.name.clone()),
                Arg::Text(label.clone()),
                owner(v),
                Arg::Int(now),
                Arg::Int(now),
            ]
        })
        .collect();
    batch::insert_rows(tx, "records", &cols, record_rows).await?;

    // The module row: the union of the fields any row sets; absent ones are null.
    let present: Vec<&FieldDef> = m
        .fields
        .iter()
        .filter(|f| rows.iter().any(|(_, v)| v.contains_key(&f.name)))
        .collect();
    let mut names: Vec<String> = vec!["id".into(), "version".into(), "label".into()];
    for f in &present {
        names.push(f.name.clone());
        if let Some(mc) = f.match_column() {
            names.push(mc);
        }
    }
    let module_rows = rows
        .iter()
        .zip(&labels)
        .map(|((id, values), label)| {
            let mut args = vec![Arg::Int(*id), Arg::Int(1), Arg::Text(label.clone())];
            for f in &present {
                let int = f.field_type.storage() == sable_core::meta::Storage::Int;
                let v = values.get(&f.name).unwrap_or(&Value::Null);
                args.push(Arg::from_stored(&v.to_stored(), int));
                if f.match_column().is_some() {
                    args.push(Arg::from_stored(&v.match_key(), false));
                }
            }
            args
        })
        .collect();
    let cols: Vec<Column> = names.iter().map(|n| Column::plain(n)).collect();
    batch::insert_rows(tx, &table_name(m), &cols, module_rows).await?;

    let history_cols = [
        "record_id",
        "module",
        "action",
        "version",
        "actor_id",
        "changes",
        "created_at",
        "updated_at",
    ]
    .map(Column::plain);
    let history_rows = rows
        .iter()
        .map(|(id, values)| {
            Ok(vec![
                Arg::Int(*id),
                Arg::Text(m.name.clone()),
                Arg::Text("create".into()),
                Arg::Int(1),
                actor.user_ref().into(),
                Arg::Text(created_changes(m, values)?),
                Arg::Int(now),
                Arg::Int(now),
            ])
        })
        .collect::<anyhow::Result<_>>()?;
    batch::insert_rows(tx, "record_history", &history_cols, history_rows).await?;

    let outbox_cols = [
        "event",
        "module",
        "record_id",
        "actor_id",
        "payload",
        "created_at",
        "updated_at",
    ]
    .map(Column::plain);
    let payload = with_origin(json!({"version": 1}), actor).to_string();
    let outbox_rows = rows
        .iter()
        .map(|(id, _)| {
            vec![
                Arg::Text("record.created".into()),
                Arg::Text(m.name.clone()),
                Arg::Int(*id),
                actor.user_ref().into(),
                Arg::Text(payload.clone()),
                Arg::Int(now),
                Arg::Int(now),
            ]
        })
        .collect();
    batch::insert_rows(tx, "outbox", &outbox_cols, outbox_rows).await?;

    // The search index last, in one statement: SQLite's FTS5 turns what it holds into an
    // index segment when the next statement begins (or at commit), so written last it
    // leaves one segment per batch (see `batch::insert_rows_at_once`).
    let (search_table, search_cols) = batch::search_table(tx.dialect());
    let search_rows = rows
        .iter()
        .map(|(id, values)| {
            let mut args = vec![
                Arg::Int(*id),
                Arg::Text(sable_core::search::index_tokens(&searchable_text(m, values))),
            ];
            if search_cols.len() == 4 {
                args.extend([Arg::Int(now), Arg::Int(now)]);
            }
            args
        })
        .collect();
    batch::insert_rows_at_once(tx, search_table, &search_cols, search_rows, rows.len()).await?;
    Ok(())
}

/// The history `changes` of a new record: `[{"field": …, "new": …, "old": null}, …]` for
/// every field it has, in field order. Serialised straight from borrowed parts, the same
/// text as a JSON array of objects (whose keys serde_json writes in order) without building
/// a map per field.
fn created_changes(m: &ModuleDef, values: &FieldValues) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Change<'a> {
        field: &'a str,
        new: Json,
        old: Option<()>,
    }
    let changes: Vec<Change> = m
        .fields
        .iter()
        .filter_map(|f| {
            values.get(&f.name).map(|v| Change {
                field: &f.name,
                new: v.to_json(f),
                old: None,
            })
        })
        .collect();
    Ok(serde_json::to_string(&changes)?)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_history(
    tx: &mut Tx,
    module: &str,
    id: i64,
    action: &str,
    version: i64,
    actor: &Actor,
    changes: &[Json],
    now: i64,
) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("INSERT INTO record_history (record_id, module, action, version, actor_id, changes, created_at, updated_at) VALUES (")
        .bind(id)
        .push(", ")
        .bind(module)
        .push(", ")
        .bind(action)
        .push(", ")
        .bind(version)
        .push(", ")
        .bind(actor.user_ref())
        .push(", ")
        .bind(serde_json::to_string(changes)?)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(&q).await?;
    Ok(())
}

async fn write_outbox(
    tx: &mut Tx,
    event: &str,
    module: &str,
    id: i64,
    actor: &Actor,
    payload: Json,
    now: i64,
) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("INSERT INTO outbox (event, module, record_id, actor_id, payload, created_at, updated_at) VALUES (")
        .bind(event)
        .push(", ")
        .bind(module)
        .push(", ")
        .bind(id)
        .push(", ")
        .bind(actor.user_ref())
        .push(", ")
        .bind(with_origin(payload, actor).to_string())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(&q).await?;
    Ok(())
}

/// Adds the actor's origin marker (a workflow's own write) to an outbox payload.
fn with_origin(mut payload: Json, actor: &Actor) -> Json {
    if let (Some(o), Some(map)) = (actor.origin(), payload.as_object_mut()) {
        map.insert("origin".into(), o.clone());
    }
    payload
}

/// Checks that need the database: references exist in an allowed module, owners are
/// active users, unique values are unique. Caches lookups across a batch.
/// Checks that need the database: owners, references, unique values, record numbers.
/// A reference to a record the actor may not see is refused as "not found", so ids cannot
/// be probed through reference fields.
#[derive(Default)]
struct DbChecks {
    /// The acting user when references must be visible to them (None: sees everything).
    viewer: Option<i64>,
    /// Modules whose records only their owner (and admins) may see.
    private_modules: std::collections::HashSet<String>,
    records: HashMap<i64, Option<(String, bool)>>,
    owners: HashMap<i64, bool>,
    numbers: std::collections::HashSet<String>,
}

impl DbChecks {
    /// Checks on behalf of `actor`, with module sharing from `registry`.
    fn for_actor(actor: &Actor, registry: &Registry) -> DbChecks {
        if actor.is_admin {
            return DbChecks::default();
        }
        DbChecks {
            viewer: Some(actor.user_id),
            private_modules: registry
                .entity_modules()
                .filter(|m| m.sharing == sable_core::Sharing::Private)
                .map(|m| m.name.clone())
                .collect(),
            ..DbChecks::default()
        }
    }

    async fn check(
        &mut self,
        tx: &mut Tx,
        m: &ModuleDef,
        values: &FieldValues,
        self_id: Option<i64>,
    ) -> anyhow::Result<ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for f in &m.fields {
            let Some(v) = values.get(&f.name) else {
                continue;
            };
            match (f.field_type, v) {
                (FieldType::Owner, Value::Id(id)) if !self.owner_ok(tx, *id).await? => {
                    errors.add(&f.name, FieldError::InvalidOwner { id: *id });
                }
                (FieldType::Reference, Value::Id(id)) => match self.record(tx, *id).await? {
                    Some((module, false)) if f.targets.iter().any(|t| t == &module) => {}
                    Some((module, false)) => errors.add(&f.name, FieldError::ReferenceWrongModule { id: *id, module }),
                    _ => errors.add(&f.name, FieldError::ReferenceNotFound { id: *id }),
                },
                _ => {}
            }
            if f.unique && !v.is_empty() {
                let col = f.match_column().unwrap_or_else(|| f.name.clone());
                let stored = if f.field_type.has_match_key() {
                    v.match_key()
                } else {
                    v.to_stored()
                };
                let int = f.field_type.storage() == sable_core::meta::Storage::Int && !f.field_type.has_match_key();
                let mut q = tx.sql();
                q.push("SELECT \"id\" FROM ")
                    .ident(&table_name(m))
                    .push(" WHERE \"deleted_at\" IS NULL AND ");
                q.ident(&col).push(" = ").bind(Arg::from_stored(&stored, int));
                if let Some(sid) = self_id {
                    q.push(" AND \"id\" <> ").bind(sid);
                }
                q.push(" LIMIT 1");
                if let Some(row) = tx.fetch_optional(&q).await? {
                    errors.add(
                        &f.name,
                        FieldError::NotUnique {
                            existing: row.int("id")?,
                        },
                    );
                }
            }
        }
        Ok(errors)
    }

    /// Whether a record number is already used (in the module or earlier in this batch).
    async fn number_taken(&mut self, tx: &mut Tx, m: &ModuleDef, number: &str) -> anyhow::Result<bool> {
        if !self.numbers.insert(number.to_string()) {
            return Ok(true);
        }
        let mut q = tx.sql();
        q.push("SELECT \"id\" FROM ")
            .ident(&table_name(m))
            .push(" WHERE ")
            .ident(&m.number_field)
            .push(" = ")
            .bind(number)
            .push(" LIMIT 1");
        Ok(tx.fetch_optional(&q).await?.is_some())
    }

    async fn owner_ok(&mut self, tx: &mut Tx, id: i64) -> anyhow::Result<bool> {
        if let Some(ok) = self.owners.get(&id) {
            return Ok(*ok);
        }
        let mut q = tx.sql();
        q.push("SELECT id FROM users WHERE id = ")
            .bind(id)
            .push(" AND status = 'Active'");
        let ok = tx.fetch_optional(&q).await?.is_some();
        self.owners.insert(id, ok);
        Ok(ok)
    }

    async fn record(&mut self, tx: &mut Tx, id: i64) -> anyhow::Result<Option<(String, bool)>> {
        if let Some(r) = self.records.get(&id) {
            return Ok(r.clone());
        }
        let mut q = tx.sql();
        q.push("SELECT module, owner_id, deleted_at FROM records WHERE id = ")
            .bind(id);
        let r = match tx.fetch_optional(&q).await? {
            Some(row) => {
                let module = row.text("module")?;
                let owner = row.opt_int("owner_id")?;
                let hidden = self
                    .viewer
                    .is_some_and(|me| self.private_modules.contains(&module) && owner != Some(me));
                (!hidden).then_some((module, row.opt_int("deleted_at")?.is_some()))
            }
            None => None,
        };
        self.records.insert(id, r.clone());
        Ok(r)
    }
}

/// Field values by name from a JSON object of `{field: value}` (for callers that build input).
pub fn input_from(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_changes_are_the_json_of_one_object_per_field() {
        let registry = Registry::builtin().expect("built-in modules");
        let m = registry.module("Leads").expect("Leads");
        let mut values = FieldValues::new();
        values.insert("lastname".into(), Value::Text("王\"\\\n".into()));
        values.insert("email".into(), Value::Email("a@b.example".into()));
        values.insert("followup_count".into(), Value::Int(3));
        // What a map per field gives, as history was written before.
        let expected: Vec<Json> = m
            .fields
            .iter()
            .filter_map(|f| {
                values
                    .get(&f.name)
                    .map(|v| json!({"field": f.name, "old": null, "new": v.to_json(f)}))
            })
            .collect();
        let written = created_changes(m, &values).expect("serialises");
        assert_eq!(written, Json::Array(expected.clone()).to_string());
        let parsed: Json = serde_json::from_str(&written).expect("valid JSON");
        assert_eq!(parsed, Json::Array(expected));
    }
}
