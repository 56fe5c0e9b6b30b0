//! The official `socket.io-client` against switchboard: each transport mode
//! (WebSocket, polling, polling then upgrade), reconnection after a server
//! restart on the same port, and the msgpack parser.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{DisconnectReason, Event, Io, Socket};
use tokio::sync::mpsc;

use support::{Server, next, node::node};

/// Acknowledges `echo` with its arguments as one array, attachments
/// included, and `transport` with the transport the server sees.
fn echo_server() -> Io {
    let io = Io::new();
    io.on_connect(|socket| {
        socket.on("echo", |_: Socket, event: Event<Vec<Value>>| async move {
            let ack = event.ack.unwrap().binary(event.binary);
            ack.send(&event.data).unwrap();
        });
        socket.on("transport", |socket: Socket, event: Event<()>| async move {
            let transport = socket.session().transport().as_str();
            event.ack.unwrap().send(transport).unwrap();
        });
    });
    io
}

async fn transport(mode: &str) {
    let Some(node) = node() else { return };
    let io = echo_server();
    let server = Server::start(&io).await;
    node.run("transport.mjs", &[&server.url, mode])
        .await
        .assert_success();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_websocket_only() {
    transport("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_polling_only() {
    transport("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_polling_then_upgrade() {
    transport("upgrade").await;
}

/// The server answers, emits, and closes the connection in one go; the
/// client gets the answer and the event before the close.
async fn close_after_ack(mode: &str) {
    let Some(node) = node() else { return };
    let io = Io::new();
    io.on_connect(|socket| {
        socket.on(
            "answer-then-close",
            |socket: Socket, event: Event<(String,)>| async move {
                let answer = format!("answer to {}", event.data.0);
                event.ack.unwrap().send(&answer).unwrap();
                socket.emit("last-words", "goodbye").unwrap();
                socket.close_connection();
            },
        );
    });
    let server = Server::start(&io).await;
    node.run("close_after_ack.mjs", &[&server.url, mode])
        .await
        .assert_success();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_right_after_an_ack_over_polling() {
    close_after_ack("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_right_after_an_ack_over_websocket() {
    close_after_ack("websocket").await;
}

#[derive(Debug, PartialEq)]
enum Seen {
    Hello {
        server: u32,
        n: u32,
    },
    Gone {
        server: u32,
        reason: DisconnectReason,
    },
}

/// Server `number`: acknowledges `hello` with its name and reports it.
fn hello_server(number: u32, tx: mpsc::UnboundedSender<Seen>) -> Io {
    let io = Io::new();
    io.on_connect(move |socket| {
        let hello = tx.clone();
        socket.on("hello", move |_: Socket, event: Event<(u32,)>| {
            // Answer first: once the test sees `Hello` it stops this server,
            // and the answer must already be queued (shutdown flushes it).
            event
                .ack
                .unwrap()
                .send(&format!("server {number}"))
                .unwrap();
            let (n,) = event.data;
            hello.send(Seen::Hello { server: number, n }).unwrap();
            async {}
        });
        let gone = tx.clone();
        socket.on_disconnect(move |_, reason| async move {
            gone.send(Seen::Gone {
                server: number,
                reason,
            })
            .unwrap();
        });
    });
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_server_restart_on_the_same_port() {
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Kept alive past `stop`: the engine reports a session's end to the Io
    // after `serve` has returned, and an Io dropped by then hears nothing.
    let io1 = hello_server(1, tx.clone());
    let first = Server::start(&io1).await;
    let addr = first.addr;
    let script = node.run("reconnect.mjs", &[&first.url]);
    tokio::pin!(script);
    // The script's own timeout bounds this wait; if it ends first, its
    // output says why.
    tokio::select! {
        run = &mut script => {
            run.assert_success();
            panic!("the script finished before the restart");
        }
        seen = rx.recv() => assert_eq!(seen, Some(Seen::Hello { server: 1, n: 1 })),
    }

    // Returns once the listener is closed and every session has ended; the
    // socket's disconnect handler may run a little later.
    first.stop().await;
    assert_eq!(
        next("server 1's socket to go", &mut rx).await,
        Seen::Gone {
            server: 1,
            reason: DisconnectReason::ServerShuttingDown
        }
    );
    drop(io1);
    let io2 = hello_server(2, tx);
    let second = Server::start_on(&io2, addr).await;
    script.await.assert_success();
    assert_eq!(
        next("hello on server 2", &mut rx).await,
        Seen::Hello { server: 2, n: 2 }
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_parser() {
    let Some(node) = node() else { return };
    let io = Io::builder().parser(switchboard::Parser::MsgPack).build();
    io.on_connect(|socket| {
        socket
            .emit(
                "welcome",
                &json!({"hello": "msgpack", "list": [1, 2.5, null, true]}),
            )
            .unwrap();
        socket.on("echo", |_: Socket, event: Event<Vec<Value>>| async move {
            let ack = event.ack.unwrap().binary(event.binary);
            ack.send(&event.data).unwrap();
        });
        socket.on(
            "ask-double",
            |socket: Socket, event: Event<(i64,)>| async move {
                let doubled = socket
                    .timeout(Duration::from_secs(10))
                    .emit_with_ack::<(i64,), _>("double", &event.data.0)
                    .await
                    .unwrap();
                event.ack.unwrap().send(&doubled.data.0).unwrap();
            },
        );
    });
    let server = Server::start(&io).await;
    node.run("msgpack.mjs", &[&server.url])
        .await
        .assert_success();
    server.stop().await;
}
