//! HTTP long-polling: messages both ways, closes from either side, and the
//! ways a polling client can misbehave.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use bytes::Bytes;
use common::{Event, Msg, TestServer};
use switchboard_engine::CloseReason;

#[tokio::test]
async fn one_text_message_is_echoed() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, "4hello €").await;
    assert_eq!(server.message(&sid).await, Msg::Text("hello €".into()));
    let reply = server.poll(&sid).await;
    assert_eq!(reply.ok_text(), "4hello €");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
}

#[tokio::test]
async fn several_text_packets_in_one_payload() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, "4one\x1e4two\x1e4\x1e4four").await;
    for expected in ["one", "two", "", "four"] {
        assert_eq!(server.message(&sid).await, Msg::Text(expected.into()));
    }
    assert_eq!(server.poll_text(&sid).await, "4one\x1e4two\x1e4\x1e4four");
}

#[tokio::test]
async fn text_and_binary_in_one_payload() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, "4hi\x1ebAQID/w==\x1eb").await;
    assert_eq!(server.message(&sid).await, Msg::Text("hi".into()));
    assert_eq!(server.message(&sid).await, Msg::Binary(vec![1, 2, 3, 255]));
    assert_eq!(server.message(&sid).await, Msg::Binary(vec![]));
    // Binary goes back to a polling client as `b` + base64.
    assert_eq!(server.poll_text(&sid).await, "4hi\x1ebAQID/w==\x1eb");
}

#[tokio::test]
async fn queued_messages_arrive_in_one_get() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let session = server.engine.session(&sid).unwrap();
    session.send_text("one").unwrap();
    session.send_text("two").unwrap();
    session.send_binary(Bytes::from_static(&[0, 1])).unwrap();
    session.send_text("three").unwrap();
    assert_eq!(
        server.poll_text(&sid).await,
        "4one\x1e4two\x1ebAAE=\x1e4three"
    );
}

#[tokio::test]
async fn parked_poll_is_released_by_a_send() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let poll = server.parked_poll(&sid).await;
    server
        .engine
        .session(&sid)
        .unwrap()
        .send_text("wake")
        .unwrap();
    assert_eq!(poll.await.unwrap().ok_text(), "4wake");
}

#[tokio::test]
async fn noop_and_unsolicited_pong_are_accepted() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    server.post_ok(&sid, "6\x1e3\x1e4after").await;
    assert_eq!(server.message(&sid).await, Msg::Text("after".into()));
    assert_eq!(server.poll_text(&sid).await, "4after");
}

#[tokio::test]
async fn client_close_releases_parked_poll_with_noop() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    let poll = server.parked_poll(&sid).await;
    server.post_ok(&sid, "1").await;
    assert_eq!(poll.await.unwrap().ok_text(), "6");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    server.assert_gone(&sid).await;
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn server_close_reaches_parked_poll() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let poll = server.parked_poll(&sid).await;
    let session = server.engine.session(&sid).unwrap();
    session.close();
    assert!(session.is_closed());
    assert_eq!(poll.await.unwrap().ok_text(), "1");
    assert_eq!(server.closed(&sid).await, CloseReason::ServerClose);
    server.assert_gone(&sid).await;
}

#[tokio::test]
async fn server_close_flushes_queued_messages_first() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    let session = server.engine.session(&sid).unwrap();
    session.send_text("last words").unwrap();
    session.close();
    assert_eq!(
        session.send_text("too late"),
        Err(switchboard_engine::SendError::Closed)
    );
    // No GET was waiting: the next one collects the message, and the one
    // after it the close, in a payload of its own as Node sends it (the
    // official client drops messages that share a payload with the close).
    assert_eq!(server.poll_text(&sid).await, "4last words");
    assert_eq!(server.poll_text(&sid).await, "1");
    assert_eq!(server.closed(&sid).await, CloseReason::ServerClose);
    server.assert_gone(&sid).await;
}

#[tokio::test]
async fn aborted_poll_closes_the_session() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    let conn = server.parked_poll_conn(&sid).await;
    drop(conn);
    assert_eq!(
        server.closed(&sid).await,
        CloseReason::TransportError("long-poll aborted")
    );
    server.assert_gone(&sid).await;
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn two_concurrent_gets_close_the_session() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    let first = server.parked_poll(&sid).await;
    server.poll(&sid).await.assert_error(400, 3, "Bad request");
    assert_eq!(first.await.unwrap().ok_text(), "1");
    assert_eq!(
        server.closed(&sid).await,
        CloseReason::TransportError("overlapping long-poll GET")
    );
    server.assert_gone(&sid).await;
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn two_concurrent_posts_close_the_session() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    // The first POST declares 6 bytes and sends 2, so it is still being
    // read when the second arrives.
    let mut slow = server.parked_post(&sid, 6, b"4a").await;
    server
        .post(&sid, b"4b")
        .await
        .assert_error(400, 3, "Bad request");
    assert_eq!(
        server.closed(&sid).await,
        CloseReason::TransportError("overlapping POST")
    );
    server.assert_gone(&sid).await;
    // The slow POST completes; its message must not reach the handler of a
    // session that already closed.
    slow.send(b"bcde").await;
    let reply = slow
        .read_response()
        .await
        .expect("a response to the slow POST");
    assert!(
        reply.status == 200 || reply.status == 400,
        "slow POST answered {reply:?}"
    );
    let late: Vec<Event> = server
        .events_so_far()
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::Message { sid: s, .. } if *s == sid))
        .collect();
    assert!(late.is_empty(), "messages after close: {late:?}");
    server.assert_healthy(&healthy).await;
}

/// Posts `body` with `headers`, expects 400 code 3, and the session closed
/// with `reason`; a bystander session is unaffected.
async fn refused_post(headers: &[(&str, &str)], body: &[u8], reason: &'static str) {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let sid = server.handshake().await.sid;
    server
        .request(
            "POST",
            &format!("EIO=4&transport=polling&sid={sid}"),
            headers,
            body,
        )
        .await
        .assert_error(400, 3, "Bad request");
    assert_eq!(
        server.closed(&sid).await,
        CloseReason::TransportError(reason),
        "body {body:?}"
    );
    server.assert_gone(&sid).await;
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn octet_stream_body_is_refused() {
    refused_post(
        &[("Content-Type", "application/octet-stream")],
        b"4hello",
        "binary polling body",
    )
    .await;
}

#[tokio::test]
async fn garbage_body_is_refused() {
    refused_post(&[], b"abc", "parse error").await;
}

#[tokio::test]
async fn invalid_utf8_body_is_refused() {
    refused_post(&[], b"4\xff\xfe", "parse error").await;
}

#[tokio::test]
async fn bad_base64_is_refused() {
    refused_post(&[], b"b!!!!", "parse error").await;
}

#[tokio::test]
async fn client_ping_closes_the_session() {
    refused_post(&[], b"2", "client sent a ping").await;
}

#[tokio::test]
async fn empty_packet_is_refused() {
    refused_post(&[], b"", "parse error").await;
}

#[tokio::test]
async fn empty_packet_between_others_is_refused() {
    refused_post(&[], b"4a\x1e\x1e4b", "parse error").await;
}

#[tokio::test]
async fn unknown_packet_type_is_refused() {
    refused_post(&[], b"9hello", "parse error").await;
}

#[tokio::test]
async fn upgrade_packet_over_polling_is_refused() {
    refused_post(&[], b"5", "unexpected packet type").await;
}
