//! The "lab" server of the recovery tests (`recovery.rs`,
//! `recovery_storm.rs`): recovery on, and events through which a controller
//! client makes it broadcast while the client under test is away, and asks
//! what it saw (`tests/node/compat/recovery*.mjs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use switchboard::{ConnectError, Event, Io, IoBuilder, Placeholder, Recovery, Socket};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::within;

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
    /// Each packet also carries one attachment: the byte `i`.
    #[serde(default)]
    binary: bool,
}

/// A server with recovery on and the events the scripts use.
pub fn lab(recovery: Recovery) -> Io {
    lab_on(Io::builder(), recovery)
}

/// The same, from a builder with other settings (the parser, say).
pub fn lab_on(builder: IoBuilder, recovery: Recovery) -> Io {
    let io = builder.connection_state_recovery(recovery).build();
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
                let to = match &burst.room {
                    Some(room) => io.to(room.clone()),
                    None => io.broadcast(),
                };
                if burst.binary {
                    let byte = Bytes::from(vec![i as u8]);
                    let args = (i, Placeholder(0));
                    to.binary(vec![byte])
                        .emit_args(&burst.event, &args)
                        .unwrap();
                } else {
                    to.emit(&burst.event, &i).unwrap();
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
        socket.on("stream-start", move |_: Socket, event: Event<(u64,)>| {
            let pace = Duration::from_millis(event.data.0);
            stream(io.clone(), lab_stream.clone(), pace);
            event.ack.unwrap().send(&true).unwrap();
            async {}
        });
        let io = server.clone();
        socket.on("recovered-count", move |_: Socket, event: Event<()>| {
            let sockets = io.of("/").sockets();
            let n = sockets.iter().filter(|s| s.recovered()).count();
            event.ack.unwrap().send(&n).unwrap();
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
fn stream(io: Io, lab: Arc<Lab>, pace: Duration) {
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
            tokio::time::sleep(pace).await;
        }
    });
    *lab.stream.lock().unwrap() = Some(task);
}
