//! Sessions opened directly over WebSocket: messages, closes from either
//! side, and broken frames.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use bytes::Bytes;
use common::ws::{self, BINARY, CONTINUATION, RawWs, TEXT};
use common::{Msg, TestServer};
use futures_util::{SinkExt, StreamExt};
use switchboard_engine::{CloseReason, EngineConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn text_frame_is_echoed() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_text(&mut ws, "4hello €").await;
    assert_eq!(server.message(&open.sid).await, Msg::Text("hello €".into()));
    assert_eq!(ws::recv_text(&mut ws).await, "4hello €");
}

#[tokio::test]
async fn binary_frame_is_echoed() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_binary(&mut ws, &[1, 2, 3, 0xff]).await;
    assert_eq!(
        server.message(&open.sid).await,
        Msg::Binary(vec![1, 2, 3, 0xff])
    );
    assert_eq!(
        ws::recv(&mut ws).await,
        WsMessage::binary(vec![1, 2, 3, 0xff])
    );
}

#[tokio::test]
async fn server_messages_arrive_in_order_one_per_frame() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    let session = server.engine.session(&open.sid).unwrap();
    session.send_text("one").unwrap();
    session.send_binary(Bytes::from_static(&[9, 8])).unwrap();
    session.send_text("three").unwrap();
    assert_eq!(ws::recv_text(&mut ws).await, "4one");
    assert_eq!(ws::recv(&mut ws).await, WsMessage::binary(vec![9, 8]));
    assert_eq!(ws::recv_text(&mut ws).await, "4three");
}

/// tungstenite answers a WebSocket ping, but it no longer writes to the
/// socket itself: its pong is captured and sent in order with the session's
/// frames. The pong must arrive, with the ping's payload, between frames the
/// server sent before and after it, none of them cut.
#[tokio::test]
async fn websocket_ping_is_answered_between_whole_frames() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    let session = server.engine.session(&open.sid).unwrap();
    session.send_text("before").unwrap();
    assert_eq!(ws::recv_text(&mut ws).await, "4before");
    ws.send(WsMessage::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    let pong = common::within("the pong", ws.next()).await;
    assert!(
        matches!(&pong, Some(Ok(WsMessage::Pong(p))) if p.as_ref() == b"are you there"),
        "expected the pong, got {pong:?}"
    );
    session.send_text("after").unwrap();
    assert_eq!(ws::recv_text(&mut ws).await, "4after");
    ws::assert_echo(&mut ws, "still open").await;
}

/// A client that stops reading fills the socket: the flusher hands the rest
/// to the session's task, which waits for the socket. Nothing is lost, cut
/// or reordered, and the session works on once the client reads again.
#[tokio::test]
async fn a_full_socket_delays_frames_without_losing_cutting_or_reordering_them() {
    const COUNT: u32 = 200;
    const SIZE: usize = 64 * 1024;
    let config = EngineConfig::builder()
        .max_queued_bytes(64 << 20)
        .max_queued_packets(10_000)
        .build();
    let server = TestServer::with_config(config).await;
    let (mut ws, open) = ws::open(server.addr).await;
    let session = server.engine.session(&open.sid).unwrap();
    // 12.8 MB: more than loopback's socket buffers hold, so some of it
    // waits for the client while nothing is read.
    let fill = |i: u32| (i % 251) as u8;
    for i in 0..COUNT {
        let mut payload = vec![fill(i); SIZE];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        session.send_binary(Bytes::from(payload)).unwrap();
    }
    for i in 0..COUNT {
        let WsMessage::Binary(got) = ws::recv(&mut ws).await else {
            panic!("expected binary message {i}");
        };
        assert_eq!(got.len(), SIZE, "message {i} whole");
        assert_eq!(got[..4], i.to_be_bytes(), "message {i} in order");
        assert!(got[4..].iter().all(|&b| b == fill(i)), "message {i} intact");
    }
    ws::assert_echo(&mut ws, "still open").await;
}

/// A client may send its first frames without waiting for the 101: hyper
/// has then read them with the request, and the session must get them
/// before anything read from the socket.
#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_not_lost() {
    let server = TestServer::start().await;
    let mut early = ws::masked_frame(true, TEXT, b"4first");
    early.extend(ws::masked_frame(true, TEXT, b"4second"));
    let mut ws = RawWs::connect_sending(server.addr, "EIO=4&transport=websocket", &early).await;
    let open = ws.read_frame().await.expect("open packet");
    assert!(open.payload.starts_with(b"0{"), "{open:?}");
    for echo in [&b"4first"[..], b"4second"] {
        let frame = ws.read_frame().await.expect("echo");
        assert_eq!((frame.opcode, &frame.payload[..]), (TEXT, echo));
    }
}

#[tokio::test]
async fn client_close_packet_closes_the_socket() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_text(&mut ws, "1").await;
    assert_eq!(ws::closed(&mut ws).await, Some(1000));
    assert_eq!(server.closed(&open.sid).await, CloseReason::TransportClose);
    assert!(server.engine.session(&open.sid).is_none());
}

