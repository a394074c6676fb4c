//! `sable bench --import`: writes a CSV of generated leads, imports it into a fresh
//! database through the import pipeline (the one `sable import` and the web wizard use),
//! and measures rows per second and peak memory.
//!
//! The file looks like one a Chinese sales team would export: a UTF-8 BOM, Chinese column
//! headers (so columns are mapped by label, not by API name), picklists written as their
//! Chinese labels (热, 冷, 官网 …), one lead in ten written in pinyin, and about 1% of
//! rows repeating an earlier row's e-mail in another case, which the import must skip as
//! duplicates (matched on e-mail). The file is written and read as a stream: neither the
//! generator nor the import holds the rows, so memory should not grow with the file.

use crate::bench::thousands;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sable_import::run::{ImportOptions, OnDuplicate, RowStatus, run_import_without_journal};
use sable_import::table::{EncodingChoice, Limits, open_file};
use sable_store::Store;
use sable_store::users;

use crate::demo::{BRANDS, CITIES, GIVEN_NAMES, LEAD_SOURCES, LEAD_STATUSES, Rng, SURNAMES, TRADES, capitalise};

const SEED: u64 = 0x1A90_2026_0000_0003;
const ADMIN_PASSWORD: &str = "benchmark-password";
const FILE_NAME: &str = "leads.csv";
/// The header row: Chinese labels of lastname, firstname, company, mobile, email,
/// leadsource, leadstatus and city.
const HEADERS: [&str; 8] = ["姓", "名", "公司", "手机", "邮箱", "线索来源", "线索状态", "城市"];
/// The fields those headers must map to, in order.
const FIELDS: [&str; 8] = [
    "lastname",
    "firstname",
    "company",
    "mobile",
    "email",
    "leadsource",
    "leadstatus",
    "city",
];
/// Recent e-mails a duplicate row may repeat (a ring, so memory stays bounded).
const RECENT: usize = 8192;

/// What to run.
#[derive(Clone, Debug)]
pub struct ImportBenchOptions {
    /// Rows in the file (about 1% of them duplicates).
    pub leads: usize,
    /// Rows per transaction (`ImportOptions::batch`).
    pub batch: usize,
    /// Keep the CSV file after the run.
    pub keep_file: bool,
}

/// Throughput and memory when the import had read a tenth more of the file.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub rows: u64,
    pub elapsed: Duration,
    /// Rows per second since the previous checkpoint.
    pub rate: f64,
    pub rss_mb: Option<f64>,
}

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct ImportBenchReport {
    pub rows: usize,
    /// Rows repeating an earlier row's e-mail.
    pub duplicates: usize,
    pub batch: usize,
    pub file_bytes: u64,
    pub generation_time: Duration,
    pub encoding: String,
    /// Header → field, as the import mapped them.
    pub mapping: Vec<(String, String)>,
    pub import_time: Duration,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Created plus skipped rows per second of import time.
    pub rows_per_sec: f64,
    pub checkpoints: Vec<Checkpoint>,
    /// Entries the report kept: rows not simply created, and the undo journal.
    pub report_rows: usize,
    pub journal_entries: usize,
    /// Resident memory before the import started and at its end (`VmRSS`).
    pub rss_before_mb: Option<f64>,
    pub rss_after_mb: Option<f64>,
    /// Peak resident memory of the process (`VmHWM`), generation included.
    pub peak_rss_mb: Option<f64>,
}

