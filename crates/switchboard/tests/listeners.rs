//! Catch-all listeners: `on_any` sees every incoming event before its
//! handler, `on_any_outgoing` every outgoing one, broadcasts included.
#![allow(clippy::unwrap_used, reason = "test code")]

mod raw;

use raw::{Client, start_default, within};
use tokio::sync::mpsc;

#[tokio::test]
async fn catch_all_listeners_see_events_both_ways() {
    let server = start_default().await;
    let mut client = Client::connect(server.addr).await;
    let socket = server.io.of("/").socket(&client.id).unwrap();
    let (tx, mut seen) = mpsc::unbounded_channel();
    let incoming = tx.clone();
    socket.on_any(move |_, event, payload| {
        let _ = incoming.send(format!("in {event} {}", payload.args_json()));
    });
    socket.on_any_outgoing(move |_, event, args| {
        let _ = tx.send(format!("out {event} {args}"));
    });

    // The server's `echo` handler emits the arguments back.
    client.send(r#"2["echo",1,"x"]"#).await;
    assert_eq!(
        within("incoming", seen.recv()).await.unwrap(),
        r#"in echo [1,"x"]"#
    );
    assert_eq!(
        within("outgoing", seen.recv()).await.unwrap(),
        r#"out echo [1,"x"]"#
    );
    assert_eq!(client.packet().await, r#"2["echo",1,"x"]"#);

    server.io.emit("tick", &5).unwrap();
    assert_eq!(
        within("broadcast", seen.recv()).await.unwrap(),
        "out tick [5]"
    );
    assert_eq!(client.packet().await, r#"2["tick",5]"#);
    server.finish().await;
}

/// `Namespace::on` handles an event for every socket of the namespace that
/// has no handler of its own for it; a socket's own handler wins.
#[tokio::test]
async fn namespace_handlers_serve_every_socket_and_yield_to_socket_handlers() {
    use serde_json::Value;
    use switchboard::{Event, Socket};

    let server = start_default().await;
    server.io.of("/").on(
        "shout",
        |socket: Socket, event: Event<Vec<Value>>| async move {
            let _ = socket.emit_args("shouted", &event.data);
        },
    );
    let mut first = Client::connect(server.addr).await;
    let mut second = Client::connect(server.addr).await;

    first.send(r#"2["shout","a"]"#).await;
    assert_eq!(first.packet().await, r#"2["shouted","a"]"#);
    second.send(r#"2["shout","b"]"#).await;
    assert_eq!(second.packet().await, r#"2["shouted","b"]"#);

    let own = server.io.of("/").socket(&second.id).unwrap();
    own.on("shout", |socket: Socket, _: Event<Vec<Value>>| async move {
        let _ = socket.emit("mine", &1);
    });
    second.send(r#"2["shout","c"]"#).await;
    assert_eq!(second.packet().await, r#"2["mine",1]"#);
    first.send(r#"2["shout","d"]"#).await;
    assert_eq!(first.packet().await, r#"2["shouted","d"]"#);
    server.finish().await;
}
