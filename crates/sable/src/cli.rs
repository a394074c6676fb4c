//! The command line: `sable [OPTIONS] [COMMAND]`, `serve` when no command is given.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::settings::Overrides;

/// Sable CRM: customers, leads and opportunities in one self-hosted binary.
#[derive(Parser, Debug)]
#[command(name = "sable", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Settings file [default: <data dir>/sable.toml when present]
    #[arg(long, env = "SABLE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and files [default: ./sable-data]
    #[arg(long, env = "SABLE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER:PASSWORD@HOST/DB [default: sqlite://<data dir>/sable.db]
    #[arg(long, env = "SABLE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SABLE_BIND", global = true)]
    pub bind: Option<String>,
    /// Largest request body accepted, in bytes [default: 2097152]
    #[arg(long, env = "SABLE_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Largest uploaded import file, in bytes [default: 268435456]
    #[arg(long, env = "SABLE_MAX_UPLOAD_BYTES", global = true)]
    pub max_upload_bytes: Option<usize>,
    /// Web-form posts allowed per visitor address per 10 minutes, on each node [default: 20]
    #[arg(long, env = "SABLE_WEBFORM_RATE_LIMIT", global = true)]
    pub webform_rate_limit: Option<u32>,
    /// Log filter, as in RUST_LOG [default: info,sqlx=warn,tower_http=info]
    #[arg(long, env = "SABLE_LOG", global = true)]
    pub log: Option<String>,
}

impl GlobalArgs {
    /// The values that override the settings file.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            bind: self.bind.clone(),
            max_body_bytes: self.max_body_bytes,
            max_upload_bytes: self.max_upload_bytes,
            webform_rate_limit: self.webform_rate_limit,
            log: self.log.clone(),
        }
    }
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default). The administrator's first password comes from
    /// SABLE_ADMIN_PASSWORD (or SABLE_ADMIN_PASSWORD_FILE), else one is generated and printed once.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Inspect modules.
    #[command(subcommand)]
    Module(ModuleCommand),
    /// Manage custom fields.
    #[command(subcommand)]
    Field(FieldCommand),
    /// Load a bilingual demo company (users, organizations, contacts, leads, opportunities).
    Demo,
    /// Import a CSV or XLSX file into a module; ends with `created N, updated N, skipped N, failed N`.
    Import(ImportArgs),
    /// Export a module's records to CSV or XLSX.
    Export(ExportArgs),
    /// Measure insert, list and search speed on a fresh database and print the figures.
    Bench(BenchArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `sable user …`
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (one line) or --password-env.
    Add {
        user_name: String,
        #[arg(long)]
        last_name: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// zh-CN or en
        #[arg(long)]
        language: Option<String>,
        /// IANA zone, e.g. Asia/Shanghai
        #[arg(long)]
        time_zone: Option<String>,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Set a user's password (read from standard input or --password-env).
    Passwd {
        user_name: String,
        #[arg(long)]
        password_env: Option<String>,
    },
    /// List users.
    List,
    /// Deactivate a user: no more logins, tokens revoked, records kept.
    Deactivate { user_name: String },
}

/// `sable token …`
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        user_name: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (never by default).
        #[arg(long)]
        days: Option<u32>,
    },
    /// List tokens (never their secret).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

/// `sable module …`
#[derive(Subcommand, Debug)]
pub enum ModuleCommand {
    /// List modules with their field counts and sharing.
    List,
}

/// `sable field …`
#[derive(Subcommand, Debug)]
pub enum FieldCommand {
    /// Add a custom field to a module.
    Add {
        /// Module API name, e.g. Leads
        #[arg(long)]
        module: String,
        /// Field API name: lowercase letters, digits and underscores
        #[arg(long)]
        name: String,
        /// text, textarea, integer, decimal, currency, percent, date, datetime, time, boolean,
        /// email, phone, url, picklist, multipicklist, reference, owner, auto_number, tags
        #[arg(long = "type")]
        field_type: String,
        /// English label
        #[arg(long)]
        label_en: String,
        /// Chinese label
        #[arg(long)]
        label_zh: String,
        /// Picklist values, comma-separated; each `VALUE` or `VALUE:English label:中文标签`
        #[arg(long, value_delimiter = ',')]
        values: Vec<String>,
        /// Value given to new records that leave the field empty (checked against the type)
        #[arg(long)]
        default: Option<String>,
        /// Longest text accepted, in characters
        #[arg(long)]
        max_length: Option<u32>,
        /// Digits after the decimal point of a decimal, currency or percent field (0–8)
        #[arg(long)]
        scale: Option<u32>,
        /// Help text shown beside the field, in English
        #[arg(long)]
        help_en: Option<String>,
        /// Help text shown beside the field, in Chinese
        #[arg(long)]
        help_zh: Option<String>,
        /// Target modules of a reference field, comma-separated
        #[arg(long, value_delimiter = ',')]
        targets: Vec<String>,
        #[arg(long)]
        mandatory: bool,
        #[arg(long)]
        unique: bool,
        /// Include in global search
        #[arg(long)]
        searchable: bool,
        /// Block to show it in (default: the module's first)
        #[arg(long)]
        block: Option<String>,
        /// Prefix of an auto_number field's values, e.g. `SN-`
        #[arg(long)]
        prefix: Option<String>,
    },
}

