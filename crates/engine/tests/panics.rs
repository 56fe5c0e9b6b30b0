//! A handler that panics ends its own session, logged; the transport task
//! survives to report the end, and other sessions are untouched.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_engine::{
    CloseReason, Engine, EngineConfig, EngineHandler, Message, ServeConfig, Session, serve,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;

struct Fragile(mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineHandler for Fragile {
    fn on_open(&self, _: &Session) {}
    fn on_message(&self, session: &Session, message: Message) {
        if let Message::Text(text) = message {
            assert!(&*text != "boom", "a handler bug");
            session.send_text(&text).unwrap();
        }
    }
    fn on_close(&self, session: &Session, reason: CloseReason) {
        let _ = self.0.send((session.id().to_owned(), reason));
    }
}

type Client = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn open(addr: std::net::SocketAddr) -> (Client, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let open = ws.next().await.unwrap().unwrap().into_text().unwrap();
    let json: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    (ws, json["sid"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handler_closes_only_its_session() {
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let engine = Engine::new(EngineConfig::default(), Fragile(closed_tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        engine.service(),
        engine.clone(),
        ServeConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));

    tokio::time::timeout(Duration::from_secs(10), async {
        let (mut healthy, _) = open(addr).await;
        let (mut fragile, fragile_sid) = open(addr).await;
        fragile.send(Ws::text("4boom")).await.unwrap();
        // The fragile session is closed: its socket ends.
        while let Some(Ok(frame)) = fragile.next().await {
            if frame.is_close() {
                break;
            }
        }
        let (sid, reason) = closed.recv().await.unwrap();
        assert_eq!(sid, fragile_sid);
        assert_eq!(reason, CloseReason::TransportError("handler panicked"));
        assert_eq!(
            engine.session_count(),
            1,
            "the panicking session is gone, not leaked"
        );
        healthy.send(Ws::text("4still here")).await.unwrap();
        assert_eq!(
            healthy.next().await.unwrap().unwrap().into_text().unwrap(),
            "4still here"
        );
    })
    .await
    .expect("test timed out");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
