//! Users, passwords and API tokens.
//!
//! Passwords are argon2id hashes; tokens are random, shown once, and stored as SHA-256
//! hashes so a leaked database does not leak working tokens. User ids come from the
//! same id space as records (a `records` row with module `Users`).

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use sable_core::{Lang, Refusal};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::actor::{Actor, time_zone};
use crate::db::Row;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::record::format_ms;
use crate::store::Store;

/// Failed logins allowed before the account is locked for a while.
pub const FREE_ATTEMPTS: i64 = 5;
/// Lifetime of a token issued by password login.
pub const LOGIN_TOKEN_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// A user as the rest of Sable sees it (never the password hash).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email1: Option<String>,
    pub is_admin: bool,
    pub status: String,
    /// `en`, `zh-CN`, or empty: no preference, follow the browser's Accept-Language.
    pub language: String,
    pub time_zone: String,
    /// How dates are shown: one of [`DATE_FORMATS`].
    pub date_format: String,
    /// How numbers are shown: one of [`NUMBER_FORMATS`].
    pub number_format: String,
    pub created_at: String,
}

/// Date formats a user may choose.
pub const DATE_FORMATS: [&str; 6] = [
    "yyyy-mm-dd",
    "yyyy年m月d日",
    "dd-mm-yyyy",
    "mm-dd-yyyy",
    "dd.mm.yyyy",
    "dd/mm/yyyy",
];
/// Number formats a user may choose (grouping and decimal marks).
pub const NUMBER_FORMATS: [&str; 3] = ["1,234.56", "1.234,56", "1 234,56"];

impl User {
    /// The display name, family name first for Chinese names.
    pub fn display_name(&self) -> String {
        let first = self.first_name.clone().unwrap_or_default();
        let cjk = |s: &str| s.chars().any(|c| ('\u{3400}'..='\u{9FFF}').contains(&c));
        if cjk(&self.last_name) || cjk(&first) {
            format!("{}{}", self.last_name, first)
        } else {
            format!("{first} {}", self.last_name).trim().to_string()
        }
    }

    /// True when the user may log in and own records.
    pub fn is_active(&self) -> bool {
        self.status == "Active"
    }

    /// The language the user chose, or None to follow the browser.
    pub fn preferred_lang(&self) -> Option<Lang> {
        Lang::parse(&self.language)
    }

    /// The actor this user acts as where no browser says which language to speak (API,
    /// command line, jobs): a user who chose none speaks Chinese, Sable's default.
    pub fn actor(&self) -> Actor {
        self.actor_with_fallback(Lang::Zh)
    }

    /// The actor this user acts as, speaking `fallback` (the browser's language) when the
    /// user chose no language.
    pub fn actor_with_fallback(&self, fallback: Lang) -> Actor {
        Actor {
            user_id: self.id,
            user_name: self.user_name.clone(),
            is_admin: self.is_admin,
            lang: self.preferred_lang().unwrap_or(fallback),
            tz: time_zone(&self.time_zone),
            origin: None,
        }
    }
}

/// What is needed to add a user.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub user_name: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email1: Option<String>,
    pub is_admin: bool,
    pub language: Option<String>,
    pub time_zone: Option<String>,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoginError {
    #[error("wrong user name or password")]
    Invalid,
    #[error("this account has been deactivated; ask an administrator")]
    Inactive,
    #[error("too many failed attempts; try again in {seconds} seconds")]
    Locked { seconds: i64 },
}

impl LoginError {
    /// The message in a language.
    pub fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, e) => e.to_string(),
            (Lang::Zh, LoginError::Invalid) => "用户名或密码错误".into(),
            (Lang::Zh, LoginError::Inactive) => "此账号已停用，请联系管理员".into(),
            (Lang::Zh, LoginError::Locked { seconds }) => {
                format!("失败次数过多，请 {seconds} 秒后再试")
            }
        }
    }
}

/// An API token's metadata (never the token itself).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub kind: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

const USER_COLUMNS: &str = "id, user_name, first_name, last_name, email1, is_admin, status, language, time_zone, date_format, number_format, created_at";