/// Writes the file into `dir`, imports it as the administrator and measures. The store
/// should be a fresh, empty database.
pub async fn run_import_bench(
    store: &Store,
    dir: &Path,
    opts: &ImportBenchOptions,
) -> anyhow::Result<ImportBenchReport> {
    if opts.leads == 0 || opts.batch == 0 {
        bail!("leads and batch must both be at least 1");
    }
    if users::find_user(store, "admin").await?.is_some() {
        bail!("the benchmark needs a fresh, empty database (user `admin` exists)");
    }
    users::ensure_admin(store, Some(ADMIN_PASSWORD)).await?;
    let admin = users::find_user(store, "admin")
        .await?
        .context("the administrator was not created")?;

    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let registry = store.registry().await?;
    let zh_labels = |picklist: &str, values: &[&str]| -> anyhow::Result<Vec<String>> {
        let list = registry
            .picklist(picklist)
            .with_context(|| format!("no picklist {picklist}"))?;
        values
            .iter()
            .map(|v| {
                list.resolve(v)
                    .map(|p| p.labels.zh.clone())
                    .with_context(|| format!("{v} is not in {picklist}"))
            })
            .collect()
    };
    let labels = Labels {
        sources: zh_labels("leadsource", LEAD_SOURCES)?,
        statuses: zh_labels("leadstatus", LEAD_STATUSES)?,
    };
    let started = Instant::now();
    let duplicates = write_csv(&path, opts.leads, &labels)?;
    let generation_time = started.elapsed();
    let file_bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "import bench: wrote {} rows ({} duplicates) to {}: {:.1} MB in {:.1} s",
        thousands(opts.leads as f64),
        thousands(duplicates as f64),
        path.display(),
        file_bytes as f64 / 1e6,
        generation_time.as_secs_f64()
    );

    let import_opts = ImportOptions {
        module: "Leads".into(),
        match_fields: vec!["email".into()],
        on_duplicate: OnDuplicate::Skip,
        default_owner: Some(admin.id),
        batch: opts.batch,
        ..ImportOptions::default()
    };
    let rss_before_mb = proc_status_mb("VmRSS:");
    let total = opts.leads as u64;
    let mut checkpoints: Vec<Checkpoint> = Vec::with_capacity(10);
    let started = Instant::now();
    let table = open_file(&path, EncodingChoice::Auto, Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let progress = |done: u64| {
        while checkpoints.len() < 10 && done * 10 >= total * (checkpoints.len() as u64 + 1) {
            let elapsed = started.elapsed();
            let (rows0, t0) = checkpoints.last().map_or((0, Duration::ZERO), |c| (c.rows, c.elapsed));
            let rate = (done - rows0) as f64 / (elapsed - t0).as_secs_f64().max(1e-9);
            let rss_mb = proc_status_mb("VmRSS:");
            eprintln!(
                "import bench: {:>3}% {} rows, {} rows/s, RSS {}",
                (checkpoints.len() + 1) * 10,
                thousands(done as f64),
                thousands(rate),
                mb(rss_mb)
            );
            checkpoints.push(Checkpoint {
                rows: done,
                elapsed,
                rate,
                rss_mb,
            });
        }
    };
    // No undo journal: it would keep an entry per created lead (≈ 100 MB at a million).
    let report = run_import_without_journal(store, &admin.actor(), table, &import_opts, progress)
        .await
        .map_err(|e| anyhow::anyhow!("importing {}: {e}", path.display()))?;
    let import_time = started.elapsed();
    let rss_after_mb = proc_status_mb("VmRSS:");

    if !opts.keep_file {
        let _ = std::fs::remove_file(&path);
    }
    let mapping: Vec<(String, String)> = report
        .headers
        .iter()
        .zip(&report.fields)
        .map(|(h, f)| (h.clone(), f.clone().unwrap_or_default()))
        .collect();
    let expected: Vec<(String, String)> = HEADERS
        .iter()
        .zip(FIELDS)
        .map(|(h, f)| (h.to_string(), f.to_string()))
        .collect();
    if mapping != expected {
        bail!("the Chinese headers were not mapped to the expected fields: {mapping:?}");
    }
    if report.failed > 0 {
        let first: Vec<String> = report
            .rows
            .iter()
            .filter(|r| r.status == RowStatus::Failed)
            .take(5)
            .map(|r| format!("line {}: {}", r.line, r.reason.as_deref().unwrap_or("")))
            .collect();
        bail!("{} generated rows failed: {}", report.failed, first.join("; "));
    }
    if report.skipped != duplicates as u64 || report.created != (opts.leads - duplicates) as u64 {
        bail!(
            "expected {} created and {duplicates} skipped as duplicates, got {}",
            opts.leads - duplicates,
            report.summary()
        );
    }
    Ok(ImportBenchReport {
        rows: opts.leads,
        duplicates,
        batch: opts.batch,
        file_bytes,
        generation_time,
        encoding: report.encoding.clone(),
        mapping,
        import_time,
        created: report.created,
        updated: report.updated,
        skipped: report.skipped,
        failed: report.failed,
        rows_per_sec: (report.created + report.skipped) as f64 / import_time.as_secs_f64().max(1e-9),
        checkpoints,
        report_rows: report.rows.len(),
        journal_entries: report.journal.len(),
        rss_before_mb,
        rss_after_mb,
        peak_rss_mb: proc_status_mb("VmHWM:"),
    })
}

/// Chinese labels of the picklist values the generator picks from.
struct Labels {
    sources: Vec<String>,
    statuses: Vec<String>,
}

