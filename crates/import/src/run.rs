//! Running an import: rows in batches through the record service, references resolved by
//! the whole cell, duplicates matched on chosen fields (against existing records and
//! earlier rows of the same file), and a report per row.

use std::collections::{BTreeMap, HashMap};

use sable_core::meta::{FieldType, ModuleDef};
use sable_core::parse::{ParseContext, parse_text};
use sable_core::{Filter, Value};
use sable_store::imports::JournalEntry;
use sable_store::service::CreateOptions;
use sable_store::{Actor, Query, Store, StoreError};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::convert::{DateOrder, Owners, convert_row, detect_date_order};
use crate::mapping::{self, MappingFile};
use crate::table::{Table, TableError};

/// What to do with a row that matches an existing record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    #[default]
    Skip,
    /// Overwrite the existing record's fields with the row's non-empty values.
    Update,
    /// Fill only the existing record's empty fields.
    Merge,
}

impl OnDuplicate {
    /// `skip`, `update` or `merge`.
    pub fn parse(s: &str) -> Option<OnDuplicate> {
        match s {
            "skip" => Some(OnDuplicate::Skip),
            "update" => Some(OnDuplicate::Update),
            "merge" => Some(OnDuplicate::Merge),
            _ => None,
        }
    }
}

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub module: String,
    pub mapping: Option<MappingFile>,
    /// Fields that together identify a duplicate (all must match, compared normalised).
    pub match_fields: Vec<String>,
    pub on_duplicate: OnDuplicate,
    pub dry_run: bool,
    /// Owner for rows whose owner cell is empty or names nobody.
    pub default_owner: Option<i64>,
    /// `Auto` (the default): detected from the first 1000 rows' date cells.
    pub date_order: DateOrder,
    /// Rows per transaction, at most [`MAX_BATCH`]; 0 (the `Default`) means
    /// [`DEFAULT_BATCH`].
    pub batch: usize,
    /// A reference that names no record creates the record from the cell, when the target
    /// module needs nothing but its label (an organization by its name); noted on the row.
    /// Not for references to the module imported into (those may come later in the file).
    pub create_missing_parents: bool,
    /// The import job whose undo journal receives each batch's entries once the batch is
    /// committed, instead of `ImportReport::journal` holding them all (≈ 100 MB at a
    /// million rows).
    pub job_id: Option<i64>,
}

/// Rows per transaction when the options leave it open. Every commit rewrites each index
/// page it touched, and the rows of a batch land on pages all over a dozen indexes, so
/// larger batches share those pages among more rows: 5,000 imports 100,000 leads about a
/// third faster than 1,000 (docs/performance.md). The import holds SQLite's write lock for a
/// batch, so other writers wait up to one batch (under a second at a million leads).
pub const DEFAULT_BATCH: usize = 5000;

/// Most rows per transaction: a batch's rows and statements are held in memory.
pub const MAX_BATCH: usize = 5000;

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Created,
    Updated,
    Skipped,
    Failed,
}

/// One row's outcome; failed rows keep their cells so they can be fixed and re-imported.
#[derive(Clone, Debug, Serialize)]
pub struct RowReport {
    pub line: u64,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<String>,
    /// Something done for the row besides (e.g. a parent record created for a reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole import's outcome.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub encoding: String,
    pub headers: Vec<String>,
    /// Field per column (null: not imported).
    pub fields: Vec<Option<String>>,
    /// Columns that hold data but go nowhere.
    pub unmapped_with_data: Vec<String>,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    pub dry_run: bool,
    /// Rows that were not simply created (created rows are counted, not listed).
    pub rows: Vec<RowReport>,
    /// Things worth knowing that failed no row (e.g. a parent that never turned up).
    pub warnings: Vec<String>,
    /// The digit order dates were read in, and why (`dmy (detected from 25/03/2024 …)`,
    /// `ymd (chosen)`); None when no column is a date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_order: Option<String>,
    /// Custom fields created for unmapped columns before the rows, on request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub created_fields: Vec<String>,
    /// Picklist values added (field, value) before the rows, on request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_picklist_values: Vec<(String, String)>,
    /// What was created and what was overwritten (with the values before), for undo.
    #[serde(skip)]
    pub journal: Vec<JournalEntry>,
}