fn row_to_user(r: &Row) -> anyhow::Result<User> {
    Ok(User {
        id: r.int("id")?,
        user_name: r.text("user_name")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.text("last_name")?,
        email1: r.opt_text("email1")?,
        is_admin: r.int("is_admin")? != 0,
        status: r.text("status")?,
        language: r.text("language")?,
        time_zone: r.text("time_zone")?,
        date_format: r.text("date_format")?,
        number_format: r.text("number_format")?,
        created_at: format_ms(r.int("created_at")?),
    })
}

/// Hashes a password with argon2id.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A random secret: 32 bytes, URL-safe base64, with a recognisable prefix.
pub fn random_secret(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_new_password(password: &str) -> StoreResult<()> {
    if password.chars().count() < 8 {
        return Err(StoreError::refused(
            "refused_password_short",
            "the password must have at least 8 characters",
        ));
    }
    if password.len() > 1024 {
        return Err(StoreError::refused("refused_password_long", "the password is too long"));
    }
    Ok(())
}

fn normalize_user_name(name: &str) -> StoreResult<String> {
    let n = name.trim().to_lowercase();
    let ok = (2..=64).contains(&n.chars().count())
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(n)
    } else {
        Err(StoreError::Refused(
            Refusal::new(
                "refused_user_name",
                format!("invalid user name `{name}`: use 2 to 64 letters, digits, . _ - @"),
            )
            .arg("name", name),
        ))
    }
}

fn require_admin(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin {
        Ok(())
    } else {
        Err(StoreError::Forbidden("only an administrator may manage users".into()))
    }
}

/// Adds a user.
pub async fn create_user(store: &Store, actor: &Actor, new: &NewUser) -> StoreResult<User> {
    require_admin(actor)?;
    let user_name = normalize_user_name(&new.user_name)?;
    check_new_password(&new.password)?;
    if new.last_name.trim().is_empty() {
        return Err(StoreError::refused("refused_last_name", "a user needs a last name"));
    }
    for name in [Some(&new.last_name), new.first_name.as_ref()].into_iter().flatten() {
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::refused(
                "refused_person_name",
                "a name has at most 100 characters and no control characters",
            ));
        }
    }
    if let Some(e) = &new.email1
        && !sable_core::parse::is_email(e)
    {
        return Err(StoreError::Refused(
            Refusal::new("refused_email", format!("`{e}` is not a valid e-mail address")).arg("value", e),
        ));
    }
    let language = language_tag(new.language.as_deref().unwrap_or(""))?;
    let tz = new.time_zone.clone().unwrap_or_else(|| "Asia/Shanghai".into());
    if jiff::tz::TimeZone::get(&tz).is_err() {
        return Err(StoreError::Refused(
            Refusal::new("refused_time_zone", format!("unknown time zone `{tz}`")).arg("value", &tz),
        ));
    }
    let hash = hash_password(&new.password)?;
    let mut w = store.begin_write().await?;
    let now = now_ms();
    let mut exists = w.tx.sql();
    exists
        .push("SELECT id FROM users WHERE user_name = ")
        .bind(user_name.as_str());
    if w.tx.fetch_optional(&exists).await?.is_some() {
        return Err(StoreError::Refused(
            Refusal::new("refused_user_taken", format!("user name `{user_name}` is taken")).arg("name", &user_name),
        ));
    }
    let probe = User {
        id: 0,
        user_name: user_name.clone(),
        first_name: new.first_name.clone(),
        last_name: new.last_name.trim().to_string(),
        email1: None,
        is_admin: false,
        status: String::new(),
        language: String::new(),
        time_zone: String::new(),
        date_format: String::new(),
        number_format: String::new(),
        created_at: String::new(),
    };
    let id = crate::batch::allocate_ids(&mut w.tx, 1, now).await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO records (id, module, label, created_at, updated_at) VALUES (")
        .bind(id)
        .push(", 'Users', ")
        .bind(probe.display_name())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO users (id, user_name, password_hash, first_name, last_name, email1, is_admin, status, language, time_zone, created_at, updated_at) VALUES (")
        .bind(id).push(", ")
        .bind(user_name.as_str()).push(", ")
        .bind(hash).push(", ")
        .bind(new.first_name.clone()).push(", ")
        .bind(new.last_name.trim()).push(", ")
        .bind(new.email1.clone()).push(", ")
        .bind(new.is_admin).push(", 'Active', ")
        .bind(language).push(", ")
        .bind(tz).push(", ")
        .bind(now).push(", ")
        .bind(now).push(")");
    w.tx.execute(&q).await?;
    w.commit().await?;
    get_user(store, id)
        .await?
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("user vanished")))
}

