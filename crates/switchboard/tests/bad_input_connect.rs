//! CONNECT packets a client gets wrong, and clients that never send one:
//! an unknown namespace is refused with CONNECT_ERROR and the connection
//! stays usable; everything else closes that client's connection, without a
//! panic, and a client connected before it still gets its echoes.
#![allow(clippy::unwrap_used, reason = "test code")]

mod raw;

use std::time::Duration;

use raw::{Client, Out, closes_on_packet, closes_only_offender, start, start_default};
use switchboard::{ConnectError, DisconnectReason, Io, Socket};

/// A client that has joined no namespace sends `messages`: its connection is
/// closed, and a client joined before it is not disturbed.
async fn closes_before_connect(messages: &[Out<'_>]) {
    let server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::open(server.addr).await;
    offender.send_all(messages).await;
    offender.closed().await;
    healthy.assert_echo().await;
    server.finish().await;
}

// ---- unknown namespace: refused, connection kept ----

#[tokio::test]
async fn unknown_namespace_is_refused_and_connection_stays_usable() {
    let server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut client = Client::open(server.addr).await;
    client.send("0/nope,").await;
    assert_eq!(
        client.packet().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
    client.join("/").await;
    client.assert_echo().await;
    // Refused again, and again without consequence.
    client.send("0/nope,").await;
    assert_eq!(
        client.packet().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
    client.assert_echo().await;
    healthy.assert_echo().await;
    server.finish().await;
}

/// The official clients send `0/nope,` but a CONNECT without the trailing
/// comma names the same namespace.
#[tokio::test]
async fn unknown_namespace_without_comma_is_refused() {
    let server = start_default().await;
    let mut client = Client::open(server.addr).await;
    client.send("0/nope").await;
    assert_eq!(
        client.packet().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
    client.join("/").await;
    client.assert_echo().await;
    server.finish().await;
}

// ---- duplicate CONNECT ----

#[tokio::test]
async fn duplicate_connect_closes() {
    closes_on_packet("0").await;
}

#[tokio::test]
async fn duplicate_connect_with_auth_closes() {
    closes_on_packet(r#"0{"token":"x"}"#).await;
}

#[tokio::test]
async fn duplicate_connect_on_other_namespace_closes() {
    let mut server = start_default().await;
    server.io.of("/other");
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender.join("/other").await;
    offender.send("0/other,").await;
    offender.closed().await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::ForcedServerClose
    );
    healthy.assert_echo().await;
    server.finish().await;
}

/// A second CONNECT while the first is still in the namespace's middleware
/// is a duplicate too.
#[tokio::test]
async fn duplicate_connect_while_middleware_decides_closes() {
    let server = start_default().await;
    let (release, released) = tokio::sync::watch::channel(false);
    server.io.of("/slow").use_middleware(move |_: Socket| {
        let mut released = released.clone();
        async move {
            let _ = released.wait_for(|r| *r).await;
            Ok::<(), ConnectError>(())
        }
    });
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::open(server.addr).await;
    offender.send("0/slow,").await;
    offender.send("0/slow,").await;
    offender.closed().await;
    // The first CONNECT's middleware now accepts, too late: the connection
    // is gone.
    release.send(true).unwrap();
    healthy.assert_echo().await;
    server.finish().await;
}

// ---- CONNECT payloads ----

#[tokio::test]
async fn connect_auth_array_closes() {
    closes_before_connect(&[Out::Packet("0[]")]).await;
}

#[tokio::test]
async fn connect_auth_string_closes() {
    closes_before_connect(&[Out::Packet(r#"0"token""#)]).await;
}

#[tokio::test]
async fn connect_auth_not_json_closes() {
    closes_before_connect(&[Out::Packet(r#"0{"token":"#)]).await;
}

#[tokio::test]
async fn connect_auth_nested_100_000_deep_closes() {
    let depth = 100_000;
    let packet = format!(r#"0{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    closes_before_connect(&[Out::Packet(&packet)]).await;
}

// ---- packets before any CONNECT ----

#[tokio::test]
async fn event_before_connect_closes() {
    closes_before_connect(&[Out::Packet(r#"2["echo",1]"#)]).await;
}

#[tokio::test]
async fn connect_error_before_connect_closes() {
    closes_before_connect(&[Out::Packet(r#"4{"message":"x"}"#)]).await;
}

#[tokio::test]
async fn connect_error_string_from_client_closes() {
    closes_on_packet(r#"4"x""#).await;
}

#[tokio::test]
async fn connect_error_for_other_namespace_closes() {
    closes_only_offender(&[Out::Packet(r#"4/other,{"message":"x"}"#)]).await;
}

// ---- connect timeout ----

/// A session that joins no namespace within the connect timeout is closed
/// with the Engine.IO close packet; one that joined, opened before it (so
/// its own timeout has passed too by then), is not.
#[tokio::test]
async fn no_connect_within_timeout_closes() {
    let server = start(Io::builder().connect_timeout(Duration::from_millis(200))).await;
    let mut joined = Client::connect(server.addr).await;
    let mut idle = Client::open(server.addr).await;
    let closed = idle.closed().await;
    assert!(
        closed.close_packet,
        "closed without the Engine.IO close packet"
    );
    joined.assert_echo().await;
    server.finish().await;
}

/// Being refused a namespace is not joining one: the timeout still applies.
#[tokio::test]
async fn refused_namespace_does_not_stop_connect_timeout() {
    let server = start(Io::builder().connect_timeout(Duration::from_millis(200))).await;
    let mut joined = Client::connect(server.addr).await;
    let mut refused = Client::open(server.addr).await;
    refused.send("0/nope,").await;
    assert_eq!(
        refused.packet().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
    refused.closed().await;
    joined.assert_echo().await;
    server.finish().await;
}
