//! `sable import` and `sable export`: the command-line faces of the import crate.

use std::process::ExitCode;

use anyhow::Context;
use sable_core::Filter;
use sable_import::convert::DateOrder;
use sable_import::export::{ExportEncoding, ExportFormat, Selection, export_csv, export_xlsx};
use sable_import::mapping::MappingFile;
use sable_import::prepare::{Extras, import_with_extras};
use sable_import::run::{ImportOptions, OnDuplicate, RowStatus};
use sable_import::table::{EncodingChoice, Limits, open_file};
use sable_store::Store;
use sable_store::users;

use crate::cli::{ExportArgs, ImportArgs};

async fn acting_user(store: &Store, name: &str) -> anyhow::Result<sable_store::users::User> {
    let user = users::find_user(store, name)
        .await?
        .with_context(|| format!("no user named {name} (use --as)"))?;
    anyhow::ensure!(user.is_active(), "{name} is deactivated");
    Ok(user)
}

/// `sable import --undo ID`: undoes a finished import job, as the API and the UI do.
async fn undo(store: &Store, args: &ImportArgs, job_id: i64) -> anyhow::Result<ExitCode> {
    let user = acting_user(store, &args.as_user).await?;
    let job = sable_import::jobs::undo(store, &user.actor(), job_id)
        .await
        .map_err(|e| match e {
            sable_store::StoreError::Conflict(sable_store::Conflict::State(why)) => {
                anyhow::anyhow!("import job {job_id}: {why}")
            }
            e => anyhow::anyhow!("import job {job_id}: {e}"),
        })?;
    println!(
        "undid import job {} into {} ({}): removed {} created, restored {} updated",
        job.id, job.module, job.file_name, job.created, job.updated
    );
    Ok(ExitCode::SUCCESS)
}

/// The options of a command-line import as a job keeps them (as the API takes them).
fn options_json(args: &ImportArgs, module: &str) -> serde_json::Value {
    serde_json::json!({
        "module": module,
        "source": "cli",
        "match": args.match_fields,
        "on_duplicate": args.on_duplicate,
        "encoding": args.encoding,
        "date_order": args.date_order,
        "dry_run": args.dry_run,
        "create_fields": args.create_fields,
        "add_picklist_values": args.add_picklist_values,
        "all_or_nothing": args.all_or_nothing,
        "create_missing_parents": args.create_missing_parents,
    })
}

