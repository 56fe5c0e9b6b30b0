//! The handshake: every refusal with its status and exact JSON body, and the
//! open packet on each transport.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{TestServer, ws};
use switchboard_engine::{EngineConfig, TransportKind};

#[tokio::test]
async fn unknown_transport_is_code_0() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    for query in [
        "EIO=4&transport=__proto__",
        "EIO=4&transport=constructor",
        "EIO=4&transport=flashsocket",
        "EIO=4&transport=",
        "EIO=4",
    ] {
        server
            .get(query)
            .await
            .assert_error(400, 0, "Transport unknown");
    }
    assert_eq!(server.engine.session_count(), 1, "no session was created");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn disabled_transport_is_code_0() {
    let config = EngineConfig::builder().transports(true, false).build();
    let server = TestServer::with_config(config).await;
    let healthy = server.healthy().await;
    server
        .get("EIO=4&transport=websocket")
        .await
        .assert_error(400, 0, "Transport unknown");
    // With WebSocket off, polling sessions are offered no upgrade.
    let open = server.handshake().await;
    assert_eq!(open.json["upgrades"], serde_json::json!([]));
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn unknown_sid_is_code_1() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    for sid in [
        "abc",
        // Shaped like a real sid, but nobody has it.
        "AAAAAAAAAAAAAAAAAAAA",
        "__proto__",
    ] {
        server
            .get(&format!("EIO=4&transport=polling&sid={sid}"))
            .await
            .assert_error(400, 1, "Session ID unknown");
        server
            .request(
                "POST",
                &format!("EIO=4&transport=polling&sid={sid}"),
                &[],
                b"4hello",
            )
            .await
            .assert_error(400, 1, "Session ID unknown");
    }
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn handshake_that_is_not_a_get_is_code_2() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    for method in ["POST", "PUT", "DELETE"] {
        server
            .request(method, "EIO=4&transport=polling", &[], b"4hello")
            .await
            .assert_error(400, 2, "Bad handshake method");
    }
    assert_eq!(server.engine.session_count(), 1, "no session was created");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn bad_request_is_code_3() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let victim = server.handshake().await;
    // A method polling does not define, on an existing session.
    server
        .request(
            "PUT",
            &format!("EIO=4&transport=polling&sid={}", victim.sid),
            &[],
            b"4x",
        )
        .await
        .assert_error(400, 3, "Bad request");
    // transport=websocket without the WebSocket handshake headers.
    server
        .get("EIO=4&transport=websocket")
        .await
        .assert_error(400, 3, "Bad request");
    server
        .get(&format!("EIO=4&transport=websocket&sid={}", victim.sid))
        .await
        .assert_error(400, 3, "Bad request");
    // A WebSocket handshake of an unsupported WebSocket version.
    server
        .request(
            "GET",
            "EIO=4&transport=websocket",
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "8"),
            ],
            b"",
        )
        .await
        .assert_error(400, 3, "Bad request");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn unsupported_protocol_version_is_code_5() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    for query in [
        "transport=polling",
        "EIO=&transport=polling",
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
        "EIO=5&transport=polling",
        "EIO=04&transport=polling",
        "EIO=3&transport=websocket",
    ] {
        server
            .get(query)
            .await
            .assert_error(400, 5, "Unsupported protocol version");
    }
    assert_eq!(server.engine.session_count(), 1, "no session was created");
    server.assert_healthy(&healthy).await;
}

fn keys(json: &serde_json::Value) -> BTreeSet<String> {
    json.as_object().unwrap().keys().cloned().collect()
}

fn five_keys() -> BTreeSet<String> {
    [
        "sid",
        "upgrades",
        "pingInterval",
        "pingTimeout",
        "maxPayload",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn config() -> EngineConfig {
    EngineConfig::builder()
        .ping_interval(Duration::from_millis(3_000))
        .ping_timeout(Duration::from_millis(2_000))
        .max_payload(5_000)
        .build()
}

#[tokio::test]
async fn open_packet_on_polling() {
    let server = TestServer::with_config(config()).await;
    let first = server.handshake().await;
    assert_eq!(keys(&first.json), five_keys(), "{}", first.json);
    assert_eq!(first.json["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(first.json["pingInterval"], 3_000);
    assert_eq!(first.json["pingTimeout"], 2_000);
    assert_eq!(first.json["maxPayload"], 5_000);
    assert!(!first.sid.is_empty());
    assert_eq!(
        server.opened().await,
        (first.sid.clone(), TransportKind::Polling)
    );
    let second = server.handshake().await;
    assert_ne!(first.sid, second.sid, "sids differ");
    assert!(server.engine.session(&first.sid).is_some());
    assert!(server.engine.session(&second.sid).is_some());
}

#[tokio::test]
async fn open_packet_on_websocket() {
    let server = TestServer::with_config(config()).await;
    let (_ws1, first) = ws::open(server.addr).await;
    assert_eq!(keys(&first.json), five_keys(), "{}", first.json);
    assert_eq!(first.json["upgrades"], serde_json::json!([]));
    assert_eq!(first.json["pingInterval"], 3_000);
    assert_eq!(first.json["pingTimeout"], 2_000);
    assert_eq!(first.json["maxPayload"], 5_000);
    assert_eq!(
        server.opened().await,
        (first.sid.clone(), TransportKind::WebSocket)
    );
    let (_ws2, second) = ws::open(server.addr).await;
    assert_ne!(first.sid, second.sid, "sids differ");
    let polling = server.handshake().await;
    assert_ne!(polling.sid, first.sid);
    assert_ne!(polling.sid, second.sid);
}

#[tokio::test]
async fn engine_path_with_and_without_trailing_slash() {
    let server = TestServer::start().await;
    let addr = server.addr;
    let reply = common::http::exchange(
        addr,
        &common::http::request(addr, "GET", "/engine.io?EIO=4&transport=polling", &[], b""),
    )
    .await;
    common::Open::parse(reply.ok_text());
    let reply = common::http::exchange(
        addr,
        &common::http::request(addr, "GET", "/elsewhere/?EIO=4&transport=polling", &[], b""),
    )
    .await;
    assert_eq!(reply.status, 404);
}
