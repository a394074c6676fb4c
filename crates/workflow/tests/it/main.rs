//! The workflow engine's integration tests, on SQLite and (when configured) PostgreSQL,
//! with a real SMTP receiver and a real HTTP receiver on loopback.

mod admin;
mod bench;
mod crash;
mod deliveries;
mod flow;
mod helpers;
mod http;
mod loops;
mod mail;
mod queue;
mod retry;
mod smtp;
mod timed;
mod webform;
