//! Imports as background jobs: started from the API (or the UI), progress written to the
//! job row as rows are read, the outcome and journal kept when done, and undo.

use std::path::PathBuf;

use sable_store::imports::{self, Counts, ImportJob};
use sable_store::{Actor, Store, StoreError};
use serde_json::{Map, Value as Json, json};

use crate::prepare::{Extras, import_with_extras};
use crate::run::{ImportOptions, ImportReport, RowStatus};
use crate::table::{EncodingChoice, Limits, open_file};

/// A job's options as read from JSON.
#[derive(Clone, Debug)]
pub struct JobOptions {
    pub opts: ImportOptions,
    pub encoding: EncodingChoice,
    pub extras: Extras,
}

/// Starts an import of a saved file in the background; returns the job id at once.
pub async fn start(
    store: Store,
    actor: Actor,
    file: PathBuf,
    file_name: String,
    job: JobOptions,
    options_json: Json,
) -> Result<i64, StoreError> {
    let JobOptions {
        mut opts,
        encoding,
        extras,
    } = job;
    let job_id = imports::create_job(&store, &actor, &opts.module, &file_name, &options_json).await?;
    opts.job_id = Some(job_id);
    tokio::spawn(async move {
        let (tx, mut rx) = tokio::sync::watch::channel(0u64);
        let progress_store = store.clone();
        // Progress is written at most twice a second, not once per batch.
        let writer = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let done = *rx.borrow_and_update();
                if let Err(e) = imports::set_progress(&progress_store, job_id, done).await {
                    tracing::warn!(error = format!("{e:#}"), job_id, "could not record import progress");
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        });
        // Count the rows first (reading is fast next to importing) so the bar has an end.
        if let Ok(mut table) = open_file(&file, encoding, Limits::default()) {
            let total = table.rows().count() as u64;
            if let Err(e) = imports::set_total(&store, job_id, total).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    job_id,
                    "could not record the size of an import"
                );
            }
        }
        let open = || open_file(&file, encoding, Limits::default());
        let outcome = import_with_extras(&store, &actor, open, &opts, extras, |done| {
            let _ = tx.send(done);
        })
        .await
        .map_err(|e| e.to_string());
        drop(tx);
        let _ = writer.await;
        if let Err(e) = finish(&store, job_id, &outcome).await {
            tracing::error!(
                error = format!("{e:#}"),
                job_id,
                "could not record the end of an import"
            );
        }
        // A dry run keeps its file so it can be run for real without uploading again.
        if !opts.dry_run {
            let _ = std::fs::remove_file(&file);
        }
    });
    Ok(job_id)
}

/// Records the end of a job: `done` with its counts, report and undo journal, or `failed`
/// with the message.
pub async fn finish(store: &Store, job_id: i64, outcome: &Result<ImportReport, String>) -> anyhow::Result<()> {
    match outcome {
        Ok(report) => {
            imports::finish_job(
                store,
                job_id,
                "done",
                counts(report),
                Some(&report_json(report)),
                None,
                &report.journal,
            )
            .await
        }
        Err(message) => imports::finish_job(store, job_id, "failed", Counts::default(), None, Some(message), &[]).await,
    }
}

fn counts(r: &ImportReport) -> Counts {
    Counts {
        processed: r.created + r.updated + r.skipped + r.failed,
        created: r.created,
        updated: r.updated,
        skipped: r.skipped,
        failed: r.failed,
    }
}

/// The report kept with a job: mapping, warnings and the rows that were not simply created
/// (failed rows with their cells, so they can be downloaded, fixed and imported again).
pub fn report_json(r: &ImportReport) -> Json {
    json!({
        "encoding": r.encoding,
        "headers": r.headers,
        "fields": r.fields,
        "unmapped_with_data": r.unmapped_with_data,
        "warnings": r.warnings,
        "created_fields": r.created_fields,
        "added_picklist_values": r.added_picklist_values,
        "date_order": r.date_order,
        "dry_run": r.dry_run,
        "rows": r
            .rows
            .iter()
            .filter(|x| x.status != RowStatus::Created || x.note.is_some())
            .take(10_000)
            .collect::<Vec<_>>(),
    })
}

