//! Presence with 2,000 users joining at once (issue 5): `users:online` is
//! coalesced to at most one announcement per 200 ms, carrying the latest
//! list, instead of one per join (`tests/node/chat/presence_storm.mjs`:
//! 2,000 official socket.io-clients over WebSocket, and an observer).
//!
//! Needs Node.js and npm; without them a local run skips loudly, and with
//! `CI` set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::time::Duration;

use switchboard_chat::presence::ANNOUNCE_EVERY;

use support::{Chat, memory, node, result};

const USERS: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_online_is_coalesced_when_2000_users_join_at_once() {
    let Some(node) = node() else { return };
    let chat = Chat::start(memory()).await;
    let users = USERS.to_string();
    // 2,000 clients in one Node process, each receiving every join: give
    // the script longer than the default guard before calling it hung.
    let run = node
        .start("chat/presence_storm.mjs", &[&chat.url, &users])
        .guard(Duration::from_secs(300))
        .finish()
        .await;
    run.assert_success();
    chat.stop().await;

    let storm = result(&run);
    assert_eq!(storm["users"].as_u64(), Some(USERS));
    let announcements = storm["announcements"].as_u64().unwrap();
    let elapsed_ms = storm["elapsedMs"].as_f64().unwrap();
    // The observer measured from before the first join was sent until the
    // full list arrived, so every counted announcement was made within that
    // time, at least ANNOUNCE_EVERY apart: at most elapsed / 200 ms + 1 of
    // them, plus one more for an announcement of the list before the storm
    // that was still on its way.
    let every_ms = ANNOUNCE_EVERY.as_millis() as f64;
    let bound = (elapsed_ms / every_ms).floor() as u64 + 2;
    eprintln!(
        "{USERS} users joined; the observer got {announcements} users:online in {elapsed_ms:.0} ms \
         (bound {bound})"
    );
    assert!(
        announcements <= bound,
        "{announcements} users:online in {elapsed_ms:.0} ms: more than one per {every_ms} ms"
    );
    assert!(
        announcements < USERS / 10,
        "coalesced: far fewer announcements than joins ({announcements})"
    );
}
