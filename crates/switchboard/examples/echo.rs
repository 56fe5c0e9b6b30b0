//! The smallest Socket.IO server: echoes every `echo` event back, and
//! acknowledges when asked.
//!
//! `cargo run -p switchboard --example echo` then, from Node:
//! `io("http://127.0.0.1:3000").emit("echo", "hi", (reply) => console.log(reply))`

use serde_json::Value;
use switchboard::{Cors, Event, Io, Socket};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let io = Io::builder().cors(Cors::any()).build();
    io.on_connect(|socket| {
        tracing::info!(id = socket.id(), "connected");
        // Whatever arguments came, as JSON values.
        socket.on(
            "echo",
            |socket: Socket, event: Event<Vec<Value>>| async move {
                match event.ack {
                    Some(ack) => {
                        let _ = ack.send_args(&event.data);
                    }
                    None => {
                        let _ = socket.emit_args("echo", &event.data);
                    }
                }
            },
        );
        socket.on_disconnect(|socket, reason| async move {
            tracing::info!(id = socket.id(), %reason, "disconnected");
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    tracing::info!("echo server on http://127.0.0.1:3000");
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