impl ImportReport {
    /// `created N, updated N, skipped N, failed N`.
    pub fn summary(&self) -> String {
        format!(
            "created {}, updated {}, skipped {}, failed {}",
            self.created, self.updated, self.skipped, self.failed
        )
    }

    fn record(
        &mut self,
        line: u64,
        status: RowStatus,
        record_id: Option<i64>,
        reason: Option<String>,
        cells: Vec<String>,
    ) {
        self.record_noted(line, status, record_id, reason, cells, None);
    }

    /// Counts and lists a row of an import that does not go through [`run_import`] (users).
    pub fn record_row(&mut self, line: u64, status: RowStatus, reason: Option<String>, cells: Vec<String>) {
        self.record(line, status, None, reason, cells);
    }

    /// [`ImportReport::record`] with a note; a created row with a note is listed too.
    fn record_noted(
        &mut self,
        line: u64,
        status: RowStatus,
        record_id: Option<i64>,
        reason: Option<String>,
        cells: Vec<String>,
        note: Option<String>,
    ) {
        match status {
            RowStatus::Created => self.created += 1,
            RowStatus::Updated => self.updated += 1,
            RowStatus::Skipped => self.skipped += 1,
            RowStatus::Failed => self.failed += 1,
        }
        if status != RowStatus::Created || note.is_some() {
            let cells = if status == RowStatus::Failed { cells } else { Vec::new() };
            self.rows.push(RowReport {
                line,
                status,
                record_id,
                reason,
                cells,
                note,
            });
        }
    }
}

/// Why an import could not start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Table(#[from] TableError),
    #[error("{0}")]
    Mapping(#[from] mapping::MappingError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// A row on its way in.
struct Pending {
    line: u64,
    cells: Vec<String>,
    input: Map<String, Json>,
    /// References to this module that named nothing yet: the target may come later in
    /// the same file (a subsidiary listed before its parent). Resolved after all rows.
    deferred: Vec<(String, String)>,
    /// Parent records created for this row's references.
    note: Option<String>,
}

/// The one field of `target` a label fills, when the module needs no other field to create
/// a record: its only label field, or a person's family name.
fn label_only_field(target: &ModuleDef) -> Option<&str> {
    let field = match target.label_fields.as_slice() {
        [one] => one.as_str(),
        fields => ["lastname", "last_name"]
            .into_iter()
            .find(|f| fields.iter().any(|l| l == f))?,
    };
    let needs_more = target.fields.iter().any(|f| {
        f.mandatory
            && f.name != field
            && !f.readonly
            && !matches!(f.field_type, FieldType::AutoNumber | FieldType::Owner)
            && f.default.is_none()
    });
    (!needs_more).then_some(field)
}

/// Creates (or, in a dry run, checks it could create) the record a reference names.
/// Ok(None) in a dry run; Err is the row's reason. A record created is journalled with its
/// module (`before: {"module": …}`), so undoing the import removes it too.
async fn create_parent(
    svc: &sable_store::service::RecordService<'_>,
    registry: &sable_core::Registry,
    targets: &[String],
    cell: &str,
    opts: &ImportOptions,
    journal: &mut Vec<JournalEntry>,
) -> Result<(Option<i64>, String), String> {
    let target = targets
        .iter()
        .filter_map(|t| registry.module(t).ok())
        .find_map(|m| label_only_field(m).map(|f| (m, f)));
    let Some((target, field)) = target else {
        return Err(format!(
            "no {} named `{cell}`, and one cannot be made from the name alone",
            targets.join("/")
        ));
    };
    let mut input = Map::new();
    input.insert(field.to_string(), json!(cell));
    if let Some(owner) = opts.default_owner {
        input.insert("assigned_user_id".into(), json!(owner));
    }
    if opts.dry_run {
        return Ok((None, format!("would create {} `{cell}`", target.name)));
    }
    match svc.create(&target.name, &input).await {
        Ok(r) => {
            journal.push(JournalEntry {
                record_id: r.id,
                action: "created".into(),
                before: Some(json!({ "module": target.name })),
            });
            Ok((Some(r.id), format!("created {} `{cell}` (id {})", target.name, r.id)))
        }
        Err(e) => Err(format!(
            "no {} named `{cell}`, and creating it failed: {e}",
            target.name
        )),
    }
}

/// A match key seen earlier in the file.
#[derive(Clone, Copy, Debug)]
struct Seen {
    /// The record the row created (None: not written, in a dry run or a failed row).
    id: Option<i64>,
    /// Whether [`existing_matches`] will find the record from now on, so the key need not
    /// be kept: the actor sees it and every match field compares by its normalised key.
    findable: bool,
}

/// Whether the actor will find again a record it created with `input` through a query.
fn visible_to(actor: &Actor, module: &ModuleDef, input: &Map<String, Json>) -> bool {
    actor.is_admin()
        || module.sharing != sable_core::Sharing::Private
        || match input.get("assigned_user_id") {
            // The record service makes the actor the owner.
            None => actor.user_ref().is_some(),
            Some(owner) => owner.as_i64() == Some(actor.user_id()),
        }
}

/// What the file's earlier rows left behind: their match keys and, in a dry run, their names.
struct Earlier<'a> {
    seen: &'a mut HashMap<String, Seen>,
    names: Option<&'a mut HashMap<String, u32>>,
}

