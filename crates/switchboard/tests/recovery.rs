//! Connection state recovery with the official `socket.io-client`: the
//! transport dropped while messages are broadcast, on WebSocket and on
//! polling; an expired window, a forged pid, an evicted offset (at the
//! packet bound and one past it); the middleware refusing a recovered
//! session; and what the store keeps being freed.
//!
//! The scripts (`tests/node/compat/recovery.mjs`) drive a "lab" server
//! through events: a controller client makes the server broadcast while the
//! client under test is away, and asks the server what it saw.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{ConnectError, Event, Io, Recovery, Socket};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use support::{Server, node::node, within};

/// What the lab server remembers across its sockets.
#[derive(Default)]
struct Lab {
    /// Why each socket id left, in the order they left.
    gone: Mutex<HashMap<String, String>>,
    left: Notify,
    deny: AtomicBool,
    origins: AtomicU64,
    streaming: AtomicBool,
    /// The stream task; it ends with the last number it sent.
    stream: Mutex<Option<JoinHandle<u64>>>,
}

/// Socket data: set on a socket's first connect, so it shows whether the
/// data came back with a recovered session.
#[derive(Clone)]
struct Origin(u64);

#[derive(Deserialize)]
struct Burst {
    event: String,
    room: Option<String>,
    from: u64,
    to: u64,
}

/// A server with recovery on and the events the scripts use.
fn lab(recovery: Recovery) -> Io {
    let io = Io::builder().connection_state_recovery(recovery).build();
    let lab = Arc::new(Lab::default());
    let refuse = lab.clone();
    io.use_middleware(move |_: Socket| {
        let deny = refuse.deny.load(Ordering::Acquire);
        async move {
            if deny {
                Err(ConnectError::new("denied").with_data(json!({"why": "recovery test"})))
            } else {
                Ok(())
            }
        }
    });
    let server = io.clone();
    io.on_connect(move |socket| {
        // A direct emit with a string as last argument: with recovery on it
        // carries an offset after it, so the client's last offset stays ours.
        socket.emit("welcome", "hello").unwrap();
        if socket.data::<Origin>().is_none() {
            let n = lab.origins.fetch_add(1, Ordering::Relaxed);
            socket.set_data(Origin(n));
        }
        let lab_gone = lab.clone();
        socket.on_disconnect(move |socket, reason| async move {
            lab_gone
                .gone
                .lock()
                .unwrap()
                .insert(socket.id().to_owned(), reason.to_string());
            lab_gone.left.notify_waiters();
        });
        socket.on(
            "join",
            |socket: Socket, event: Event<(String,)>| async move {
                socket.join(event.data.0);
                event.ack.unwrap().send(&true).unwrap();
            },
        );
        let io = server.clone();
        socket.on("burst", move |_: Socket, event: Event<(Burst,)>| {
            let (burst,) = event.data;
            for i in burst.from..burst.to {
                match &burst.room {
                    Some(room) => io.to(room.clone()).emit(&burst.event, &i).unwrap(),
                    None => io.emit(&burst.event, &i).unwrap(),
                }
            }
            event.ack.unwrap().send(&true).unwrap();
            async {}
        });
        let lab_wait = lab.clone();
        socket.on("gone", move |_: Socket, event: Event<(String,)>| {
            let lab = lab_wait.clone();
            async move {
                let id = event.data.0;
                let reason = within("a socket to leave", async {
                    loop {
                        let waiting = lab.left.notified();
                        if let Some(reason) = lab.gone.lock().unwrap().get(&id) {
                            break reason.clone();
                        }
                        waiting.await;
                    }
                })
                .await;
                event.ack.unwrap().send(&reason).unwrap();
            }
        });
        let io = server.clone();
        socket.on("status", move |_: Socket, event: Event<(String,)>| {
            let status = match io.of("/").socket(&event.data.0) {
                Some(s) => json!({
                    "connected": s.connected(),
                    "recovered": s.recovered(),
                    "rooms": s.rooms(),
                    "origin": s.data::<Origin>().map(|o| o.0),
                }),
                None => json!({"connected": false}),
            };
            event.ack.unwrap().send(&status).unwrap();
            async {}
        });
        let lab_deny = lab.clone();
        socket.on("deny", move |_: Socket, event: Event<(bool,)>| {
            lab_deny.deny.store(event.data.0, Ordering::Release);
            event.ack.unwrap().send(&true).unwrap();
            async {}
        });
        let io = server.clone();
        socket.on("stats", move |_: Socket, event: Event<()>| {
            let stats = io.recovery_stats();
            event
                .ack
                .unwrap()
                .send(&json!({"sessions": stats.sessions, "packets": stats.packets}))
                .unwrap();
            async {}
        });
        let io = server.clone();
        socket.on("await-expired", move |_: Socket, event: Event<()>| {
            let io = io.clone();
            async move {
                // Waiting for time to pass is the point here: the window.
                within("the kept session to expire", async {
                    while io.recovery_stats().sessions > 0 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await;
                event.ack.unwrap().send(&true).unwrap();
            }
        });
        let (io, lab_stream) = (server.clone(), lab.clone());
        socket.on("stream-start", move |_: Socket, event: Event<()>| {
            stream(io.clone(), lab_stream.clone());
            event.ack.unwrap().send(&true).unwrap();
            async {}
        });
        let lab_stop = lab.clone();
        socket.on("stream-stop", move |_: Socket, event: Event<()>| {
            let lab = lab_stop.clone();
            async move {
                lab.streaming.store(false, Ordering::Release);
                let task = lab.stream.lock().unwrap().take().unwrap();
                let last = within("the stream to stop", task).await.unwrap();
                event.ack.unwrap().send(&last).unwrap();
            }
        });
    });
    io
}

/// Broadcasts `seq` 0, 1, 2, ... to everyone until stopped; the task ends
/// with the last number sent.
fn stream(io: Io, lab: Arc<Lab>) {
    lab.streaming.store(true, Ordering::Release);
    let flag = lab.clone();
    let task = tokio::spawn(async move {
        let mut i: u64 = 0;
        loop {
            io.emit("seq", &i).unwrap();
            if !flag.streaming.load(Ordering::Acquire) {
                return i;
            }
            i += 1;
            // Paces the stream so a drop happens in the middle of it; not a
            // synchronisation, the script waits for events.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    *lab.stream.lock().unwrap() = Some(task);
}

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
