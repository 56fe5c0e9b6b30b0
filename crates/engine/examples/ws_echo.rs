//! A bare WebSocket echo endpoint on the engine's WebSocket stack, for the
//! Autobahn|Testsuite fuzzing client (see docs/autobahn.md):
//! `cargo run --release -p switchboard-engine --example ws_echo -- --port 9001`
//!
//! Messages up to 64 MiB are accepted so that Autobahn's large-message cases
//! exercise framing rather than our limit.

use std::convert::Infallible;

use clap::Parser;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use switchboard_engine::{EngineConfig, raw_websocket_echo};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 9001)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = EngineConfig::builder().max_payload(64 << 20).build();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    eprintln!("WebSocket echo on ws://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let config = config.clone();
        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let response = raw_websocket_echo(&config, request);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .http1_only()
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}
