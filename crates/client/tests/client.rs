//! switchboard-client against both servers of the contract in
//! `tests/node/client/server.mjs`: switchboard in-process and Node's
//! socket.io 4.8. Every scenario runs against each (`*_switchboard`,
//! `*_node`).
#![allow(clippy::unwrap_used, reason = "test code")]

#[macro_use]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_client::{
    AckError, Client, ClientBuilder, ClientError, Event, Socket, Transport, placeholder,
};
use tokio::sync::mpsc;

use support::{GUARD, Kind, Server, next, server_auth, until_transport, within};

/// What a handler saw: the event's name, its arguments' JSON, attachments.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    name: String,
    args: Value,
    binary: Vec<Bytes>,
}

type Inbox = mpsc::UnboundedReceiver<Seen>;

/// A builder for `url` whose events named in `names` land in the inbox,
/// with quick reconnection so the reconnection scenarios are short.
fn client(url: &str, names: &[&str]) -> (ClientBuilder, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut builder = Client::builder(url)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100));
    for name in names {
        let tx = tx.clone();
        builder = builder.on(name, move |_: &Socket, ev: &Event| {
            let _ = tx.send(seen(ev));
        });
    }
    (builder, rx)
}

fn seen(ev: &Event) -> Seen {
    Seen {
        name: ev.name().to_owned(),
        args: serde_json::from_str(ev.args_json()).unwrap(),
        binary: ev.binary().to_vec(),
    }
}

async fn next_named(what: &str, inbox: &mut Inbox) -> Seen {
    let seen = next(what, inbox).await;
    assert_eq!(seen.name, what, "{seen:?}");
    seen
}

async fn connect_over(kind: Kind, transports: &[Transport], expected: &str) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["hello"]);
    let socket = builder.transports(transports).connect().await.unwrap();
    assert!(socket.connected());
    let id = socket.id().unwrap();
    let hello = next_named("hello", &mut inbox).await;
    assert_eq!(hello.args[0]["id"], json!(id));
    let echoed: Value = socket
        .emit_with_ack("echo", &json!({"a": [1, "é"]}))
        .await
        .unwrap();
    assert_eq!(echoed, json!({"a": [1, "é"]}));
    until_transport(&socket, expected).await;
    let mine = socket.io().transport().unwrap();
    assert_eq!(mine.as_str(), expected);
    // Still works after the upgrade, on the same session.
    let echoed: u32 = socket.emit_with_ack("echo", &7).await.unwrap();
    assert_eq!((echoed, socket.id().unwrap()), (7, id));
    socket.disconnect().await;
    assert!(!socket.connected());
    assert!(!socket.io().is_open());
    server.stop().await;
}

both!(connect_over(&[Transport::WebSocket], "websocket"): websocket_switchboard, websocket_node);

both!(connect_over(&[Transport::Polling], "polling"): polling_switchboard, polling_node);

both!(connect_over(&[Transport::Polling, Transport::WebSocket], "websocket"): polling_then_upgrade_switchboard, polling_then_upgrade_node);

async fn namespaces(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, _inbox) = client(&server.url(), &[]);
    let main = builder.connect().await.unwrap();
    let (tx, mut welcome) = mpsc::unbounded_channel();
    let admin = main
        .io()
        .socket_with("/admin", None, move |s| {
            s.on("welcome", move |_, ev| {
                let _ = tx.send(seen(ev));
            });
        })
        .await
        .unwrap();
    assert_eq!(admin.nsp(), "/admin");
    assert_eq!(
        next_named("welcome", &mut welcome).await.args,
        json!(["admin"])
    );
    let (a, b): (String, String) = tokio::try_join!(
        admin.emit_with_ack("echo", "to admin"),
        main.emit_with_ack("echo", "to main"),
    )
    .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("to admin", "to main"));
    assert_ne!(admin.id(), main.id());
    // Leaving one namespace keeps the connection and the other.
    admin.disconnect().await;
    assert!(main.io().is_open());
    let c: String = main.emit_with_ack("echo", "still").await.unwrap();
    assert_eq!(c, "still");
    main.disconnect().await;
    server.stop().await;
}
both!(namespaces: namespaces_switchboard, namespaces_node);