/// Whether a job in this state can be undone: one that ended, also by a failure or a
/// stop part-way (its journal holds every batch it committed).
pub fn undoable(status: &str) -> bool {
    matches!(status, "done" | "failed" | "interrupted")
}

/// Undoes an import that ended: removes (to the recycle bin) what it created and puts back
/// what it overwrote, each through the record service. Returns the job afterwards.
pub async fn undo(store: &Store, actor: &Actor, job_id: i64) -> Result<ImportJob, StoreError> {
    let job = imports::get_job(store, actor, job_id).await?;
    if !undoable(&job.status) {
        return Err(StoreError::Conflict(sable_store::Conflict::State(format!(
            "only an import that has ended can be undone; this one is {}",
            job.status
        ))));
    }
    let svc = store.records(actor);
    for entry in imports::journal(store, job_id).await?.into_iter().rev() {
        let result = match (entry.action.as_str(), entry.before) {
            // A parent made for a reference names its own module.
            ("created", Some(Json::Object(made))) => {
                let module = made.get("module").and_then(Json::as_str).unwrap_or(&job.module);
                svc.delete(module, entry.record_id).await
            }
            ("created", _) => svc.delete(&job.module, entry.record_id).await,
            ("updated", Some(Json::Object(before))) => svc
                .update(&job.module, entry.record_id, None, &before)
                .await
                .map(|_| ()),
            _ => Ok(()),
        };
        match result {
            // Already deleted or changed away by someone since: nothing left to undo there.
            Ok(()) | Err(StoreError::NotFound { .. } | StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    imports::set_status(store, job_id, "undone").await?;
    imports::get_job(store, actor, job_id).await
}

/// Options as the API takes them (JSON), turned into import options. An owner name that
/// is nobody fails its row unless `default_owner` names someone.
/// `create_fields`, `add_picklist_values` and `all_or_nothing` are booleans ([`Extras`]), as
/// is `create_missing_parents`.
pub fn options_from_json(module: &str, v: &Map<String, Json>) -> Result<JobOptions, String> {
    let text = |k: &str| v.get(k).and_then(Json::as_str);
    let mapping = match v.get("mapping") {
        None | Some(Json::Null) => None,
        Some(m) => Some(serde_json::from_value(m.clone()).map_err(|e| format!("mapping: {e}"))?),
    };
    let match_fields = match v.get("match") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or("match: a list of field names"))
            .collect::<Result<_, _>>()?,
        Some(Json::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(_) => return Err("match: a list of field names".into()),
    };
    let on_duplicate = match text("on_duplicate") {
        None => crate::run::OnDuplicate::Skip,
        Some(s) => crate::run::OnDuplicate::parse(s).ok_or("on_duplicate: skip, update or merge")?,
    };
    let date_order = match text("date_order") {
        None => crate::convert::DateOrder::Auto,
        Some(s) => crate::convert::DateOrder::parse(s).ok_or("date_order: auto, ymd, dmy or mdy")?,
    };
    let encoding = match text("encoding") {
        None => EncodingChoice::Auto,
        Some(s) => EncodingChoice::parse(s).ok_or("encoding: auto, utf-8, gb18030 or utf-16")?,
    };
    let opts = ImportOptions {
        module: module.to_string(),
        mapping,
        match_fields,
        on_duplicate,
        dry_run: v.get("dry_run").and_then(Json::as_bool).unwrap_or(false),
        default_owner: v.get("default_owner").and_then(Json::as_i64),
        date_order,
        batch: 0,
        create_missing_parents: false,
        job_id: None,
    };
    let flag = |k: &str| match v.get(k) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{k}: true or false")),
    };
    let opts = ImportOptions {
        create_missing_parents: flag("create_missing_parents")?,
        ..opts
    };
    let extras = Extras {
        create_fields: flag("create_fields")?,
        add_picklist_values: flag("add_picklist_values")?,
        all_or_nothing: flag("all_or_nothing")?,
    };
    Ok(JobOptions { opts, encoding, extras })
}