/// A user by id.
pub async fn get_user(store: &Store, id: i64) -> anyhow::Result<Option<User>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(USER_COLUMNS)
        .push(" FROM users WHERE id = ")
        .bind(id);
    db.fetch_optional(&q).await?.as_ref().map(row_to_user).transpose()
}

/// A user by user name.
pub async fn find_user(store: &Store, user_name: &str) -> anyhow::Result<Option<User>> {
    if user_name.contains('\0') {
        return Ok(None);
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(USER_COLUMNS)
        .push(" FROM users WHERE user_name = ")
        .bind(user_name.trim().to_lowercase());
    db.fetch_optional(&q).await?.as_ref().map(row_to_user).transpose()
}

/// Every user, by user name.
pub async fn list_users(store: &Store) -> anyhow::Result<Vec<User>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(USER_COLUMNS)
        .push(" FROM users ORDER BY user_name");
    db.fetch_all(&q).await?.iter().map(row_to_user).collect()
}

async fn user_or_not_found(store: &Store, user_name: &str) -> StoreResult<User> {
    find_user(store, user_name).await?.ok_or_else(|| {
        StoreError::Refused(
            Refusal::new("refused_no_user", format!("no user named `{user_name}`")).arg("name", user_name),
        )
    })
}

/// Sets a user's password (an administrator, or the user themself) and clears any lock.
pub async fn set_password(store: &Store, actor: &Actor, user_name: &str, password: &str) -> StoreResult<()> {
    let user = user_or_not_found(store, user_name).await?;
    if !actor.is_admin && actor.user_id != user.id {
        return Err(StoreError::Forbidden("you may only change your own password".into()));
    }
    check_new_password(password)?;
    let hash = hash_password(password)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE users SET password_hash = ")
        .bind(hash)
        .push(", failed_logins = 0, locked_until = NULL, updated_at = ")
        .bind(now_ms());
    q.push(" WHERE id = ").bind(user.id);
    db.execute(&q).await?;
    Ok(())
}

