//! An HTTP long-polling body split into Engine.IO packets.
//!
//! `decode_payload` takes arbitrary bytes and every record is pulled from the
//! iterator, bad ones included, since the engine reads up to the first error.
//! Nothing may panic; the decoder yields exactly one item per record; records
//! that decode re-encode byte for byte where the format is canonical; and a
//! body that decodes completely survives encode-then-decode unchanged.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchboard_protocol::engine::{
    Frame, Packet, RECORD_SEPARATOR, decode_payload, encode_payload_into, payload_len,
};

fuzz_target!(|data: &[u8]| {
    let Ok(decoder) = decode_payload(Bytes::copy_from_slice(data)) else {
        assert!(
            std::str::from_utf8(data).is_err(),
            "a UTF-8 body was rejected as a whole"
        );
        return;
    };
    let results: Vec<_> = decoder.collect();

    let records: Vec<&[u8]> = data.split(|&b| b == RECORD_SEPARATOR).collect();
    assert_eq!(results.len(), records.len(), "one item per record");

    for (result, record) in results.iter().zip(&records) {
        let Ok(packet) = result else { continue };
        let frame = packet.encode();
        assert_eq!(Packet::decode(frame.clone()).as_ref(), Ok(packet));

        let mut alone = Vec::new();
        encode_payload_into([&frame], &mut alone);
        assert_eq!(alone.len(), payload_len(&frame));
        match packet {
            // Standard base64 with canonical padding and no stray bits, so
            // there is one spelling of each byte string; text data is kept as is.
            Packet::Binary(_) | Packet::Ping(_) | Packet::Pong(_) | Packet::Message(_) => {
                assert_eq!(alone.as_slice(), *record);
            }
            Packet::Close | Packet::Upgrade | Packet::Noop if record.len() == 1 => {
                assert_eq!(alone.as_slice(), *record);
            }
            _ => {}
        }
    }

    // A wholly good body, re-encoded, decodes to the same packets: decoded text
    // never holds the separator, and the handshake's JSON escapes it.
    let Ok(packets) = results.into_iter().collect::<Result<Vec<Packet>, _>>() else {
        return;
    };
    let frames: Vec<Frame> = packets.iter().map(Packet::encode).collect();
    let mut body = Vec::new();
    encode_payload_into(&frames, &mut body);
    let predicted = frames.iter().map(payload_len).sum::<usize>() + frames.len() - 1;
    assert_eq!(body.len(), predicted);
    let again: Result<Vec<Packet>, _> = decode_payload(Bytes::from(body))
        .map(|decoder| decoder.collect())
        .and_then(|r| r);
    assert_eq!(again, Ok(packets));
});
