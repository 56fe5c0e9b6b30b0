//! The client's outgoing bounds (`max_queued_packets`, `max_queued_bytes`)
//! at the limit and one past it, against both servers: while connected
//! (the connection's queue) and while reconnecting (the namespace's
//! buffer). What was accepted arrives, in order; what was refused never
//! does. Volatile emits: dropped while something waits to be written or
//! while reconnecting.
//!
//! The emits run back to back on the test's one thread, where the
//! connection's task also runs: nothing drains the queue between them, so
//! the bound is reached exactly, whatever the machine's speed.
#![allow(clippy::unwrap_used, reason = "test code")]

#[macro_use]
mod support;

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use switchboard_client::{Client, ClientBuilder, ClientError, Event, Socket, Transport};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use support::{Kind, Server, next};

/// One `emit-back` with a number, as the JSON parser sends it: an
/// Engine.IO message of this many bytes.
const ONE_EMIT: &str = r#"42["emit-back",1]"#;

/// A WebSocket client whose `back` events' first arguments land in the
/// returned channel, and whose connects and disconnects in the second.
fn client(
    url: &str,
) -> (
    ClientBuilder,
    mpsc::UnboundedReceiver<Value>,
    mpsc::UnboundedReceiver<&'static str>,
) {
    let (back, backs) = mpsc::unbounded_channel();
    let (note, notes) = mpsc::unbounded_channel();
    let on_disconnect = note.clone();
    let builder = Client::builder(url)
        .transports(&[Transport::WebSocket])
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100))
        .on("back", move |_: &Socket, ev: &Event| {
            let (first,): (Value,) = ev.args().unwrap();
            let _ = back.send(first);
        })
        .on_connect(move |_: &Socket| {
            let _ = note.send("connect");
        })
        .on_disconnect(move |_: &Socket, _: &str| {
            let _ = on_disconnect.send("disconnect");
        });
    (builder, backs, notes)
}

/// Emits `emit-back` with 1, 2, ... until one is refused; returns how many
/// were taken (without awaiting, so nothing is drained meanwhile).
fn emit_until_refused(socket: &Socket) -> usize {
    for n in 1..=100 {
        match socket.emit("emit-back", &n) {
            Ok(()) => {}
            Err(ClientError::QueueFull) => return n - 1,
            Err(e) => panic!("emit {n}: {e}"),
        }
    }
    panic!("100 emits taken; the bound was not applied")
}

/// The accepted emits arrive in order, then the marker sent after the
/// queue drained: the refused one was never sent.
async fn arrive_in_order(
    socket: &Socket,
    backs: &mut mpsc::UnboundedReceiver<Value>,
    taken: usize,
) {
    for n in 1..=taken {
        assert_eq!(next("an accepted emit", backs).await, json!(n));
    }
    // Once the connection's task has run, there is room again.
    let echoed: String = socket.emit_with_ack("echo", &"drained").await.unwrap();
    assert_eq!(echoed, "drained");
    socket.emit("emit-back", &"marker").unwrap();
    assert_eq!(next("the marker", backs).await, json!("marker"));
}

async fn bounded_while_connected(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    // By messages, 3 taken and the 4th refused; by bytes, exactly two
    // emits' bytes, so the third is refused.
    let by_messages: fn(ClientBuilder) -> ClientBuilder = |b| b.max_queued_packets(3);
    let by_bytes: fn(ClientBuilder) -> ClientBuilder = |b| b.max_queued_bytes(2 * ONE_EMIT.len());
    for (bound, taken) in [(by_messages, 3), (by_bytes, 2)] {
        let (builder, mut backs, _) = client(&server.url());
        let socket = bound(builder).connect().await.unwrap();
        assert_eq!(emit_until_refused(&socket), taken);
        arrive_in_order(&socket, &mut backs, taken).await;
        socket.disconnect().await;
    }
    server.stop().await;
}
both!(bounded_while_connected: bounded_while_connected_switchboard, bounded_while_connected_node);

async fn bounded_while_reconnecting(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let addr = server.addr();
    let (builder, mut backs, mut notes) = client(&server.url());
    let socket = builder.max_queued_packets(3).connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect");
    server.stop().await;
    assert_eq!(next("disconnect", &mut notes).await, "disconnect");
    // Buffered for the next connection: 3 taken, the 4th refused.
    assert_eq!(emit_until_refused(&socket), 3);
    let server = Server::start_on(kind, addr).await.unwrap();
    assert_eq!(next("reconnect", &mut notes).await, "connect");
    arrive_in_order(&socket, &mut backs, 3).await;
    socket.disconnect().await;
    server.stop().await;
}
both!(bounded_while_reconnecting: bounded_while_reconnecting_switchboard, bounded_while_reconnecting_node);

async fn volatile(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let addr = server.addr();
    let (builder, mut backs, mut notes) = client(&server.url());
    let socket = builder.connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect");
    // The queue is empty: taken. Then 1 waits, so 2 is dropped; a plain
    // emit still queues behind it.
    assert!(socket.emit_volatile("emit-back", &1).unwrap());
    assert!(!socket.emit_volatile("emit-back", &2).unwrap());
    socket.emit("emit-back", &3).unwrap();
    assert_eq!(next("the volatile emit", &mut backs).await, json!(1));
    assert_eq!(next("the plain emit", &mut backs).await, json!(3));
    // Reconnecting: a volatile emit is dropped, a plain one buffered.
    server.stop().await;
    assert_eq!(next("disconnect", &mut notes).await, "disconnect");
    assert!(!socket.emit_volatile("emit-back", &4).unwrap());
    socket.emit("emit-back", &5).unwrap();
    let server = Server::start_on(kind, addr).await.unwrap();
    assert_eq!(next("reconnect", &mut notes).await, "connect");
    assert_eq!(next("the buffered emit", &mut backs).await, json!(5));
    assert!(socket.emit_volatile("emit-back", &6).unwrap());
    assert_eq!(next("a volatile emit again", &mut backs).await, json!(6));
    socket.disconnect().await;
    assert!(matches!(
        socket.emit_volatile("emit-back", &7),
        Err(ClientError::Disconnected)
    ));
    server.stop().await;
}
both!(volatile: volatile_switchboard, volatile_node);

