//! One `socket.io-msgpack-parser` packet, as a client or Node's Redis
//! adapter could send it: read as notepack.io writes MessagePack, then
//! turned into the JSON parser's shape.
//!
//! Decoding may not panic, and whatever decodes must be relayed unchanged
//! from then on: our encoding of it decodes and encodes to the same bytes
//! (the server re-encodes what it relays).

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_protocol::socket::{decode_msgpack, encode_msgpack};

fuzz_target!(|data: &[u8]| {
    let Some(once) = relayed(data) else {
        return;
    };
    assert_eq!(relayed(&once).as_ref(), Some(&once));
});

fn relayed(bytes: &[u8]) -> Option<Vec<u8>> {
    let (packet, attachments) = decode_msgpack(bytes, 10).ok()?;
    Some(encode_msgpack(
        packet.kind,
        &packet.nsp,
        packet.id,
        packet.data.as_deref(),
        &attachments,
    ))
}
