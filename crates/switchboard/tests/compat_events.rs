//! The official `socket.io-client` against switchboard: events, acks and
//! binary attachments both ways, each over WebSocket and over long-polling.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{AckError, Event, Io, Placeholder, Socket};
use tokio::sync::mpsc;

use support::{Server, next, node::node};

/// No arguments at all, for `emit_args`.
const NONE: [(); 0] = [];

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

async fn events(mode: &str) {
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = Io::new();
    io.on_connect(move |socket| {
        socket
            .emit_args(
                "welcome",
                &(
                    "hi",
                    1,
                    json!({"list": [1, 2, 3], "unicode": "ünï ✓"}),
                    (),
                    true,
                ),
            )
            .unwrap();
        let tx = tx.clone();
        socket.on("chat", move |socket: Socket, event: Event<Vec<Value>>| {
            tx.send(event.data.clone()).unwrap();
            socket.emit_args("chat-echo", &event.data).unwrap();
            async {}
        });
        socket.on("add", |socket: Socket, event: Event<(Add,)>| async move {
            let (Add { a, b },) = event.data;
            socket.emit("sum", &(a + b)).unwrap();
        });
        socket.on("nothing", |socket: Socket, _: Event<()>| async move {
            socket.emit_args("no-args", &NONE).unwrap();
        });
        socket.on("count", |socket: Socket, event: Event<(u32,)>| async move {
            socket.emit("count-back", &event.data.0).unwrap();
        });
        socket.on("ack-me", |_: Socket, event: Event<()>| async move {
            event.ack.unwrap().send("still connected").unwrap();
        });
    });
    let server = Server::start(&io).await;
    node.run("events.mjs", &[&server.url, mode])
        .await
        .assert_success();
    let chat = next("the chat event", &mut rx).await;
    assert_eq!(
        Value::from(chat),
        json!([
            "héllo ✓ 🚀 \"quoted\" \\ back\nslash \u{2028} \u{0} end",
            42,
            -1.5,
            {"nested": [1, "two", {"deep": true}], "empty": {}},
            [true, false],
            null
        ]),
        "the server received exactly what the client sent"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_both_ways_over_websocket() {
    events("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_both_ways_over_polling() {
    events("polling").await;
}

#[derive(Debug)]
enum ServerAcks {
    NeverAcked(String),
    Results {
        double: Result<Value, String>,
        two: Result<(String, Value), String>,
        ignored: Result<Value, AckError>,
    },
}

async fn acks(mode: &str) {
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = Io::new();
    io.on_connect(move |socket| {
        socket.on("add", |_: Socket, event: Event<(i64, i64)>| async move {
            let (a, b) = event.data;
            event.ack.unwrap().send(&(a + b)).unwrap();
        });
        socket.on("many", |_: Socket, event: Event<(String,)>| async move {
            let (x,) = event.data;
            let args = (x, 1, (true, ()), json!({"k": "v"}));
            event.ack.unwrap().send_args(&args).unwrap();
        });
        let never = tx.clone();
        socket.on("never-acks", move |_: Socket, event: Event<(String,)>| {
            assert!(event.ack.is_some(), "the client asked for an ack");
            // Dropped without answering.
            never.send(ServerAcks::NeverAcked(event.data.0)).unwrap();
            async {}
        });
        let results = tx.clone();
        socket.on(
            "start-server-acks",
            move |socket: Socket, event: Event<()>| {
                let results = results.clone();
                async move {
                    let double = socket
                        .emit_with_ack::<(Value,), _>("double", &json!({"n": 21}))
                        .await
                        .map(|ack| ack.data.0)
                        .map_err(|e| e.to_string());
                    let two = socket
                        .timeout(Duration::from_secs(10))
                        .emit_args_with_ack::<(String, Value), _>("two-answers", &NONE)
                        .await
                        .map(|ack| ack.data)
                        .map_err(|e| e.to_string());
                    let ignored = socket
                        .timeout(Duration::from_millis(200))
                        .emit_with_ack::<(Value,), _>("ignore-me", "no answer for you")
                        .await
                        .map(|ack| ack.data.0);
                    let summary = json!({
                        "double": double.clone().unwrap_or_else(Value::String),
                        "twoAnswers": two.clone().map_or_else(Value::String, |(a, b)| json!([a, b])),
                        "ignored": match &ignored {
                            Err(AckError::Timeout) => "timeout".to_owned(),
                            other => format!("{other:?}"),
                        },
                    });
                    results
                        .send(ServerAcks::Results {
                            double,
                            two,
                            ignored,
                        })
                        .unwrap();
                    event.ack.unwrap().send(&summary).unwrap();
                }
            },
        );
    });
    let server = Server::start(&io).await;
    node.run("acks.mjs", &[&server.url, mode])
        .await
        .assert_success();
    let mut never_acked = Vec::new();
    loop {
        match next("the server's ack results", &mut rx).await {
            ServerAcks::NeverAcked(value) => never_acked.push(value),
            ServerAcks::Results {
                double,
                two,
                ignored,
            } => {
                assert_eq!(double.unwrap(), json!({"answer": 42}));
                assert_eq!(two.unwrap(), ("one".to_owned(), json!({"two": [2]})));
                assert!(
                    matches!(ignored, Err(AckError::Timeout)),
                    "a client that never answers times out: {ignored:?}"
                );
                break;
            }
        }
    }
    assert_eq!(never_acked, ["a", "b"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_both_ways_with_timeouts_over_websocket() {
    acks("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_both_ways_with_timeouts_over_polling() {
    acks("polling").await;
}

fn placeholder(n: usize) -> Value {
    serde_json::to_value(Placeholder(n)).unwrap()
}

fn b(bytes: &[u8]) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

async fn binary(mode: &str) {
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = Io::new();
    io.on_connect(move |socket| {
        socket
            .binary(vec![b(&[0, 255, 1, 254]), b(b"thumb"), Bytes::new()])
            .emit(
                "file",
                &json!({
                    "name": "x.bin",
                    "content": Placeholder(0),
                    "thumbs": [Placeholder(1), Placeholder(2)],
                }),
            )
            .unwrap();
        let tx = tx.clone();
        socket.on("upload", move |socket: Socket, event: Event<Vec<Value>>| {
            tx.send((event.data.clone(), event.binary.clone())).unwrap();
            socket
                .binary(event.binary)
                .emit_args("upload-echo", &event.data)
                .unwrap();
            async {}
        });
        socket.on("reverse", |_: Socket, event: Event<(Value,)>| async move {
            assert_eq!(event.data.0, placeholder(0));
            let mut reversed = event.binary[0].to_vec();
            reversed.reverse();
            let answer = json!({"reversed": Placeholder(0), "len": reversed.len()});
            let ack = event.ack.unwrap().binary(vec![reversed.into()]);
            ack.send(&answer).unwrap();
        });
        socket.on(
            "ask-for-bytes",
            |socket: Socket, event: Event<()>| async move {
                let got = socket
                    .timeout(Duration::from_secs(10))
                    .emit_args_with_ack::<Vec<Value>, _>("give-bytes", &NONE)
                    .await
                    .unwrap();
                let binary: Vec<Vec<u8>> = got.binary.iter().map(|b| b.to_vec()).collect();
                let seen = json!({"data": got.data, "binary": binary});
                event.ack.unwrap().send(&seen).unwrap();
            },
        );
    });
    let server = Server::start(&io).await;
    node.run("binary.mjs", &[&server.url, mode])
        .await
        .assert_success();
    let (data, binary) = next("the upload", &mut rx).await;
    assert_eq!(
        Value::from(data),
        json!([
            placeholder(0),
            {
                "name": "f",
                "data": placeholder(1),
                "parts": [placeholder(2), {"inner": placeholder(3)}],
                "empty": placeholder(4),
            },
            "text",
            placeholder(5),
        ]),
        "JSON with placeholders, numbered in the order Node's parser walks"
    );
    let small: Vec<&[u8]> = binary.iter().take(5).map(|b| &b[..]).collect();
    assert_eq!(
        small,
        [&[1, 2, 3][..], &[4, 5], b"ab", &[2, 1], &[]],
        "attachments in placeholder order"
    );
    assert_eq!(binary.len(), 6);
    assert!(binary[5].len() == 100_000 && binary[5].iter().all(|&b| b == 7));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_both_ways_over_websocket() {
    binary("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_both_ways_over_polling() {
    binary("polling").await;
}