/// Deactivates a user: no more logins, tokens revoked; their records stay theirs.
pub async fn deactivate(store: &Store, actor: &Actor, user_name: &str) -> StoreResult<User> {
    require_admin(actor)?;
    let user = user_or_not_found(store, user_name).await?;
    if user.id == actor.user_id {
        return Err(StoreError::refused(
            "refused_deactivate_self",
            "you cannot deactivate yourself",
        ));
    }
    if user.is_admin {
        let admins = list_users(store)
            .await?
            .iter()
            .filter(|u| u.is_admin && u.is_active())
            .count();
        if admins <= 1 {
            return Err(StoreError::refused(
                "refused_last_admin",
                "the last active administrator cannot be deactivated",
            ));
        }
    }
    let mut w = store.begin_write().await?;
    let now = now_ms();
    let mut q = w.tx.sql();
    q.push("UPDATE users SET status = 'Inactive', updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(user.id);
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("UPDATE api_tokens SET revoked_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now);
    q.push(" WHERE user_id = ")
        .bind(user.id)
        .push(" AND revoked_at IS NULL");
    w.tx.execute(&q).await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM sessions WHERE user_id = ").bind(user.id);
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(get_user(store, user.id).await?.unwrap_or(user))
}

/// Checks a user name and password, with back-off after repeated failures.
pub async fn login(store: &Store, user_name: &str, password: &str) -> StoreResult<Result<User, LoginError>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(USER_COLUMNS)
        .push(", password_hash, failed_logins, locked_until FROM users WHERE user_name = ")
        .bind(user_name.trim().to_lowercase());
    // A name no user can have (PostgreSQL also refuses NUL in text) is simply unknown.
    let row = if normalize_user_name(user_name).is_ok() {
        db.fetch_optional(&q).await?
    } else {
        None
    };
    let Some(row) = row else {
        // Spend the same time as a real check so names cannot be probed by timing.
        let _ = verify_password(
            password,
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ws/bQ1BFGaV+mvIiLnl0TBUkGTEApwzjJ+mS3G5qwEo",
        );
        return Ok(Err(LoginError::Invalid));
    };
    let user = row_to_user(&row)?;
    let now = now_ms();
    if let Some(until) = row.opt_int("locked_until")?
        && until > now
    {
        return Ok(Err(LoginError::Locked {
            seconds: (until - now + 999) / 1000,
        }));
    }
    if !verify_password(password, &row.text("password_hash")?) {
        let failures = row.int("failed_logins")? + 1;
        let lock = if failures >= FREE_ATTEMPTS {
            let exp = u32::try_from((failures - FREE_ATTEMPTS).min(5)).unwrap_or(5);
            Some(now + 30_000 * 2i64.pow(exp))
        } else {
            None
        };
        let mut u = db.sql();
        u.push("UPDATE users SET failed_logins = ")
            .bind(failures)
            .push(", locked_until = ")
            .bind(lock);
        u.push(", updated_at = ").bind(now).push(" WHERE id = ").bind(user.id);
        db.execute(&u).await?;
        return Ok(Err(LoginError::Invalid));
    }
    if !user.is_active() {
        return Ok(Err(LoginError::Inactive));
    }
    let mut u = db.sql();
    u.push("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ")
        .bind(user.id);
    db.execute(&u).await?;
    Ok(Ok(user))
}

/// Issues a token for a user; the plain token is returned once and never stored.
pub async fn create_token(
    store: &Store,
    user_id: i64,
    name: &str,
    kind: &str,
    ttl_ms: Option<i64>,
) -> anyhow::Result<(i64, String)> {
    let token = random_secret("sable_")?;
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO api_tokens (user_id, name, kind, token_hash, expires_at, created_at, updated_at) VALUES (")
        .bind(user_id)
        .push(", ")
        .bind(name)
        .push(", ")
        .bind(kind)
        .push(", ")
        .bind(token_hash(&token))
        .push(", ")
        .bind(ttl_ms.map(|t| now + t))
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = db.fetch_optional(&q).await?.context("token row")?.int("id")?;
    Ok((id, token))
}

/// The active user behind a token, if the token is valid.
pub async fn authenticate_token(store: &Store, token: &str) -> anyhow::Result<Option<User>> {
    if token.len() > 200 {
        return Ok(None);
    }
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("SELECT id, user_id, expires_at, revoked_at, last_used_at FROM api_tokens WHERE token_hash = ")
        .bind(token_hash(token));
    let Some(row) = db.fetch_optional(&q).await? else {
        return Ok(None);
    };
    if row.opt_int("revoked_at")?.is_some() || row.opt_int("expires_at")?.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let Some(user) = get_user(store, row.int("user_id")?).await? else {
        return Ok(None);
    };
    if !user.is_active() {
        return Ok(None);
    }
    // Record use at most once a minute: a write per request would serialise SQLite readers.
    if row.opt_int("last_used_at")?.is_none_or(|t| now - t > 60_000) {
        let mut u = db.sql();
        u.push("UPDATE api_tokens SET last_used_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(row.int("id")?);
        db.execute(&u).await?;
    }
    Ok(Some(user))
}

/// Tokens of a user (all users' for `None`).
pub async fn list_tokens(store: &Store, user_id: Option<i64>) -> anyhow::Result<Vec<TokenInfo>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, user_id, name, kind, created_at, expires_at, last_used_at, revoked_at FROM api_tokens");
    if let Some(u) = user_id {
        q.push(" WHERE user_id = ").bind(u);
    }
    q.push(" ORDER BY id");
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.int("id")?,
                user_id: r.int("user_id")?,
                name: r.text("name")?,
                kind: r.text("kind")?,
                created_at: format_ms(r.int("created_at")?),
                expires_at: r.opt_int("expires_at")?.map(format_ms),
                last_used_at: r.opt_int("last_used_at")?.map(format_ms),
                revoked: r.opt_int("revoked_at")?.is_some(),
            })
        })
        .collect()
}

/// Revokes a token. Non-admins may revoke only their own.
pub async fn revoke_token(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("UPDATE api_tokens SET revoked_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    if !actor.is_admin {
        q.push(" AND user_id = ").bind(actor.user_id);
    }
    q.push(" AND revoked_at IS NULL");
    if db.execute(&q).await? == 0 {
        return Err(StoreError::Refused(
            sable_core::Refusal::new("refused_no_token", format!("no active token {id}")).arg("id", id.to_string()),
        ));
    }
    Ok(())
}

