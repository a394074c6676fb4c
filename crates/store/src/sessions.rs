//! Browser sessions in the database: any node can serve any user, and logging out or
//! deactivating a user ends their sessions everywhere.
//!
//! The cookie carries a random secret; the table keeps only its SHA-256, like API tokens.

use sha2::{Digest, Sha256};

use crate::now_ms;
use crate::store::Store;
use crate::users::{User, get_user, random_secret};

/// How long a session lives without "remember me" (sliding).
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;
/// How long a remembered session lives (sliding).
pub const REMEMBER_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// A live session: its user and the CSRF token its forms must carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub remember: bool,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Starts a session; returns the cookie secret and the session.
pub async fn create_session(store: &Store, user: &User, remember: bool) -> anyhow::Result<(String, Session)> {
    let secret = random_secret("")?;
    let csrf = random_secret("")?;
    let now = now_ms();
    let ttl = if remember { REMEMBER_TTL_MS } else { SESSION_TTL_MS };
    let db = store.db();
    let mut q = db.sql();
    q.push("INSERT INTO sessions (id_hash, user_id, csrf_token, remember, expires_at, last_seen_at, created_at, updated_at) VALUES (")
        .bind(hash(&secret))
        .push(", ")
        .bind(user.id)
        .push(", ")
        .bind(csrf.clone())
        .push(", ")
        .bind(remember)
        .push(", ")
        .bind(now + ttl)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    db.execute(&q).await?;
    Ok((
        secret,
        Session {
            user: user.clone(),
            csrf_token: csrf,
            remember,
        },
    ))
}

/// The session behind a cookie secret, if it is live and its user active. Extends its
/// expiry at most once a minute (a write per page view would serialise SQLite readers).
pub async fn load_session(store: &Store, secret: &str) -> anyhow::Result<Option<Session>> {
    if secret.is_empty() || secret.len() > 200 {
        return Ok(None);
    }
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("SELECT id_hash, user_id, csrf_token, remember, last_seen_at FROM sessions WHERE id_hash = ")
        .bind(hash(secret))
        .push(" AND expires_at > ")
        .bind(now);
    let Some(row) = db.fetch_optional(&q).await? else {
        return Ok(None);
    };
    let Some(user) = get_user(store, row.int("user_id")?).await? else {
        return Ok(None);
    };
    if !user.is_active() {
        return Ok(None);
    }
    let remember = row.int("remember")? != 0;
    if now - row.int("last_seen_at")? > 60_000 {
        let ttl = if remember { REMEMBER_TTL_MS } else { SESSION_TTL_MS };
        let mut u = db.sql();
        u.push("UPDATE sessions SET last_seen_at = ")
            .bind(now)
            .push(", expires_at = ")
            .bind(now + ttl)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id_hash = ")
            .bind(row.text("id_hash")?);
        db.execute(&u).await?;
    }
    Ok(Some(Session {
        user,
        csrf_token: row.text("csrf_token")?,
        remember,
    }))
}

/// Ends a session (logout).
pub async fn delete_session(store: &Store, secret: &str) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM sessions WHERE id_hash = ").bind(hash(secret));
    db.execute(&q).await?;
    Ok(())
}

/// Ends every session of a user (deactivation, password change by an admin).
pub async fn delete_user_sessions(store: &Store, user_id: i64) -> anyhow::Result<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM sessions WHERE user_id = ").bind(user_id);
    db.execute(&q).await?;
    Ok(())
}

/// Removes expired sessions.
pub async fn purge_expired(store: &Store) -> anyhow::Result<u64> {
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM sessions WHERE expires_at <= ").bind(now_ms());
    db.execute(&q).await
}
