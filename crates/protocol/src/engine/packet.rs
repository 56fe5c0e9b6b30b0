use bytes::Bytes;

use super::{DecodeError, OpenPacket};
use crate::Str;

/// The seven Engine.IO packet types, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    Open,
    Close,
    Ping,
    Pong,
    Message,
    Upgrade,
    Noop,
}

impl PacketType {
    /// The type for its ASCII digit, `b'0'`..=`b'6'`.
    pub fn from_digit(byte: u8) -> Option<Self> {
        Some(match byte {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }

    pub fn digit(self) -> u8 {
        match self {
            PacketType::Open => b'0',
            PacketType::Close => b'1',
            PacketType::Ping => b'2',
            PacketType::Pong => b'3',
            PacketType::Message => b'4',
            PacketType::Upgrade => b'5',
            PacketType::Noop => b'6',
        }
    }
}

/// One decoded Engine.IO packet.
///
/// Payloads are `Str`/`Bytes` slices of the frame they came from, so decoding
/// never copies a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Open(OpenPacket),
    Close,
    /// A ping with its data: empty for heartbeats, `probe` during an upgrade.
    Ping(Str),
    Pong(Str),
    /// A text message.
    Message(Str),
    /// A binary message: a binary WebSocket frame, or `b` + base64 on polling.
    Binary(Bytes),
    Upgrade,
    Noop,
}

/// An encoded packet exactly as one WebSocket frame carries it.
///
/// This is the unit the engine queues: encoding happens once, and a `Frame`
/// cloned to many sessions shares its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Type digit followed by the packet's text.
    Text(Str),
    /// A binary message's bytes, with no type prefix.
    Binary(Bytes),
}

impl Frame {
    /// A text message packet: `4` followed by `text`.
    pub fn message(text: &str) -> Frame {
        let mut s = String::with_capacity(1 + text.len());
        s.push('4');
        s.push_str(text);
        Frame::Text(Str::from(s))
    }

    /// Bytes this frame carries on a WebSocket (the payload, not the header).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Decodes one WebSocket frame.
    pub fn decode(frame: Frame) -> Result<Packet, DecodeError> {
        match frame {
            Frame::Text(text) => Packet::decode_text(text),
            Frame::Binary(bytes) => Ok(Packet::Binary(bytes)),
        }
    }

    /// Decodes a text-encoded packet: a type digit, then the packet's data.
    pub fn decode_text(text: Str) -> Result<Packet, DecodeError> {
        let first = *text.as_bytes().first().ok_or(DecodeError::Empty)?;
        let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType(first))?;
        // The digit is one ASCII byte, so the rest starts on a char boundary.
        let data = text.slice_from(1);
        Ok(match kind {
            PacketType::Open => Packet::Open(OpenPacket::from_json(&data)?),
            PacketType::Close => Packet::Close,
            PacketType::Ping => Packet::Ping(data),
            PacketType::Pong => Packet::Pong(data),
            PacketType::Message => Packet::Message(data),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Encodes this packet as one WebSocket frame.
    pub fn encode(&self) -> Frame {
        let with_data = |kind: PacketType, data: &str| {
            let mut s = String::with_capacity(1 + data.len());
            s.push(char::from(kind.digit()));
            s.push_str(data);
            Frame::Text(Str::from(s))
        };
        match self {
            Packet::Binary(bytes) => Frame::Binary(bytes.clone()),
            Packet::Open(open) => with_data(PacketType::Open, &open.to_json()),
            Packet::Ping(data) | Packet::Pong(data) | Packet::Message(data) => {
                with_data(self.packet_type(), data)
            }
            Packet::Close => Frame::Text(Str::from_static("1")),
            Packet::Upgrade => Frame::Text(Str::from_static("5")),
            Packet::Noop => Frame::Text(Str::from_static("6")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Str {
        Str::from_static(s)
    }

    #[test]
    fn decodes_every_text_type() {
        let cases: [(&str, Packet); 8] = [
            ("1", Packet::Close),
            ("2", Packet::Ping(text(""))),
            ("2probe", Packet::Ping(text("probe"))),
            ("3probe", Packet::Pong(text("probe"))),
            ("4hello €", Packet::Message(text("hello €"))),
            ("4", Packet::Message(text(""))),
            ("5", Packet::Upgrade),
            ("6", Packet::Noop),
        ];
        for (wire, packet) in cases {
            assert_eq!(
                Packet::decode_text(Str::from_static(wire)),
                Ok(packet.clone()),
                "{wire}"
            );
            assert_eq!(
                packet.encode(),
                Frame::Text(Str::from_static(wire)),
                "{wire}"
            );
        }
    }

    #[test]
    fn decodes_open() {
        let wire =
            r#"0{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":10}"#;
        let Packet::Open(open) = Packet::decode_text(Str::from_static(wire)).unwrap() else {
            panic!("not an open packet");
        };
        assert_eq!((open.sid.as_str(), open.ping_interval), ("x", 300));
        assert_eq!(
            Packet::Open(open).encode(),
            Frame::Text(Str::from_static(wire))
        );
    }

    #[test]
    fn rejects_empty_and_unknown_types() {
        assert_eq!(Packet::decode_text(text("")), Err(DecodeError::Empty));
        assert_eq!(
            Packet::decode_text(text("7")),
            Err(DecodeError::UnknownType(b'7'))
        );
        assert_eq!(
            Packet::decode_text(text("abc")),
            Err(DecodeError::UnknownType(b'a'))
        );
        assert!(matches!(
            Packet::decode_text(text("0{")),
            Err(DecodeError::InvalidOpen(_))
        ));
    }

    #[test]
    fn binary_frames_are_messages_as_is() {
        let bytes = Bytes::from_static(&[0, 1, 2, 0xff]);
        assert_eq!(
            Packet::decode(Frame::Binary(bytes.clone())),
            Ok(Packet::Binary(bytes.clone()))
        );
        assert_eq!(Packet::Binary(bytes.clone()).encode(), Frame::Binary(bytes));
    }

    #[test]
    fn message_frame_prefixes_the_type() {
        assert_eq!(Frame::message("hi"), Frame::Text(text("4hi")));
        assert_eq!(Frame::message("hi").len(), 3);
    }
}
