//! SQLite's write-ahead log is checkpointed beside the writers, not inside their commits
//! (decision 0013).

use std::time::{Duration, Instant};

use sable_store::testing::sqlite_db;
use serde_json::json;

use crate::helpers::{admin, obj};

/// The first value of a one-row `PRAGMA` answer, as an integer.
async fn pragma(store: &sable_store::Store, name: &str) -> i64 {
    let sql = format!("PRAGMA {name}");
    let row = store
        .db()
        .fetch_optional(store.db().sql().push(&sql))
        .await
        .expect("pragma runs")
        .expect("pragma answers");
    row.int(name).expect("an integer")
}

#[tokio::test]
async fn a_large_commit_is_copied_into_the_database_file_by_the_background_checkpoint() {
    let db = sqlite_db();
    let store = db.store().await;
    // A committing connection would checkpoint only past 100,000 pages (≈ 400 MB of log),
    // so whatever reaches the database file below was copied by the background task.
    assert_eq!(pragma(&store, "wal_autocheckpoint").await, 100_000);
    assert_eq!(pragma(&store, "cache_size").await, -4096);

    sable_store::users::ensure_admin(&store, Some("password1"))
        .await
        .unwrap();
    let owner = sable_store::users::find_user(&store, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let inputs: Vec<_> = (0..3000)
        .map(|i| {
            obj(json!({
                "assigned_user_id": owner,
                "lastname": format!("检查点{i}"),
                "company": format!("公司 {i}"),
                "email": format!("wal{i}@example.com"),
                "description": "x".repeat(400),
            }))
        })
        .collect();
    let outcomes = store
        .records(&admin())
        .create_many("Leads", &inputs, true)
        .await
        .expect("the batch is written");
    assert!(outcomes.iter().all(|o| o.is_ok()));

    // Every page of the database is in the file once the log has been copied back.
    let page_size = pragma(&store, "page_size").await;
    let file = db.url.trim_start_matches("sqlite://").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pages = pragma(&store, "page_count").await;
        let len = std::fs::metadata(&file).expect("database file").len() as i64;
        if len >= pages * page_size {
            assert!(
                pages * page_size > 1_000_000,
                "the batch made the database larger than 1 MB"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database file holds {len} bytes of {} after a minute: the log was never checkpointed",
            pages * page_size
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    db.cleanup().await;
}
