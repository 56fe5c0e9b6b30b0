//! Outgoing packets, encoded once: the Engine.IO text frame and the binary
//! attachment frames. A broadcast clones the result to every recipient, and
//! clones share the bytes.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::Error as _;
use switchboard_engine::Frame;
use switchboard_protocol::Str;
use switchboard_protocol::socket::{
    Limits, Packet, PacketType, decode_msgpack, encode_msgpack, encode_packet,
};

use crate::event::Payload;

/// How packets are written on the wire; one choice per server, as in Node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Parser {
    /// The default Socket.IO parser: JSON text, binary as attachments.
    #[default]
    Json,
    /// `socket.io-msgpack-parser`: one MessagePack binary message per packet.
    MsgPack,
}

/// A Socket.IO packet ready for any number of sessions.
#[derive(Debug, Clone)]
pub struct EncodedPacket {
    pub(crate) text: Frame,
    pub(crate) attachments: Option<Arc<[Bytes]>>,
}

impl EncodedPacket {
    pub(crate) fn new(
        parser: Parser,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        attachments: Vec<Bytes>,
        data: Option<&str>,
    ) -> EncodedPacket {
        let kind = match (kind, attachments.is_empty()) {
            (PacketType::Event, false) => PacketType::BinaryEvent,
            (PacketType::Ack, false) => PacketType::BinaryAck,
            (kind, _) => kind,
        };
        if parser == Parser::MsgPack {
            let bytes = encode_msgpack(kind, nsp, id, data, &attachments);
            return EncodedPacket {
                text: Frame::Binary(Bytes::from(bytes)),
                attachments: None,
            };
        }
        let mut text = String::with_capacity(8 + nsp.len() + data.map_or(0, str::len));
        // The Engine.IO message type; the Socket.IO packet follows.
        text.push('4');
        encode_packet(&mut text, kind, nsp, id, attachments.len(), data);
        EncodedPacket {
            text: Frame::Text(Str::from(text)),
            attachments: (!attachments.is_empty()).then(|| attachments.into()),
        }
    }

    /// The frames that carry this packet: the packet, then its attachments.
    pub(crate) fn frames(&self) -> impl Iterator<Item = Frame> + '_ {
        std::iter::once(self.text.clone()).chain(
            self.attachments
                .iter()
                .flat_map(|a| a.iter().map(|b| Frame::Binary(b.clone()))),
        )
    }

    /// Bytes this packet adds to a session's queue.
    pub fn len(&self) -> usize {
        self.text.len()
            + self
                .attachments
                .as_ref()
                .map_or(0, |a| a.iter().map(Bytes::len).sum())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event name and JSON array of arguments of an event packet, for
    /// outgoing listeners; decoded again, since only they need it.
    pub(crate) fn event_and_args(&self) -> Option<(String, String)> {
        let (packet, binary) = match &self.text {
            Frame::Text(text) => {
                let limits = Limits {
                    max_attachments: usize::MAX,
                };
                (
                    Packet::decode(Str::from(text[1..].to_owned()), &limits).ok()?,
                    Vec::new(),
                )
            }
            Frame::Binary(bytes) => decode_msgpack(bytes, usize::MAX).ok()?,
        };
        let (Some(event), Some(data)) = (packet.event, packet.data) else {
            return None;
        };
        Some((event, Payload::event(data, binary).args_json()))
    }
}

/// The JSON array `[event, data]`: an event with one argument.
pub(crate) fn event_one<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
) -> serde_json::Result<String> {
    serde_json::to_string(&(event, data))
}

/// The JSON array `[event, a, b, ...]` from `args` serialising to `[a, b, ...]`.
pub(crate) fn event_args<T: Serialize + ?Sized>(
    event: &str,
    args: &T,
) -> serde_json::Result<String> {
    let args = array(args)?;
    let mut out = serde_json::to_string(event)?;
    out.insert(0, '[');
    if args.len() > 2 {
        out.push(',');
        out.push_str(&args[1..]);
    } else {
        out.push(']');
    }
    Ok(out)
}

/// `args` as a JSON array, or an error when it is not one.
pub(crate) fn array<T: Serialize + ?Sized>(args: &T) -> serde_json::Result<String> {
    let json = serde_json::to_string(args)?;
    if json.starts_with('[') {
        Ok(json)
    } else {
        Err(serde_json::Error::custom(
            "arguments must serialise to a JSON array (use a tuple)",
        ))
    }
}

/// Stands for binary attachment `n` inside emitted data: serialises to
/// `{"_placeholder":true,"num":n}`, which clients replace by the n-th buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder(pub usize);

