//! The engine mounted as a tower layer in front of an axum router: requests
//! under its path reach the engine, polling and WebSocket alike, and every
//! other request reaches the router.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use switchboard_engine::{CloseReason, Engine, EngineConfig, EngineHandler, Message, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

struct Echo;

impl EngineHandler for Echo {
    fn on_open(&self, _: &Session) {}
    fn on_message(&self, session: &Session, message: Message) {
        if let Message::Text(text) = message {
            session.send_text(&text).unwrap();
        }
    }
    fn on_close(&self, _: &Session, _: CloseReason) {}
}

/// One HTTP/1.1 request on its own connection; returns status and body.
async fn http(addr: std::net::SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let status = text[9..12].parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    // Only short fixed bodies here: undo chunked framing if axum chose it.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (_, chunk) = rest.split_once("\r\n").unwrap();
        chunk.split_once("\r\n").map_or("", |(c, _)| c).to_owned()
    } else {
        rest.to_owned()
    };
    (status, body)
}

#[tokio::test]
async fn engine_layer_under_axum_router() {
    let engine = Engine::new(EngineConfig::default(), Echo);
    let app = Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .layer(engine.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let guard = Duration::from_secs(10);
    tokio::time::timeout(guard, async {
        // The router still answers its own routes.
        assert_eq!(
            http(addr, "GET", "/hello", "").await,
            (200, "hello from axum".to_owned())
        );

        // Polling through the layer.
        let (status, open) = http(addr, "GET", "/engine.io/?EIO=4&transport=polling", "").await;
        assert_eq!(status, 200);
        let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
        let sid = open["sid"].as_str().unwrap().to_owned();
        let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
        assert_eq!(
            http(addr, "POST", &target, "4over axum").await,
            (200, "ok".to_owned())
        );
        assert_eq!(
            http(addr, "GET", &target, "").await,
            (200, "4over axum".to_owned())
        );

        // A WebSocket session through the layer: axum passes hyper's upgrade on.
        let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        let open = ws.next().await.unwrap().unwrap();
        assert!(
            open.to_text().unwrap().starts_with("0{"),
            "open packet: {open:?}"
        );
        ws.send(WsMessage::text("4ws over axum")).await.unwrap();
        let echo = ws.next().await.unwrap().unwrap();
        assert_eq!(echo.to_text().unwrap(), "4ws over axum");
        assert_eq!(engine.session_count(), 2);
    })
    .await
    .expect("test timed out");
}
