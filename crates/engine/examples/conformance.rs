//! The echo server the official Engine.IO v4 test suite expects:
//! `cargo run -p switchboard-engine --example conformance -- --port 3000`
//!
//! pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000; every text
//! and binary message is echoed back.

use std::time::Duration;

use clap::Parser;
use switchboard_engine::{
    CloseReason, Cors, Engine, EngineConfig, EngineHandler, Message, ServeConfig, Session, serve,
};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
}

struct Echo;

impl EngineHandler for Echo {
    fn on_open(&self, _: &Session) {}

    fn on_message(&self, session: &Session, message: Message) {
        // A full queue or a closed session just drops the echo: this server
        // has nobody to report it to.
        let _ = match message {
            Message::Text(text) => session.send_text(&text),
            Message::Binary(bytes) => session.send_binary(bytes),
        };
    }

    fn on_close(&self, _: &Session, _: CloseReason) {}
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let config = EngineConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        // The test suite runs from Node, whose fetch may send an Origin.
        .cors(Cors::any())
        .build();
    let engine = Engine::new(config, Echo);
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "Engine.IO conformance server listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(
        listener,
        engine.service(),
        engine.clone(),
        ServeConfig::default(),
        shutdown,
    )
    .await
}
