//! The browser client (`clients/js`, served at `/socket.io/socket.io.js`)
//! in headless Chromium: one test page, `tests/browser/client.test.html`,
//! run against this crate's server and against Node's socket.io 4.8, which
//! serves the same client file. Scenarios: connecting, events both ways,
//! acks both ways, binary (ArrayBuffer, typed arrays, Blob), rooms, each
//! transport mode and the upgrade, heartbeat, buffering, namespaces on one
//! connection, middleware refusal, disconnect reasons, reconnection after a
//! server restart, connection state recovery, the tutorial page, the ES
//! module, and malformed input from a fake server.
//!
//! Needs node, npm and `/usr/bin/chromium`; without them a local run skips
//! loudly, and with `CI` set it fails.
#![allow(clippy::unwrap_used, reason = "test code")]

mod browser_support;

use std::net::SocketAddr;

use browser_support::{NodeServer, Server, SwitchboardServer, run_page, tools};

/// The page asks for one restart per reconnection scenario.
const RESTART_SCENARIOS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_against_switchboard() {
    let Some(tools) = tools() else { return };
    let server = SwitchboardServer::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut server = Server::Switchboard(server);
    let run = run_page(tools, &mut server, "switchboard").await;
    server.stop().await;
    run.assert_success();
    assert_eq!(run.restarts, RESTART_SCENARIOS, "restart scenarios run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_against_node_reference_server() {
    let Some(tools) = tools() else { return };
    let server = NodeServer::start(tools, 0).await.unwrap();
    let mut server = Server::Node(server);
    let run = run_page(tools, &mut server, "Node socket.io 4.8").await;
    server.stop().await;
    run.assert_success();
    assert_eq!(run.restarts, RESTART_SCENARIOS, "restart scenarios run");
}
