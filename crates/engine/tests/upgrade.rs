//! The upgrade of a polling session to WebSocket: the probe, the hand-over
//! without losing a message, what the old transport gets afterwards, and
//! probes that never finish.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::ws::{self, Ws};
use common::{Msg, TestServer};
use switchboard_engine::{CloseReason, EngineConfig, SendError, TransportKind};
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn ws_query(sid: &str) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

/// Probes and completes an upgrade with no poll in flight; returns once a
/// message has made the round trip over the new socket.
async fn upgrade(server: &TestServer, sid: &str) -> Ws {
    let mut ws = ws::connect(server.addr, &ws_query(sid)).await;
    ws::send_text(&mut ws, "2probe").await;
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
    ws::send_text(&mut ws, "5").await;
    // Frames on one socket are handled in order: once this echo is back,
    // the server has switched the session over.
    ws::assert_echo(&mut ws, "upgraded").await;
    ws
}

#[tokio::test]
async fn probe_releases_parked_poll_then_messages_flow_on_websocket() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let poll = server.parked_poll(&sid).await;
    let mut ws = ws::connect(server.addr, &ws_query(&sid)).await;
    ws::send_text(&mut ws, "2probe").await;
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
    assert_eq!(poll.await.unwrap().ok_text(), "6");
    ws::send_text(&mut ws, "5").await;
    ws::send_text(&mut ws, "4over the socket").await;
    assert_eq!(
        server.message(&sid).await,
        Msg::Text("over the socket".into())
    );
    assert_eq!(ws::recv_text(&mut ws).await, "4over the socket");
    let session = server.engine.session(&sid).unwrap();
    assert_eq!(session.transport(), TransportKind::WebSocket);
    session.send_text("pushed").unwrap();
    assert_eq!(ws::recv_text(&mut ws).await, "4pushed");
    ws::send_binary(&mut ws, &[7, 7]).await;
    assert_eq!(ws::recv(&mut ws).await, WsMessage::binary(vec![7, 7]));
    // The session lives on the socket now: closing it closes the session.
    ws::send_text(&mut ws, "1").await;
    assert_eq!(ws::closed(&mut ws).await, Some(1000));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn upgraded_sid_refuses_polling_and_a_second_websocket() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let mut ws = upgrade(&server, &sid).await;
    server.poll(&sid).await.assert_error(400, 3, "Bad request");
    server
        .post(&sid, b"4sneaky")
        .await
        .assert_error(400, 3, "Bad request");
    // A second WebSocket for the sid opens and is closed straight away.
    let mut second = ws::connect(server.addr, &ws_query(&sid)).await;
    assert_eq!(ws::closed(&mut second).await, Some(1008));
    // None of that touched the upgraded session.
    ws::assert_echo(&mut ws, "still mine").await;
    assert!(server.engine.session(&sid).is_some());
}

/// Parses a polling payload of numbered messages, skipping noops.
fn numbers_in_payload(payload: &str, into: &mut Vec<u64>) {
    for record in payload.split('\x1e') {
        match record {
            "6" => {}
            _ => into.push(number(record)),
        }
    }
}

