//! The store handle: a database, the metadata in force, and the write lock for SQLite.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use sable_core::Registry;
use tokio::sync::{Mutex, MutexGuard};

use crate::actor::Actor;
use crate::db::{Db, Tx};
use crate::service::RecordService;

/// How often a node looks for metadata changed by another node.
const META_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Writes after which the planner statistics are refreshed (at most once per interval).
const ANALYZE_AFTER_WRITES: u64 = 1000;
const ANALYZE_INTERVAL: Duration = Duration::from_secs(30);

struct Inner {
    db: Db,
    registry: RwLock<Arc<Registry>>,
    meta_version: AtomicI64,
    last_meta_check: std::sync::Mutex<Instant>,
    /// SQLite has one writer; queueing writers here keeps them from failing with "busy".
    write_lock: Mutex<()>,
    writes_since_analyze: AtomicU64,
    /// Ids handed out when statistics were last refreshed: a stand-in for the data size.
    size_at_analyze: AtomicU64,
    last_analyze: std::sync::Mutex<Instant>,
    /// Signalled after every committed write, so the job runner looks at once.
    jobs_signal: tokio::sync::Notify,
    /// Signalled after every committed write, so the log is checkpointed beside the writers.
    checkpoint_signal: Arc<tokio::sync::Notify>,
}

impl AsRef<Db> for Inner {
    fn as_ref(&self) -> &Db {
        &self.db
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the checkpoint task, which holds only a weak reference.
        self.checkpoint_signal.notify_one();
    }
}

/// Sable's storage. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// A write transaction, holding the SQLite write lock while it lives.
pub struct WriteTx<'a> {
    pub tx: Tx,
    _guard: Option<MutexGuard<'a, ()>>,
    signal: &'a tokio::sync::Notify,
    checkpoint: &'a tokio::sync::Notify,
}

impl WriteTx<'_> {
    /// Commits the transaction, wakes the job runner (new outbox events or jobs) and the
    /// checkpoint task.
    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await?;
        self.signal.notify_one();
        self.checkpoint.notify_one();
        Ok(())
    }
}

impl Store {
    /// Connects, applies migrations and loads the metadata.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let db = Db::connect(url).await?;
        Store::open_db(db).await
    }

    /// Applies migrations on an open database and loads the metadata.
    pub async fn open_db(db: Db) -> anyhow::Result<Store> {
        let builtin = Registry::builtin().context("loading built-in module definitions")?;
        crate::schema::migrate(&db, &builtin)
            .await
            .context("migrating the database")?;
        let (registry, version) = crate::meta_store::load_registry(&db).await?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                registry: RwLock::new(Arc::new(registry)),
                meta_version: AtomicI64::new(version),
                last_meta_check: std::sync::Mutex::new(Instant::now()),
                write_lock: Mutex::new(()),
                writes_since_analyze: AtomicU64::new(0),
                size_at_analyze: AtomicU64::new(0),
                last_analyze: std::sync::Mutex::new(Instant::now()),
                jobs_signal: tokio::sync::Notify::new(),
                checkpoint_signal: Arc::new(tokio::sync::Notify::new()),
            }),
        };
        crate::checkpoint::spawn(Arc::downgrade(&store.inner), store.inner.checkpoint_signal.clone());
        store.analyze().await?;
        Ok(store)
    }

    /// Refreshes the query planner's statistics. SQLite has none until asked, and without
    /// them it filters by owner and sorts every row instead of walking the sort index.
    /// PostgreSQL's autovacuum does this by itself.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        if let Db::Sqlite(_) = self.inner.db {
            self.inner
                .db
                .execute_script("ANALYZE")
                .await
                .context("refreshing planner statistics")?;
        }
        let size = self
            .inner
            .db
            .fetch_optional(
                self.inner
                    .db
                    .sql()
                    .push("SELECT next_id FROM id_allocator WHERE id = 1"),
            )
            .await?
            .map(|r| r.int("next_id"))
            .transpose()?
            .unwrap_or(0);
        self.inner
            .size_at_analyze
            .store(u64::try_from(size).unwrap_or(0), Ordering::Relaxed);
        self.inner.writes_since_analyze.store(0, Ordering::Relaxed);
        *self.inner.last_analyze.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(())
    }

    /// Counts committed record writes and refreshes statistics when enough accumulated:
    /// every time the data has doubled (so a bulk load is planned for at every size), and
    /// otherwise at most once per interval.
    pub(crate) async fn note_writes(&self, n: u64) {
        let total = self.inner.writes_since_analyze.fetch_add(n, Ordering::Relaxed) + n;
        let doubled = total >= self.inner.size_at_analyze.load(Ordering::Relaxed);
        let due = total >= ANALYZE_AFTER_WRITES
            && (doubled
                || self
                    .inner
                    .last_analyze
                    .lock()
                    .map(|t| t.elapsed() >= ANALYZE_INTERVAL)
                    .unwrap_or(true));
        if due && let Err(e) = self.analyze().await {
            tracing::warn!(error = format!("{e:#}"), "could not refresh planner statistics");
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The metadata in force, reloaded when another node changed it.
    pub async fn registry(&self) -> anyhow::Result<Arc<Registry>> {
        let due = {
            let mut last = self.inner.last_meta_check.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= META_CHECK_INTERVAL {
                *last = Instant::now();
                true
            } else {
                false
            }
        };
        if due {
            let current = crate::meta_store::meta_version(&self.inner.db).await?;
            if current != self.inner.meta_version.load(Ordering::Acquire) {
                self.reload_registry().await?;
            }
        }
        Ok(self.cached_registry())
    }

    /// The metadata as last loaded, without checking for changes.
    pub fn cached_registry(&self) -> Arc<Registry> {
        self.inner.registry.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads metadata from the database now.
    pub async fn reload_registry(&self) -> anyhow::Result<()> {
        let (registry, version) = crate::meta_store::load_registry(&self.inner.db).await?;
        *self.inner.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
        self.inner.meta_version.store(version, Ordering::Release);
        Ok(())
    }

    /// Begins a write transaction (queued behind other writers on SQLite).
    pub async fn begin_write(&self) -> anyhow::Result<WriteTx<'_>> {
        let guard = match self.inner.db {
            Db::Sqlite(_) => Some(self.inner.write_lock.lock().await),
            Db::Pg(_) => None,
        };
        let tx = self.inner.db.begin().await?;
        Ok(WriteTx {
            tx,
            _guard: guard,
            signal: &self.inner.jobs_signal,
            checkpoint: &self.inner.checkpoint_signal,
        })
    }

    /// The record service acting for a user: the one door for record reads and writes.
    pub fn records<'a>(&'a self, actor: &'a Actor) -> RecordService<'a> {
        RecordService::new(self, actor)
    }

    /// Wakes the job runner (after writing jobs outside [`Store::begin_write`]).
    pub fn wake_jobs(&self) {
        self.inner.jobs_signal.notify_one();
    }

    /// Resolves when a write was committed since the runner last looked.
    pub async fn jobs_woken(&self) {
        self.inner.jobs_signal.notified().await;
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.inner
            .db
            .fetch_all(self.inner.db.sql().push("SELECT 1 AS one"))
            .await?;
        Ok(())
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.inner.db.close().await;
    }
}
