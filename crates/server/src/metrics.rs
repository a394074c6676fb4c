//! Counters exposed at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters of this node.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    duration_micros: AtomicU64,
    request_count: AtomicU64,
    writes: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &str, status: u16, micros: u64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), status)).or_default() += 1;
        }
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
        self.request_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one record write through the API.
    pub fn record_written(&self, module: &str, action: &'static str) {
        if let Ok(mut m) = self.writes.lock() {
            *m.entry((module.to_string(), action)).or_default() += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self, db_up: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP sable_build_info Sable version.\n# TYPE sable_build_info gauge"
        );
        let _ = writeln!(out, "sable_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(
            out,
            "# HELP sable_database_up Whether the database answered the scrape.\n# TYPE sable_database_up gauge"
        );
        let _ = writeln!(out, "sable_database_up {}", u8::from(db_up));
        let _ = writeln!(
            out,
            "# HELP sable_http_requests_total HTTP requests answered.\n# TYPE sable_http_requests_total counter"
        );
        if let Ok(m) = self.requests.lock() {
            for ((method, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "sable_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP sable_http_request_duration_seconds Time spent answering requests.\n# TYPE sable_http_request_duration_seconds summary"
        );
        let _ = writeln!(
            out,
            "sable_http_request_duration_seconds_sum {}",
            self.duration_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "sable_http_request_duration_seconds_count {}",
            self.request_count.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP sable_record_writes_total Record writes through the API.\n# TYPE sable_record_writes_total counter"
        );
        if let Ok(m) = self.writes.lock() {
            for ((module, action), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "sable_record_writes_total{{module=\"{module}\",action=\"{action}\"}} {n}"
                );
            }
        }
        out
    }
}