/// Events in the flood tests' one burst, and the Engine.IO handshake their
/// hand-written servers answer with.
const FLOOD: usize = 2_000;
const FLOOD_OPEN: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// A client of the flood tests: bound of 300 messages, and a `q` handler
/// that acks every event; a refused ack lands in the returned channel.
async fn flooded_client(
    url: &str,
    transport: Transport,
) -> (Socket, mpsc::UnboundedReceiver<ClientError>) {
    let (refused, refusals) = mpsc::unbounded_channel();
    let socket = Client::builder(url)
        .transports(&[transport])
        .max_queued_packets(300)
        .on("q", move |_: &Socket, ev: &Event| {
            if let Err(e) = ev.ack_args(&()) {
                let _ = refused.send(e);
            }
        })
        .connect()
        .await
        .unwrap();
    (socket, refusals)
}

/// A flood of events asking for acks, read in one burst: the handler's
/// acks are written every few hundred messages, so with a bound of 300
/// none of 2,000 is refused, and the server gets every one.
#[tokio::test(flavor = "current_thread")]
async fn acks_to_a_flood_stay_within_the_bound() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        ws.send(Message::text(FLOOD_OPEN)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("40"));
        ws.send(Message::text(r#"40{"sid":"a"}"#)).await.unwrap();
        // Queued, then written at once: the client reads them as a burst.
        for id in 0..FLOOD {
            ws.feed(Message::text(format!(r#"42{id}["q"]"#)))
                .await
                .unwrap();
        }
        ws.flush().await.unwrap();
        let mut acked = 0;
        while acked < FLOOD {
            let message = ws.next().await.unwrap().unwrap();
            assert_eq!(message, Message::text(format!("43{acked}[]")));
            acked += 1;
        }
        acked
    });
    let (socket, mut refusals) = flooded_client(&url, Transport::WebSocket).await;
    let acked = support::within("every ack", server).await.unwrap();
    assert_eq!(acked, FLOOD);
    assert!(refusals.try_recv().is_err());
    socket.disconnect().await;
}

/// One request of the hand-written polling server below: the request
/// line's method and target, and the body.
async fn read_request(
    reader: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, String, String)> {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, target, String::from_utf8(body).ok()?))
}

/// The polling twin of the test above: one long-poll answer carries 2,000
/// events that ask for acks, against a bound of 300. The client posts
/// what its handlers queued while it reads the payload, so every ack is
/// taken and reaches the server, in order, and never two POSTs at once.
#[tokio::test(flavor = "current_thread")]
async fn acks_to_a_flood_on_polling_stay_within_the_bound() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (acks, mut acked) = mpsc::unbounded_channel::<String>();
    let connected = Arc::new(tokio::sync::Notify::new());
    let gets = Arc::new(AtomicUsize::new(0));
    // POSTs being answered now, and the most there ever were.
    let (posting, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let most_seen = most.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acks, connected, gets) = (acks.clone(), connected.clone(), gets.clone());
            let (posting, most) = (posting.clone(), most.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = tokio::io::BufReader::new(read);
                while let Some((method, target, body)) = read_request(&mut reader).await {
                    let answer = if !target.contains("sid=") {
                        FLOOD_OPEN.to_owned()
                    } else if method == "POST" {
                        most.fetch_max(
                            posting.fetch_add(1, Ordering::SeqCst) + 1,
                            Ordering::SeqCst,
                        );
                        // Lets the client's task run before the answer, so
                        // a second POST it sent at once would be counted.
                        for _ in 0..4 {
                            tokio::task::yield_now().await;
                        }
                        for packet in body.split('\u{1e}') {
                            if packet == "40" {
                                connected.notify_one();
                            } else {
                                acks.send(packet.to_owned()).unwrap();
                            }
                        }
                        "ok".to_owned()
                    } else {
                        match gets.fetch_add(1, Ordering::SeqCst) {
                            0 => {
                                connected.notified().await;
                                r#"40{"sid":"a"}"#.to_owned()
                            }
                            1 => (0..FLOOD)
                                .map(|id| format!(r#"42{id}["q"]"#))
                                .collect::<Vec<_>>()
                                .join("\u{1e}"),
                            // Later polls wait, as a server with nothing to send.
                            _ => std::future::pending().await,
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    write.write_all(response.as_bytes()).await.unwrap();
                    if method == "POST" {
                        posting.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let (socket, mut refusals) = flooded_client(&url, Transport::Polling).await;
    for id in 0..FLOOD {
        tokio::select! {
            biased;
            Some(e) = refusals.recv() => panic!("ack {id} or a later one refused: {e}"),
            ack = next("an ack", &mut acked) => assert_eq!(ack, format!("43{id}[]")),
        }
    }
    assert!(refusals.try_recv().is_err());
    assert_eq!(most_seen.load(Ordering::SeqCst), 1, "one POST at a time");
    socket.disconnect().await;
}
