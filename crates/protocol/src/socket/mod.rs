//! Socket.IO v5: packets carried inside Engine.IO messages.
//!
//! A packet is `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]` in one text
//! message, followed, for the binary types, by one binary message per
//! attachment; the JSON marks where each attachment belongs with
//! `{"_placeholder":true,"num":N}`.

mod binary;
mod error;
mod msgpack;
mod notepack;
mod packet;

pub use binary::{Assembly, placeholder_json};
pub use error::SocketDecodeError;
pub use msgpack::{
    decode_msgpack, encode_msgpack, to_json as msgpack_to_json, to_pack as json_to_msgpack,
};
pub use notepack::read_notepack;
pub use packet::{Limits, Packet, PacketType, RESERVED_EVENTS, encode_packet};
