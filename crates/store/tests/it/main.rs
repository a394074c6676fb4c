//! Store integration tests: every test runs on SQLite and, when configured, PostgreSQL.

mod activities;
mod assignment;
mod convert;
mod custom_fields;
mod helpers;
mod nodes;
mod queries;
mod records;
mod reports;
mod stages;
mod users;
mod views;
mod wal;
