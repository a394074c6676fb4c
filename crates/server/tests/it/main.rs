//! API tests through the real router, on SQLite and (when configured) PostgreSQL.

mod activities;
mod api5;
mod bad_input;
mod convert;
mod dashboards;
mod helpers;
mod imports;
mod openapi;
mod reports;
mod stages;
mod story;
mod ui;
mod webforms;
mod workflows_api;
mod workflows_ui;
