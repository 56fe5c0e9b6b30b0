//! One Engine.IO packet from one WebSocket frame.
//!
//! The input is tried both ways a frame can arrive: as a text frame (when it is
//! UTF-8) through `Packet::decode_text`, and as a binary frame through
//! `Packet::decode`. Neither may panic, and whatever decodes must survive
//! encode-then-decode unchanged.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{Frame, Packet};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);

    // A binary frame is a binary message, byte for byte, both ways.
    let binary = Frame::Binary(bytes.clone());
    assert_eq!(
        Packet::decode(binary.clone()),
        Ok(Packet::Binary(bytes.clone()))
    );
    assert_eq!(Packet::Binary(bytes.clone()).encode(), binary);

    let Ok(text) = Str::from_utf8(bytes) else {
        return;
    };
    let decoded = Packet::decode_text(text.clone());
    // A text frame decodes the same whichever entry point it goes through.
    assert_eq!(Packet::decode(Frame::Text(text.clone())), decoded);
    let Ok(packet) = decoded else {
        return;
    };

    let encoded = packet.encode();
    assert!(
        matches!(encoded, Frame::Text(_)),
        "a text packet encoded as binary: {packet:?}"
    );
    assert_eq!(Packet::decode(encoded.clone()), Ok(packet.clone()));
    match &packet {
        // Data-carrying packets keep their data exactly, so the frame comes
        // back byte for byte.
        Packet::Ping(_) | Packet::Pong(_) | Packet::Message(_) => {
            assert_eq!(encoded, Frame::Text(text));
        }
        // The handshake is JSON: whitespace, key order and escapes may differ
        // from the input, but our own encoding is a fixed point.
        Packet::Open(_) => {
            let again = Packet::decode(encoded.clone()).map(|p| p.encode());
            assert_eq!(again, Ok(encoded));
        }
        // Data after these type digits is ignored; with none, the frame is
        // exactly the digit.
        Packet::Close | Packet::Upgrade | Packet::Noop => {
            if text.len() == 1 {
                assert_eq!(encoded, Frame::Text(text));
            }
        }
        Packet::Binary(_) => unreachable!("a text frame decoded as binary"),
    }
});
