//! Cross-origin policy: a refused origin gets 403 code 4 on every kind of
//! request, allowed origins get the CORS answer, and neither touches
//! sessions.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use common::{TestServer, ws};
use switchboard_engine::{Cors, EngineConfig};

const EVIL: &str = "http://evil.example";

fn upgrade_headers(origin: &str) -> Vec<(&str, &str)> {
    vec![
        ("Origin", origin),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
}

#[tokio::test]
async fn refused_origin_on_polling_is_403_code_4() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    let victim = server.handshake().await.sid;
    let origin = [("Origin", EVIL)];
    let reply = server
        .request("GET", "EIO=4&transport=polling", &origin, b"")
        .await;
    reply.assert_error(403, 4, "Forbidden");
    assert_eq!(reply.header("access-control-allow-origin"), None);
    assert_eq!(server.engine.session_count(), 2, "no session was created");
    // Requests on an existing session from that origin are refused too, and
    // leave the session alone.
    let query = format!("EIO=4&transport=polling&sid={victim}");
    server
        .request("POST", &query, &origin, b"4forged")
        .await
        .assert_error(403, 4, "Forbidden");
    server
        .request("GET", &query, &origin, b"")
        .await
        .assert_error(403, 4, "Forbidden");
    server.post_ok(&victim, "4mine").await;
    assert_eq!(server.poll_text(&victim).await, "4mine");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn refused_origin_on_websocket_handshake_is_403_code_4() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    server
        .request(
            "GET",
            "EIO=4&transport=websocket",
            &upgrade_headers(EVIL),
            b"",
        )
        .await
        .assert_error(403, 4, "Forbidden");
    assert_eq!(server.engine.session_count(), 1, "no session was created");
    server.assert_healthy(&healthy).await;
}

#[tokio::test]
async fn refused_origin_on_upgrade_is_403_and_session_keeps_polling() {
    let server = TestServer::start().await;
    let sid = server.handshake().await.sid;
    server
        .request(
            "GET",
            &format!("EIO=4&transport=websocket&sid={sid}"),
            &upgrade_headers(EVIL),
            b"",
        )
        .await
        .assert_error(403, 4, "Forbidden");
    server.post_ok(&sid, "4still polling").await;
    assert_eq!(server.poll_text(&sid).await, "4still polling");
    // The refused attempt did not use up the upgrade.
    let mut ws = ws::connect(server.addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws::send_text(&mut ws, "2probe").await;
    assert_eq!(ws::recv_text(&mut ws).await, "3probe");
}

#[tokio::test]
async fn same_origin_is_allowed_by_default() {
    let server = TestServer::start().await;
    let own = format!("http://{}", server.addr);
    let reply = server
        .request("GET", "EIO=4&transport=polling", &[("Origin", &own)], b"")
        .await;
    common::Open::parse(reply.ok_text());
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(own.as_str())
    );
    assert_eq!(reply.header("vary"), Some("Origin"));
    assert_eq!(reply.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn requests_without_origin_get_no_cors_headers() {
    let server = TestServer::start().await;
    let reply = server.get("EIO=4&transport=polling").await;
    common::Open::parse(reply.ok_text());
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn listed_origins_are_allowed_with_credentials() {
    let cors = Cors::origins(["https://app.example/"]).with_credentials(true);
    let server = TestServer::with_config(EngineConfig::builder().cors(cors).build()).await;
    let reply = server
        .request(
            "GET",
            "EIO=4&transport=polling",
            &[("Origin", "https://app.example")],
            b"",
        )
        .await;
    common::Open::parse(reply.ok_text());
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    for other in ["https://other.example", "http://app.example", EVIL] {
        server
            .request("GET", "EIO=4&transport=polling", &[("Origin", other)], b"")
            .await
            .assert_error(403, 4, "Forbidden");
    }
    // The listed origin may open a WebSocket too.
    let reply = server
        .request(
            "GET",
            "EIO=4&transport=websocket",
            &upgrade_headers("https://app.example"),
            b"",
        )
        .await;
    assert_eq!(reply.status, 101);
}

#[tokio::test]
async fn any_origin_is_echoed() {
    let server = TestServer::with_config(EngineConfig::builder().cors(Cors::any()).build()).await;
    let reply = server
        .request("GET", "EIO=4&transport=polling", &[("Origin", EVIL)], b"")
        .await;
    common::Open::parse(reply.ok_text());
    assert_eq!(reply.header("access-control-allow-origin"), Some(EVIL));
}

#[tokio::test]
async fn preflight_from_allowed_origin_is_204() {
    let server = TestServer::with_config(EngineConfig::builder().cors(Cors::any()).build()).await;
    let reply = server
        .request(
            "OPTIONS",
            "EIO=4&transport=polling",
            &[
                ("Origin", "https://app.example"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            b"",
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert!(reply.header("access-control-max-age").is_some());
}

#[tokio::test]
async fn preflight_from_refused_origin_is_403() {
    let server = TestServer::start().await;
    let healthy = server.healthy().await;
    server
        .request(
            "OPTIONS",
            "EIO=4&transport=polling",
            &[("Origin", EVIL), ("Access-Control-Request-Method", "POST")],
            b"",
        )
        .await
        .assert_error(403, 4, "Forbidden");
    server.assert_healthy(&healthy).await;
}
