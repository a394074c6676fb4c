//! Comments on records. Whoever may see a record may read and add its comments; a
//! comment is written with an outbox event in one transaction, like a record change.

use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::record::format_ms;
use crate::store::Store;

/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 10_000;

/// One comment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comment {
    pub id: i64,
    pub record_id: i64,
    pub author_id: i64,
    pub author: String,
    pub body: String,
    pub at: String,
}

/// The comments of a record the actor may see, newest first.
pub async fn list_comments(store: &Store, actor: &Actor, module: &str, record_id: i64) -> StoreResult<Vec<Comment>> {
    store.records(actor).get_including_deleted(module, record_id).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT c.id, c.record_id, c.author_id, c.body, c.created_at, r.label AS author FROM comments c JOIN records r ON r.id = c.author_id WHERE c.record_id = ")
        .bind(record_id)
        .push(" ORDER BY c.id DESC LIMIT 500");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(Comment {
                id: r.int("id")?,
                record_id: r.int("record_id")?,
                author_id: r.int("author_id")?,
                author: r.text("author")?,
                body: r.text("body")?,
                at: format_ms(r.int("created_at")?),
            })
        })
        .collect::<anyhow::Result<_>>()?)
}

/// Adds a comment to a record the actor may see.
pub async fn add_comment(
    store: &Store,
    actor: &Actor,
    module: &str,
    record_id: i64,
    body: &str,
) -> StoreResult<Comment> {
    let body = body.trim();
    if body.is_empty() {
        return Err(StoreError::refused(
            "refused_comment_empty",
            "a comment cannot be empty",
        ));
    }
    if body.chars().count() > MAX_COMMENT {
        return Err(StoreError::Refused(
            sable_core::Refusal::new(
                "refused_comment_long",
                format!("a comment has at most {MAX_COMMENT} characters"),
            )
            .arg("max", MAX_COMMENT.to_string()),
        ));
    }
    if body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(StoreError::refused(
            "refused_comment_control",
            "a comment cannot contain control characters",
        ));
    }
    let Some(author_id) = actor.user_ref() else {
        return Err(StoreError::Forbidden("comments need a user".into()));
    };
    store.records(actor).get(module, record_id).await?;
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO comments (record_id, module, author_id, body, created_at, updated_at) VALUES (")
        .bind(record_id)
        .push(", ")
        .bind(module)
        .push(", ")
        .bind(author_id)
        .push(", ")
        .bind(body)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = w.tx.fetch_one(&q).await?.int("id")?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO outbox (event, module, record_id, actor_id, payload, created_at, updated_at) VALUES ('comment.added', ")
        .bind(module)
        .push(", ")
        .bind(record_id)
        .push(", ")
        .bind(author_id)
        .push(", ")
        .bind(json!({"comment_id": id}).to_string())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    w.tx.execute(&q).await?;
    w.commit().await?;
    let user = crate::users::get_user(store, author_id)
        .await?
        .context("comment author")?;
    Ok(Comment {
        id,
        record_id,
        author_id,
        author: user.display_name(),
        body: body.to_string(),
        at: format_ms(now),
    })
}
