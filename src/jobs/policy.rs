//! How a job kind is retried and how urgent it is: pure values, no I/O.

use std::time::Duration;

/// Retries never wait longer than this: a remote that comes back is used within the hour.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Which due job a free worker takes first: higher first, then the longest due, then the
/// oldest. Stored with each job when it is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(i32);

impl Priority {
    /// Work a person waits for: thumbnails and EXIF of a fresh upload.
    pub const HIGH: Priority = Priority(100);
    /// Work nobody waits for but that should not lag far: AI tags.
    pub const NORMAL: Priority = Priority(50);
    /// Housekeeping and copies: purges, pruning, mirror copies.
    pub const LOW: Priority = Priority(0);

    pub const fn new(value: i32) -> Self {
        Priority(value)
    }

    pub const fn value(self) -> i32 {
        self.0
    }
}

/// Waits between attempts: `first`, then each `factor` times the one before, at most
/// `MAX_BACKOFF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub factor: u32,
}

impl Backoff {
    /// 10 s, 40 s, 160 s, 640 s, 2560 s, then an hour.
    pub const STANDARD: Backoff = Backoff {
        first: Duration::from_secs(10),
        factor: 4,
    };

    /// The wait after failed attempt `attempt` (1-based).
    pub fn after(self, attempt: u32) -> Duration {
        let mut wait = self.first;
        for _ in 1..attempt {
            wait = wait.saturating_mul(self.factor.max(1));
            if wait >= MAX_BACKOFF {
                break;
            }
        }
        wait.min(MAX_BACKOFF)
    }
}

/// When a failed job runs again. A permanent failure (`JobError::Permanent`) ends a job
/// whatever its policy; this decides what happens after a failure that may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs in all, the first included; `None`: until it succeeds.
    max_attempts: Option<u32>,
    backoff: Backoff,
}

impl RetryPolicy {
    /// At most `attempts` runs in all (for work that fails the same way once it fails a few
    /// times: a file that cannot be read).
    pub const fn attempts(attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: Some(attempts),
            backoff: Backoff::STANDARD,
        }
    }

    /// Runs again until it succeeds, at most an hour apart (for a remote that is down for a
    /// day: nothing is lost, and it is used again within the hour it comes back).
    pub const fn until_success() -> Self {
        RetryPolicy {
            max_attempts: None,
            backoff: Backoff::STANDARD,
        }
    }

    pub const fn with_backoff(self, backoff: Backoff) -> Self {
        RetryPolicy { backoff, ..self }
    }

    /// Runs in all, or `None` for "until it succeeds".
    pub fn max_attempts(self) -> Option<u32> {
        self.max_attempts
    }

    /// How long to wait after failed attempt `attempt` (1-based), or `None` when that was the
    /// last one.
    pub fn retry_after(self, attempt: u32) -> Option<Duration> {
        match self.max_attempts {
            Some(max) if attempt >= max => None,
            _ => Some(self.backoff.after(attempt)),
        }
    }
}

impl Default for RetryPolicy {
    /// Five attempts with the standard backoff.
    fn default() -> Self {
        RetryPolicy::attempts(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(policy: RetryPolicy, attempts: std::ops::RangeInclusive<u32>) -> Vec<Option<u64>> {
        attempts
            .map(|a| policy.retry_after(a).map(|d| d.as_secs()))
            .collect()
    }

    #[test]
    fn a_few_attempts_back_off_and_then_stop() {
        assert_eq!(
            secs(RetryPolicy::attempts(5), 1..=6),
            [Some(10), Some(40), Some(160), Some(640), None, None]
        );
        assert_eq!(secs(RetryPolicy::attempts(1), 1..=1), [None]);
    }

    #[test]
    fn until_success_never_stops_and_waits_at_most_an_hour() {
        let policy = RetryPolicy::until_success();
        assert_eq!(policy.max_attempts(), None);
        assert_eq!(
            secs(policy, 1..=8),
            [
                Some(10),
                Some(40),
                Some(160),
                Some(640),
                Some(2560),
                Some(3600),
                Some(3600),
                Some(3600)
            ]
        );
        // A day of failures every hour, and more: still retried, never beyond the cap.
        for attempt in [24, 1000, u32::MAX] {
            assert_eq!(policy.retry_after(attempt), Some(MAX_BACKOFF));
        }
    }

    #[test]
    fn a_kind_may_choose_its_backoff_under_the_same_cap() {
        let policy = RetryPolicy::until_success().with_backoff(Backoff {
            first: Duration::from_secs(1),
            factor: 2,
        });
        assert_eq!(secs(policy, 1..=4), [Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(
            policy.retry_after(13),
            Some(MAX_BACKOFF),
            "2^12 s is over an hour"
        );
    }

    #[test]
    fn priorities_order_by_urgency() {
        assert!(Priority::HIGH > Priority::NORMAL);
        assert!(Priority::NORMAL > Priority::LOW);
        assert_eq!(Priority::new(7).value(), 7);
    }
}
