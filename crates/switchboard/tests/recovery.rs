//! Connection state recovery with the official `socket.io-client`: the
//! transport dropped while messages are broadcast, on WebSocket and on
//! polling; an expired window, a forged pid, an evicted offset (at the
//! packet bound and one past it); the middleware refusing a recovered
//! session; and what the store keeps being freed.
//!
//! The scripts (`tests/node/compat/recovery.mjs`) drive the "lab" server
//! (`support/recovery_lab.rs`) through events: a controller client makes
//! the server broadcast while the client under test is away, and asks the
//! server what it saw.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::time::Duration;

use serde_json::Value;
use switchboard::{Event, Io, Recovery, Socket};

use support::recovery_lab::{lab, lab_on};
use support::{Server, node::node, within};

async fn scenario(io: &Io, args: &[&str]) {
    let Some(node) = node() else { return };
    let server = Server::start(io).await;
    let mut all = vec![server.url.as_str()];
    all.extend_from_slice(args);
    node.run("recovery.mjs", &all).await.assert_success();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_over_websocket() {
    let io = lab(Recovery::new());
    scenario(&io, &["websocket", "recover"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_over_polling() {
    let io = lab(Recovery::new());
    scenario(&io, &["polling", "recover"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_an_upgrade() {
    let io = lab(Recovery::new());
    scenario(&io, &["upgrade", "recover"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_in_the_middle_of_a_stream_over_websocket() {
    let io = lab(Recovery::new());
    scenario(&io, &["websocket", "stream"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_in_the_middle_of_a_stream_over_polling() {
    let io = lab(Recovery::new());
    scenario(&io, &["polling", "stream"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_window_gives_a_fresh_session() {
    let io = lab(Recovery::new().max_disconnection_duration(Duration::from_millis(300)));
    scenario(&io, &["websocket", "expired"]).await;
    assert_eq!(io.recovery_stats().sessions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_takes_over_a_session_whose_connection_looks_alive() {
    let io = lab(Recovery::new());
    scenario(&io, &["websocket", "takeover"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcasts_are_replayed_with_their_attachments() {
    let io = lab(Recovery::new());
    scenario(&io, &["polling", "binary"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_with_the_msgpack_parser() {
    let builder = Io::builder().parser(switchboard::Parser::MsgPack);
    let io = lab_on(builder, Recovery::new());
    scenario(&io, &["msgpack", "recover"]).await;
    let io = lab_on(
        Io::builder().parser(switchboard::Parser::MsgPack),
        Recovery::new(),
    );
    scenario(&io, &["msgpack", "binary"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_pid_gives_a_fresh_session() {
    let io = lab(Recovery::new());
    scenario(&io, &["websocket", "forged"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_refusing_a_recovered_session() {
    let io = lab(Recovery::new());
    scenario(&io, &["websocket", "refused"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_middlewares_lets_a_recovered_session_through() {
    let io = lab(Recovery::new().skip_middlewares(true));
    scenario(&io, &["websocket", "skipped"]).await;
}

/// `max_packets` 10: a client 9 packets behind (its own last one still kept)
/// recovers; 10 behind (its last one evicted) gets a fresh session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_bound_at_the_limit_and_one_past_it() {
    let io = lab(Recovery::new().max_packets(10));
    scenario(&io, &["websocket", "bound", "10"]).await;
}

/// A replay, with the CONNECT reply, may take half the client's queue: with
/// 20 packets queued at most, 9 missed packets recover and 10 give a fresh
/// session, not a partial replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_does_not_fit_half_the_queue_gives_a_fresh_session() {
    let builder = Io::builder().engine(|e| e.max_queued_packets(20));
    let io = lab_on(builder, Recovery::new());
    scenario(&io, &["websocket", "bound", "10", "r"]).await;
}

/// Without recovery the CONNECT reply has no pid and events no offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default() {
    let io = Io::new();
    io.on_connect(|socket| {
        socket.emit("welcome", "hello").unwrap();
        let io = socket.namespace();
        socket.on("burst", move |_: Socket, event: Event<(Value,)>| {
            io.emit("tick", &0).unwrap();
            event.ack.unwrap().send(&true).unwrap();
            async {}
        });
    });
    scenario(&io, &["websocket", "off"]).await;
    assert_eq!(io.recovery_stats(), switchboard::RecoveryStats::default());
}

/// Sessions and packets are dropped once the window has passed, and the
/// store's sweeper stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_frees_what_expired() {
    let io = lab(Recovery::new().max_disconnection_duration(Duration::from_millis(300)));
    scenario(&io, &["websocket", "leave"]).await;
    within("the store to empty", async {
        loop {
            let stats = io.recovery_stats();
            if stats.sessions == 0 && stats.packets == 0 && stats.bytes == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}
