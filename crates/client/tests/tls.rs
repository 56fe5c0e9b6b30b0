//! `https://` and `wss://`: the client over TLS to both servers of the
//! contract (`tests/support/tls.rs`), with a certificate made for the run,
//! and the refusals a TLS client owes its user.
#![allow(clippy::unwrap_used, reason = "test code")]

#[macro_use]
mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_client::{Client, ClientError, Transport, placeholder};

use support::tls::{Certificate, TlsServer};
use support::{GUARD, Kind, until_transport};

/// The contract's round trips over TLS: JSON and a binary attachment large
/// enough to span several TLS records, then the transport both ends use.
async fn round_trips(kind: Kind, transports: &[Transport], expected: &str) {
    let certificate = Certificate::new(&["localhost"]);
    let Some(server) = TlsServer::start(kind, &certificate).await else {
        return;
    };
    // A host name, as in production: it is the SNI and the name checked
    // against the certificate, and `localhost` may resolve to ::1 first
    // while the server listens on 127.0.0.1 only.
    let url = format!("https://localhost:{}", server.port());
    let socket = Client::builder(&url)
        .tls_config(certificate.client_config())
        .transports(transports)
        .reconnection(false)
        .connect()
        .await
        .unwrap();
    let echoed: Value = socket
        .emit_with_ack("echo", &json!({"a": [1, "é"]}))
        .await
        .unwrap();
    assert_eq!(echoed, json!({"a": [1, "é"]}));
    let big = Bytes::from(vec![7u8; 100_000]);
    let reply = socket
        .emit_with_ack_raw("echo", &json!([placeholder(0)]), vec![big.clone()], GUARD)
        .await
        .unwrap();
    assert_eq!(reply.binary(), [big]);
    until_transport(&socket, expected).await;
    assert_eq!(socket.io().transport().unwrap().as_str(), expected);
    socket.disconnect().await;
    server.stop().await;
}

both!(round_trips(&[Transport::WebSocket], "websocket"): websocket_over_tls_switchboard, websocket_over_tls_node);

both!(round_trips(&[Transport::Polling], "polling"): polling_over_tls_switchboard, polling_over_tls_node);

both!(round_trips(&[Transport::Polling, Transport::WebSocket], "websocket"): polling_upgrades_to_websocket_over_tls_switchboard, polling_upgrades_to_websocket_over_tls_node);

/// What connecting to `url` fails with, on each transport.
async fn refusal(url: &str, certificate: Option<&Certificate>) -> Vec<String> {
    let mut seen = Vec::new();
    for transport in [Transport::WebSocket, Transport::Polling] {
        let mut builder = Client::builder(url)
            .transports(&[transport])
            .reconnection(false);
        if let Some(certificate) = certificate {
            builder = builder.tls_config(certificate.client_config());
        }
        match builder.connect().await {
            Err(ClientError::Tls(e)) => seen.push(e.to_string()),
            other => panic!("{transport:?} to {url}: {other:?}"),
        }
    }
    seen
}

/// The default trusts Mozilla's roots only: a self-signed certificate is
/// refused before any HTTP is sent, and the error says why.
async fn untrusted_certificate(kind: Kind) {
    let certificate = Certificate::new(&["localhost"]);
    let Some(server) = TlsServer::start(kind, &certificate).await else {
        return;
    };
    let url = format!("wss://localhost:{}", server.port());
    for error in refusal(&url, None).await {
        assert!(error.contains("UnknownIssuer"), "{error}");
    }
    server.stop().await;
}
both!(untrusted_certificate: untrusted_certificate_is_refused_switchboard, untrusted_certificate_is_refused_node);

/// A trusted certificate for another name is refused too: here the URL
/// names the server by its IP address, which the certificate does not.
async fn certificate_for_another_name(kind: Kind) {
    let certificate = Certificate::new(&["localhost"]);
    let Some(server) = TlsServer::start(kind, &certificate).await else {
        return;
    };
    let url = format!("https://127.0.0.1:{}", server.port());
    for error in refusal(&url, Some(&certificate)).await {
        assert!(error.contains("not valid for name"), "{error}");
    }
    server.stop().await;
}
both!(certificate_for_another_name: certificate_for_another_name_is_refused_switchboard, certificate_for_another_name_is_refused_node);
