//! Reading the outbox: the events the record service wrote in the same transaction as
//! each change. The workflow dispatcher claims a batch inside its own transaction (rows
//! locked with `SKIP LOCKED` on PostgreSQL, so nodes share the work), logs runs and queues
//! jobs for them, and marks them processed in that same transaction, so an event is
//! dispatched once even when a node dies half-way.

use serde_json::Value as Json;

use crate::db::Tx;
use crate::sql::Dialect;

/// One outbox event.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    pub id: i64,
    /// `record.created`, `record.updated`, `record.deleted`, `record.restored`, …
    pub event: String,
    pub module: String,
    pub record_id: i64,
    pub actor_id: Option<i64>,
    /// `{"version"}` plus, for updates, `changes: [{field, old, new}]` and `fields`; and
    /// `origin` when a workflow wrote it.
    pub payload: Json,
    pub created_at: i64,
}

/// Claims up to `limit` unprocessed events, oldest first, for the caller's transaction.
pub async fn claim_pending(tx: &mut Tx, limit: i64) -> anyhow::Result<Vec<OutboxEvent>> {
    let mut q = tx.sql();
    q.push("SELECT id, event, module, record_id, actor_id, payload, created_at FROM outbox WHERE processed_at IS NULL ORDER BY id LIMIT ")
        .bind(limit.max(1));
    if q.dialect() == Dialect::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    let rows = tx.fetch_all(&q).await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxEvent {
                id: r.int("id")?,
                event: r.text("event")?,
                module: r.text("module")?,
                record_id: r.int("record_id")?,
                actor_id: r.opt_int("actor_id")?,
                payload: serde_json::from_str(&r.text("payload")?).unwrap_or(Json::Null),
                created_at: r.int("created_at")?,
            })
        })
        .collect()
}

/// Marks events processed.
pub async fn mark_processed(tx: &mut Tx, ids: &[i64], now: i64) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = tx.sql();
    q.push("UPDATE outbox SET processed_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id IN (")
        .bind_list(ids.iter().map(|i| (*i).into()))
        .push(")");
    tx.execute(&q).await?;
    Ok(())
}
