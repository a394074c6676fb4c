//! The per-IP rate limit of public form posts: a fixed window per address, in memory
//! on each node (several nodes each allow the limit; acceptable for abuse control).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts posts per address.
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Addresses remembered at most; older windows are dropped first when full.
const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    /// Counts one post from `key`; false when it is over `max` in the current `window`.
    pub fn allow(&self, key: &str, max: u32, window: Duration) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address() {
        let l = RateLimiter::default();
        let w = Duration::from_secs(3600);
        assert!(l.allow("a", 2, w));
        assert!(l.allow("a", 2, w));
        assert!(!l.allow("a", 2, w));
        assert!(l.allow("b", 2, w));
        assert!(l.allow("c", 0, Duration::ZERO) || !l.allow("c", 0, w));
    }
}
