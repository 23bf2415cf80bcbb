//! A short-lived cache of live sessions, so that checking the session of every request does not
//! hit the database each time. Revocations through the daemon evict at once; a change made by
//! another process (the CLI) is seen within `TTL`.

use crate::db::ids::{SessionId, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Role;

pub const TTL: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone)]
struct Entry {
    /// The session's secret; a token with another one is not of this session.
    secret: Arc<str>,
    user_id: UserId,
    role: Role,
    checked: Instant,
}

#[derive(Clone, Default)]
pub struct SessionCache {
    entries: Arc<Mutex<HashMap<SessionId, Entry>>>,
    /// Bumped by every eviction; an insert computed before an eviction is dropped.
    epoch: Arc<AtomicU64>,
}

impl SessionCache {
    /// The user and role of a live session, if `secret` is its own.
    pub fn get(&self, session_id: SessionId, secret: &str) -> Option<(UserId, Role)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&session_id)
            .filter(|e| e.checked.elapsed() < TTL && *e.secret == *secret)
            .map(|e| (e.user_id, e.role))
    }

    /// The epoch to pass to `put` after reading the database.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn put(
        &self,
        session_id: SessionId,
        secret: &str,
        user_id: UserId,
        role: Role,
        epoch: u64,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.checked.elapsed() < TTL);
        }
        if entries.len() < MAX_ENTRIES {
            let checked = Instant::now();
            entries.insert(
                session_id,
                Entry {
                    secret: secret.into(),
                    user_id,
                    role,
                    checked,
                },
            );
        }
    }

    pub fn evict_sessions(&self, ids: &[SessionId]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for id in ids {
            entries.remove(id);
        }
    }

    pub fn evict_user(&self, user_id: UserId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, e| e.user_id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_then_evict() {
        let cache = SessionCache::default();
        cache.put(SessionId(1), "k", UserId(10), Role::User, cache.epoch());
        assert_eq!(cache.get(SessionId(1), "k"), Some((UserId(10), Role::User)));
        cache.evict_sessions(&[SessionId(1)]);
        assert_eq!(cache.get(SessionId(1), "k"), None);
    }

    #[test]
    fn another_secret_does_not_match() {
        let cache = SessionCache::default();
        cache.put(SessionId(1), "k", UserId(10), Role::User, cache.epoch());
        assert_eq!(cache.get(SessionId(1), "other"), None);
        assert_eq!(cache.get(SessionId(1), ""), None);
    }

    #[test]
    fn insert_read_before_an_eviction_is_dropped() {
        let cache = SessionCache::default();
        let epoch = cache.epoch();
        cache.evict_user(UserId(10));
        cache.put(SessionId(1), "k", UserId(10), Role::User, epoch);
        assert_eq!(cache.get(SessionId(1), "k"), None);
    }

    #[test]
    fn evict_user_drops_all_their_sessions() {
        let cache = SessionCache::default();
        cache.put(SessionId(1), "k", UserId(10), Role::User, cache.epoch());
        cache.put(SessionId(2), "k", UserId(10), Role::User, cache.epoch());
        cache.put(SessionId(3), "k", UserId(11), Role::Admin, cache.epoch());
        cache.evict_user(UserId(10));
        assert_eq!(cache.get(SessionId(1), "k"), None);
        assert_eq!(cache.get(SessionId(2), "k"), None);
        assert_eq!(
            cache.get(SessionId(3), "k"),
            Some((UserId(11), Role::Admin))
        );
    }
}
