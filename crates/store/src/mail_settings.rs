//! The outgoing mail server (one row): host, port, security, login and sender. Only
//! administrators read or change it; the mail worker reads it for every message so a
//! change applies without a restart.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::store::Store;

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain SMTP (only sensible on a trusted network or loopback).
    None,
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Security {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::Starttls => "starttls",
            Security::Tls => "tls",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Security> {
        Some(match s {
            "none" => Security::None,
            "starttls" => Security::Starttls,
            "tls" => Security::Tls,
            _ => return None,
        })
    }
}

/// The SMTP settings.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    #[serde(default)]
    pub username: String,
    /// Never sent back to a browser by the server (it shows whether one is set).
    #[serde(default)]
    pub password: String,
    pub from_address: String,
    #[serde(default)]
    pub from_name: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "***" })
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .finish()
    }
}

fn check(s: &SmtpSettings) -> StoreResult<()> {
    let host_ok = !s.host.is_empty()
        && s.host.len() <= 253
        && s.host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !host_ok {
        return Err(StoreError::refused(
            "wf_refused_smtp_host",
            "the SMTP host is not a host name or address",
        ));
    }
    if s.port == 0 {
        return Err(StoreError::refused(
            "wf_refused_smtp_port",
            "the SMTP port must be 1 to 65535",
        ));
    }
    if !sable_core::workflow::plausible_address(&s.from_address) {
        return Err(StoreError::refused(
            "wf_refused_smtp_from",
            "the sender is not an e-mail address",
        ));
    }
    if s.from_name.chars().count() > 200 || s.from_name.chars().any(char::is_control) {
        return Err(StoreError::refused(
            "wf_refused_smtp_from_name",
            "the sender name is too long or holds control characters",
        ));
    }
    if s.username.len() > 500 || s.password.len() > 500 {
        return Err(StoreError::refused("wf_refused_smtp_login", "the login is too long"));
    }
    Ok(())
}

/// The settings, or none when no mail server was configured (for the admin page).
pub async fn get_smtp(store: &Store, actor: &Actor) -> StoreResult<Option<SmtpSettings>> {
    if !actor.is_admin() {
        return Err(StoreError::refused(
            "wf_refused_admin",
            "only administrators manage workflows",
        ));
    }
    Ok(load_smtp(store).await?)
}

/// The settings for the mail worker.
pub async fn load_smtp(store: &Store) -> anyhow::Result<Option<SmtpSettings>> {
    let db = store.db();
    let q = {
        let mut q = db.sql();
        q.push(
            "SELECT host, port, security, username, password, from_address, from_name FROM smtp_settings WHERE id = 1",
        );
        q
    };
    let Some(r) = db.fetch_optional(&q).await? else {
        return Ok(None);
    };
    Ok(Some(SmtpSettings {
        host: r.text("host")?,
        port: u16::try_from(r.int("port")?).unwrap_or(25),
        security: Security::parse(&r.text("security")?).unwrap_or(Security::Starttls),
        username: r.text("username")?,
        password: r.text("password")?,
        from_address: r.text("from_address")?,
        from_name: r.text("from_name")?,
    }))
}

/// Saves the settings. An empty password keeps the stored one (forms never echo it).
pub async fn set_smtp(store: &Store, actor: &Actor, s: &SmtpSettings) -> StoreResult<()> {
    if !actor.is_admin() {
        return Err(StoreError::refused(
            "wf_refused_admin",
            "only administrators manage workflows",
        ));
    }
    check(s)?;
    let now = now_ms();
    let db = store.db();
    let mut q = db.sql();
    q.push("INSERT INTO smtp_settings (id, host, port, security, username, password, from_address, from_name, created_at, updated_at) VALUES (1, ")
        .bind(s.host.as_str())
        .push(", ")
        .bind(i64::from(s.port))
        .push(", ")
        .bind(s.security.as_str())
        .push(", ")
        .bind(s.username.as_str())
        .push(", ")
        .bind(s.password.as_str())
        .push(", ")
        .bind(s.from_address.trim())
        .push(", ")
        .bind(s.from_name.as_str())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security, username = excluded.username, ");
    if s.password.is_empty() {
        q.push("password = smtp_settings.password, ");
    } else {
        q.push("password = excluded.password, ");
    }
    q.push("from_address = excluded.from_address, from_name = excluded.from_name, updated_at = excluded.updated_at");
    db.execute(&q).await?;
    Ok(())
}
