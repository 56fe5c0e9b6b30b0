//! Every limit at its value and one past it: max_payload on both
//! transports, the outgoing queue bounds, and the HTTP limits of `serve`.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::time::Duration;

use common::http::{Conn, exchange, request};
use common::ws;
use common::{Msg, TestServer};
use switchboard_engine::{CloseReason, EngineConfig, SendError, ServeConfig};

const MAX: usize = 1000;

fn max_payload() -> EngineConfig {
    EngineConfig::builder().max_payload(MAX).build()
}

/// A message packet of exactly `len` bytes: `4` and `len - 1` letters.
fn packet(len: usize) -> String {
    format!("4{}", "a".repeat(len - 1))
}

fn post_target(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

#[tokio::test]
async fn polling_body_of_max_payload_is_accepted() {
    let server = TestServer::with_config(max_payload()).await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, &packet(MAX)).await;
    assert_eq!(server.message(&sid).await, Msg::Text("a".repeat(MAX - 1)));
    assert_eq!(server.poll_text(&sid).await, packet(MAX));
}

/// Expects the session to be closed for an oversized body, and the
/// bystander to be fine.
async fn closed_for_size(server: &TestServer, sid: &str, healthy: &common::Healthy) {
    assert_eq!(
        server.closed(sid).await,
        CloseReason::TransportError("polling body over max payload")
    );
    server.assert_gone(sid).await;
    server.assert_healthy(healthy).await;
}

#[tokio::test]
async fn polling_body_declared_one_over_max_payload_is_413() {
    let server = TestServer::with_config(max_payload()).await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    // Only the head is sent: the declared length alone must be enough for
    // the server to refuse, without reading (or buffering) the body.
    let length = (MAX + 1).to_string();
    let head = request(
        server.addr,
        "POST",
        &post_target(&sid),
        &[("Content-Length", &length)],
        b"",
    );
    exchange(server.addr, &head)
        .await
        .assert_error(413, 3, "Payload too large");
    closed_for_size(&server, &sid, &healthy).await;
}

#[tokio::test]
async fn polling_body_one_over_max_payload_sent_whole_is_413() {
    let server = TestServer::with_config(max_payload()).await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    // As a client would send it: head and body together.
    let bytes = request(
        server.addr,
        "POST",
        &post_target(&sid),
        &[],
        packet(MAX + 1).as_bytes(),
    );
    exchange(server.addr, &bytes)
        .await
        .assert_error(413, 3, "Payload too large");
    closed_for_size(&server, &sid, &healthy).await;
}