impl Serialize for Placeholder {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Placeholder", 2)?;
        s.serialize_field("_placeholder", &true)?;
        s.serialize_field("num", &self.0)?;
        s.end()
    }
}

/// What an [`EncodedPacket`] holds, decoded again: for adapters that
/// forward a packet in another form (the Redis adapter's MessagePack).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PacketParts {
    /// `Event` or `Ack` even when the packet carries attachments.
    pub kind: PacketType,
    pub nsp: String,
    pub id: Option<u64>,
    /// JSON, placeholders marking the attachments.
    pub data: Option<String>,
    pub attachments: Vec<Bytes>,
}

// Additions for adapters; kept together so they do not mix with the hot path above.
impl EncodedPacket {
    /// A packet from its parts: `data` is JSON whose placeholders refer to
    /// `attachments` (encoded once, for any number of sessions).
    pub fn from_parts(
        parser: Parser,
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        data: Option<&str>,
        attachments: Vec<Bytes>,
    ) -> EncodedPacket {
        EncodedPacket::new(parser, kind, nsp, id, attachments, data)
    }

    /// The packet's type, namespace, ack id, JSON data and attachments.
    /// Decodes the frame again: call it once per packet, not per recipient.
    pub fn parts(&self) -> Option<PacketParts> {
        let (packet, attachments) = match &self.text {
            Frame::Text(text) => {
                let limits = Limits {
                    max_attachments: usize::MAX,
                };
                let packet = Packet::decode(Str::from(text.get(1..)?.to_owned()), &limits).ok()?;
                let attachments = self.attachments.as_deref().unwrap_or_default().to_vec();
                (packet, attachments)
            }
            Frame::Binary(bytes) => decode_msgpack(bytes, usize::MAX).ok()?,
        };
        let kind = match packet.kind {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            kind => kind,
        };
        Some(PacketParts {
            kind,
            nsp: packet.nsp.to_string(),
            id: packet.id,
            data: packet.data.map(|d| d.to_string()),
            attachments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::socket::placeholder_json;

    #[test]
    fn event_arrays() {
        assert_eq!(event_one("chat", &"hi").unwrap(), r#"["chat","hi"]"#);
        assert_eq!(event_args("m", &(1, "2")).unwrap(), r#"["m",1,"2"]"#);
        assert_eq!(event_args("m", &[0u8; 0]).unwrap(), r#"["m"]"#);
        assert!(event_args("m", &"not an array").is_err());
        assert_eq!(
            serde_json::to_string(&Placeholder(1)).unwrap(),
            placeholder_json(1),
            "same key order as Node"
        );
    }

    #[test]
    fn parts_roundtrip() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let data = r#"["e",{"_placeholder":true,"num":0}]"#;
            let p = EncodedPacket::from_parts(
                parser,
                PacketType::Event,
                "/x",
                Some(4),
                Some(data),
                vec![Bytes::from_static(b"ab")],
            );
            let parts = p.parts().unwrap();
            assert_eq!(parts.kind, PacketType::Event);
            assert_eq!((parts.nsp.as_str(), parts.id), ("/x", Some(4)));
            assert_eq!(parts.data.as_deref(), Some(data));
            assert_eq!(parts.attachments, vec![Bytes::from_static(b"ab")]);
        }
    }

    #[test]
    fn frames() {
        let p = EncodedPacket::new(
            Parser::Json,
            PacketType::Event,
            "/",
            None,
            vec![],
            Some(r#"["a"]"#),
        );
        assert_eq!(p.text, Frame::Text(Str::from_static(r#"42["a"]"#)));
        let p = EncodedPacket::new(
            Parser::Json,
            PacketType::Ack,
            "/admin",
            Some(3),
            vec![Bytes::from_static(b"x")],
            Some("[]"),
        );
        assert_eq!(p.text, Frame::Text(Str::from_static("461-/admin,3[]")));
        let event = EncodedPacket::new(
            Parser::Json,
            PacketType::Event,
            "/",
            None,
            vec![],
            Some(r#"["e",1]"#),
        );
        assert_eq!(
            event.event_and_args(),
            Some(("e".to_owned(), "[1]".to_owned()))
        );
        let packed = EncodedPacket::new(
            Parser::MsgPack,
            PacketType::Event,
            "/",
            None,
            vec![],
            Some(r#"["e",1]"#),
        );
        assert!(matches!(packed.text, Frame::Binary(_)));
        assert_eq!(
            packed.event_and_args(),
            Some(("e".to_owned(), "[1]".to_owned()))
        );
    }
}