/// `sable bench …`
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Leads to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub leads: usize,
    /// Records per transaction [default: 1000; with --import, the import's own default].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Queries per measured operation.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Keep the benchmark database instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Benchmark this (empty) database instead of a fresh SQLite file in a temporary folder.
    #[arg(long)]
    pub on: Option<String>,
    /// Measure an import instead: write a CSV of --leads rows (1% duplicates) and import it
    /// with duplicates matched on e-mail, --batch rows per transaction.
    #[arg(long)]
    pub import: bool,
    /// Measure reports instead: load --leads opportunities (not leads) and time a summary
    /// report grouped by stage and close month.
    #[arg(long, conflicts_with = "import")]
    pub reports: bool,
}

/// `sable config …`
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print an annotated example sable.toml.
    Example,
    /// Print the settings in force (secrets hidden).
    Show,
}

/// `sable import …`
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Module API name, e.g. Leads
    #[arg(long, required_unless_present = "undo")]
    pub module: Option<String>,
    /// The CSV or XLSX file
    #[arg(required_unless_present = "undo")]
    pub file: Option<std::path::PathBuf>,
    /// Undo a finished import job (its id is printed by the import): remove what it created,
    /// put back what it overwrote
    #[arg(long, value_name = "JOB_ID", conflicts_with_all = ["module", "file"])]
    pub undo: Option<i64>,
    /// JSON mapping: {"columns":{column: field}, "values":{field:{from: to}}, "defaults":{field: value}}
    #[arg(long)]
    pub mapping: Option<std::path::PathBuf>,
    /// Fields that identify a duplicate, comma-separated (all must match)
    #[arg(long = "match", value_delimiter = ',')]
    pub match_fields: Vec<String>,
    /// skip, update or merge
    #[arg(long, default_value = "skip")]
    pub on_duplicate: String,
    /// auto, utf-8, gb18030 or utf-16
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Dates written only in digits: auto (detected from the values; year first when they do not tell), ymd, dmy or mdy
    #[arg(long, default_value = "auto")]
    pub date_order: String,
    /// Check every row, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Import as this user (their visibility; the default owner)
    #[arg(long = "as", default_value = "admin")]
    pub as_user: String,
    /// Owner for rows whose owner cell is empty or unknown (user name)
    #[arg(long)]
    pub default_owner: Option<String>,
    /// Write the failed rows, in the original columns plus a reason, to this CSV
    #[arg(long)]
    pub failed_rows: Option<std::path::PathBuf>,
    /// Create a text custom field for each column that holds data but fits no field
    #[arg(long)]
    pub create_fields: bool,
    /// Add picklist values for cells that match no value or label
    #[arg(long)]
    pub add_picklist_values: bool,
    /// Write nothing unless every row is valid (checks the whole file first)
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Create the record a reference names when there is none (by its name alone)
    #[arg(long)]
    pub create_missing_parents: bool,
}

/// `sable export …`
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Module API name, e.g. Leads
    #[arg(long)]
    pub module: String,
    /// A filter tree as JSON, e.g. '{"field":"leadstatus","op":"eq","value":"Hot"}'
    #[arg(long)]
    pub filter: Option<String>,
    /// csv or xlsx
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// utf-8-bom, utf-8 or gb18030 (CSV only)
    #[arg(long, default_value = "utf-8-bom")]
    pub encoding: String,
    /// Export as this user (what they may see)
    #[arg(long = "as", default_value = "admin")]
    pub as_user: String,
    /// Output file
    #[arg(short = 'o', long)]
    pub output: std::path::PathBuf,
}
