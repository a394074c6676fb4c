//! Sable's browser tests live in `tests/it/`: they start the app on a fresh SQLite
//! database, drive headless Chromium through chromedriver, and check what a user sees.
//! This library is empty; the crate exists only for its tests.
#![forbid(unsafe_code)]
