//! Who is online, and the coalesced `users:online` announcement.
//!
//! Sending the whole list on every join, as the tutorials do, costs O(N²)
//! when N users arrive together. Here a change only marks the list dirty; a
//! task announces the latest list at most once per 200 ms.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use switchboard::Namespace;
use tokio::sync::Notify;

/// The shortest time between two `users:online` announcements.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct Presence {
    /// User name to the number of its connected sockets. Sorted, so the
    /// list goes out in a stable order. Held for one update.
    users: Mutex<BTreeMap<String, usize>>,
    changed: Notify,
}

impl Presence {
    /// Counts one more socket for `name`.
    pub fn add(&self, name: &str) {
        *self.lock().entry(name.to_owned()).or_default() += 1;
        self.changed.notify_one();
    }

    /// Counts one socket less; true when it was the user's last.
    pub fn remove(&self, name: &str) -> bool {
        let mut users = self.lock();
        let Some(count) = users.get_mut(name) else {
            return false;
        };
        *count -= 1;
        let gone = *count == 0;
        if gone {
            users.remove(name);
        }
        drop(users);
        self.changed.notify_one();
        gone
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Announces the list to `ns` after each change, at most once per
    /// [`ANNOUNCE_EVERY`]; changes during the pause are folded into the next
    /// announcement. Runs until its task is aborted.
    pub async fn announce(&self, ns: Namespace) {
        loop {
            // A change made while we pause leaves a permit, so the next
            // round starts at once with the latest list.
            self.changed.notified().await;
            let _ = ns.emit("users:online", &self.names());
            tokio::time::sleep(ANNOUNCE_EVERY).await;
        }
    }
}