fn number(packet: &str) -> u64 {
    packet
        .strip_prefix('4')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected packet {packet:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_lost_duplicated_or_reordered_across_the_upgrade() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let session = server.engine.session(&sid).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // The server side streams 0, 1, 2, ... until told to stop, then `end`.
    let sender = tokio::spawn({
        let stop = stop.clone();
        async move {
            let send = |text: String| {
                let session = session.clone();
                async move {
                    loop {
                        match session.send_text(&text) {
                            Ok(()) => return,
                            // The client is slower than this loop; let it drain.
                            Err(SendError::QueueFull) => tokio::task::yield_now().await,
                            Err(e) => panic!("send failed: {e}"),
                        }
                    }
                }
            };
            let mut next = 0u64;
            while !stop.load(Ordering::SeqCst) {
                send(next.to_string()).await;
                next += 1;
                tokio::task::yield_now().await;
            }
            send("end".to_owned()).await;
            next
        }
    });

    let mut received = Vec::new();
    // Polling, until the stream is seen flowing there.
    while received.is_empty() {
        numbers_in_payload(&server.poll_text(&sid).await, &mut received);
    }
    let over_polling_before_probe = received.len();
    // One more poll in flight while the client probes, as a browser has.
    let in_flight = tokio::spawn({
        let addr = server.addr;
        let query = format!("EIO=4&transport=polling&sid={sid}&t=inflight");
        async move {
            common::http::exchange(
                addr,
                &common::http::request(addr, "GET", &format!("/engine.io/?{query}"), &[], b""),
            )
            .await
        }
    });
    let mut ws = ws::connect(server.addr, &ws_query(&sid)).await;
    ws::send_text(&mut ws, "2probe").await;
    // Messages may not arrive on the socket before the upgrade completes.
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
    // Like the JS client: wait for the poll in flight, then upgrade.
    numbers_in_payload(in_flight.await.unwrap().ok_text(), &mut received);
    let over_polling = received.len();
    ws::send_text(&mut ws, "5").await;
    loop {
        let text = ws::recv_text(&mut ws).await;
        if text == "4end" {
            break;
        }
        received.push(number(&text));
        if received.len() == over_polling + 1 {
            // The stream reached the socket; let it finish.
            stop.store(true, Ordering::SeqCst);
        }
    }
    let sent = common::within("the sender", sender).await.unwrap();
    assert!(over_polling_before_probe >= 1);
    assert!(
        received.len() > over_polling,
        "some messages came over the WebSocket"
    );
    let expected: Vec<u64> = (0..sent).collect();
    assert_eq!(
        received.len(),
        expected.len(),
        "count of messages received vs sent"
    );
    assert!(
        received == expected,
        "messages out of order, duplicated or lost"
    );
}

fn short_upgrade_timeout() -> EngineConfig {
    EngineConfig::builder()
        .upgrade_timeout(Duration::from_millis(200))
        .build()
}

#[tokio::test]
async fn probe_never_completed_closes_the_socket_and_keeps_polling() {
    let server = TestServer::with_config(short_upgrade_timeout()).await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    let mut ws = ws::connect(server.addr, &ws_query(&sid)).await;
    ws::send_text(&mut ws, "2probe").await;
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
    // No `5`: the server gives up on the upgrade.
    assert_eq!(ws::closed(&mut ws).await, Some(1008));
    let session = server.engine.session(&sid).unwrap();
    assert_eq!(session.transport(), TransportKind::Polling);
    server.post_ok(&sid, "4still polling").await;
    assert_eq!(
        server.message(&sid).await,
        Msg::Text("still polling".into())
    );
    assert_eq!(server.poll_text(&sid).await, "4still polling");
    // A parked poll is served by a later send as usual.
    let poll = server.parked_poll(&sid).await;
    session.send_text("later").unwrap();
    assert_eq!(poll.await.unwrap().ok_text(), "4later");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn silent_upgrade_socket_is_closed_and_a_new_upgrade_works() {
    let server = TestServer::with_config(short_upgrade_timeout()).await;
    let sid = server.handshake().await.sid;
    let mut silent = ws::connect(server.addr, &ws_query(&sid)).await;
    assert_eq!(ws::closed(&mut silent).await, Some(1008));
    server.post_ok(&sid, "4polling").await;
    assert_eq!(server.poll_text(&sid).await, "4polling");
    // The failed attempt does not use up the session's upgrade.
    let mut ws = upgrade(&server, &sid).await;
    ws::assert_echo(&mut ws, "second attempt").await;
}

#[tokio::test]
async fn upgrade_of_unknown_sid_is_code_1() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    server
        .request(
            "GET",
            &ws_query("AAAAAAAAAAAAAAAAAAAA"),
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
            b"",
        )
        .await
        .assert_error(400, 1, "Session ID unknown");
    server.assert_healthy(&healthy).await;
}
