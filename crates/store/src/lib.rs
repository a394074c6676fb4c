//! Sable's storage on SQLite and PostgreSQL: migrations, module tables, the record
//! service (the one write path), reads with visibility, history, search, users and tokens.
//!
//! Nothing outside this crate writes records: the write functions are private and
//! reachable only through [`RecordService`], which validates, checks permission and
//! writes record, history, search tokens and an outbox event in one transaction.
#![forbid(unsafe_code)]

pub mod activities;
pub mod actor;
pub mod assignment;
mod batch;
pub mod calendar;
mod checkpoint;
pub mod comments;
pub mod company;
pub mod convert;
pub mod dashboards;
pub mod db;
pub mod email_templates;
pub mod error;
mod filter_sql;
pub mod followups;
pub mod imports;
pub mod jobs;
pub mod mail_settings;
pub mod meta_store;
pub mod outbox;
pub mod pipeline;
mod read;
pub mod record;
pub mod record_email;
pub mod reports;
pub mod schema;
mod search;
pub mod service;
pub mod sessions;
pub mod sql;
pub mod stages;
pub mod store;
pub mod templating;
pub mod testing;
pub mod users;
pub mod views;
pub mod webforms;
pub mod workflow_views;
pub mod workflows;

pub use actor::Actor;
pub use db::Db;
pub use error::{Conflict, StoreError, StoreResult};
pub use record::{HistoryEntry, Page, Query, Record, SearchHit, SortKey};
pub use service::RecordService;
pub use store::Store;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
