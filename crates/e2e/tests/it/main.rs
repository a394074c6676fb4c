//! Real-browser tests: Sable on a fresh SQLite database, driven in headless Chromium
//! through chromedriver. They need `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (Debian: `chromium chromium-driver fonts-noto-cjk`); without them they print
//! `SKIPPED browser tests` and pass, unless `SABLE_TEST_REQUIRE_ALL=1`.
//! Screenshots of the main pages land in `target/screenshots/`.

mod activities;
mod convert;
mod dashboards;
mod harness;
mod keyboard;
mod list_actions;
mod pipeline;
mod security;
mod webforms;
mod workflow;
mod workflows_admin;