async fn emit_both_ways(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["back"]);
    let socket = builder.connect().await.unwrap();
    socket
        .emit_args("emit-back", &(1, "two", json!({"three": [3]})))
        .unwrap();
    socket.emit("emit-back", &json!({"one": 1})).unwrap();
    socket.emit_args("emit-back", &()).unwrap();
    let back = next_named("back", &mut inbox).await;
    assert_eq!(back.args, json!([1, "two", {"three": [3]}]));
    assert_eq!(
        next_named("back", &mut inbox).await.args,
        json!([{"one": 1}])
    );
    assert_eq!(next_named("back", &mut inbox).await.args, json!([]));
    socket.disconnect().await;
    server.stop().await;
}
both!(emit_both_ways: emit_both_ways_switchboard, emit_both_ways_node);

async fn acks_both_ways(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["answer"]);
    let socket = builder
        .on("question", |_: &Socket, ev: &Event| {
            let (n,): (u64,) = ev.args().unwrap();
            assert!(ev.wants_ack());
            ev.ack(&(n * 2)).unwrap();
        })
        .connect()
        .await
        .unwrap();
    // Client to server: every argument comes back.
    let reply = socket
        .emit_with_ack_raw("echo", &(1, "b", [true]), Vec::new(), GUARD)
        .await
        .unwrap();
    assert_eq!(reply.args::<Value>().unwrap(), json!([1, "b", [true]]));
    assert_eq!(reply.first::<u32>().unwrap(), 1);
    // Server to client: the server asks, the handler above answers.
    socket.emit("ask", &21).unwrap();
    assert_eq!(next_named("answer", &mut inbox).await.args, json!([42]));
    // No answer: the timeout.
    let never = socket
        .emit_with_ack_timeout::<Value, _>("never", &1, Duration::from_millis(50))
        .await;
    assert!(matches!(never, Err(AckError::Timeout)), "{never:?}");
    // The socket is fine after a timeout.
    let n: u8 = socket.emit_with_ack("echo", &5).await.unwrap();
    assert_eq!(n, 5);
    socket.disconnect().await;
    server.stop().await;
}
both!(acks_both_ways: acks_both_ways_switchboard, acks_both_ways_node);

async fn binary_both_ways(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["back"]);
    let socket = builder.connect().await.unwrap();
    let blob = Bytes::from_static(&[0, 1, 2, 0xfe, 0xff]);
    let big = Bytes::from(vec![7u8; 100_000]);
    let reply = socket
        .emit_with_ack_raw(
            "echo",
            &json!(["x", placeholder(0), {"nested": placeholder(1)}]),
            vec![blob.clone(), big.clone()],
            GUARD,
        )
        .await
        .unwrap();
    assert_eq!(reply.binary(), [blob.clone(), big.clone()]);
    let args: Value = reply.args().unwrap();
    assert_eq!(args[0], "x");
    assert_eq!(args[1], placeholder(0));
    assert_eq!(args[2]["nested"], placeholder(1));
    socket
        .emit_binary("emit-back", &json!([placeholder(0), 9]), vec![blob.clone()])
        .unwrap();
    let back = next_named("back", &mut inbox).await;
    assert_eq!(back.binary, [blob]);
    assert_eq!(back.args, json!([placeholder(0), 9]));
    socket.disconnect().await;
    server.stop().await;
}
both!(binary_both_ways: binary_both_ways_switchboard, binary_both_ways_node);

/// The client acknowledges the server's question with an attachment; the
/// server sends that answer back as an event.
async fn binary_ack_from_the_client(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["answer"]);
    let blob = Bytes::from_static(b"\x00answer\xff");
    let reply = blob.clone();
    let socket = builder
        .on("question", move |_: &Socket, ev: &Event| {
            ev.ack_binary(&json!([placeholder(0)]), vec![reply.clone()])
                .unwrap();
        })
        .connect()
        .await
        .unwrap();
    socket.emit("ask", &1).unwrap();
    let answer = next_named("answer", &mut inbox).await;
    assert_eq!(answer.args, json!([placeholder(0)]));
    assert_eq!(answer.binary, [blob]);
    socket.disconnect().await;
    server.stop().await;
}
both!(binary_ack_from_the_client: binary_ack_from_the_client_switchboard, binary_ack_from_the_client_node);

