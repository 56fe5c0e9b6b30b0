//! Malformed Socket.IO packets from a client: each closes that client's
//! connection, without a panic, and leaves a client connected before it
//! untouched (it still gets its echoes). Attachments are in
//! `bad_input_attachments.rs`, CONNECT and namespaces in
//! `bad_input_connect.rs`.
#![allow(clippy::unwrap_used, reason = "test code")]

mod raw;

use raw::{Client, Out, closes_on_packet, closes_only_offender, start_default};
use switchboard::DisconnectReason;

// ---- packet types ----

#[tokio::test]
async fn unknown_packet_type_letter_closes() {
    closes_on_packet("abc").await;
}

#[tokio::test]
async fn unknown_packet_type_digit_closes() {
    closes_on_packet("9").await;
}

#[tokio::test]
async fn empty_packet_closes() {
    closes_on_packet("").await;
}

// ---- payloads ----

#[tokio::test]
async fn event_payload_object_closes() {
    closes_on_packet("2{}").await;
}

#[tokio::test]
async fn event_payload_string_closes() {
    closes_on_packet(r#"2"str""#).await;
}

#[tokio::test]
async fn event_payload_empty_array_closes() {
    closes_on_packet("2[]").await;
}

#[tokio::test]
async fn event_payload_object_name_closes() {
    closes_on_packet("2[{}]").await;
}

#[tokio::test]
async fn event_without_payload_closes() {
    closes_on_packet("2").await;
}

#[tokio::test]
async fn event_payload_not_json_closes() {
    closes_on_packet(r#"2["echo","#).await;
}

#[tokio::test]
async fn ack_payload_not_an_array_closes() {
    closes_on_packet(r#"31{"a":1}"#).await;
}

#[tokio::test]
async fn disconnect_with_payload_closes() {
    closes_on_packet(r#"1{}"#).await;
}

// ---- ack ids ----

#[tokio::test]
async fn ack_id_not_a_number_closes() {
    closes_on_packet(r#"2abc["x"]"#).await;
}

#[tokio::test]
async fn ack_id_of_40_digits_closes() {
    closes_on_packet(r#"21234567890123456789012345678901234567890["x"]"#).await;
}

#[tokio::test]
async fn ack_id_above_2_pow_53_closes() {
    closes_on_packet(r#"29007199254740992["x"]"#).await;
}

// ---- event names ----

#[tokio::test]
async fn event_name_object_closes() {
    closes_on_packet(r#"2[{"a":1}]"#).await;
}

#[tokio::test]
async fn event_name_null_closes() {
    closes_on_packet("2[null]").await;
}

#[tokio::test]
async fn event_name_bool_closes() {
    closes_on_packet("2[true]").await;
}

#[tokio::test]
async fn event_name_array_closes() {
    closes_on_packet(r#"2[["echo"]]"#).await;
}

// ---- reserved event names ----

#[tokio::test]
async fn reserved_event_connect_closes() {
    closes_on_packet(r#"2["connect"]"#).await;
}

#[tokio::test]
async fn reserved_event_connect_error_closes() {
    closes_on_packet(r#"2["connect_error",{"message":"x"}]"#).await;
}

#[tokio::test]
async fn reserved_event_disconnect_closes() {
    closes_on_packet(r#"2["disconnect","transport close"]"#).await;
}

#[tokio::test]
async fn reserved_event_disconnecting_closes() {
    closes_on_packet(r#"2["disconnecting"]"#).await;
}

#[tokio::test]
async fn reserved_event_new_listener_closes() {
    closes_on_packet(r#"2["newListener","echo"]"#).await;
}

#[tokio::test]
async fn reserved_event_remove_listener_closes() {
    closes_on_packet(r#"2["removeListener","echo"]"#).await;
}

/// The name is compared after JSON unescaping, as Node does.
#[tokio::test]
async fn reserved_event_escaped_closes() {
    closes_on_packet(r#"2["\u0063onnect"]"#).await;
}

#[tokio::test]
async fn reserved_event_with_ack_id_closes() {
    closes_on_packet(r#"25["disconnect"]"#).await;
}

#[tokio::test]
async fn reserved_event_as_binary_event_closes() {
    closes_only_offender(&[
        Out::Packet(r#"51-["disconnect",{"_placeholder":true,"num":0}]"#),
        Out::Binary(&[1]),
    ])
    .await;
}

// ---- namespaces ----

#[tokio::test]
async fn event_for_unjoined_namespace_closes() {
    closes_on_packet(r#"2/other,["x"]"#).await;
}

#[tokio::test]
async fn ack_for_unjoined_namespace_closes() {
    closes_on_packet("3/other,1[1]").await;
}

#[tokio::test]
async fn disconnect_for_unjoined_namespace_closes() {
    closes_on_packet("1/other,").await;
}

/// After the client left `/`, a packet to `/` is to a namespace it has not
/// joined.
#[tokio::test]
async fn event_after_leaving_namespace_closes() {
    let mut server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender.send("1").await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::ClientNamespaceDisconnect
    );
    offender.send(r#"2["echo",1]"#).await;
    offender.closed().await;
    healthy.assert_echo().await;
    server.finish().await;
}

// ---- nesting ----

#[tokio::test]
async fn event_nested_100_000_deep_closes() {
    let depth = 100_000;
    let packet = format!(r#"2["ev",{}{}]"#, "[".repeat(depth), "]".repeat(depth));
    closes_on_packet(&packet).await;
}

#[tokio::test]
async fn event_nested_100_000_deep_objects_closes() {
    let depth = 100_000;
    let packet = format!(
        r#"2["ev",{}1{}]"#,
        r#"{"a":"#.repeat(depth),
        "}".repeat(depth)
    );
    closes_on_packet(&packet).await;
}

#[tokio::test]
async fn ack_nested_100_000_deep_closes() {
    let depth = 100_000;
    let packet = format!("31[{}{}]", "[".repeat(depth), "]".repeat(depth));
    closes_on_packet(&packet).await;
}

// ---- the client speaking for the server ----

#[tokio::test]
async fn connect_error_from_client_closes() {
    closes_on_packet(r#"4{"message":"x"}"#).await;
}

// ---- tolerated ----

/// An ack for an id the server never used is ignored, as in Node: the
/// connection stays open and its events are still handled.
#[tokio::test]
async fn ack_for_unknown_id_is_ignored() {
    let server = start_default().await;
    let mut healthy = Client::connect(server.addr).await;
    let mut client = Client::connect(server.addr).await;
    client.send("3999[1]").await;
    client.send(r#"312345["a",{"b":null}]"#).await;
    // Handled in order: the echo's answer shows the acks were dealt with
    // and did not close the connection.
    client.assert_echo().await;
    healthy.assert_echo().await;
    server.finish().await;
}

/// The same for a binary ack: its attachment is collected, then the ack is
/// dropped.
#[tokio::test]
async fn binary_ack_for_unknown_id_is_ignored() {
    let server = start_default().await;
    let mut client = Client::connect(server.addr).await;
    client
        .send(r#"61-999[{"_placeholder":true,"num":0}]"#)
        .await;
    client.send_binary(&[1, 2, 3]).await;
    client.assert_echo().await;
    server.finish().await;
}

/// The smallest valid event, to show the helpers' echo is not what fails
/// in the tests above; a number is a valid event name, as in Node.
#[tokio::test]
async fn valid_events_are_echoed() {
    let server = start_default().await;
    let mut client = Client::connect(server.addr).await;
    client.assert_echo().await;
    client.send(r#"2[42,"x"]"#).await;
    client.send(r#"29007199254740991["echo"]"#).await;
    assert_eq!(client.packet().await, "39007199254740991[]");
    server.finish().await;
}

/// The nesting limit (127 levels, what serde_json parses): an event nested
/// exactly that deep reaches its handler, not dropped on the way.
#[tokio::test]
async fn event_nested_at_depth_limit_is_echoed() {
    let server = start_default().await;
    let mut client = Client::connect(server.addr).await;
    // The packet's array is level 1; the argument fills the rest.
    let arg = nested(127 - 1);
    client.send(&format!(r#"21["echo",{arg}]"#)).await;
    assert_eq!(client.packet().await, format!("31[{arg}]"));
    server.finish().await;
}

/// One level over the limit closes.
#[tokio::test]
async fn event_nested_one_over_depth_limit_closes() {
    closes_on_packet(&format!(r#"2["echo",{}]"#, nested(128 - 1))).await;
}

/// `depth` nested arrays.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}