/// Writes `rows` leads to `path`, one at a time; returns how many repeat an earlier e-mail.
fn write_csv(path: &Path, rows: usize, labels: &Labels) -> anyhow::Result<usize> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    // Excel writes "CSV UTF-8" with a BOM; the reader must take it off the first header.
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADERS)?;
    let mut rng = Rng::new(SEED);
    let mut recent: Vec<String> = Vec::with_capacity(RECENT.min(rows));
    let mut duplicates = 0;
    for n in 0..rows {
        let (last, last_py) = *rng.pick(SURNAMES);
        let (first, first_py, _) = *rng.pick(GIVEN_NAMES);
        let (b, b_py) = *rng.pick(BRANDS);
        let (t, _, t_py) = *rng.pick(TRADES);
        let c = rng.pick(CITIES);
        let (last, first) = if rng.chance(10) {
            (capitalise(last_py), capitalise(first_py))
        } else {
            (last.to_string(), first.to_string())
        };
        let mobile = if rng.chance(3) {
            String::new()
        } else {
            format!(
                "1{}{}-{:04}-{:04}",
                rng.range(3, 9),
                rng.below(10),
                rng.below(10_000),
                rng.below(10_000)
            )
        };
        let email = if !recent.is_empty() && rng.chance(1) {
            duplicates += 1;
            let earlier = rng.pick(&recent);
            // Another case: all capitals, or a capital first letter and domain.
            if rng.chance(50) {
                earlier.to_uppercase()
            } else {
                let (local, domain) = earlier.split_once('@').unwrap_or((earlier, ""));
                format!("{}@{}", capitalise(local), domain.to_uppercase())
            }
        } else {
            let email = format!("{first_py}.{last_py}{n}@{b_py}-{t_py}.example.com");
            if recent.len() < RECENT {
                recent.push(email.clone());
            } else {
                recent[n % RECENT] = email.clone();
            }
            email
        };
        let source = if rng.chance(5) {
            ""
        } else {
            rng.pick(&labels.sources).as_str()
        };
        let status = rng.pick(&labels.statuses).as_str();
        let company = format!("{}{b}{t}有限公司", c.1);
        w.write_record([
            last.as_str(),
            first.as_str(),
            company.as_str(),
            mobile.as_str(),
            email.as_str(),
            source,
            status,
            c.0,
        ])?;
    }
    let mut out = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    out.flush()?;
    Ok(duplicates)
}

/// A size line of `/proc/self/status` (`VmRSS:`, `VmHWM:`) in MB (Linux only).
fn proc_status_mb(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn mb(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_string(), |v| format!("{v:.1} MB"))
}

impl fmt::Display for ImportBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Sable import benchmark: {} rows of leads from CSV, duplicates matched on e-mail, batches of {}",
            thousands(self.rows as f64),
            thousands(self.batch as f64)
        )?;
        writeln!(
            f,
            "  file        {:.1} MB ({}), written in {:.1} s",
            self.file_bytes as f64 / 1e6,
            self.encoding,
            self.generation_time.as_secs_f64()
        )?;
        let mapping: Vec<String> = self.mapping.iter().map(|(h, field)| format!("{h}→{field}")).collect();
        writeln!(f, "  mapping     {}", mapping.join(", "))?;
        writeln!(
            f,
            "  import      {:.1} s, {} rows/s (created + skipped)",
            self.import_time.as_secs_f64(),
            thousands(self.rows_per_sec)
        )?;
        writeln!(
            f,
            "  outcome     created {}, updated {}, skipped {} (of {} duplicates), failed {}",
            thousands(self.created as f64),
            thousands(self.updated as f64),
            thousands(self.skipped as f64),
            thousands(self.duplicates as f64),
            thousands(self.failed as f64)
        )?;
        writeln!(
            f,
            "  report      {} row entries, {} journal entries",
            thousands(self.report_rows as f64),
            thousands(self.journal_entries as f64)
        )?;
        writeln!(
            f,
            "  memory      RSS {} before the import, {} after; peak RSS {}",
            mb(self.rss_before_mb),
            mb(self.rss_after_mb),
            mb(self.peak_rss_mb)
        )?;
        writeln!(f)?;
        writeln!(f, "  {:>10} {:>9} {:>12} {:>10}", "rows read", "s", "rows/s", "RSS MB")?;
        for c in &self.checkpoints {
            writeln!(
                f,
                "  {:>10} {:>9.1} {:>12} {:>10}",
                thousands(c.rows as f64),
                c.elapsed.as_secs_f64(),
                thousands(c.rate),
                c.rss_mb.map_or_else(|| "?".to_string(), |v| format!("{v:.1}"))
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_small_import_creates_and_skips() {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        let dir = std::env::temp_dir().join(format!("sable-import-bench-test-{}", std::process::id()));
        let opts = ImportBenchOptions {
            leads: 1200,
            batch: 500,
            keep_file: false,
        };
        let report = run_import_bench(&store, &dir, &opts).await.expect("import bench runs");
        assert_eq!(report.failed, 0);
        assert!(report.duplicates > 0, "about 1% of rows are duplicates");
        assert_eq!(report.skipped, report.duplicates as u64);
        assert_eq!(report.created + report.skipped, 1200);
        assert!(report.to_string().contains("rows/s"));
        let _ = std::fs::remove_dir_all(&dir);
        store.close().await;
        db.cleanup().await;
    }
}
