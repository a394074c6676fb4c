//! `sable bench`: loads generated leads into a fresh database and measures what users
//! feel: insert throughput, list pages, keyset paging, global search and peak memory.
//!
//! Leads go through the record service exactly as an import would, so the figures include
//! validation, history, search tokens and the outbox; nothing here touches SQL. Reads are
//! made as a non-administrator sales user, so the visibility predicate is in every query.
//! The data is generated from a fixed seed: two runs on the same machine compare.

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sable_core::Filter;
use sable_store::users::{self, NewUser};
use sable_store::{Actor, Query, SortKey, Store};
use serde_json::{Map, Value as Json, json};

use crate::demo::{BRANDS, CITIES, GIVEN_NAMES, LEAD_SOURCES, LEAD_STATUSES, Rng, SURNAMES, TRADES, capitalise};

const SEED: u64 = 0xBE4C_2026_0000_0001;
const BENCH_USER: &str = "bench.sales";
const BENCH_PASSWORD: &str = "benchmark-password";
const PAGE: u32 = 50;
const KEYSET_PAGES: usize = 100;
const CJK_QUERIES: &[&str] = &[
    "北京", "上海", "深圳", "广州", "杭州", "张伟", "王芳", "科技", "李娜", "物流",
];
const LATIN_QUERIES: &[&str] = &["zha", "wan", "li", "chen", "liu", "huang", "zhao", "sun"];

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Leads to load.
    pub leads: usize,
    /// Leads per `create_many` call (one transaction each).
    pub batch: usize,
    /// Requests measured per list or search variant.
    pub samples: usize,
}

/// Latency figures of one kind of request.
#[derive(Clone, Debug)]
pub struct Latency {
    pub what: String,
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// What the requests found, as a sanity check (e.g. "avg 20.0 hits").
    pub found: String,
}