/// Creates the administrator `admin` when no administrator exists (first start, or a
/// database that only has demo users). Returns the password when it was generated.
pub async fn ensure_admin(store: &Store, password: Option<&str>) -> anyhow::Result<Option<String>> {
    let users = list_users(store).await?;
    if users.iter().any(|u| u.is_admin) {
        return Ok(None);
    }
    anyhow::ensure!(
        !users.iter().any(|u| u.user_name == "admin"),
        "there is no administrator, and the user name `admin` is taken by a non-administrator"
    );
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_string(), false),
        _ => (random_secret("")?.chars().take(16).collect(), true),
    };
    let new = NewUser {
        user_name: "admin".into(),
        password: password.clone(),
        first_name: None,
        last_name: "Administrator".into(),
        is_admin: true,
        ..NewUser::default()
    };
    if let Err(e) = create_user(store, &Actor::unrestricted_for_system_jobs(), &new).await {
        // Another node sharing the database may have created it a moment ago.
        if list_users(store).await?.iter().any(|u| u.is_admin) {
            return Ok(None);
        }
        anyhow::bail!("creating the administrator: {e}");
    }
    Ok(generated.then_some(password))
}

/// Revokes the token with this text, if it belongs to the user (logout).
pub async fn revoke_token_text(store: &Store, user_id: i64, token: &str) -> anyhow::Result<()> {
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("UPDATE api_tokens SET revoked_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now);
    q.push(" WHERE token_hash = ")
        .bind(token_hash(token))
        .push(" AND user_id = ")
        .bind(user_id)
        .push(" AND revoked_at IS NULL");
    db.execute(&q).await?;
    Ok(())
}

/// A language choice as stored: `en`, `zh-CN`, or empty for "follow the browser".
fn language_tag(language: &str) -> StoreResult<&'static str> {
    if language.trim().is_empty() {
        return Ok("");
    }
    Lang::parse(language).map(Lang::tag).ok_or_else(|| {
        StoreError::Refused(
            Refusal::new("refused_language", format!("unsupported language `{language}`")).arg("value", language),
        )
    })
}

/// Sets a user's interface language (`en` or `zh-CN`).
pub async fn set_language(store: &Store, user_id: i64, language: &str) -> anyhow::Result<()> {
    let tag = Lang::parse(language)
        .map(Lang::tag)
        .with_context(|| format!("unsupported language {language}"))?;
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE users SET language = ")
        .bind(tag)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(user_id);
    db.execute(&q).await?;
    Ok(())
}

/// Sets a user's language and time zone (the user themself or an administrator).
pub async fn set_preferences(
    store: &Store,
    actor: &Actor,
    user_id: i64,
    language: &str,
    time_zone: &str,
) -> StoreResult<()> {
    if !actor.is_admin && actor.user_id != user_id {
        return Err(StoreError::Forbidden("you may only change your own preferences".into()));
    }
    let tag = language_tag(language)?;
    if jiff::tz::TimeZone::get(time_zone).is_err() {
        return Err(StoreError::Refused(
            Refusal::new("refused_time_zone", format!("unknown time zone `{time_zone}`")).arg("value", time_zone),
        ));
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE users SET language = ")
        .bind(tag)
        .push(", time_zone = ")
        .bind(time_zone);
    q.push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(user_id);
    db.execute(&q).await?;
    Ok(())
}

/// Sets how a user sees dates and numbers (the user themself or an administrator).
pub async fn set_formats(
    store: &Store,
    actor: &Actor,
    user_id: i64,
    date_format: &str,
    number_format: &str,
) -> StoreResult<()> {
    if !actor.is_admin && actor.user_id != user_id {
        return Err(StoreError::Forbidden("you may only change your own preferences".into()));
    }
    if !DATE_FORMATS.contains(&date_format) || !NUMBER_FORMATS.contains(&number_format) {
        return Err(StoreError::Refused(
            Refusal::new(
                "refused_format",
                format!("unknown format `{date_format}` / `{number_format}`"),
            )
            .arg("value", format!("{date_format} / {number_format}")),
        ));
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE users SET date_format = ")
        .bind(date_format)
        .push(", number_format = ")
        .bind(number_format);
    q.push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(user_id);
    db.execute(&q).await?;
    Ok(())
}