/// The display label and record number a row will have once created, for a dry run to
/// resolve references to rows of the same file as a real run does.
fn future_names(module: &ModuleDef, input: &Map<String, Json>, tz: &jiff::tz::TimeZone) -> Vec<String> {
    let ctx = ParseContext { picklist: None, tz };
    let mut values = sable_core::record::FieldValues::new();
    for name in module.label_fields.iter().chain(std::iter::once(&module.number_field)) {
        if let (Some(field), Some(Json::String(text))) = (module.field(name), input.get(name))
            && let Ok(v) = parse_text(field, text, &ctx)
        {
            values.insert(name.clone(), v);
        }
    }
    let mut names = vec![sable_core::record::display_label(module, &values)];
    if let Some(Value::Text(number)) = values.get(&module.number_field) {
        names.push(number.clone());
    }
    names.retain(|n| !n.is_empty());
    names
}

fn errors_text(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(f, e)| format!("{f}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The normalised key of the match fields of an input (None when one is empty).
fn match_key(
    module: &ModuleDef,
    fields: &[String],
    input: &Map<String, Json>,
    tz: &jiff::tz::TimeZone,
) -> Option<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for name in fields {
        let field = module.field(name)?;
        let text = match input.get(name)? {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let ctx = ParseContext { picklist: None, tz };
        let normalised = match field.field_type {
            FieldType::Email | FieldType::Phone => match parse_text(field, &text, &ctx).ok()?.match_key() {
                sable_core::Stored::Text(k) => k,
                _ => return None,
            },
            _ => text.trim().to_lowercase(),
        };
        if normalised.is_empty() {
            return None;
        }
        parts.push(normalised);
    }
    Some(parts.join("\u{1f}"))
}

/// The same key computed from a stored record.
fn record_key(module: &ModuleDef, fields: &[String], r: &sable_store::Record) -> Option<String> {
    let mut input = Map::new();
    for name in fields {
        let field = module.field(name)?;
        input.insert(name.clone(), Json::String(r.values.get(name)?.to_text(field)));
    }
    match_key(module, fields, &input, &jiff::tz::TimeZone::UTC)
}

/// Imports a table into a module through the record service, acting as `actor`.
pub async fn run_import(
    store: &Store,
    actor: &Actor,
    table: Table,
    opts: &ImportOptions,
    progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    import_table(store, actor, table, opts, true, progress).await
}

/// [`run_import`] without the undo journal (`report.journal` stays empty), for bulk loads
/// that will not be undone: the journal keeps an entry for every created record, about
/// 100 bytes each, so ≈ 100 MB for a million rows.
pub async fn run_import_without_journal(
    store: &Store,
    actor: &Actor,
    table: Table,
    opts: &ImportOptions,
    progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    import_table(store, actor, table, opts, false, progress).await
}

async fn import_table(
    store: &Store,
    actor: &Actor,
    mut table: Table,
    opts: &ImportOptions,
    keep_journal: bool,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let registry = store.registry().await.map_err(StoreError::from)?;
    let module = registry.module(&opts.module).map_err(StoreError::from)?.clone();
    if !module.entity {
        return Err(ImportError::Invalid(format!(
            "{} records cannot be imported",
            module.name
        )));
    }
    for f in &opts.match_fields {
        if module.field(f).is_none() {
            return Err(ImportError::Invalid(format!(
                "cannot match on `{f}`: not a field of {}",
                module.name
            )));
        }
    }
    let mapping = mapping::build(&module, &table.headers, opts.mapping.as_ref())?;
    let table_headers = table.headers.clone();
    let owners = Owners::new(&sable_store::users::list_users(store).await.map_err(StoreError::from)?);
    let mut report = ImportReport {
        encoding: table.encoding.clone(),
        headers: table.headers.clone(),
        fields: mapping.fields.clone(),
        dry_run: opts.dry_run,
        ..ImportReport::default()
    };
    let unmapped = mapping.unmapped();
    let mut unmapped_seen = vec![false; table.headers.len()];
    let svc = store.records(actor);
    // Reference cells resolved so far (Ok(None): a parent a dry run would create).
    let mut references: HashMap<(String, String), Result<Option<i64>, String>> = HashMap::new();
    // Keys seen earlier in this file. Once a batch is committed, the keys of records the
    // actor can find again are dropped (`existing_matches` finds them in the database), so
    // memory stays flat however long the file is.
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let batch_size = if opts.batch == 0 {
        DEFAULT_BATCH
    } else {
        opts.batch.min(MAX_BATCH)
    };
    let mut done = 0u64;
    let mut later: Vec<(i64, u64, String, String)> = Vec::new();
    // In a dry run nothing is written, so the names of rows accepted so far stand in for
    // the records a real run would find (only when the module refers to itself).
    let refers_to_itself = mapping.fields.iter().flatten().any(|f| {
        module
            .field(f)
            .is_some_and(|d| d.field_type == FieldType::Reference && d.targets.contains(&module.name))
    });
    let mut dry_names: Option<HashMap<String, u32>> = (opts.dry_run && refers_to_itself).then(HashMap::new);
    // Dates: the digit order chosen, or detected from the first rows' date cells.
    let date_columns: Vec<usize> = mapping
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.as_deref()
                .and_then(|f| module.field(f))
                .is_some_and(|f| matches!(f.field_type, FieldType::Date | FieldType::Datetime))
        })
        .map(|(i, _)| i)
        .collect();
    let mut rows = table.rows();
    let mut sample = Vec::new();
    let order = if opts.date_order == DateOrder::Auto && !date_columns.is_empty() {
        sample.extend(rows.by_ref().take(1000));
        let cells = sample
            .iter()
            .flatten()
            .flat_map(|r| date_columns.iter().filter_map(|&i| r.cells.get(i).map(String::as_str)));
        match detect_date_order(cells) {
            Ok(Some(order)) => {
                report.date_order = Some(format!("{} (detected)", order.name()));
                order
            }
            Ok(None) => {
                report.date_order = Some("ymd (detected)".into());
                DateOrder::Ymd
            }
            Err(why) => {
                report.date_order = Some(format!("ymd (default: {why}; choose the date order)"));
                report.warnings.push(format!(
                    "dates read year first: {why}; choose the date order (dmy or mdy)"
                ));
                DateOrder::Ymd
            }
        }
    } else {
        if !date_columns.is_empty() {
            report.date_order = Some(format!("{} (chosen)", opts.date_order.name()));
        }
        opts.date_order
    };
    let headers = table_headers;
    let mut rows = sample.into_iter().chain(rows);
    // The batches, in a block of their own so that when one fails, what the earlier ones
    // committed is still journalled (below) and can be undone.
    let batches: Result<(), ImportError> = async {
        loop {
            let mut pending = Vec::with_capacity(batch_size);
            let read_before = done;
            for row in rows.by_ref().take(batch_size) {
                done += 1;
                let row = match row {
                    Ok(r) => r,
                    Err(e) => {
                        report.record(
                            e.line().unwrap_or(0),
                            RowStatus::Failed,
                            None,
                            Some(e.to_string()),
                            Vec::new(),
                        );
                        continue;
                    }
                };
                for &i in &unmapped {
                    if !unmapped_seen[i] && row.cells.get(i).is_some_and(|c| !c.trim().is_empty()) {
                        unmapped_seen[i] = true;
                    }
                }
                let converted = match convert_row(&module, &mapping, &owners, opts.default_owner, order, &headers, &row)
                {
                    Ok(c) => c,
                    Err(errors) => {
                        report.record(row.line, RowStatus::Failed, None, Some(errors_text(&errors)), row.cells);
                        continue;
                    }
                };
                let mut input = converted.input;
                let mut failed = BTreeMap::new();
                let mut deferred = Vec::new();
                let mut notes = Vec::new();
                for (field, cell) in converted.references {
                    let targets = module.field(&field).map(|f| f.targets.clone()).unwrap_or_default();
                    let key = (field.clone(), cell.clone());
                    if !references.contains_key(&key) {
                        let mut found = Vec::new();
                        for t in &targets {
                            found.extend(svc.find_by_label_or_number(t, &cell).await?);
                        }
                        let outcome = match found.len() {
                            0 if opts.create_missing_parents && !targets.contains(&module.name) => {
                                match create_parent(&svc, &registry, &targets, &cell, opts, &mut report.journal).await {
                                    Ok((id, note)) => {
                                        notes.push(format!("{field}: {note}"));
                                        Ok(id)
                                    }
                                    Err(e) => Err(e),
                                }
                            }
                            0 => Err(format!("no {} named `{cell}`", targets.join("/"))),
                            1 => Ok(Some(found[0])),
                            _ => Err(format!("several records are named `{cell}`; use the record number")),
                        };
                        references.insert(key.clone(), outcome);
                    }
                    match &references[&key] {
                        Ok(Some(id)) => {
                            input.insert(field, json!(id));
                        }
                        Ok(None) => {}
                        Err(_) if targets.contains(&module.name) => {
                            references.remove(&key);
                            deferred.push((field, cell));
                        }
                        Err(e) => {
                            failed.insert(field, e.clone());
                        }
                    }
                }
                let note = (!notes.is_empty()).then(|| notes.join("; "));
                if !failed.is_empty() {
                    report.record_noted(
                        row.line,
                        RowStatus::Failed,
                        None,
                        Some(errors_text(&failed)),
                        row.cells,
                        note,
                    );
                    continue;
                }
                pending.push(Pending {
                    line: row.line,
                    cells: row.cells,
                    input,
                    deferred,
                    note,
                });
            }
            if done == read_before {
                break;
            }
            if pending.is_empty() {
                // Every row of this batch failed before reaching the database: read on.
                progress(done);
                continue;
            }
            later.extend(
                import_batch(
                    store,
                    actor,
                    &module,
                    opts,
                    pending,
                    Earlier {
                        seen: &mut seen,
                        names: dry_names.as_mut(),
                    },
                    &mut report,
                )
                .await?,
            );
            if !opts.dry_run {
                seen.retain(|_, s| !s.findable);
            }
            if !keep_journal {
                report.journal.clear();
            }
            flush_journal(store, opts, &mut report).await?;
            progress(done);
        }
        Ok(())
    }
    .await;
    if let Err(e) = batches {
        // The failure is what the caller needs to hear of; a journal that cannot be written
        // now could not have been written either.
        let _ = flush_journal(store, opts, &mut report).await;
        return Err(e);
    }
    // References to rows that came later in the file.
    for (id, line, field, cell) in later {
        let found = svc.find_by_label_or_number(&module.name, &cell).await?;
        if let Some(names) = &dry_names {
            let outcome = match found.len() + names.get(&cell).copied().unwrap_or(0) as usize {
                1 => Ok(()),
                0 => Err(format!("no {} named `{cell}`", module.name)),
                _ => Err(format!("several records are named `{cell}`")),
            };
            if let Err(e) = outcome {
                report
                    .warnings
                    .push(format!("line {line}: created without {field}: {e}"));
            }
            continue;
        }
        let outcome = match found.as_slice() {
            [target] => svc
                .update(
                    &module.name,
                    id,
                    None,
                    &[(field.clone(), json!(target))].into_iter().collect(),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            [] => Err(format!("no {} named `{cell}`", module.name)),
            _ => Err(format!("several records are named `{cell}`")),
        };
        if let Err(e) = outcome {
            report
                .warnings
                .push(format!("line {line}: created without {field}: {e}"));
        }
    }
    report.unmapped_with_data = unmapped
        .iter()
        .filter(|&&i| unmapped_seen[i])
        .map(|&i| report.headers[i].clone())
        .collect();
    // Rows fail at different stages (reading, converting, saving); report them in file order.
    report.rows.sort_by_key(|r| r.line);
    Ok(report)
}

/// Writes the journal entries gathered so far to the import job's journal, when the
/// import has a job and writes (`ImportOptions::job_id`), and forgets them.
async fn flush_journal(store: &Store, opts: &ImportOptions, report: &mut ImportReport) -> Result<(), ImportError> {
    if let Some(job_id) = opts.job_id.filter(|_| !opts.dry_run) {
        sable_store::imports::append_journal(store, job_id, &report.journal)
            .await
            .map_err(StoreError::from)?;
        report.journal.clear();
    }
    Ok(())
}

/// How [`existing_matches`] queries for candidates: on one match field, chosen so that a
/// candidate is never missed (the keys are then compared normalised, all fields, here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// An e-mail or phone field: `in` on its normalised match column (exact, indexed).
    Normalised,
    /// A text field: a case-insensitive prefix (`LIKE`/`ILIKE`), case-folded by the
    /// database, a superset of the equal values.
    CaseInsensitive,
    /// Any other field: `in` on the stored value.
    Exact,
}

