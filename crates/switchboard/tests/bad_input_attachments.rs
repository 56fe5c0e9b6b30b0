//! Binary attachments a client gets wrong: bad placeholders, too many,
//! missing, or unasked for. Each closes that client's connection, without
//! a panic, and a client connected before it still gets its echoes.
#![allow(clippy::unwrap_used, reason = "test code")]

mod raw;

use raw::{Client, Out, closes_only_offender, closes_only_offender_with, start, start_default};
use switchboard::{DisconnectReason, Io};

// ---- placeholders ----

#[tokio::test]
async fn placeholder_out_of_range_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["ev",{"_placeholder":true,"num":1}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

#[tokio::test]
async fn placeholder_num_string_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["ev",{"_placeholder":true,"num":"0"}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

#[tokio::test]
async fn placeholder_num_fraction_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["ev",{"_placeholder":true,"num":0.5}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

#[tokio::test]
async fn placeholder_num_negative_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["ev",{"_placeholder":true,"num":-1}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

#[tokio::test]
async fn placeholder_without_num_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["ev",{"_placeholder":true}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

#[tokio::test]
async fn placeholder_in_binary_ack_out_of_range_closes() {
    closes_only_offender(&[
        Out::Packet(r#"61-1[{"_placeholder":true,"num":3}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

// ---- attachment counts ----

#[tokio::test]
async fn eleven_attachments_over_default_limit_closes() {
    closes_only_offender(&[Out::Packet(r#"511-["ev"]"#)]).await;
}

#[tokio::test]
async fn huge_attachment_count_closes() {
    closes_only_offender(&[Out::Packet(r#"599999999999999999999999-["ev"]"#)]).await;
}

#[tokio::test]
async fn attachment_count_missing_closes() {
    closes_only_offender(&[Out::Packet(r#"5["ev"]"#)]).await;
}

#[tokio::test]
async fn attachment_count_not_a_number_closes() {
    closes_only_offender(&[Out::Packet(r#"5x-["ev"]"#)]).await;
}

/// The default limit itself (10) is accepted and delivered.
#[tokio::test]
async fn ten_attachments_at_default_limit_are_delivered() {
    let server = start_default().await;
    let mut client = Client::connect(server.addr).await;
    let placeholders: Vec<String> = (0..10)
        .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#))
        .collect();
    let args = placeholders.join(",");
    client.send(&format!(r#"510-4["echo",{args}]"#)).await;
    for n in 0..10u8 {
        client.send_binary(&[n]).await;
    }
    assert_eq!(client.packet().await, format!("610-4[{args}]"));
    for n in 0..10u8 {
        assert_eq!(client.binary().await, [n]);
    }
    server.finish().await;
}

/// A configured limit of 2: exactly 2 attachments are delivered, 3 close.
#[tokio::test]
async fn configured_limit_two_attachments_are_delivered() {
    let server = start(Io::builder().max_attachments(2)).await;
    let mut client = Client::connect(server.addr).await;
    let args = r#"{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}"#;
    client.send(&format!(r#"52-0["echo",{args}]"#)).await;
    client.send_binary(&[1, 2]).await;
    client.send_binary(&[3]).await;
    assert_eq!(client.packet().await, format!("62-0[{args}]"));
    assert_eq!(client.binary().await, [1, 2]);
    assert_eq!(client.binary().await, [3]);
    // Without an ack id, emitted back as a binary event.
    client.send(&format!(r#"52-["echo",{args}]"#)).await;
    client.send_binary(&[4]).await;
    client.send_binary(&[5]).await;
    assert_eq!(client.packet().await, format!(r#"52-["echo",{args}]"#));
    assert_eq!(client.binary().await, [4]);
    assert_eq!(client.binary().await, [5]);
    server.finish().await;
}

#[tokio::test]
async fn configured_limit_three_attachments_close() {
    closes_only_offender_with(
        Io::builder().max_attachments(2),
        &[
            Out::Packet(
                r#"53-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#,
            ),
            Out::Binary(&[1]),
            Out::Binary(&[2]),
            Out::Binary(&[3]),
        ],
    )
    .await;
}

#[tokio::test]
async fn configured_limit_three_attachments_in_ack_close() {
    closes_only_offender_with(Io::builder().max_attachments(2), &[Out::Packet("63-1[]")]).await;
}

// ---- attachments that do not match the packet ----

/// Two announced, one sent, then a text packet: the text packet while
/// attachments are pending is the error. While the offender's packet is
/// pending, other clients are served as usual.
#[tokio::test]
async fn attachments_that_never_arrive_close_on_next_text() {
    let mut server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender
        .send(r#"52-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    offender.send_binary(&[1]).await;
    // The offender is waiting for its second attachment; the healthy client
    // is not held up by it. (The server handles each connection's messages
    // in order, so the echo here proves nothing about the offender; the
    // offender's own close below does.)
    healthy.assert_echo().await;
    offender.send(r#"2["echo","too soon"]"#).await;
    offender.closed().await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::ForcedServerClose
    );
    healthy.assert_echo().await;
    server.finish().await;
}

#[tokio::test]
async fn text_packet_while_attachments_pending_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["echo",{"_placeholder":true,"num":0}]"#),
        Out::Packet(r#"2["echo",1]"#),
    ])
    .await;
}

/// A CONNECT is a text packet too: it may not cut into an attachment run.
#[tokio::test]
async fn connect_while_attachments_pending_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["echo",{"_placeholder":true,"num":0}]"#),
        Out::Packet("0/other,"),
    ])
    .await;
}

#[tokio::test]
async fn binary_frame_without_pending_attachments_closes() {
    closes_only_offender(&[Out::Binary(&[1, 2, 3])]).await;
}

#[tokio::test]
async fn empty_binary_frame_without_pending_attachments_closes() {
    closes_only_offender(&[Out::Binary(&[])]).await;
}

/// One attachment more than announced: the first completes the packet,
/// which is delivered; the extra one has nothing to belong to.
#[tokio::test]
async fn attachment_beyond_announced_count_closes() {
    let mut server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender
        .send(r#"51-3["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    offender.send_binary(&[1]).await;
    offender.send_binary(&[2]).await;
    assert_eq!(
        offender.packet().await,
        r#"61-3[{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(offender.binary().await, [1]);
    offender.closed().await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::ForcedServerClose
    );
    healthy.assert_echo().await;
    server.finish().await;
}

/// A binary frame before joining any namespace: nothing is pending, so the
/// connection is closed.
#[tokio::test]
async fn binary_frame_before_connect_closes() {
    let server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::open(server.addr).await;
    offender.send_binary(&[0]).await;
    offender.closed().await;
    healthy.assert_echo().await;
    server.finish().await;
}

/// A client that closes its connection mid attachment run is cleaned up like
/// any other: its socket disconnects and no one else notices.
#[tokio::test]
async fn client_leaving_with_attachments_pending_is_cleaned_up() {
    let mut server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender
        .send(r#"51-["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    // Engine.IO close from the client, mid-run.
    offender.send_engine("1").await;
    offender.closed().await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::TransportClose
    );
    healthy.assert_echo().await;
    server.finish().await;
}
