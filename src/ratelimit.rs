//! Rate limits: at most `limit` requests per key per minute, as a burst of `limit` that refills
//! one request every `60 / limit` seconds (GCRA, the `governor` crate). One keyed limiter per
//! limit value, so a limit changed by SIGHUP takes effect at once.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::Quota;

/// Above this many keys in one limiter, keys whose budget is full again are forgotten.
const PRUNE_ABOVE: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the next request is allowed (refused) or the whole budget is back
    /// (allowed); at least 1.
    pub reset_secs: u64,
}

type Keyed<C> =
    governor::RateLimiter<String, HashMapStateStore<String>, C, StateInformationMiddleware>;

pub struct RateLimiter<C: Clock = DefaultClock> {
    clock: C,
    by_limit: Mutex<HashMap<NonZeroU32, Arc<Keyed<C>>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            by_limit: Mutex::new(HashMap::new()),
        }
    }

    fn limiter(&self, per_minute: NonZeroU32) -> Arc<Keyed<C>> {
        let mut by_limit = self.by_limit.lock().unwrap_or_else(|p| p.into_inner());
        by_limit
            .entry(per_minute)
            .or_insert_with(|| {
                let quota = Quota::per_minute(per_minute);
                Arc::new(
                    governor::RateLimiter::hashmap_with_clock(quota, self.clock.clone())
                        .with_middleware::<StateInformationMiddleware>(),
                )
            })
            .clone()
    }

    /// Counts one request for `key` against `limit` per minute (a limit of 0 counts as 1).
    pub fn check(&self, key: String, limit: u32) -> Decision {
        let per_minute = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let limiter = self.limiter(per_minute);
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
        }
        let refill = Duration::from_secs(60) / per_minute.get();
        match limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = per_minute.get() - remaining.min(per_minute.get());
                Decision {
                    allowed: true,
                    limit: per_minute.get(),
                    remaining,
                    reset_secs: whole_secs(refill * used),
                }
            }
            Err(not_until) => Decision {
                allowed: false,
                limit: per_minute.get(),
                remaining: 0,
                reset_secs: whole_secs(not_until.wait_time_from(self.clock.now())),
            },
        }
    }
}

/// Rounded up, at least 1.
fn whole_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn allows_up_to_the_limit_then_refuses() {
        let clock = FakeRelativeClock::default();
        let rl = RateLimiter::with_clock(clock);
        for i in 0..3 {
            let d = rl.check("k".into(), 3);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        let d = rl.check("k".into(), 3);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.reset_secs, 20, "one request comes back every 60/3 s");
    }

    #[test]
    fn keys_are_independent_and_budgets_refill() {
        let clock = FakeRelativeClock::default();
        let rl = RateLimiter::with_clock(clock.clone());
        assert!(rl.check("a".into(), 1).allowed);
        assert!(!rl.check("a".into(), 1).allowed);
        assert!(rl.check("b".into(), 1).allowed);
        clock.advance(Duration::from_secs(60));
        assert!(rl.check("a".into(), 1).allowed);
    }

    #[test]
    fn a_changed_limit_applies_at_once() {
        let rl = RateLimiter::with_clock(FakeRelativeClock::default());
        assert!(rl.check("k".into(), 1).allowed);
        assert!(!rl.check("k".into(), 1).allowed);
        let d = rl.check("k".into(), 5);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (5, 4));
    }
}
