//! Who is online, and the coalesced `users:online` announcement.
//!
//! Sending the whole list on every join, as the tutorials do, costs O(N²)
//! when N users arrive together. Here a change only marks the list dirty; a
//! task announces the latest list at most once per 200 ms.
//!
//! In a cluster (`--redis`), each server tells the others which users it
//! has (server-side emits, on every change and every [`REFRESH_EVERY`]),
//! and announces the union to its own clients. A server that stops telling
//! is forgotten after [`FORGET_AFTER`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard::Namespace;
use tokio::sync::Notify;

use crate::chat::Chat;

/// The shortest time between two `users:online` announcements.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct Presence {
    /// User name to the number of its connected sockets. Sorted, so the
    /// list goes out in a stable order. Held for one update.
    users: Mutex<BTreeMap<String, usize>>,
    /// The users of the other servers of a cluster, by server id, with when
    /// that server last told us. Held for one update.
    others: Mutex<HashMap<String, (Vec<String>, Instant)>>,
    changed: Notify,
    /// This server's own users changed: tell the other servers.
    changed_here: Notify,
}

impl Presence {
    /// Counts one more socket for `name`.
    pub fn add(&self, name: &str) {
        *self.lock().entry(name.to_owned()).or_default() += 1;
        self.changed.notify_one();
        self.changed_here.notify_one();
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
        self.changed_here.notify_one();
        gone
    }

    /// Everyone online, on this server and the others.
    pub fn names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.lock().keys().cloned().collect();
        for (users, _) in self.lock_others().values() {
            names.extend(users.iter().cloned());
        }
        names.into_iter().collect()
    }

    pub fn count(&self) -> usize {
        self.names().len()
    }

    fn lock_others(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<String>, Instant)>> {
        self.others.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What server `from` has; true when it was not known yet.
    fn set_others(&self, from: &str, users: Vec<String>) -> bool {
        let before = self
            .lock_others()
            .insert(from.to_owned(), (users.clone(), Instant::now()));
        let changed = before.as_ref().is_none_or(|(old, _)| *old != users);
        if changed {
            self.changed.notify_one();
        }
        before.is_none()
    }

    /// Forgets servers not heard from for `after`.
    fn forget_silent(&self, after: Duration) {
        let mut others = self.lock_others();
        let before = others.len();
        others.retain(|_, (_, seen)| seen.elapsed() < after);
        if others.len() != before {
            self.changed.notify_one();
        }
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
            // Local: in a cluster every server announces to its own clients.
            let _ = ns.local().emit("users:online", &self.names());
            tokio::time::sleep(ANNOUNCE_EVERY).await;
        }
    }
}

/// How often a server of a cluster repeats its users to the others, even
/// without change, so that one that joins or missed a message catches up.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// A server not heard from for this long has left the cluster.
pub const FORGET_AFTER: Duration = Duration::from_secs(15);

const SYNC_EVENT: &str = "presence:sync";

/// Shares this server's users with the other servers of a cluster and
/// takes theirs; runs until its task is aborted.
pub async fn share(chat: Arc<Chat>, ns: Namespace, server: String) {
    let taker = chat.clone();
    ns.on_server_side_emit(SYNC_EVENT, move |args, _| {
        let Some(from) = args.first().and_then(Value::as_str) else {
            return;
        };
        let users = args
            .get(1)
            .and_then(Value::as_array)
            .map(|u| {
                u.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if taker.presence.set_others(from, users) {
            // A server we did not know: it does not know our users either.
            taker.presence.changed_here.notify_one();
        }
    });
    loop {
        let ours: Vec<String> = chat.presence.lock().keys().cloned().collect();
        if let Err(error) = ns
            .server_side_emit(SYNC_EVENT, &(server.as_str(), ours))
            .await
        {
            tracing::debug!(%error, "cannot share presence with the other servers");
        }
        chat.presence.forget_silent(FORGET_AFTER);
        tokio::time::sleep(ANNOUNCE_EVERY).await;
        tokio::select! {
            () = chat.presence.changed_here.notified() => {}
            () = tokio::time::sleep(REFRESH_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_union_of_every_server_and_silent_servers_forgotten() {
        let presence = Presence::default();
        presence.add("ann");
        assert!(presence.set_others("s1", vec!["bob".into(), "ann".into()]));
        assert!(!presence.set_others("s1", vec!["bob".into(), "ann".into()]));
        assert!(presence.set_others("s2", vec!["cat".into()]));
        assert_eq!(presence.names(), ["ann", "bob", "cat"]);
        assert_eq!(presence.count(), 3);
        presence.forget_silent(FORGET_AFTER);
        assert_eq!(presence.count(), 3, "heard from just now");
        presence.forget_silent(Duration::ZERO);
        assert_eq!(presence.names(), ["ann"], "only this server's user is left");
    }
}
