//! Sable's workflow engine: the outbox dispatcher, the scheduler of timed workflows, the
//! job runner and the actions (e-mail over SMTP, webhooks, writes through the record
//! service). The server never calls this crate: it writes rows through the store, and
//! `sable serve` runs an [`Engine`] beside the web server.
#![forbid(unsafe_code)]

pub mod actions;
pub mod clock;
pub mod context;
pub mod defaults;
pub mod deliver;
pub mod dispatch;
pub mod mailer;
pub mod runner;
pub mod schedule;
pub mod sweep;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use sable_store::Store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use runner::spawn;

/// How an engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Names this worker in job leases (unique per process).
    pub worker_id: String,
    /// How often to look for work when no commit woke the engine (other nodes' writes,
    /// retries coming due, schedules).
    pub poll: Duration,
    /// How long a claimed job stays claimed without a heartbeat.
    pub lease_ms: i64,
    /// How often a running job's lease is extended.
    pub heartbeat: Duration,
    /// Jobs claimed at a time.
    pub batch: i64,
    /// The zone of schedules, date offsets and "today".
    pub time_zone: TimeZone,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        let mut bytes = [0u8; 4];
        let suffix = getrandom_suffix(&mut bytes);
        EngineConfig {
            worker_id: format!("{}-{}-{suffix}", hostname(), std::process::id()),
            poll: Duration::from_secs(5),
            lease_ms: 5 * 60 * 1000,
            heartbeat: Duration::from_secs(60),
            batch: 10,
            time_zone: TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::UTC),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "sable".into())
}

fn getrandom_suffix(bytes: &mut [u8; 4]) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    *bytes = nanos.to_le_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one [`Engine::tick`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub events: usize,
    pub sweeps_queued: usize,
    /// Scheduled report e-mails queued.
    pub deliveries_queued: usize,
    pub jobs_run: usize,
}

/// The engine: one per process; any number per database.
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    http: reqwest::Client,
    sweep_state: tokio::sync::Mutex<sweep::SweepState>,
}

/// Rounds of dispatch + jobs in one tick before yielding (workflows that trigger one
/// another settle within [`dispatch::MAX_DEPTH`] rounds).
const MAX_ROUNDS: usize = 8;

impl Engine {
    /// An engine on a store, reading time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: EngineConfig) -> anyhow::Result<Engine> {
        // reqwest is built without a TLS provider of its own; use ring, like sqlx and lettre.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Engine {
            store,
            clock,
            config,
            http: webhook::client()?,
            sweep_state: tokio::sync::Mutex::new(sweep::SweepState::default()),
        })
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One pass: dispatch pending outbox events, queue due timed workflows, run due jobs,
    /// and repeat while that produced more work.
    pub async fn tick(&self) -> anyhow::Result<TickReport> {
        let mut report = TickReport::default();
        {
            let mut state = self.sweep_state.lock().await;
            report.sweeps_queued =
                sweep::queue_due(&self.store, &mut state, &self.config.time_zone, self.now()).await?;
        }
        report.deliveries_queued = deliver::queue_due(&self.store, self.now()).await?;
        for _ in 0..MAX_ROUNDS {
            let mut events = 0;
            loop {
                let n = dispatch::dispatch_batch(&self.store, &self.config.time_zone, self.now()).await?;
                events += n;
                if n == 0 {
                    break;
                }
            }
            let jobs = self.run_due_jobs().await?;
            report.events += events;
            report.jobs_run += jobs;
            if events == 0 && jobs == 0 {
                break;
            }
        }
        Ok(report)
    }

    /// Ticks whenever a commit wakes it or the poll interval passes, until `shutdown`.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = format!("{e:#}"), "workflow engine tick failed");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.store.jobs_woken() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        tracing::info!("workflow engine stopped");
    }
}