/// Runs an import as an import job (so it can be undone) and prints progress, the job id
/// and, last, the summary line.
pub async fn import(store: &Store, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let (module, file) = match (&args.undo, &args.module, &args.file) {
        (Some(id), _, _) => return undo(store, args, *id).await,
        (None, Some(module), Some(file)) => (module.clone(), file.clone()),
        _ => anyhow::bail!("sable import needs --module and a file, or --undo JOB_ID"),
    };
    let user = acting_user(store, &args.as_user).await?;
    let mapping: Option<MappingFile> = match &args.mapping {
        Some(p) => Some(
            serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                .with_context(|| format!("{} is not a valid mapping file", p.display()))?,
        ),
        None => None,
    };
    // Without --default-owner, a name that is nobody is reported, not silently reassigned;
    // an empty owner cell makes the importing user the owner.
    let default_owner = match &args.default_owner {
        Some(name) => Some(acting_user(store, name).await?.id),
        None => None,
    };
    let encoding =
        EncodingChoice::parse(&args.encoding).with_context(|| format!("unknown encoding {}", args.encoding))?;
    let open = || open_file(&file, encoding, Limits::default());
    if module == "Users" {
        // Users are not records: created with an unknown password, skipped when they exist.
        let table = open().map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let report = sable_import::users::import_users(store, &user.actor(), table, mapping.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for r in report.rows.iter().filter(|r| r.status != RowStatus::Created) {
            eprintln!("line {}: {}", r.line, r.reason.as_deref().unwrap_or(""));
        }
        eprintln!("new users have no password yet: set one with `sable user passwd NAME`");
        println!("{}", report.summary());
        return Ok(if report.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let opts = ImportOptions {
        module: module.clone(),
        mapping,
        match_fields: args.match_fields.clone(),
        on_duplicate: OnDuplicate::parse(&args.on_duplicate).with_context(|| {
            format!(
                "--on-duplicate must be skip, update or merge, not {}",
                args.on_duplicate
            )
        })?,
        dry_run: args.dry_run,
        default_owner,
        date_order: DateOrder::parse(&args.date_order)
            .with_context(|| format!("--date-order must be auto, ymd, dmy or mdy, not {}", args.date_order))?,
        batch: 0,
        create_missing_parents: args.create_missing_parents,
        job_id: None,
    };
    let mut table = open().map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    eprintln!(
        "reading {} ({}, {} columns)",
        file.display(),
        table.encoding,
        table.headers.len()
    );
    anyhow::ensure!(
        table.rows().next().is_some(),
        "{}: the file has a header row but no data rows: nothing to import",
        file.display()
    );
    drop(table);
    let extras = Extras {
        create_fields: args.create_fields,
        add_picklist_values: args.add_picklist_values,
        all_or_nothing: args.all_or_nothing,
    };
    let actor = user.actor();
    let file_name = file
        .file_name()
        .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let job_id = sable_store::imports::create_job(store, &actor, &module, &file_name, &options_json(args, &module))
        .await
        .context("recording the import job")?;
    println!("import job {job_id}");
    let opts = ImportOptions {
        job_id: Some(job_id),
        ..opts
    };
    let outcome = import_with_extras(store, &actor, open, &opts, extras, |done| eprint!("\r{done} rows read"))
        .await
        .map_err(|e| e.to_string());
    sable_import::jobs::finish(store, job_id, &outcome)
        .await
        .context("recording the end of the import job")?;
    let report = outcome.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    eprintln!();
    if !report.created_fields.is_empty() {
        eprintln!("created custom fields: {}", report.created_fields.join(", "));
    }
    for (field, value) in &report.added_picklist_values {
        eprintln!("added `{value}` to the picklist of {field}");
    }
    if let Some(order) = &report.date_order {
        eprintln!("dates read in the order {order}");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for (header, field) in report.headers.iter().zip(&report.fields) {
        eprintln!("  {header:<24} → {}", field.as_deref().unwrap_or("(not imported)"));
    }
    if !report.unmapped_with_data.is_empty() {
        eprintln!(
            "warning: these columns hold data but are not imported: {}",
            report.unmapped_with_data.join(", ")
        );
    }
    for r in report.rows.iter().filter(|r| r.status == RowStatus::Failed).take(20) {
        let reason = r.reason.as_deref().unwrap_or("");
        // Reading errors name their line already.
        if reason.starts_with("Line ") {
            eprintln!("{reason}");
        } else {
            eprintln!("line {}: {reason}", r.line);
        }
    }
    if let Some(path) = &args.failed_rows {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
        let mut header = report.headers.clone();
        header.extend(["line".to_string(), "reason".to_string()]);
        w.write_record(&header)?;
        for r in report.rows.iter().filter(|r| r.status == RowStatus::Failed) {
            let mut row = r.cells.clone();
            row.resize(report.headers.len(), String::new());
            row.extend([r.line.to_string(), r.reason.clone().unwrap_or_default()]);
            w.write_record(&row)?;
        }
        w.flush()?;
    }
    if report.dry_run {
        eprintln!("dry run: nothing was written");
    }
    if !report.dry_run && report.created + report.updated > 0 {
        eprintln!("undo with: sable import --undo {job_id}");
    }
    println!("{}", report.summary());
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes an export file.
pub async fn export(store: &Store, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let user = acting_user(store, &args.as_user).await?;
    let filter = match &args.filter {
        Some(text) => Filter::from_json(&serde_json::from_str(text).context("--filter is not JSON")?)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Filter::everything(),
    };
    let format = match args.format.as_str() {
        "csv" => ExportFormat::Csv,
        "xlsx" => ExportFormat::Xlsx,
        other => anyhow::bail!("--format must be csv or xlsx, not {other}"),
    };
    let encoding =
        ExportEncoding::parse(&args.encoding).with_context(|| format!("unknown encoding {}", args.encoding))?;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&args.output).with_context(|| format!("creating {}", args.output.display()))?,
    );
    let actor = user.actor();
    let count = match format {
        ExportFormat::Csv => {
            export_csv(
                store,
                &actor,
                &args.module,
                Selection {
                    filter: filter.clone(),
                    columns: None,
                },
                encoding,
                &mut file,
            )
            .await
        }
        ExportFormat::Xlsx => {
            export_xlsx(
                store,
                &actor,
                &args.module,
                Selection { filter, columns: None },
                &mut file,
            )
            .await
        }
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::io::Write::flush(&mut file)?;
    println!("exported {count} records to {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
