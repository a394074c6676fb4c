//! Test support shared by every crate's tests: a fresh database per test on SQLite and,
//! when `SABLE_TEST_POSTGRES_URL` is set, on PostgreSQL too.
//!
//! `SABLE_TEST_REQUIRE_ALL=1` turns a skipped backend into a failure (CI sets it);
//! `SABLE_TEST_KEEP_DB=1` keeps the databases for inspection.

use std::path::PathBuf;

use crate::db::Db;
use crate::store::Store;

/// A database made for one test; call [`TestDb::cleanup`] at the end.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub url: String,
    dir: Option<PathBuf>,
    pg_admin_url: Option<String>,
    pg_name: Option<String>,
}

fn unique_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap_or_default();
    format!("{}_{}", std::process::id(), hex::encode(bytes))
}

/// Whether every backend must run (CI).
pub fn require_all() -> bool {
    std::env::var("SABLE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true")
}

/// Says on the terminal that a test part was skipped. Written to the process's stderr
/// directly, because the test harness swallows `eprintln!` of tests that pass.
pub fn announce_skip(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// A fresh SQLite file in a temporary folder.
pub fn sqlite_db() -> TestDb {
    let dir = std::env::temp_dir().join(format!("sable-test-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("sable.db").display());
    TestDb {
        backend: "sqlite",
        url,
        dir: Some(dir),
        pg_admin_url: None,
        pg_name: None,
    }
}

/// A fresh PostgreSQL database, or `None` (with a notice) when none is configured.
pub async fn postgres_db() -> Option<TestDb> {
    let Ok(admin) = std::env::var("SABLE_TEST_POSTGRES_URL") else {
        if require_all() {
            panic!(
                "SABLE_TEST_REQUIRE_ALL=1 but SABLE_TEST_POSTGRES_URL is not set: the PostgreSQL half of this test cannot run"
            );
        }
        announce_skip("SKIPPED on PostgreSQL: set SABLE_TEST_POSTGRES_URL to run this test there too");
        return None;
    };
    let name = format!("sable_t_{}", unique_suffix());
    let db = Db::connect(&admin)
        .await
        .expect("connecting to SABLE_TEST_POSTGRES_URL");
    db.execute_script(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("creating a test database");
    db.close().await;
    let base = match admin.rfind('/') {
        Some(pos) if pos > admin.find("://").map_or(0, |p| p + 2) => admin[..pos].to_string(),
        _ => admin.clone(),
    };
    let query = admin.find('?').map(|q| admin[q..].to_string()).unwrap_or_default();
    let url = format!("{base}/{name}{query}");
    Some(TestDb {
        backend: "postgres",
        url,
        dir: None,
        pg_admin_url: Some(admin),
        pg_name: Some(name),
    })
}

/// Every backend this run covers: SQLite always, PostgreSQL when configured.
pub async fn all_backends() -> Vec<TestDb> {
    let mut v = vec![sqlite_db()];
    if let Some(pg) = postgres_db().await {
        v.push(pg);
    }
    v
}

impl TestDb {
    /// Opens a migrated store on this database.
    pub async fn store(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("opening {} store: {e:#}", self.backend))
    }

    /// Drops the database (unless `SABLE_TEST_KEEP_DB` is set).
    pub async fn cleanup(self) {
        if std::env::var("SABLE_TEST_KEEP_DB").is_ok() {
            eprintln!("keeping test database {}", self.url);
            return;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let (Some(admin), Some(name)) = (&self.pg_admin_url, &self.pg_name)
            && let Ok(db) = Db::connect(admin).await
        {
            let _ = db
                .execute_script(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            db.close().await;
        }
    }
}