/// The match field to query on, and how.
fn lookup_field<'a>(module: &ModuleDef, fields: &'a [String]) -> Option<(&'a String, Lookup)> {
    let of = |name: &String| module.field(name);
    fields
        .iter()
        .find(|f| of(f).is_some_and(|d| d.match_column().is_some()))
        .map(|f| (f, Lookup::Normalised))
        .or_else(|| {
            fields
                .iter()
                .find(|f| {
                    of(f)
                        .is_some_and(|d| matches!(d.field_type, FieldType::Text | FieldType::Textarea | FieldType::Url))
                })
                .map(|f| (f, Lookup::CaseInsensitive))
        })
        .or_else(|| fields.first().map(|f| (f, Lookup::Exact)))
}

/// Existing records matching the batch's keys, by key: every match field compared
/// normalised (e-mail and phone by their key, other text trimmed and case-folded).
async fn existing_matches(
    store: &Store,
    actor: &Actor,
    module: &ModuleDef,
    fields: &[String],
    keys: &[(usize, String, Json)],
) -> Result<HashMap<String, i64>, ImportError> {
    let Some((field, lookup)) = lookup_field(module, fields) else {
        return Ok(HashMap::new());
    };
    let mut values: Vec<Json> = keys.iter().map(|(_, _, v)| v.clone()).collect();
    if lookup == Lookup::CaseInsensitive {
        values = values
            .into_iter()
            .filter_map(|v| v.as_str().map(|t| Json::String(t.trim().to_lowercase())))
            .collect();
        values.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    values.dedup();
    let mut out = HashMap::new();
    // A filter holds at most 200 conditions.
    let chunk_size = if lookup == Lookup::CaseInsensitive { 150 } else { 500 };
    for chunk in values.chunks(chunk_size) {
        let tree = match lookup {
            Lookup::CaseInsensitive => json!({"any": chunk
                .iter()
                .map(|v| json!({"field": field, "op": "starts_with", "value": v}))
                .collect::<Vec<_>>()}),
            _ => json!({"field": field, "op": "in", "value": chunk}),
        };
        let filter = Filter::from_json(&tree).map_err(StoreError::from)?;
        let mut query = Query {
            filter,
            limit: 500,
            with_count: false,
            ..Query::default()
        };
        // Several records may share a value (duplicates already in the CRM): read them all.
        loop {
            let page = store.records(actor).query(&module.name, &query).await?;
            for r in page.items {
                if let Some(k) = record_key(module, fields, &r) {
                    out.entry(k).or_insert(r.id);
                }
            }
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

async fn import_batch(
    store: &Store,
    actor: &Actor,
    module: &ModuleDef,
    opts: &ImportOptions,
    pending: Vec<Pending>,
    earlier: Earlier<'_>,
    report: &mut ImportReport,
) -> Result<Vec<(i64, u64, String, String)>, ImportError> {
    let Earlier {
        seen,
        names: mut dry_names,
    } = earlier;
    let svc = store.records(actor);
    // Keys may be left to the database when the query on an e-mail or phone field finds
    // every candidate exactly (its normalised column); a case-folding `LIKE` folds only
    // ASCII on SQLite, so text-only keys stay in memory for the rest of the file.
    let lookup = lookup_field(module, &opts.match_fields);
    let keys_findable = lookup.is_some_and(|(_, how)| how == Lookup::Normalised);
    // Duplicates: against earlier rows of the file first, then existing records.
    let keys: Vec<(usize, String, Json)> = if opts.match_fields.is_empty() {
        Vec::new()
    } else {
        pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let key = match_key(module, &opts.match_fields, &p.input, actor.tz())?;
                let query_value = lookup.and_then(|(f, _)| p.input.get(f).cloned()).unwrap_or(Json::Null);
                Some((i, key, query_value))
            })
            .collect()
    };
    let existing = existing_matches(store, actor, module, &opts.match_fields, &keys).await?;
    let key_of: HashMap<usize, String> = keys.into_iter().map(|(i, k, _)| (i, k)).collect();
    let mut new_rows: Vec<(Pending, Option<String>)> = Vec::new();
    // Rows of this batch still to be created, by key, and the later rows folded into them.
    let mut in_batch: HashMap<String, usize> = HashMap::new();
    let mut followers: Vec<(usize, Pending)> = Vec::new();
    for (i, p) in pending.into_iter().enumerate() {
        let key = key_of.get(&i).cloned();
        // A repeat of a row of this batch, to update or merge: its values go into the earlier
        // row before it is created, as they would go into the record in a later batch.
        if opts.on_duplicate != OnDuplicate::Skip
            && let Some(&at) = key.as_ref().and_then(|k| in_batch.get(k))
        {
            fold_into(module, opts.on_duplicate, &mut new_rows[at].0, &p);
            followers.push((at, p));
            continue;
        }
        let target = key
            .as_ref()
            .and_then(|k| existing.get(k).copied().map(Some).or_else(|| seen.get(k).map(|s| s.id)));
        match (target, opts.on_duplicate) {
            (None, _) => {
                if let Some(k) = &key {
                    in_batch.insert(k.clone(), new_rows.len());
                }
                if let Some(k) = &key {
                    seen.insert(
                        k.clone(),
                        Seen {
                            id: None,
                            findable: false,
                        },
                    );
                }
                new_rows.push((p, key));
            }
            (Some(_), OnDuplicate::Skip) => report.record(
                p.line,
                RowStatus::Skipped,
                target.flatten(),
                Some("duplicate of an existing record or an earlier row".into()),
                Vec::new(),
            ),
            // In a dry run, an earlier batch's row: a real run would update the record it made.
            (Some(None), _) if opts.dry_run => {
                report.record_noted(p.line, RowStatus::Updated, None, None, Vec::new(), p.note.clone())
            }
            // An earlier row of this file that was not written (it failed).
            (Some(None), _) => report.record(
                p.line,
                RowStatus::Skipped,
                None,
                Some("duplicate of an earlier row in this file".into()),
                Vec::new(),
            ),
            (Some(Some(id)), how) => {
                let mut input = p.input.clone();
                // An update keeps the record's owner and history: only business fields change.
                input.retain(|k, _| k != "assigned_user_id" && module.field(k).is_some_and(|f| !f.readonly));
                let current = svc.get(&module.name, id).await?;
                if how == OnDuplicate::Merge {
                    input.retain(|k, _| current.values.get(k).is_none_or(Value::is_empty));
                }
                if opts.dry_run {
                    report.record_noted(p.line, RowStatus::Updated, Some(id), None, Vec::new(), p.note.clone());
                    continue;
                }
                let before: Map<String, Json> = input
                    .keys()
                    .filter_map(|k| {
                        module
                            .field(k)
                            .map(|f| (k.clone(), current.values.get(k).map_or(Json::Null, |v| v.to_json(f))))
                    })
                    .collect();
                match svc.update(&module.name, id, None, &input).await {
                    Ok(_) => {
                        report.journal.push(JournalEntry {
                            record_id: id,
                            action: "updated".into(),
                            before: Some(Json::Object(before)),
                        });
                        report.record_noted(p.line, RowStatus::Updated, Some(id), None, Vec::new(), p.note.clone());
                    }
                    Err(StoreError::Invalid(e)) => {
                        report.record(p.line, RowStatus::Failed, Some(id), Some(e.to_string()), p.cells)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    if new_rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut made: Vec<Result<Option<i64>, String>> = Vec::with_capacity(new_rows.len());
    // What the inputs tell after they are written, taken before they move to the service.
    let findable: Vec<bool> = new_rows
        .iter()
        .map(|(p, _)| keys_findable && visible_to(actor, module, &p.input))
        .collect();
    let names: Vec<Vec<String>> = match dry_names {
        Some(_) => new_rows
            .iter()
            .map(|(p, _)| future_names(module, &p.input, actor.tz()))
            .collect(),
        None => Vec::new(),
    };
    let inputs: Vec<Map<String, Json>> = new_rows.iter_mut().map(|(p, _)| std::mem::take(&mut p.input)).collect();
    let create = CreateOptions {
        all_or_nothing: false,
        allow_system: true,
        dry_run: opts.dry_run,
        source: Some("IMPORT".into()),
    };
    let outcomes = svc.create_many_with(&module.name, &inputs, &create).await?;
    let mut later = Vec::new();
    for (n, ((p, key), outcome)) in new_rows.into_iter().zip(outcomes).enumerate() {
        made.push(
            outcome
                .as_ref()
                .map(|&id| (!opts.dry_run).then_some(id))
                .map_err(|e| e.to_string()),
        );
        match outcome {
            Ok(id) => {
                if let Some(dry) = dry_names.as_deref_mut() {
                    for name in names.get(n).into_iter().flatten() {
                        *dry.entry(name.clone()).or_insert(0) += 1;
                    }
                }
                later.extend(p.deferred.iter().map(|(f, c)| (id, p.line, f.clone(), c.clone())));
                if !opts.dry_run {
                    report.journal.push(JournalEntry {
                        record_id: id,
                        action: "created".into(),
                        before: None,
                    });
                }
                if let Some(k) = key
                    && !opts.dry_run
                {
                    seen.insert(
                        k,
                        Seen {
                            id: Some(id),
                            findable: findable[n],
                        },
                    );
                }
                report.record_noted(
                    p.line,
                    RowStatus::Created,
                    (!opts.dry_run).then_some(id),
                    None,
                    Vec::new(),
                    p.note,
                );
            }
            Err(e) => report.record_noted(p.line, RowStatus::Failed, None, Some(e.to_string()), p.cells, p.note),
        }
    }
    for (at, p) in followers {
        match &made[at] {
            Ok(id) => report.record_noted(p.line, RowStatus::Updated, *id, None, Vec::new(), p.note),
            Err(e) => report.record_noted(
                p.line,
                RowStatus::Failed,
                None,
                Some(format!("the earlier row it repeats failed: {e}")),
                p.cells,
                p.note,
            ),
        }
    }
    Ok(later)
}

/// Folds a later row that repeats `earlier` (same match key, same batch) into it: its
/// values overwrite (update) or fill only what the earlier row left empty (merge); owner
/// and read-only fields stay the earlier row's, as an update of the record would keep them.
fn fold_into(module: &ModuleDef, how: OnDuplicate, earlier: &mut Pending, later: &Pending) {
    for (k, v) in &later.input {
        if k == "assigned_user_id" || module.field(k).is_none_or(|f| f.readonly) {
            continue;
        }
        let empty = earlier
            .input
            .get(k)
            .is_none_or(|e| e.is_null() || e.as_str().is_some_and(str::is_empty));
        if how == OnDuplicate::Update || empty {
            earlier.input.insert(k.clone(), v.clone());
            earlier.deferred.retain(|(f, _)| f != k);
        }
    }
    for (field, cell) in &later.deferred {
        let set = earlier.input.contains_key(field) || earlier.deferred.iter().any(|(f, _)| f == field);
        if how == OnDuplicate::Update || !set {
            earlier.input.remove(field);
            earlier.deferred.retain(|(f, _)| f != field);
            earlier.deferred.push((field.clone(), cell.clone()));
        }
    }
}
