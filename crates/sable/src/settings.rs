//! Settings in layers: defaults, then `sable.toml`, then `SABLE_*` environment
//! variables, then command-line flags. The only module that reads the environment.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The annotated example configuration (`sable config example`).
pub const EXAMPLE: &str = include_str!("../sable.example.toml");

/// Environment variables Sable reads; any other `SABLE_*` is reported as unknown.
const KNOWN_VARS: &[&str] = &[
    "SABLE_CONFIG",
    "SABLE_DATA_DIR",
    "SABLE_DATABASE_URL",
    "SABLE_DATABASE_URL_FILE",
    "SABLE_BIND",
    "SABLE_ADMIN_PASSWORD",
    "SABLE_ADMIN_PASSWORD_FILE",
    "SABLE_MAX_BODY_BYTES",
    "SABLE_MAX_UPLOAD_BYTES",
    "SABLE_WEBFORM_RATE_LIMIT",
    "SABLE_LOG",
    "SABLE_SHARED_DATA",
    "SABLE_WORKFLOWS",
    "SABLE_TIME_ZONE",
];

/// Values given on the command line or in the environment (clap reads both; the flag wins).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_upload_bytes: Option<usize>,
    pub webform_rate_limit: Option<u32>,
    pub log: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    bind: Option<String>,
    admin_password: Option<String>,
    max_body_bytes: Option<usize>,
    max_upload_bytes: Option<usize>,
    webform_rate_limit: Option<u32>,
    log: Option<String>,
    workflows: Option<bool>,
    time_zone: Option<String>,
}

/// Everything Sable is configured with.
#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: String,
    pub admin_password: Option<String>,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    /// Web-form posts allowed per visitor address per 10 minutes, on each node.
    pub webform_rate_limit: u32,
    pub log: String,
    /// Whether `serve` runs the workflow engine and job runner (e-mail, webhooks, schedules).
    pub workflows: bool,
    /// The zone of workflow schedules and date offsets (IANA name).
    pub time_zone: String,
    /// Where the settings file was read from, if one was.
    pub config_file: Option<PathBuf>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &sable_store::db::redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "***"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("webform_rate_limit", &self.webform_rate_limit)
            .field("log", &self.log)
            .field("workflows", &self.workflows)
            .field("time_zone", &self.time_zone)
            .field("config_file", &self.config_file)
            .finish()
    }
}

fn read_secret_file(var: &str) -> anyhow::Result<Option<String>> {
    match std::env::var_os(var) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {var} ({})", Path::new(&path).display()))?;
            Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        None => Ok(None),
    }
}

fn non_empty_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Resolves the layers.
    pub fn load(o: &Overrides) -> anyhow::Result<Settings> {
        let data_dir = o.data_dir.clone();
        let explicit_config = o.config.clone();
        let provisional_dir = data_dir.clone().unwrap_or_else(|| PathBuf::from("./sable-data"));
        let config_path = explicit_config.clone().or_else(|| {
            let p = provisional_dir.join("sable.toml");
            p.exists().then_some(p)
        });
        let file: FileSettings = match &config_path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).with_context(|| format!("reading settings file {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("settings file {} is not valid", p.display()))?
            }
            None => FileSettings::default(),
        };
        let data_dir = data_dir.or(file.data_dir).unwrap_or(provisional_dir);
        let database_url = o
            .database_url
            .clone()
            .or(read_secret_file("SABLE_DATABASE_URL_FILE")?)
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sable.db").display()));
        let admin_password = non_empty_env("SABLE_ADMIN_PASSWORD")
            .or(read_secret_file("SABLE_ADMIN_PASSWORD_FILE")?)
            .or(file.admin_password);
        let max_body_bytes = o.max_body_bytes.or(file.max_body_bytes).unwrap_or(2 * 1024 * 1024);
        anyhow::ensure!(max_body_bytes >= 1024, "max_body_bytes must be at least 1024");
        let max_upload_bytes = o
            .max_upload_bytes
            .or(file.max_upload_bytes)
            .unwrap_or(256 * 1024 * 1024);
        anyhow::ensure!(max_upload_bytes >= 1024, "max_upload_bytes must be at least 1024");
        let workflows = match non_empty_env("SABLE_WORKFLOWS") {
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => true,
                "0" | "false" | "off" | "no" => false,
                _ => anyhow::bail!("SABLE_WORKFLOWS must be true or false, not {v:?}"),
            },
            None => file.workflows.unwrap_or(true),
        };
        let time_zone = non_empty_env("SABLE_TIME_ZONE")
            .or(file.time_zone)
            .unwrap_or_else(|| "Asia/Shanghai".into());
        anyhow::ensure!(
            jiff::tz::TimeZone::get(&time_zone).is_ok(),
            "time_zone {time_zone:?} is not a known IANA time zone"
        );
        let webform_rate_limit = o.webform_rate_limit.or(file.webform_rate_limit).unwrap_or(20);
        Ok(Settings {
            data_dir,
            database_url,
            bind: o.bind.clone().or(file.bind).unwrap_or_else(|| "127.0.0.1:8080".into()),
            admin_password,
            max_body_bytes,
            max_upload_bytes,
            webform_rate_limit,
            log: o
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info,sqlx=warn,tower_http=info".into()),
            workflows,
            time_zone,
            config_file: config_path,
        })
    }

    /// `SABLE_*` variables in the environment that Sable does not know (typos).
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("SABLE_") && !k.starts_with("SABLE_TEST_") && !KNOWN_VARS.contains(&k.as_str()))
            .collect()
    }

    /// Creates the data directory when the database lives in it.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        if self.database_url.starts_with("sqlite:") && !self.database_url.contains(":memory:") {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("creating data directory {}", self.data_dir.display()))?;
            if let Some(path) = self
                .database_url
                .strip_prefix("sqlite://")
                .map(|p| p.split('?').next().unwrap_or(p))
                && let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_with_nothing_set() {
        let dir = std::env::temp_dir().join(format!("sable-settings-{}", std::process::id()));
        let s = Settings::load(&Overrides {
            data_dir: Some(dir.clone()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url, format!("sqlite://{}", dir.join("sable.db").display()));
    }

    #[test]
    fn file_is_beneath_flags() {
        let dir = std::env::temp_dir().join(format!("sable-settings-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("sable.toml"),
            "bind = \"0.0.0.0:9000\"\nmax_body_bytes = 4096\n",
        )
        .unwrap();
        let s = Settings::load(&Overrides {
            data_dir: Some(dir.clone()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.max_body_bytes, 4096);
        let s = Settings::load(&Overrides {
            data_dir: Some(dir.clone()),
            bind: Some("127.0.0.1:1".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(s.bind, "127.0.0.1:1");
        std::fs::write(dir.join("sable.toml"), "bnd = 1\n").unwrap();
        let e = Settings::load(&Overrides {
            data_dir: Some(dir.clone()),
            ..Overrides::default()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn debug_hides_secrets() {
        let s = Settings {
            data_dir: "d".into(),
            database_url: "postgres://u:hunter2@h/db".into(),
            bind: "b".into(),
            admin_password: Some("hunter2".into()),
            max_body_bytes: 1,
            max_upload_bytes: 1,
            webform_rate_limit: 1,
            log: "l".into(),
            workflows: true,
            time_zone: "UTC".into(),
            config_file: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
