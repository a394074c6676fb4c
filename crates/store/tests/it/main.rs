//! Store integration tests: every test runs on SQLite and, when configured, PostgreSQL.

mod convert;
mod custom_fields;
mod helpers;
mod nodes;
mod queries;
mod records;
mod users;
mod views;