impl Latency {
    pub(crate) fn of(what: impl Into<String>, samples: &[Duration], found: String) -> Latency {
        Latency {
            what: what.into(),
            samples: samples.len(),
            p50: percentile(samples, 50.0),
            p99: percentile(samples, 99.0),
            max: samples.iter().max().copied().unwrap_or_default(),
            found,
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub leads: usize,
    pub batch: usize,
    pub load_time: Duration,
    pub inserts_per_sec: f64,
    /// Time per `create_many` batch.
    pub batches: Latency,
    pub requests: Vec<Latency>,
    /// Peak resident memory of the process (`VmHWM`), when the platform tells.
    pub peak_rss_mb: Option<f64>,
}

/// The value below which `pct` percent of the samples fall (nearest rank); zero for none.
pub fn percentile(samples: &[Duration], pct: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Loads `opts.leads` leads and measures. The store should be a fresh, empty database.
pub async fn run_bench(store: &Store, opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    if opts.leads == 0 || opts.batch == 0 || opts.samples == 0 {
        bail!("leads, batch and samples must all be at least 1");
    }
    if users::find_user(store, BENCH_USER).await?.is_some() {
        bail!("the benchmark needs a fresh, empty database (user `{BENCH_USER}` exists)");
    }
    users::ensure_admin(store, Some(BENCH_PASSWORD)).await?;
    let new = NewUser {
        user_name: BENCH_USER.into(),
        password: BENCH_PASSWORD.into(),
        first_name: Some("Sales".into()),
        last_name: "Bench".into(),
        ..NewUser::default()
    };
    let actor = users::create_user(store, &Actor::unrestricted_for_system_jobs(), &new)
        .await
        .context("creating the benchmark user")?
        .actor();

    let (load_time, batches) = load_leads(store, &actor, opts).await?;
    let mut requests = list_latencies(store, &actor, opts.samples).await?;
    for sort in ["lastname", "createdtime"] {
        requests.push(keyset_walk(store, &actor, sort, sort == "createdtime").await?);
    }
    requests.push(search_latencies(store, &actor, "search, 2 Chinese characters", CJK_QUERIES, opts.samples).await?);
    requests.push(search_latencies(store, &actor, "search, Latin prefix", LATIN_QUERIES, opts.samples).await?);
    Ok(BenchReport {
        leads: opts.leads,
        batch: opts.batch,
        load_time,
        inserts_per_sec: opts.leads as f64 / load_time.as_secs_f64().max(1e-9),
        batches: Latency::of("create_many batch", &batches, String::new()),
        requests,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// One generated lead: Chinese mostly, one in ten written in pinyin.
fn generate_lead(rng: &mut Rng, n: usize) -> Map<String, Json> {
    let (last, last_py) = *rng.pick(SURNAMES);
    let (first, first_py, female) = *rng.pick(GIVEN_NAMES);
    let (b, b_py) = *rng.pick(BRANDS);
    let (t, industry, t_py) = *rng.pick(TRADES);
    let c = rng.pick(CITIES);
    let (last, first) = if rng.chance(10) {
        (capitalise(last_py), capitalise(first_py))
    } else {
        (last.to_string(), first.to_string())
    };
    let mobile = format!(
        "1{}{}-{:04}-{:04}",
        rng.range(3, 9),
        rng.below(10),
        rng.below(10_000),
        rng.below(10_000)
    );
    let mut f = Map::new();
    let mut set = |k: &str, v: Json| {
        f.insert(k.to_string(), v);
    };
    set("salutationtype", json!(if female { "Ms." } else { "Mr." }));
    set("lastname", json!(last));
    set("firstname", json!(first));
    set("company", json!(format!("{}{b}{t}有限公司", c.1)));
    set("mobile", json!(mobile));
    set(
        "email",
        json!(format!("{first_py}.{last_py}{n}@{b_py}-{t_py}.example.com")),
    );
    set("leadstatus", json!(*rng.pick(LEAD_STATUSES)));
    set("leadsource", json!(*rng.pick(LEAD_SOURCES)));
    set("industry", json!(industry));
    set("city", json!(c.0));
    set("state", json!(c.3));
    set("country", json!("中国"));
    if rng.chance(5) {
        set("description", json!(format!("{}客户，来自{}，需求待确认。", c.1, t)));
    }
    f
}

async fn load_leads(store: &Store, actor: &Actor, opts: &BenchOptions) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let mut rng = Rng::new(SEED);
    let records = store.records(actor);
    let mut batches = Vec::with_capacity(opts.leads.div_ceil(opts.batch));
    let mut done = 0;
    let mut next_report = 1;
    let started = Instant::now();
    while done < opts.leads {
        let size = opts.batch.min(opts.leads - done);
        let inputs: Vec<Map<String, Json>> = (done..done + size).map(|n| generate_lead(&mut rng, n)).collect();
        let t = Instant::now();
        let outcomes = records
            .create_many("Leads", &inputs, true)
            .await
            .with_context(|| format!("loading leads {done}..{}", done + size))?;
        batches.push(t.elapsed());
        if let Some(Err(e)) = outcomes.into_iter().find(Result::is_err) {
            bail!("a generated lead was refused: {e}");
        }
        done += size;
        while next_report <= 10 && done * 10 >= opts.leads * next_report {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "bench: {:>3}% {} leads, {} inserts/s",
                next_report * 10,
                thousands(done as f64),
                thousands(rate)
            );
            next_report += 1;
        }
    }
    Ok((started.elapsed(), batches))
}

fn filter(json: Json) -> anyhow::Result<Filter> {
    Filter::from_json(&json).map_err(|e| anyhow::anyhow!("benchmark filter: {e}"))
}

fn sort(field: &str, desc: bool) -> Vec<SortKey> {
    vec![SortKey {
        field: field.into(),
        desc,
    }]
}

async fn list_latencies(store: &Store, actor: &Actor, samples: usize) -> anyhow::Result<Vec<Latency>> {
    let variants: [(&str, &str, bool, bool, &str); 4] = [
        (
            "list status=…, createdtime desc, count",
            "createdtime",
            true,
            true,
            "eq",
        ),
        ("list status=…, lastname asc, count", "lastname", false, true, "eq"),
        ("list status=…, lastname asc, no count", "lastname", false, false, "eq"),
        (
            "list company contains <city>, createdtime desc, count",
            "createdtime",
            true,
            true,
            "contains",
        ),
    ];
    let records = store.records(actor);
    let mut out = Vec::new();
    for (what, field, desc, with_count, op) in variants {
        let mut times = Vec::with_capacity(samples);
        let (mut rows, mut counted) = (0usize, 0i64);
        for i in 0..samples {
            let condition = match op {
                "eq" => {
                    json!({"field": "leadstatus", "op": "eq", "value": LEAD_STATUSES[i % LEAD_STATUSES.len()]})
                }
                _ => {
                    json!({"field": "company", "op": "contains", "value": CITIES[i % CITIES.len()].1})
                }
            };
            let query = Query {
                filter: filter(json!({ "all": [condition] }))?,
                sort: sort(field, desc),
                limit: PAGE,
                with_count,
                ..Query::default()
            };
            let t = Instant::now();
            let page = records.query("Leads", &query).await.context(what)?;
            times.push(t.elapsed());
            rows += page.items.len();
            counted += page.count.unwrap_or(0);
        }
        let found = if with_count {
            format!(
                "avg {} rows, count {}",
                rows / samples,
                thousands(counted as f64 / samples as f64)
            )
        } else {
            format!("avg {} rows", rows / samples)
        };
        out.push(Latency::of(what, &times, found));
    }
    Ok(out)
}

/// Follows `next_cursor` from page 1 to page 100 of all leads; each page is one sample.
async fn keyset_walk(store: &Store, actor: &Actor, field: &str, desc: bool) -> anyhow::Result<Latency> {
    let records = store.records(actor);
    let mut cursor = None;
    let mut times = Vec::with_capacity(KEYSET_PAGES);
    let started = Instant::now();
    for page_number in 1..=KEYSET_PAGES {
        let query = Query {
            sort: sort(field, desc),
            limit: PAGE,
            cursor: cursor.take(),
            with_count: page_number == 1,
            ..Query::default()
        };
        let t = Instant::now();
        let page = records.query("Leads", &query).await.context("keyset paging")?;
        times.push(t.elapsed());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let found = format!("page {} after {:.1} ms", times.len(), ms(started.elapsed()));
    let order = if desc { "desc" } else { "asc" };
    Ok(Latency::of(
        format!("keyset pages 1→{KEYSET_PAGES}, {field} {order}"),
        &times,
        found,
    ))
}

async fn search_latencies(
    store: &Store,
    actor: &Actor,
    what: &str,
    queries: &[&str],
    samples: usize,
) -> anyhow::Result<Latency> {
    let records = store.records(actor);
    let mut times = Vec::with_capacity(samples);
    let mut hits = 0;
    for i in 0..samples {
        let q = queries[i % queries.len()];
        let t = Instant::now();
        hits += records
            .search(q, 20)
            .await
            .with_context(|| format!("searching `{q}`"))?
            .len();
        times.push(t.elapsed());
    }
    let found = format!(
        "avg {:.1} hits ({} …)",
        hits as f64 / samples as f64,
        queries[..3].join(", ")
    );
    Ok(Latency::of(what, &times, found))
}

/// Peak resident set size from `/proc/self/status` (Linux only).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `1234567.8` → `1,234,568`.
/// `1234567.0` → `1,234,567` for the printed figures.
pub(crate) fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Sable benchmark: {} leads through the record service, batches of {}",
            thousands(self.leads as f64),
            thousands(self.batch as f64)
        )?;
        writeln!(
            f,
            "  load        {:.1} s, {} inserts/s (batch p50 {:.1} ms, p99 {:.1} ms)",
            self.load_time.as_secs_f64(),
            thousands(self.inserts_per_sec),
            ms(self.batches.p50),
            ms(self.batches.p99)
        )?;
        match self.peak_rss_mb {
            Some(mb) => writeln!(f, "  peak RSS    {mb:.1} MB")?,
            None => writeln!(f, "  peak RSS    unknown on this platform")?,
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {:<52} {:>5} {:>9} {:>9} {:>9}  found",
            "request", "n", "p50 ms", "p99 ms", "max ms"
        )?;
        for r in &self.requests {
            writeln!(
                f,
                "  {:<52} {:>5} {:>9.2} {:>9.2} {:>9.2}  {}",
                r.what,
                r.samples,
                ms(r.p50),
                ms(r.p99),
                ms(r.max),
                r.found
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(percentile(&[Duration::from_millis(7)], 99.0), Duration::from_millis(7));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    #[tokio::test]
    async fn a_small_run_measures_everything() {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        let opts = BenchOptions {
            leads: 300,
            batch: 100,
            samples: 3,
        };
        let report = run_bench(&store, &opts).await.expect("bench runs");
        assert_eq!(report.leads, 300);
        assert_eq!(report.requests.len(), 8);
        assert!(report.to_string().contains("inserts/s"));
        store.close().await;
        db.cleanup().await;
    }
}