/// A chunked body of `sizes` chunks of letters (the first starts with `4`).
fn chunked(sizes: &[usize]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        let mut chunk = vec![b'a'; *size];
        if i == 0 {
            chunk[0] = b'4';
        }
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

#[tokio::test]
async fn chunked_polling_body_of_max_payload_is_accepted() {
    let server = TestServer::with_config(max_payload()).await;
    let sid = server.handshake().await.sid;
    let reply = exchange(
        server.addr,
        &request(
            server.addr,
            "POST",
            &post_target(&sid),
            &[("Transfer-Encoding", "chunked")],
            &chunked(&[400, 400, 200]),
        ),
    )
    .await;
    assert_eq!(reply.ok_text(), "ok");
    assert_eq!(server.message(&sid).await, Msg::Text("a".repeat(MAX - 1)));
}

#[tokio::test]
async fn chunked_polling_body_one_over_max_payload_is_413() {
    let server = TestServer::with_config(max_payload()).await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    let reply = exchange(
        server.addr,
        &request(
            server.addr,
            "POST",
            &post_target(&sid),
            &[("Transfer-Encoding", "chunked")],
            &chunked(&[400, 400, 201]),
        ),
    )
    .await;
    reply.assert_error(413, 3, "Payload too large");
    closed_for_size(&server, &sid, &healthy).await;
}

#[tokio::test]
async fn lying_content_length_is_not_read_past() {
    let server = TestServer::with_config(max_payload()).await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    // Declares 10 bytes, then sends twice max_payload more. The body is the
    // 10 declared bytes; the rest is not body, whatever the client meant.
    let mut bytes = request(
        server.addr,
        "POST",
        &post_target(&sid),
        &[("Content-Length", "10")],
        packet(10).as_bytes(),
    );
    bytes.extend_from_slice("b".repeat(2 * MAX).as_bytes());
    bytes.extend_from_slice(b"\r\n\r\n");
    let mut conn = Conn::connect(server.addr).await;
    conn.send(&bytes).await;
    let first = conn.read_response().await.expect("response to the POST");
    assert_eq!(first.ok_text(), "ok");
    assert_eq!(server.message(&sid).await, Msg::Text("a".repeat(9)));
    // The excess is read as the next request, which is no request at all:
    // hyper answers 400 and closes the connection.
    let second = conn.read_response().await;
    assert_eq!(second.map(|r| r.status), Some(400));
    assert!(conn.read_to_end().await.is_empty(), "connection closed");
    // The session received exactly its 10 bytes and carries on.
    server.post_ok(&sid, "4next").await;
    assert_eq!(server.message(&sid).await, Msg::Text("next".into()));
    assert_eq!(server.poll_text(&sid).await, "4aaaaaaaaa\x1e4next");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn websocket_message_of_max_payload_is_accepted_and_one_more_closes_1009() {
    let server = TestServer::with_config(max_payload()).await;
    let (mut bystander, _) = ws::open(server.addr).await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_text(&mut ws, &packet(MAX)).await;
    assert_eq!(ws::recv_text(&mut ws).await, packet(MAX));
    ws::send_binary(&mut ws, &[7; MAX]).await;
    assert_eq!(
        server.message(&open.sid).await,
        Msg::Text("a".repeat(MAX - 1))
    );
    assert_eq!(server.message(&open.sid).await, Msg::Binary(vec![7; MAX]));
    assert_eq!(ws::recv(&mut ws).await.len(), MAX);
    ws::send_text(&mut ws, &packet(MAX + 1)).await;
    assert_eq!(ws::closed(&mut ws).await, Some(1009));
    assert_eq!(
        server.closed(&open.sid).await,
        CloseReason::TransportError("message over max payload")
    );
    ws::assert_echo(&mut bystander, "unaffected").await;
}

#[tokio::test]
async fn websocket_binary_message_one_over_max_payload_closes_1009() {
    let server = TestServer::with_config(max_payload()).await;
    let (mut bystander, _) = ws::open(server.addr).await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_binary(&mut ws, &[7; MAX + 1]).await;
    assert_eq!(ws::closed(&mut ws).await, Some(1009));
    assert_eq!(
        server.closed(&open.sid).await,
        CloseReason::TransportError("message over max payload")
    );
    ws::assert_echo(&mut bystander, "unaffected").await;
}

#[tokio::test]
async fn max_queued_packets_plus_one_is_queue_full() {
    let config = EngineConfig::builder().max_queued_packets(3).build();
    let server = TestServer::with_config(config).await;
    let sid = server.handshake().await.sid;
    let session = server.engine.session(&sid).unwrap();
    for n in 0..3 {
        session.send_text(&n.to_string()).unwrap();
    }
    assert_eq!(session.send_text("3"), Err(SendError::QueueFull));
    assert_eq!(
        session.send_binary(bytes::Bytes::from_static(b"x")),
        Err(SendError::QueueFull)
    );
    // A full queue refuses the message, not the session; draining it makes
    // room again.
    assert_eq!(server.poll_text(&sid).await, "40\x1e41\x1e42");
    session.send_text("after").unwrap();
    assert_eq!(server.poll_text(&sid).await, "4after");
}

#[tokio::test]
async fn max_queued_bytes_plus_one_is_queue_full() {
    let config = EngineConfig::builder().max_queued_bytes(10).build();
    let server = TestServer::with_config(config).await;
    let sid = server.handshake().await.sid;
    let session = server.engine.session(&sid).unwrap();
    // Counted as encoded: `4abcd` is 5 bytes, so two make exactly 10.
    session.send_text("abcd").unwrap();
    session.send_text("abcd").unwrap();
    // `4` alone is one byte more than the bound.
    assert_eq!(session.send_text(""), Err(SendError::QueueFull));
    assert_eq!(server.poll_text(&sid).await, "4abcd\x1e4abcd");
    session.send_text("").unwrap();
    assert_eq!(server.poll_text(&sid).await, "4");
}

#[tokio::test]
async fn queue_full_from_inside_a_handler_call() {
    // The echo handler sends from `on_message`; with room for one packet,
    // the first echo fits and the second is refused (the handler drops it).
    let config = EngineConfig::builder().max_queued_packets(1).build();
    let server = TestServer::with_config(config).await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, "4first\x1e4second").await;
    assert_eq!(server.message(&sid).await, Msg::Text("first".into()));
    assert_eq!(server.message(&sid).await, Msg::Text("second".into()));
    assert_eq!(server.poll_text(&sid).await, "4first");
}

/// A handshake request with `extra` headers besides Host.
fn handshake_with_headers(server: &TestServer, extra: &[(String, String)]) -> Vec<u8> {
    let headers: Vec<(&str, &str)> = extra
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    request(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &headers,
        b"",
    )
}

#[tokio::test]
async fn max_headers_plus_one_is_431() {
    let serve = ServeConfig::default().max_headers(8);
    let server = TestServer::with(EngineConfig::default(), serve).await;
    let healthy = server.healthy().await;
    // Host plus 7 is exactly the limit.
    let seven: Vec<(String, String)> = (0..7).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let reply = exchange(server.addr, &handshake_with_headers(&server, &seven)).await;
    common::Open::parse(reply.ok_text());
    let eight: Vec<(String, String)> = (0..8).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let reply = exchange(server.addr, &handshake_with_headers(&server, &eight)).await;
    assert_eq!(reply.status, 431, "{reply:?}");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn header_bytes_over_max_header_bytes_is_431() {
    const LIMIT: usize = 16 * 1024;
    let serve = ServeConfig::default().max_header_bytes(LIMIT);
    let server = TestServer::with(EngineConfig::default(), serve).await;
    let healthy = server.healthy().await;
    // Pads one header so the whole head (request line, headers and the
    // blank line) is exactly `len` bytes.
    let head_of = |len: usize| {
        let bare = handshake_with_headers(&server, &[("X-Pad".into(), String::new())]).len();
        let pad = "p".repeat(len - bare);
        let head = handshake_with_headers(&server, &[("X-Pad".into(), pad)]);
        assert_eq!(head.len(), len);
        head
    };
    let reply = exchange(server.addr, &head_of(LIMIT)).await;
    common::Open::parse(reply.ok_text());
    let reply = exchange(server.addr, &head_of(LIMIT + 1)).await;
    assert_eq!(reply.status, 431, "{reply:?}");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn stalled_request_head_is_closed_after_header_read_timeout() {
    let serve = ServeConfig::default().header_read_timeout(Duration::from_millis(200));
    let server = TestServer::with(EngineConfig::default(), serve).await;
    let healthy = server.healthy().await;
    let mut conn = Conn::connect(server.addr).await;
    conn.send(b"GET /engine.io/?EIO=4&transport=pol").await;
    // Awaits the server ending the connection (hyper closes it without an
    // answer); the hang guard fails the test if it never does.
    let answer = conn.read_to_end().await;
    assert!(
        answer.is_empty(),
        "answer to a stalled head: {:?}",
        String::from_utf8_lossy(&answer)
    );
    server.assert_healthy(&healthy).await;
}
