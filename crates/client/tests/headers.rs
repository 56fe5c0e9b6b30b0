//! `ClientBuilder::extra_header`: the headers reach the server with the
//! request that opens the connection, and every later request (polling
//! GETs and POSTs, the WebSocket upgrade) carries them through a gate that
//! refuses requests without one, on both servers of the contract.
#![allow(clippy::unwrap_used, reason = "test code")]

#[macro_use]
mod support;

use serde_json::Value;
use switchboard_client::http::{HeaderName, HeaderValue};
use switchboard_client::{Client, ClientBuilder, ClientError, Socket, Transport};

use support::{GUARD, Kind, Server, until_transport};

fn with_headers(url: &str) -> ClientBuilder {
    Client::builder(url)
        .reconnection(false)
        .extra_header(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer abc"),
        )
        .extra_header(
            HeaderName::from_static("x-gate"),
            HeaderValue::from_static("open"),
        )
        // The protocol's own: ignored. Sent, the upgrade would carry two
        // versions, "13, 8", which Node's `ws` refuses.
        .extra_header(
            HeaderName::from_static("sec-websocket-version"),
            HeaderValue::from_static("8"),
        )
}

async fn header(socket: &Socket, name: &str) -> Value {
    socket
        .emit_with_ack_raw("header", &(name,), Vec::new(), GUARD)
        .await
        .unwrap()
        .first()
        .unwrap()
}

/// Over each transport mode through the gate: the opening request's
/// headers as the server saw them, then round trips (polling's POSTs and
/// GETs) and, with both transports, the upgrade, each of which the gate
/// would refuse without the header.
async fn through_the_gate(kind: Kind) {
    let Some(server) = Server::start_gated(kind).await else {
        return;
    };
    for transports in [
        &[Transport::WebSocket][..],
        &[Transport::Polling],
        &[Transport::Polling, Transport::WebSocket],
    ] {
        let socket = with_headers(&server.url())
            .transports(transports)
            .connect()
            .await
            .unwrap();
        assert_eq!(header(&socket, "authorization").await, "Bearer abc");
        assert_eq!(header(&socket, "x-gate").await, "open");
        let expected = if transports.contains(&Transport::WebSocket) {
            "websocket"
        } else {
            "polling"
        };
        until_transport(&socket, expected).await;
        for n in 0..20 {
            let echoed: u32 = socket.emit_with_ack("echo", &n).await.unwrap();
            assert_eq!(echoed, n);
        }
        socket.disconnect().await;
    }
    server.stop().await;
}
both!(through_the_gate: extra_headers_pass_the_gate_switchboard, extra_headers_pass_the_gate_node);

/// The gate does refuse: without the header the handshake fails, on
/// either transport, with the gate's HTTP error.
async fn gate_refuses(kind: Kind) {
    let Some(server) = Server::start_gated(kind).await else {
        return;
    };
    for transport in [Transport::WebSocket, Transport::Polling] {
        let refused = Client::builder(&server.url())
            .reconnection(false)
            .transports(&[transport])
            .connect()
            .await;
        assert!(
            matches!(refused, Err(ClientError::Handshake(_))),
            "{transport:?}: {refused:?}"
        );
    }
    server.stop().await;
}
both!(gate_refuses: the_gate_refuses_a_client_without_the_header_switchboard, the_gate_refuses_a_client_without_the_header_node);