async fn middleware_refusal(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    // As the first namespace: connect itself fails.
    let (builder, _) = client(&server.url(), &[]);
    let refused = builder.namespace("/private").connect().await;
    match refused {
        Err(ClientError::ConnectRefused { message, data }) => {
            assert_eq!(message, "unauthorized");
            assert_eq!(data, Some(json!({"code": "E_AUTH"})));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // As a second namespace: refused, the connection stays.
    let (builder, _) = client(&server.url(), &[]);
    let main = builder.connect().await.unwrap();
    let refused = main.io().socket("/private").await;
    assert!(
        matches!(&refused, Err(ClientError::ConnectRefused { message, .. }) if message == "unauthorized"),
        "{refused:?}"
    );
    let private = main
        .io()
        .socket_with("/private", Some(json!({"token": "secret"})), |_| {})
        .await
        .unwrap();
    assert_eq!(server_auth(&private).await, json!({"token": "secret"}));
    private.disconnect().await;
    main.disconnect().await;
    server.stop().await;
}
both!(middleware_refusal: middleware_refusal_switchboard, middleware_refusal_node);

/// `auth_with` is asked at every CONNECT: the server sees a new value
/// after a reconnection (a token refreshed meanwhile), and a namespace
/// opened later asks too.
async fn auth_provider(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, _) = client(&server.url(), &[]);
    let (builder, mut notes) = lifecycle(builder);
    let asked = Arc::new(AtomicU32::new(0));
    let counter = asked.clone();
    let socket = builder
        .auth_with(move || json!({"token": counter.fetch_add(1, Ordering::SeqCst) + 1}))
        .connect()
        .await
        .unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    assert_eq!(server_auth(&socket).await, json!({"token": 1}));
    socket.emit_args("close-transport", &()).unwrap();
    assert!(
        next("disconnect", &mut notes)
            .await
            .starts_with("disconnect")
    );
    assert_eq!(
        next("reconnect", &mut notes).await,
        "connect recovered=false"
    );
    assert_eq!(server_auth(&socket).await, json!({"token": 2}));
    let admin = socket.io().socket("/admin").await.unwrap();
    assert_eq!(server_auth(&admin).await, json!({"token": 3}));
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    admin.disconnect().await;
    socket.disconnect().await;
    // A provider that panics: logged, and the CONNECT goes without auth.
    let (builder, _) = client(&server.url(), &[]);
    let socket = builder
        .auth_with(|| panic!("no token"))
        .connect()
        .await
        .unwrap();
    assert_eq!(server_auth(&socket).await, json!({}));
    socket.disconnect().await;
    server.stop().await;
}
both!(auth_provider: auth_provider_switchboard, auth_provider_node);

/// Connection and disconnection notes, in order.
fn lifecycle(builder: ClientBuilder) -> (ClientBuilder, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let on_disconnect = tx.clone();
    let builder = builder
        .on_connect(move |s: &Socket| {
            let _ = tx.send(format!("connect recovered={}", s.recovered()));
        })
        .on_disconnect(move |_: &Socket, reason: &str| {
            let _ = on_disconnect.send(format!("disconnect {reason}"));
        });
    (builder, rx)
}

/// The connection's reconnection notices, in order.
fn reconnections(builder: ClientBuilder) -> (ClientBuilder, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (error, reconnected, failed) = (tx.clone(), tx.clone(), tx.clone());
    let builder = builder
        .on_reconnect_attempt(move |n| {
            let _ = tx.send(format!("attempt {n}"));
        })
        .on_reconnect_error(move |e: &ClientError| {
            let _ = error.send(format!("error {}", matches!(e, ClientError::Io(_))));
        })
        .on_reconnect(move |n| {
            let _ = reconnected.send(format!("reconnected {n}"));
        })
        .on_reconnect_failed(move || {
            let _ = failed.send("failed".to_owned());
        });
    (builder, rx)
}

async fn server_disconnect(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, _) = client(&server.url(), &[]);
    let (builder, mut notes) = lifecycle(builder);
    let socket = builder.connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    socket.emit_args("disconnect-me", &()).unwrap();
    assert_eq!(
        next("disconnect", &mut notes).await,
        "disconnect io server disconnect"
    );
    assert!(!socket.connected());
    assert!(matches!(
        socket.emit("x", &1),
        Err(ClientError::Disconnected)
    ));
    // The last namespace gone, the connection closes.
    socket.io().close_and_wait().await;
    server.stop().await;
}
both!(server_disconnect: server_disconnect_switchboard, server_disconnect_node);

