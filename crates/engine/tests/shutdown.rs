//! Graceful shutdown through `serve`'s shutdown future.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::time::Duration;

use common::{TestServer, ws};
use switchboard_engine::{CloseReason, EngineConfig, ServeConfig};
use tokio::net::TcpStream;

#[tokio::test]
async fn shutdown_closes_every_session_and_stops_accepting() {
    let mut server = TestServer::start().await;
    let polling = server.handshake().await.sid;
    let poll = server.parked_poll(&polling).await;
    let (mut socket, _open) = ws::open(server.addr).await;

    server.begin_shutdown();

    assert_eq!(poll.await.unwrap().ok_text(), "1");
    assert_eq!(ws::recv_text(&mut socket).await, "1");
    assert_eq!(ws::closed(&mut socket).await, Some(1000));
    server.served().await.unwrap();
    // Every `on_close` has run by the time `serve` returns, so a program
    // that exits then loses no disconnect handler.
    let closed = server
        .events_so_far()
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                common::Event::Close {
                    reason: CloseReason::ServerShutdown,
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        closed, 2,
        "on_close ran for both sessions before serve returned"
    );
    assert_eq!(server.engine.session_count(), 0);
    // `serve` dropped its listener before it returned.
    let refused = TcpStream::connect(server.addr).await;
    assert!(refused.is_err(), "the listener still accepts: {refused:?}");
}

#[tokio::test]
async fn shutdown_gives_up_on_a_client_that_never_collects_its_close_packet() {
    let config = EngineConfig::builder()
        .shutdown_timeout(Duration::from_millis(200))
        .build();
    let mut server = TestServer::with(config, ServeConfig::default()).await;
    // This client will never poll again, so its close packet stays queued.
    let gone_quiet = server.handshake().await.sid;
    server.begin_shutdown();
    // `serve` returns anyway, once the shutdown timeout is up.
    server.served().await.unwrap();
    assert_eq!(
        server.closed(&gone_quiet).await,
        CloseReason::ServerShutdown
    );
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn engine_shutdown_refuses_new_sessions() {
    let server = TestServer::start().await;
    common::within("engine shutdown", server.engine.shutdown()).await;
    server
        .get("EIO=4&transport=polling")
        .await
        .assert_error(400, 3, "Bad request");
    server
        .request(
            "GET",
            "EIO=4&transport=websocket",
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
            b"",
        )
        .await
        .assert_error(400, 3, "Bad request");
}
