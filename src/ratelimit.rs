//! Fixed-window rate limiting: at most `limit` hits per key per minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
const PRUNE_ABOVE: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn check(&self, key: String, limit: u32) -> Decision {
        self.check_at(key, limit, Instant::now())
    }

    fn check_at(&self, key: String, limit: u32, now: Instant) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        let left = WINDOW.saturating_sub(now.duration_since(entry.0));
        Decision {
            allowed,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_secs: left.as_secs().max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_refuses() {
        let rl = RateLimiter::default();
        let t = Instant::now();
        for i in 0..3 {
            let d = rl.check_at("k".into(), 3, t);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        let d = rl.check_at("k".into(), 3, t);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(d.reset_secs >= 1 && d.reset_secs <= 60);
    }

    #[test]
    fn keys_are_independent_and_windows_reset() {
        let rl = RateLimiter::default();
        let t = Instant::now();
        assert!(rl.check_at("a".into(), 1, t).allowed);
        assert!(!rl.check_at("a".into(), 1, t).allowed);
        assert!(rl.check_at("b".into(), 1, t).allowed);
        assert!(rl.check_at("a".into(), 1, t + WINDOW).allowed);
    }
}