#[tokio::test]
async fn client_close_frame_closes_the_session() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    common::within("client close", ws.close(None))
        .await
        .unwrap();
    assert_eq!(server.closed(&open.sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn dropped_connection_closes_the_session() {
    let server = TestServer::start().await;
    let (ws, open) = ws::open(server.addr).await;
    drop(ws);
    assert_eq!(server.closed(&open.sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn server_close_sends_close_packet_then_close_frame() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    let session = server.engine.session(&open.sid).unwrap();
    session.send_text("bye").unwrap();
    session.close();
    assert_eq!(ws::recv_text(&mut ws).await, "4bye");
    assert_eq!(ws::recv_text(&mut ws).await, "1");
    assert_eq!(ws::closed(&mut ws).await, Some(1000));
    assert_eq!(server.closed(&open.sid).await, CloseReason::ServerClose);
}

/// Sends `packet` as a text frame on a fresh session and expects the session
/// to end with `reason` and the socket to get a close frame with `code`; a
/// bystander WebSocket session keeps echoing.
async fn refused_text(packet: &str, reason: &'static str, code: u16) {
    let server = TestServer::start().await;
    let (mut bystander, _) = ws::open(server.addr).await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_text(&mut ws, packet).await;
    assert_eq!(ws::closed(&mut ws).await, Some(code), "packet {packet:?}");
    assert_eq!(
        server.closed(&open.sid).await,
        CloseReason::TransportError(reason)
    );
    assert!(server.engine.session(&open.sid).is_none());
    ws::assert_echo(&mut bystander, "still here").await;
}

#[tokio::test]
async fn client_ping_closes_the_session() {
    refused_text("2", "client sent a ping", 1000).await;
}

#[tokio::test]
async fn empty_text_frame_closes_the_session() {
    refused_text("", "parse error", 1000).await;
}

#[tokio::test]
async fn unknown_packet_type_closes_the_session() {
    refused_text("9hello", "parse error", 1000).await;
}

#[tokio::test]
async fn upgrade_packet_on_a_direct_websocket_closes_the_session() {
    refused_text("5", "unexpected packet type", 1000).await;
}

#[tokio::test]
async fn empty_binary_frame_is_an_empty_message() {
    let server = TestServer::start().await;
    let (mut ws, open) = ws::open(server.addr).await;
    ws::send_binary(&mut ws, &[]).await;
    assert_eq!(server.message(&open.sid).await, Msg::Binary(vec![]));
    assert_eq!(ws::recv(&mut ws).await, WsMessage::binary(Vec::new()));
}

fn small() -> EngineConfig {
    EngineConfig::builder().max_payload(1000).build()
}

/// Runs `attack` on a raw WebSocket session and expects a close frame with
/// `code`, the end of the connection, and the session closed with `reason`;
/// a bystander session keeps echoing.
async fn raw_attack<F>(attack: F, code: u16, reason: &'static str)
where
    F: AsyncFnOnce(&mut RawWs),
{
    let server = TestServer::with_config(small()).await;
    let (mut bystander, _) = ws::open(server.addr).await;
    let (mut raw, open) = RawWs::open(server.addr).await;
    attack(&mut raw).await;
    assert_eq!(raw.close_code().await, Some(code));
    raw.assert_eof().await;
    assert_eq!(
        server.closed(&open.sid).await,
        CloseReason::TransportError(reason)
    );
    ws::assert_echo(&mut bystander, "unaffected").await;
}

#[tokio::test]
async fn frame_declaring_2_pow_63_bytes_is_closed_1009() {
    raw_attack(
        async |raw| {
            let mut header = vec![0x80 | BINARY, 0x80 | 127];
            header.extend_from_slice(&(1u64 << 63).to_be_bytes());
            header.extend_from_slice(&[1, 2, 3, 4]);
            raw.send_raw(&header).await;
        },
        1009,
        "message over max payload",
    )
    .await;
}

#[tokio::test]
async fn endless_continuation_frames_are_closed_1009() {
    raw_attack(
        async |raw| {
            let fragment = [b'a'; 100];
            let mut first = fragment;
            first[0] = b'4';
            raw.send_frame(false, TEXT, &first).await;
            let mut sent = fragment.len();
            // Non-final fragments, until the message is over max_payload.
            while sent <= 1000 {
                raw.send_frame(false, CONTINUATION, &fragment).await;
                sent += fragment.len();
            }
        },
        1009,
        "message over max payload",
    )
    .await;
}

#[tokio::test]
async fn invalid_utf8_text_frame_is_closed_1007() {
    raw_attack(
        async |raw| raw.send_frame(true, TEXT, b"4\xff\xfe").await,
        1007,
        "invalid UTF-8",
    )
    .await;
}

#[tokio::test]
async fn unmasked_client_frame_is_closed_1002() {
    raw_attack(
        async |raw| raw.send_raw(&[0x80 | TEXT, 2, b'4', b'x']).await,
        1002,
        "WebSocket protocol error",
    )
    .await;
}

#[tokio::test]
async fn reserved_opcode_is_closed_1002() {
    raw_attack(
        async |raw| raw.send_frame(true, 0x3, b"4x").await,
        1002,
        "WebSocket protocol error",
    )
    .await;
}

#[tokio::test]
async fn fragmented_message_within_the_limit_is_reassembled() {
    let server = TestServer::with_config(small()).await;
    let (mut raw, open) = RawWs::open(server.addr).await;
    raw.send_frame(false, TEXT, b"4hel").await;
    raw.send_frame(false, CONTINUATION, b"lo ").await;
    raw.send_frame(true, CONTINUATION, b"world").await;
    assert_eq!(
        server.message(&open.sid).await,
        Msg::Text("hello world".into())
    );
    let echo = raw.read_frame().await.unwrap();
    assert_eq!((echo.fin, echo.opcode), (true, TEXT));
    assert_eq!(echo.payload, b"4hello world");
}
