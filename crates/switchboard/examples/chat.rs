//! A minimal chat under axum: users set a name, send messages to everyone
//! with an acknowledgement, and join rooms.
//!
//! `cargo run -p switchboard --example chat` serves Socket.IO at
//! `http://127.0.0.1:3000/socket.io/` next to an axum route `/health`.
//! Events: `name` (string), `message` (string, ack -> {id}),
//! `join` (room), `room message` ({room, text}).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use switchboard::{Cors, Event, Io, Socket};

#[derive(Clone)]
struct Name(String);

#[derive(Serialize)]
struct ChatMessage<'a> {
    id: u64,
    user: &'a str,
    text: &'a str,
    room: Option<&'a str>,
}

#[derive(Deserialize)]
struct RoomMessage {
    room: String,
    text: String,
}

fn user(socket: &Socket) -> String {
    socket
        .data::<Name>()
        .map_or_else(|| "anonymous".to_owned(), |n| n.0)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let io = Io::builder().cors(Cors::any()).build();
    let ids = Arc::new(AtomicU64::new(1));
    io.on_connect(move |socket| {
        let ids = ids.clone();
        socket.on(
            "name",
            |socket: Socket, event: Event<(String,)>| async move {
                let (name,) = event.data;
                let _ = socket.broadcast().emit("joined", &name);
                socket.set_data(Name(name));
            },
        );
        socket.on("message", move |socket: Socket, event: Event<(String,)>| {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            async move {
                let (text,) = event.data;
                let user = user(&socket);
                let message = ChatMessage {
                    id,
                    user: &user,
                    text: &text,
                    room: None,
                };
                // Encoded once for every recipient, the sender included.
                let _ = socket.namespace().emit("message", &message);
                if let Some(ack) = event.ack {
                    let _ = ack.send(&serde_json::json!({ "id": id }));
                }
            }
        });
        socket.on(
            "join",
            |socket: Socket, event: Event<(String,)>| async move {
                let (room,) = event.data;
                socket.join(room.clone());
                let _ = socket.to(room).emit("joined", &user(&socket));
            },
        );
        socket.on(
            "room message",
            |socket: Socket, event: Event<(RoomMessage,)>| async move {
                let (RoomMessage { room, text },) = event.data;
                if !socket.rooms().iter().any(|r| *r == room.as_str()) {
                    return;
                }
                let user = user(&socket);
                let message = ChatMessage {
                    id: 0,
                    user: &user,
                    text: &text,
                    room: Some(&room),
                };
                let _ = socket
                    .namespace()
                    .to(room.clone())
                    .emit("message", &message);
            },
        );
    });
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .layer(io.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    tracing::info!("chat on http://127.0.0.1:3000 (Socket.IO at /socket.io/)");
    // Small messages must not wait on Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            io.close().await;
        })
        .await
}
