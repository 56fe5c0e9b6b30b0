//! The official `socket.io-client` against switchboard: rooms, the
//! broadcast operators (`to`, `except`, `broadcast`, `volatile`), and one
//! broadcast reaching 500 clients.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use serde::Deserialize;
use serde_json::json;
use switchboard::{Event, Io, Socket};
use tokio::sync::mpsc;

use support::{Server, node::node};

/// One operation the rooms script asks for.
#[derive(Debug, Deserialize)]
struct Op {
    op: String,
    room: Option<String>,
    #[serde(default)]
    rooms: Vec<String>,
    except: Option<String>,
    text: Option<String>,
    marker: u32,
}

/// Does `op` as `socket`, then marks the end of the step for every client.
fn apply(socket: &Socket, op: Op) {
    let ns = socket.namespace();
    let room = || op.room.clone().unwrap();
    let text = op.text.as_deref().unwrap_or_default();
    match op.op.as_str() {
        "join" if op.rooms.is_empty() => socket.join(room()),
        "join" => socket.join_all(op.rooms.clone()),
        "leave" => socket.leave(&room()),
        "socket-to" => socket.to(room()).emit("msg", text).unwrap(),
        "io-to" => {
            let mut to = ns.broadcast();
            for room in op.rooms.clone() {
                to = to.to(room);
            }
            to.emit("msg", text).unwrap();
        }
        "io-except" => ns.except(room()).emit("msg", text).unwrap(),
        "io-to-except" => ns
            .to(room())
            .except(op.except.clone().unwrap())
            .emit("msg", text)
            .unwrap(),
        "socket-broadcast" => socket.broadcast().emit("msg", text).unwrap(),
        "socket-except" => socket.except(room()).emit("msg", text).unwrap(),
        "io-volatile" => ns.volatile().emit("msg", text).unwrap(),
        "socket-volatile" => socket.volatile().emit("msg", text).unwrap(),
        "io-emit" => ns.emit("msg", text).unwrap(),
        other => panic!("unknown op {other}"),
    }
    ns.emit("marker", &op.marker).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_and_broadcast_operators() {
    let Some(node) = node() else { return };
    let io = Io::new();
    io.on_connect(|socket| {
        socket.on("do", |socket: Socket, event: Event<(Op,)>| async move {
            let (op,) = event.data;
            let marker = op.marker;
            apply(&socket, op);
            event.ack.unwrap().send(&marker).unwrap();
        });
        socket.on("rooms", |socket: Socket, event: Event<()>| async move {
            let rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
            event.ack.unwrap().send(&rooms).unwrap();
        });
    });
    let server = Server::start(&io).await;
    node.run("rooms.mjs", &[&server.url]).await.assert_success();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_500_clients_exactly_once() {
    const CLIENTS: usize = 500;
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = Io::new();
    io.on_connect(move |_| tx.send(()).unwrap());
    let server = Server::start(&io).await;
    let count = CLIENTS.to_string();
    let script = node.run("broadcast_many.mjs", &[&server.url, &count]);
    tokio::pin!(script);
    // The script's own timeout bounds this wait; if it ends first, its
    // output says why.
    let all_connected = async {
        for _ in 0..CLIENTS {
            rx.recv().await.unwrap();
        }
    };
    tokio::select! {
        run = &mut script => {
            run.assert_success();
            panic!("the script finished before the broadcast");
        }
        () = all_connected => {}
    }
    io.emit_args("hello-all", &("everyone", json!({ "count": CLIENTS })))
        .unwrap();
    io.emit("end", &()).unwrap();
    script.await.assert_success();
    server.stop().await;
}
