//! Property tests for the Engine.IO codecs: encode then decode gives back what
//! went in, sizes are predicted exactly, and no input makes a decoder panic.
//!
//! The byte-literal tests next to each codec pin the wire format; these check
//! that the encoder and decoder agree with each other on everything else.

#![allow(clippy::unwrap_used, reason = "test code")]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{
    Frame, OpenPacket, Packet, RECORD_SEPARATOR, decode_payload, encode_payload_into, payload_len,
};

/// Any string: every char, control characters and the record separator included.
fn any_text() -> impl Strategy<Value = Str> {
    any::<String>().prop_map(Str::from)
}

/// Text that can travel in a polling payload: anything but the record
/// separator. A raw 0x1e inside a text message would split it into two records;
/// real messages are JSON, which escapes every control character, so they
/// never contain one. (Open packets may hold it anywhere: they are JSON too.)
fn payload_text() -> impl Strategy<Value = Str> {
    "[^\u{1e}]*".prop_map(|s: String| Str::from(s))
}

fn any_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..256).prop_map(Bytes::from)
}

fn open_packet() -> impl Strategy<Value = OpenPacket> {
    (
        any::<String>(),
        vec(any::<String>(), 0..4),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(sid, upgrades, ping_interval, ping_timeout, max_payload)| OpenPacket {
                sid,
                upgrades,
                ping_interval,
                ping_timeout,
                max_payload,
            },
        )
}

/// Every packet variant, with text drawn from `text`.
fn packet_with(
    text: impl Strategy<Value = Str> + Clone + 'static,
) -> impl Strategy<Value = Packet> {
    prop_oneof![
        open_packet().prop_map(Packet::Open),
        Just(Packet::Close),
        text.clone().prop_map(Packet::Ping),
        text.clone().prop_map(Packet::Pong),
        text.prop_map(Packet::Message),
        any_bytes().prop_map(Packet::Binary),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

/// Packets that survive a polling payload; see [`payload_text`].
fn payload_packet() -> impl Strategy<Value = Packet> {
    packet_with(payload_text().boxed())
}

/// Frames as a polling payload holds them: text frames made by encoding
/// packets, binary frames carrying arbitrary bytes.
fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        payload_packet().prop_map(|p| p.encode()),
        any_bytes().prop_map(Frame::Binary),
    ]
}

fn encode_payload(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_payload_into(frames, &mut out);
    out
}

proptest! {
    #[test]
    fn packet_encode_then_decode(packet in packet_with(any_text().boxed())) {
        prop_assert_eq!(Packet::decode(packet.encode()), Ok(packet));
    }

    #[test]
    fn frame_decode_then_encode(frame in frame()) {
        // Every frame the encoder makes decodes to a packet that encodes back
        // to the same bytes: the encoding is canonical.
        let packet = Packet::decode(frame.clone()).unwrap();
        prop_assert_eq!(packet.encode(), frame);
    }

    // A payload has at least one record: an empty body is the empty record,
    // which is no packet (the reference client rejects it too), and a server
    // never sends one because a poll waits until there is something to send.
    #[test]
    fn payload_encode_then_decode(frames in vec(frame(), 1..16)) {
        let body = encode_payload(&frames);
        let decoded: Vec<Packet> = decode_payload(Bytes::from(body)).unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<Packet> = frames.into_iter().map(|f| Packet::decode(f).unwrap()).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn payload_packets_encode_then_decode(packets in vec(payload_packet(), 1..16)) {
        let frames: Vec<Frame> = packets.iter().map(Packet::encode).collect();
        let decoded: Vec<Packet> = decode_payload(Bytes::from(encode_payload(&frames))).unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(decoded, packets);
    }

    #[test]
    fn payload_len_is_the_encoded_size(frames in vec(frame(), 0..16)) {
        for frame in &frames {
            prop_assert_eq!(payload_len(frame), encode_payload(std::slice::from_ref(frame)).len());
        }
        let separators = frames.len().saturating_sub(1);
        let predicted = frames.iter().map(payload_len).sum::<usize>() + separators;
        prop_assert_eq!(predicted, encode_payload(&frames).len());
    }

    #[test]
    fn text_in_a_payload_never_holds_the_separator(frames in vec(frame(), 1..16)) {
        // What makes the format unambiguous: separators appear only between
        // records, so a payload of n frames has exactly n - 1 of them.
        let body = encode_payload(&frames);
        let separators = body.iter().filter(|&&b| b == RECORD_SEPARATOR).count();
        prop_assert_eq!(separators, frames.len() - 1);
    }

    #[test]
    fn decode_payload_never_panics(body in vec(any::<u8>(), 0..512)) {
        if let Ok(decoder) = decode_payload(Bytes::from(body)) {
            for _ in decoder {}
        }
    }

    #[test]
    fn decode_payload_never_panics_on_near_valid_bodies(
        records in vec(prop_oneof![
            "[0-6b]?[A-Za-z0-9+/=]{0,12}",
            r#"0\{"sid":"[a-z]{0,4}","upgrades":\[\],"pingInterval":[0-9]{1,3},"pingTimeout":1,"maxPayload":1\}"#,
        ], 0..8),
    ) {
        let body = records.join("\u{1e}");
        if let Ok(decoder) = decode_payload(Bytes::from(body)) {
            for _ in decoder {}
        }
    }

    #[test]
    fn decode_text_never_panics(text in any::<String>()) {
        let _ = Packet::decode_text(Str::from(text));
    }

    #[test]
    fn decode_text_never_panics_on_typed_text(digit in 0u8..10, rest in any::<String>()) {
        let text = format!("{digit}{rest}");
        if let Ok(packet) = Packet::decode_text(Str::from(text)) {
            // Whatever decodes, re-encodes to something that decodes the same.
            prop_assert_eq!(Packet::decode(packet.encode()), Ok(packet));
        }
    }
}
