//! The heartbeat on both transports: pings arrive, pongs keep a session
//! alive, silence ends it with a ping timeout.
//!
//! Intervals are short so the tests are quick, but nothing here asserts a
//! duration: each test awaits the ping or the close it expects.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{self, Ws};
use futures_util::{SinkExt, StreamExt};
use switchboard_engine::{CloseReason, EngineConfig};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Pings every 100 ms; a pong is due 100 ms after each ping.
fn fast() -> EngineConfig {
    EngineConfig::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
        .build()
}

/// Pings every 100 ms, with a pong timeout far past the tests' hang guard:
/// for the tests in which the client does answer, so a busy machine cannot
/// fail them, and so that a next ping scheduled from the timeout rather than
/// from the pong would trip the guard.
fn fast_pings_patient_timeout() -> EngineConfig {
    EngineConfig::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_secs(60))
        .build()
}

/// A bystander WebSocket session that answers every ping from a task of its
/// own, so it survives the heartbeat while the test watches another session.
struct Lively {
    say: mpsc::UnboundedSender<String>,
    heard: mpsc::UnboundedReceiver<String>,
}

impl Lively {
    async fn open(server: &TestServer) -> Lively {
        let (ws, _) = ws::open(server.addr).await;
        let (say, mut to_send) = mpsc::unbounded_channel::<String>();
        let (hear, heard) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut ws: Ws = ws;
            loop {
                tokio::select! {
                    message = ws.next() => match message {
                        Some(Ok(WsMessage::Text(text))) if text.as_str() == "2" => {
                            ws.send(WsMessage::text("3")).await.unwrap();
                        }
                        Some(Ok(WsMessage::Text(text))) => {
                            let _ = hear.send(text.as_str().to_owned());
                        }
                        _ => return,
                    },
                    text = to_send.recv() => match text {
                        Some(text) => ws.send(WsMessage::text(text)).await.unwrap(),
                        None => return,
                    },
                }
            }
        });
        Lively { say, heard }
    }

    async fn assert_echo(&mut self, text: &str) {
        self.say.send(format!("4{text}")).unwrap();
        let echo = common::within("the bystander's echo", self.heard.recv()).await;
        assert_eq!(echo.as_deref(), Some(format!("4{text}").as_str()));
    }
}

#[tokio::test]
async fn polling_pongs_keep_the_session_alive() {
    let server = TestServer::with_config(fast_pings_patient_timeout()).await;
    let sid = server.handshake().await.sid;
    // A ping is only sent after the previous one was answered, so each ping
    // past the first proves the pong before it was taken; and it is due
    // `ping_interval` after that pong, long before the 60 s timeout.
    for _ in 0..4 {
        assert_eq!(server.poll_text(&sid).await, "2");
        server.post_ok(&sid, "3").await;
    }
    server.post_ok(&sid, "4alive").await;
    assert_eq!(server.poll_text(&sid).await, "4alive");
    assert!(server.engine.session(&sid).is_some());
}

#[tokio::test]
async fn websocket_pongs_keep_the_session_alive() {
    let server = TestServer::with_config(fast_pings_patient_timeout()).await;
    let (mut ws, open) = ws::open(server.addr).await;
    for _ in 0..4 {
        assert_eq!(ws::recv_text(&mut ws).await, "2");
        ws::send_text(&mut ws, "3").await;
    }
    ws::assert_echo(&mut ws, "alive").await;
    assert!(server.engine.session(&open.sid).is_some());
}

#[tokio::test]
async fn upgraded_session_is_pinged_over_the_websocket() {
    let server = TestServer::with_config(fast_pings_patient_timeout()).await;
    let sid = server.handshake().await.sid;
    let mut ws = ws::connect(server.addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws::send_text(&mut ws, "2probe").await;
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
    ws::send_text(&mut ws, "5").await;
    for _ in 0..3 {
        // A ping may have been queued for polling before the upgrade; it is
        // delivered on the socket all the same.
        assert_eq!(ws::recv_text(&mut ws).await, "2");
        ws::send_text(&mut ws, "3").await;
    }
    ws::assert_echo(&mut ws, "alive").await;
}

#[tokio::test]
async fn polling_without_pong_times_out() {
    let server = TestServer::with_config(fast()).await;
    let mut bystander = Lively::open(&server).await;
    let sid = server.handshake().await.sid;
    assert_eq!(server.poll_text(&sid).await, "2");
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
    server.assert_gone(&sid).await;
    bystander.assert_echo("unaffected").await;
}

#[tokio::test]
async fn parked_poll_gets_close_packet_on_ping_timeout() {
    // A timeout long enough for the test to park its poll first.
    let config = EngineConfig::builder()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(1_000))
        .build();
    let server = TestServer::with_config(config).await;
    let sid = server.handshake().await.sid;
    assert_eq!(server.poll_text(&sid).await, "2");
    // No pong; a poll waiting when the session times out is told so.
    let poll = server.parked_poll(&sid).await;
    assert_eq!(poll.await.unwrap().ok_text(), "1");
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn websocket_without_pong_times_out() {
    let server = TestServer::with_config(fast()).await;
    let mut bystander = Lively::open(&server).await;
    let (mut ws, open) = ws::open(server.addr).await;
    assert_eq!(ws::recv_text(&mut ws).await, "2");
    assert_eq!(ws::closed(&mut ws).await, Some(1000));
    assert_eq!(server.closed(&open.sid).await, CloseReason::PingTimeout);
    assert!(server.engine.session(&open.sid).is_none());
    bystander.assert_echo("unaffected").await;
}

#[tokio::test]
async fn handshake_that_never_polls_expires() {
    let server = TestServer::with_config(fast()).await;
    let mut bystander = Lively::open(&server).await;
    let sid = server.handshake().await.sid;
    // The client never comes back: its ping is queued and never answered.
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
    server.assert_gone(&sid).await;
    bystander.assert_echo("unaffected").await;
}