async fn reconnect_after_transport_drop(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, _) = client(&server.url(), &[]);
    let (builder, mut notes) = lifecycle(builder);
    let socket = builder.connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    let first_id = socket.id().unwrap();
    socket.emit_args("close-transport", &()).unwrap();
    assert_eq!(
        next("disconnect", &mut notes).await,
        "disconnect transport close"
    );
    // Emitted while disconnected: buffered, sent after the reconnection.
    socket.emit_args("emit-back", &("buffered",)).unwrap();
    assert!(next("reconnect", &mut notes).await.starts_with("connect"));
    assert!(socket.connected());
    assert_ne!(socket.id().unwrap(), first_id);
    let n: u32 = socket.emit_with_ack("echo", &3).await.unwrap();
    assert_eq!(n, 3);
    socket.disconnect().await;
    server.stop().await;
}
both!(reconnect_after_transport_drop: reconnect_after_transport_drop_switchboard, reconnect_after_transport_drop_node);

async fn reconnect_after_restart(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let addr = server.addr();
    let (builder, mut inbox) = client(&server.url(), &["hello"]);
    let (builder, mut notes) = lifecycle(builder);
    let (builder, mut retries) = reconnections(builder);
    let socket = builder
        .transports(&[Transport::WebSocket])
        .connect()
        .await
        .unwrap();
    let admin = socket.io().socket("/admin").await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    next_named("hello", &mut inbox).await;
    server.stop().await;
    let reason = next("disconnect", &mut notes).await;
    assert!(
        reason == "disconnect transport close" || reason == "disconnect transport error",
        "{reason}"
    );
    // Reconnection attempts fail until the server is back on its port.
    let server = Server::start_on(kind, addr).await.unwrap();
    assert!(next("reconnect", &mut notes).await.starts_with("connect"));
    // Attempts numbered from 1, each failed one followed by its error,
    // until one opens a session; the namespace's connect came after it.
    let mut expected = 1;
    loop {
        assert_eq!(
            next("an attempt", &mut retries).await,
            format!("attempt {expected}")
        );
        match next("its outcome", &mut retries).await.as_str() {
            "error true" => expected += 1,
            done => {
                assert_eq!(done, format!("reconnected {expected}"));
                break;
            }
        }
    }
    assert!(retries.try_recv().is_err());
    next_named("hello", &mut inbox).await;
    // Every namespace came back.
    let (a, b): (u8, u8) = tokio::try_join!(
        socket.emit_with_ack("echo", &1),
        admin.emit_with_ack("echo", &2)
    )
    .unwrap();
    assert_eq!((a, b), (1, 2));
    admin.disconnect().await;
    socket.disconnect().await;
    server.stop().await;
}
both!(reconnect_after_restart: reconnect_after_restart_switchboard, reconnect_after_restart_node);

