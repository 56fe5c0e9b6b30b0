//! The server the official Socket.IO v5 test suite expects:
//! `cargo run -p switchboard --example conformance -- --port 3000`
//!
//! Namespaces `/` and `/custom`; on connect each emits `auth` with the
//! handshake's auth payload; on `/`, `message` is echoed back as
//! `message-back` with all its arguments (binary included) and
//! `message-with-ack` is acknowledged with all its arguments. pingInterval
//! 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, connectTimeout 1,000 ms.

use std::time::Duration;

use clap::Parser;
use serde_json::value::RawValue;
use switchboard::{Cors, Event, Io, Socket};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
}

/// Every argument as the client sent it, placeholders included.
type AnyArgs = Vec<Box<RawValue>>;

fn greet(socket: &Socket) {
    let _ = socket.emit("auth", socket.auth());
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let io = Io::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .connect_timeout(Duration::from_millis(1_000))
        .cors(Cors::any())
        .build();
    io.on_connect(|socket| {
        greet(&socket);
        socket.on(
            "message",
            |socket: Socket, event: Event<AnyArgs>| async move {
                let _ = socket
                    .binary(event.binary)
                    .emit_args("message-back", &event.data);
            },
        );
        socket.on(
            "message-with-ack",
            |_: Socket, event: Event<AnyArgs>| async move {
                if let Some(ack) = event.ack {
                    let _ = ack.binary(event.binary).send_args(&event.data);
                }
            },
        );
    });
    io.of("/custom").on_connect(|socket| greet(&socket));
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "Socket.IO conformance server listening");
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
