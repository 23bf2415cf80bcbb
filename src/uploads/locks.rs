//! One request at a time writes to an upload. A client whose connection broke off often comes
//! back before the server has noticed: its new request asks the one still holding the upload to
//! stop (that one keeps and records what it received, see `write`) and waits for it, as tusd
//! does. `HEAD` takes the lock the same way, so the offset it reports includes all that such a
//! request received; only housekeeping (`try_acquire`) never interrupts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct Locks {
    held: Arc<Mutex<HashMap<String, Held>>>,
}

struct Held {
    /// Cancelled when another request wants the upload.
    stop: CancellationToken,
    released: Arc<Notify>,
}

/// The right to change one upload; released when dropped.
pub struct Lock {
    held: Arc<Mutex<HashMap<String, Held>>>,
    id: String,
    stop: CancellationToken,
    released: Arc<Notify>,
}

impl Lock {
    /// Cancelled when another request asks for this upload.
    pub fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        self.released.notify_waiters();
    }
}

impl Locks {
    /// Takes upload `id`'s lock. A request that holds it is asked to stop and is waited for, at
    /// most `wait`; `None` when it did not let go in time.
    pub async fn acquire(&self, id: &str, wait: Duration) -> Option<Lock> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let released = {
                let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
                match held.get(id) {
                    None => return Some(self.insert(&mut held, id)),
                    Some(holder) => {
                        holder.stop.cancel();
                        // Registered before the map is unlocked, so the release cannot be missed.
                        holder.released.clone().notified_owned()
                    }
                }
            };
            tokio::time::timeout_at(deadline, released).await.ok()?;
        }
    }

    /// Takes the lock only if nobody holds it (for housekeeping, which never interrupts).
    pub fn try_acquire(&self, id: &str) -> Option<Lock> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        (!held.contains_key(id)).then(|| self.insert(&mut held, id))
    }

    fn insert(&self, held: &mut HashMap<String, Held>, id: &str) -> Lock {
        let stop = CancellationToken::new();
        let released = Arc::new(Notify::new());
        held.insert(
            id.to_string(),
            Held {
                stop: stop.clone(),
                released: released.clone(),
            },
        );
        Lock {
            held: self.held.clone(),
            id: id.to_string(),
            stop,
            released,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_request_stops_the_first_and_takes_over() {
        let locks = Locks::default();
        let first = locks.acquire("a", Duration::from_secs(1)).await.unwrap();
        assert!(locks.try_acquire("a").is_none());
        let stop = first.stop().clone();
        let second = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.acquire("a", Duration::from_secs(5)).await })
        };
        // The holder hears the request and lets go.
        stop.cancelled().await;
        drop(first);
        let second = second
            .await
            .unwrap()
            .expect("the second request gets the upload");
        assert!(!second.stop().is_cancelled());
        assert!(
            locks.try_acquire("b").is_some(),
            "uploads are locked one by one"
        );
        drop(second);
        assert!(locks.try_acquire("a").is_some(), "released on drop");
    }

    #[tokio::test]
    async fn a_holder_that_does_not_let_go_makes_the_next_one_give_up() {
        let locks = Locks::default();
        let _stuck = locks.acquire("a", Duration::from_secs(1)).await.unwrap();
        assert!(locks
            .acquire("a", Duration::from_millis(50))
            .await
            .is_none());
    }
}
