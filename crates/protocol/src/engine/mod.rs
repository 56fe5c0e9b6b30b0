//! Engine.IO v4: packets, the handshake, and the long-polling payload.
//!
//! A packet travels either as one WebSocket frame ([`Frame`]) or, on HTTP
//! long-polling, inside a payload of frames joined by the record separator
//! (`payload`). Text frames start with the packet type digit; binary frames
//! carry a message's bytes as they are, and become `b` + base64 on polling.

mod error;
mod open;
mod packet;
mod payload;

pub use error::DecodeError;
pub use open::OpenPacket;
pub use packet::{Frame, Packet, PacketType};
pub use payload::{
    PayloadDecoder, RECORD_SEPARATOR, decode_payload, encode_payload_into, payload_len,
};

/// The protocol revision this crate speaks, as sent in the `EIO` query parameter.
pub const PROTOCOL_VERSION: u8 = 4;
