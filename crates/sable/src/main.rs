//! The `sable` binary: parse the command, load settings, and run it.
#![forbid(unsafe_code)]

mod bench;
mod bench_import;
mod bench_reports;
mod cli;
mod commands;
mod demo;
mod settings;
mod transfer;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::settings::Settings;

/// mimalloc for Rust and, through `override`, for SQLite: with the C library's allocator
/// every SQLite connection thread kept its own arena, and a million-row import's resident
/// memory was twice its heap (docs/performance.md, decision 0013).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.global.overrides()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    init_tracing(&settings.log);
    for var in Settings::unknown_env_vars() {
        tracing::warn!(variable = var, "unknown SABLE_* environment variable ignored (a typo?)");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(&settings).await,
        command => commands::run(&settings, command).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
