//! `sable bench --reports`: loads generated opportunities into a fresh database through the
//! record service and times the benchmark report — a summary grouped by sales
//! stage and close month (count, sum of amount) — as an administrator (every record) and as
//! one of ten sales people (the visibility predicate in the query, a tenth of the records).

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sable_core::report::ReportSpec;
use sable_store::users::{self, NewUser};
use sable_store::{Actor, Store};
use serde_json::{Map, Value as Json, json};

use crate::bench::{Latency, thousands};
use crate::demo::Rng;

const SEED: u64 = 0xBE4C_2026_0000_0007;
const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal",
    "Bidding",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
];
const SALES_PEOPLE: usize = 10;

/// What to run.
#[derive(Clone, Debug)]
pub struct ReportBenchOptions {
    pub opportunities: usize,
    pub batch: usize,
    pub samples: usize,
}

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct ReportBenchReport {
    pub opportunities: usize,
    pub load_time: Duration,
    pub requests: Vec<Latency>,
}

/// The benchmark report: stage × close month, count and amount.
pub fn stage_by_month() -> ReportSpec {
    serde_json::from_value(json!({
        "module": "Opportunities",
        "group_by": [{"field": "sales_stage"}, {"field": "closingdate", "bucket": "month"}],
        "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "amount"}]
    }))
    .unwrap_or_default()
}

fn generate(rng: &mut Rng, n: usize, owners: &[i64]) -> Map<String, Json> {
    let stage = *rng.pick(STAGES);
    let mut f = Map::new();
    f.insert("potentialname".into(), json!(format!("商机 {n}")));
    f.insert("sales_stage".into(), json!(stage));
    f.insert(
        "amount".into(),
        json!(format!("{}.{:02}", rng.range(1_000, 999_999), rng.below(100))),
    );
    f.insert(
        "closingdate".into(),
        json!(format!(
            "{}-{:02}-{:02}",
            rng.range(2023, 2025),
            rng.range(1, 12),
            rng.range(1, 28)
        )),
    );
    f.insert("assigned_user_id".into(), json!(*rng.pick(owners)));
    if stage == "Closed Lost" {
        f.insert("lost_reason".into(), json!("价格"));
    }
    f
}

async fn load(store: &Store, opts: &ReportBenchOptions, owners: &[i64]) -> anyhow::Result<Duration> {
    let system = Actor::unrestricted_for_system_jobs();
    let records = store.records(&system);
    let mut rng = Rng::new(SEED);
    let started = Instant::now();
    let mut done = 0;
    let mut next_report = 1;
    while done < opts.opportunities {
        let size = opts.batch.min(opts.opportunities - done);
        let inputs: Vec<Map<String, Json>> = (done..done + size).map(|n| generate(&mut rng, n, owners)).collect();
        let outcomes = records
            .create_many("Opportunities", &inputs, true)
            .await
            .with_context(|| format!("loading opportunities {done}..{}", done + size))?;
        if let Some(Err(e)) = outcomes.into_iter().find(Result::is_err) {
            bail!("a generated opportunity was refused: {e}");
        }
        done += size;
        while next_report <= 10 && done * 10 >= opts.opportunities * next_report {
            eprintln!(
                "bench: {:>3}% {} opportunities, {} inserts/s",
                next_report * 10,
                thousands(done as f64),
                thousands(done as f64 / started.elapsed().as_secs_f64().max(1e-9))
            );
            next_report += 1;
        }
    }
    store.analyze().await?;
    Ok(started.elapsed())
}

async fn time_report(
    store: &Store,
    actor: &Actor,
    what: &str,
    spec: &ReportSpec,
    samples: usize,
) -> anyhow::Result<Latency> {
    let mut times = Vec::with_capacity(samples);
    let mut rows = 0;
    let mut counted = 0;
    for _ in 0..samples {
        let t = Instant::now();
        let r = sable_store::reports::run(store, actor, spec)
            .await
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        times.push(t.elapsed());
        rows = r.rows.len();
        counted = r
            .totals
            .as_ref()
            .and_then(|t| t.get(spec.group_by.len()))
            .and_then(Json::as_i64)
            .unwrap_or_default();
    }
    Ok(Latency::of(
        what,
        &times,
        format!("{rows} rows over {} records", thousands(counted as f64)),
    ))
}

/// Loads the opportunities and times the report. The store should be a fresh database.
pub async fn run_report_bench(store: &Store, opts: &ReportBenchOptions) -> anyhow::Result<ReportBenchReport> {
    if opts.opportunities == 0 || opts.batch == 0 || opts.samples == 0 {
        bail!("opportunities, batch and samples must all be at least 1");
    }
    let system = Actor::unrestricted_for_system_jobs();
    let mut owners = Vec::with_capacity(SALES_PEOPLE);
    let mut first = None;
    for i in 0..SALES_PEOPLE {
        let user = users::create_user(
            store,
            &system,
            &NewUser {
                user_name: format!("report.bench{i}"),
                password: "benchmark-password".into(),
                last_name: format!("Bench {i}"),
                ..NewUser::default()
            },
        )
        .await
        .context("creating the benchmark users (the database must be fresh)")?;
        owners.push(user.id);
        first.get_or_insert(user.actor());
    }
    let salesperson = first.context("no benchmark user")?;
    let load_time = load(store, opts, &owners).await?;
    let spec = stage_by_month();
    let mut requests = Vec::new();
    requests.push(
        time_report(
            store,
            &system,
            "stage × month, administrator (all)",
            &spec,
            opts.samples,
        )
        .await?,
    );
    requests.push(
        time_report(
            store,
            &salesperson,
            "stage × month, one sales person (1/10)",
            &spec,
            opts.samples,
        )
        .await?,
    );
    let mut this_year = spec.clone();
    this_year.filter = Some(json!({"field": "closingdate", "op": "between", "value": ["2025-01-01", "2025-12-31"]}));
    requests.push(
        time_report(
            store,
            &system,
            "stage × month, one year (1/3)",
            &this_year,
            opts.samples,
        )
        .await?,
    );
    Ok(ReportBenchReport {
        opportunities: opts.opportunities,
        load_time,
        requests,
    })
}

impl fmt::Display for ReportBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "opportunities: {} loaded in {:.1} s ({} inserts/s)",
            thousands(self.opportunities as f64),
            self.load_time.as_secs_f64(),
            thousands(self.opportunities as f64 / self.load_time.as_secs_f64().max(1e-9))
        )?;
        writeln!(
            f,
            "{:<44} {:>9} {:>9} {:>9}  found",
            "report", "p50 ms", "p99 ms", "max ms"
        )?;
        for r in &self.requests {
            writeln!(
                f,
                "{:<44} {:>9.2} {:>9.2} {:>9.2}  {}",
                r.what,
                r.p50.as_secs_f64() * 1000.0,
                r.p99.as_secs_f64() * 1000.0,
                r.max.as_secs_f64() * 1000.0,
                r.found
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_small_run_counts_every_opportunity() {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        let opts = ReportBenchOptions {
            opportunities: 300,
            batch: 100,
            samples: 2,
        };
        let report = run_report_bench(&store, &opts).await.unwrap();
        assert_eq!(report.requests.len(), 3);
        assert!(
            report.requests[0].found.ends_with("over 300 records"),
            "{}",
            report.requests[0].found
        );
        assert!(report.to_string().contains("stage × month"));
        store.close().await;
        db.cleanup().await;
    }
}