/// With `reconnection_attempts(2)` and the server gone for good: two
/// attempts, each failing, then the client gives up and closes.
async fn reconnect_failed(kind: Kind) {
    let Some(server) = Server::start(kind).await else {
        return;
    };
    let (builder, _) = client(&server.url(), &[]);
    let (builder, mut notes) = lifecycle(builder);
    let (builder, mut retries) = reconnections(builder);
    let socket = builder.reconnection_attempts(2).connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    server.stop().await;
    assert!(
        next("disconnect", &mut notes)
            .await
            .starts_with("disconnect transport")
    );
    for expected in [
        "attempt 1",
        "error true",
        "attempt 2",
        "error true",
        "failed",
    ] {
        assert_eq!(next(expected, &mut retries).await, expected);
    }
    // Given up: the connection closes and its socket stays disconnected.
    within("the connection to close", socket.io().close_and_wait()).await;
    assert!(!socket.connected());
    assert!(!socket.io().is_open());
    assert!(
        matches!(socket.io().last_error(), Some(ClientError::Io(_))),
        "{:?}",
        socket.io().last_error()
    );
    assert!(retries.try_recv().is_err());
}
both!(reconnect_failed: reconnect_failed_switchboard, reconnect_failed_node);

/// The server keeps the session of a dropped connection; the client
/// reconnects with its pid and last offset and gets the broadcasts it
/// missed, under the same id.
async fn recovery(kind: Kind, transports: &[Transport]) {
    let Some(server) = Server::start_recovering(kind).await else {
        return;
    };
    let (builder, mut inbox) = client(&server.url(), &["hello", "tick", "missed"]);
    let (builder, mut notes) = lifecycle(builder);
    let socket = builder.transports(transports).connect().await.unwrap();
    assert_eq!(next("connect", &mut notes).await, "connect recovered=false");
    assert_eq!(
        next_named("hello", &mut inbox).await.args[0]["recovered"],
        false
    );
    let id = socket.id().unwrap();
    socket.emit("tick", &1).unwrap();
    let tick = next_named("tick", &mut inbox).await;
    // The broadcast carries the server's offset as its last argument.
    assert_eq!(tick.args[0], 1);
    assert!(tick.args[1].is_string(), "{tick:?}");
    socket.emit_args("drop-and-miss", &()).unwrap();
    assert_eq!(
        next("disconnect", &mut notes).await,
        "disconnect transport close"
    );
    assert_eq!(
        next("reconnect", &mut notes).await,
        "connect recovered=true"
    );
    assert!(socket.recovered());
    assert_eq!(socket.id().unwrap(), id);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let ev = next("the missed broadcasts", &mut inbox).await;
        if ev.name == "missed" {
            seen.push(ev.args[0].clone());
        }
    }
    assert_eq!(seen, [json!(1), json!(2)]);
    socket.disconnect().await;
    server.stop().await;
}

async fn recovery_websocket(kind: Kind) {
    recovery(kind, &[Transport::WebSocket]).await;
}
both!(recovery_websocket: recovery_websocket_switchboard, recovery_websocket_node);

async fn recovery_polling(kind: Kind) {
    recovery(kind, &[Transport::Polling]).await;
}
both!(recovery_polling: recovery_polling_switchboard, recovery_polling_node);

/// Works on a current-thread runtime (the load generator's) with many
/// connections from several source addresses.
#[tokio::test(flavor = "current_thread")]
async fn many_connections_on_one_thread_switchboard() {
    let Some(server) = Server::start(Kind::Switchboard).await else {
        return;
    };
    let mut sockets = Vec::new();
    for i in 0..200u8 {
        let local = std::net::IpAddr::from([127, 0, 0, 2 + i % 4]);
        let socket = Client::builder(&server.url())
            .transports(&[Transport::WebSocket])
            .local_address(local)
            .connect();
        sockets.push(socket);
    }
    let sockets = futures_util::future::try_join_all(sockets).await.unwrap();
    let echoes = sockets
        .iter()
        .enumerate()
        .map(|(i, s)| async move { s.emit_with_ack::<usize, _>("echo", &i).await });
    let echoes = within("200 echoes", futures_util::future::try_join_all(echoes))
        .await
        .unwrap();
    assert_eq!(echoes, (0..200).collect::<Vec<_>>());
    for socket in &sockets {
        socket.disconnect().await;
    }
    server.stop().await;
}
