//! Outgoing Socket.IO packets, encoded straight into the Engine.IO message
//! they travel in: with the JSON parser the text `4` + the packet, followed
//! by its attachments; with the msgpack parser one binary message.

use bytes::Bytes;
use serde::Serialize;
use switchboard_protocol::socket::{PacketType, RESERVED_EVENTS, encode_msgpack, encode_packet};

use crate::{ClientError, Parser};

/// One Engine.IO message as the client sends it. Text stays a `String` so a
/// WebSocket frame is made from it without checking its UTF-8 again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutFrame {
    Text(String),
    Binary(Bytes),
}

/// An encoded packet and the attachments that follow it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The packet's own message: text with the JSON parser, binary with
    /// msgpack.
    pub(crate) first: OutFrame,
    /// Attachments (JSON parser only: msgpack carries binary inline).
    pub(crate) binary: Vec<Bytes>,
}

impl OutFrame {
    /// The message's bytes (before any transport framing).
    pub(crate) fn len(&self) -> usize {
        match self {
            OutFrame::Text(text) => text.len(),
            OutFrame::Binary(bytes) => bytes.len(),
        }
    }
}

impl Outgoing {
    /// An Engine.IO text message with nothing after it.
    pub(crate) fn text(text: String) -> Outgoing {
        Outgoing {
            first: OutFrame::Text(text),
            binary: Vec::new(),
        }
    }

    /// The bytes of its messages, attachments included.
    pub(crate) fn bytes(&self) -> usize {
        self.first.len() + self.binary.iter().map(Bytes::len).sum::<usize>()
    }
}

/// How the user's value becomes the argument list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Args {
    /// The value is the only argument.
    One,
    /// The value serialises to a sequence: its elements are the arguments.
    Many,
}

/// An EVENT (or BINARY_EVENT when `binary` is not empty) for `nsp`.
pub(crate) fn event<T: Serialize + ?Sized>(
    parser: Parser,
    nsp: &str,
    id: Option<u64>,
    name: &str,
    value: &T,
    args: Args,
    binary: Vec<Bytes>,
) -> Result<Outgoing, ClientError> {
    if RESERVED_EVENTS.contains(&name) {
        return Err(ClientError::InvalidArgs(format!(
            "{name:?} is a reserved event name"
        )));
    }
    let kind = if binary.is_empty() {
        PacketType::Event
    } else {
        PacketType::BinaryEvent
    };
    encode(parser, kind, nsp, id, Some(name), value, args, binary)
}

/// An ACK (or BINARY_ACK) answering `id`.
pub(crate) fn ack<T: Serialize + ?Sized>(
    parser: Parser,
    nsp: &str,
    id: u64,
    value: &T,
    args: Args,
    binary: Vec<Bytes>,
) -> Result<Outgoing, ClientError> {
    let kind = if binary.is_empty() {
        PacketType::Ack
    } else {
        PacketType::BinaryAck
    };
    encode(parser, kind, nsp, Some(id), None, value, args, binary)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one private function behind event and ack"
)]
fn encode<T: Serialize + ?Sized>(
    parser: Parser,
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    name: Option<&str>,
    value: &T,
    args: Args,
    binary: Vec<Bytes>,
) -> Result<Outgoing, ClientError> {
    let invalid = |e: serde_json::Error| ClientError::InvalidArgs(e.to_string());
    let mut head = String::with_capacity(48 + name.map_or(0, str::len));
    if parser == Parser::Json {
        head.push('4');
        encode_packet(&mut head, kind, nsp, id, binary.len(), None);
    }
    // serde_json writes bytes; building in a Vec and checking the UTF-8 once
    // at the end is cheaper than a second String per argument.
    let mut buf = head.into_bytes();
    let data_at = buf.len();
    if let Some(name) = name {
        buf.push(b'[');
        serde_json::to_writer(&mut buf, name).map_err(invalid)?;
    }
    match args {
        Args::One => {
            buf.push(if name.is_some() { b',' } else { b'[' });
            serde_json::to_writer(&mut buf, value).map_err(invalid)?;
            buf.push(b']');
        }
        Args::Many => {
            let at = buf.len();
            serde_json::to_writer(&mut buf, value).map_err(invalid)?;
            // `()` (and `None`) serialise to `null`: no arguments.
            if buf[at..] == *b"null" {
                buf.truncate(at);
                buf.extend_from_slice(b"[]");
            }
            if buf.get(at) != Some(&b'[') {
                return Err(ClientError::InvalidArgs(
                    "the arguments must serialise to a sequence (a tuple, a Vec or a JSON array)"
                        .to_owned(),
                ));
            }
            if name.is_some() {
                // `[a,b]` after `["name"` becomes `,a,b]`; `[]` becomes `]`.
                if buf.len() == at + 2 {
                    buf.truncate(at);
                    buf.push(b']');
                } else {
                    buf[at] = b',';
                }
            }
        }
    }
    let text = String::from_utf8(buf)
        .map_err(|_| ClientError::InvalidArgs("serialised to invalid UTF-8".to_owned()))?;
    Ok(match parser {
        Parser::Json => Outgoing {
            first: OutFrame::Text(text),
            binary,
        },
        // Through the same JSON text as the default parser, so placeholders
        // mean the same in both and one tested conversion puts the binary
        // values inline. The extra parse only costs msgpack users.
        Parser::MsgPack => msgpack(kind, nsp, id, Some(&text[data_at..]), &binary),
    })
}

fn msgpack(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    binary: &[Bytes],
) -> Outgoing {
    let bytes = encode_msgpack(kind, nsp, id, data, binary);
    Outgoing {
        first: OutFrame::Binary(Bytes::from(bytes)),
        binary: Vec::new(),
    }
}

/// A CONNECT for `nsp` with its auth payload.
pub(crate) fn connect(parser: Parser, nsp: &str, auth: Option<&serde_json::Value>) -> Outgoing {
    let data = auth.map(|a| a.to_string());
    match parser {
        Parser::Json => {
            let mut out = String::from("4");
            encode_packet(&mut out, PacketType::Connect, nsp, None, 0, data.as_deref());
            Outgoing::text(out)
        }
        Parser::MsgPack => msgpack(PacketType::Connect, nsp, None, data.as_deref(), &[]),
    }
}

/// A DISCONNECT for `nsp`.
pub(crate) fn disconnect(parser: Parser, nsp: &str) -> Outgoing {
    match parser {
        Parser::Json => {
            let mut out = String::from("4");
            encode_packet(&mut out, PacketType::Disconnect, nsp, None, 0, None);
            Outgoing::text(out)
        }
        Parser::MsgPack => msgpack(PacketType::Disconnect, nsp, None, None, &[]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(r: Result<Outgoing, ClientError>) -> String {
        match r.unwrap().first {
            OutFrame::Text(text) => text,
            OutFrame::Binary(_) => panic!("binary from the JSON parser"),
        }
    }

    fn json(o: Outgoing) -> String {
        text(Ok(o))
    }

    #[test]
    fn events() {
        assert_eq!(
            text(event(
                Parser::Json,
                "/",
                None,
                "chat",
                &json!({"a": 1}),
                Args::One,
                vec![]
            )),
            r#"42["chat",{"a":1}]"#
        );
        assert_eq!(
            text(event(
                Parser::Json,
                "/admin",
                Some(7),
                "x",
                &(1, "two"),
                Args::Many,
                vec![]
            )),
            r#"42/admin,7["x",1,"two"]"#
        );
        assert_eq!(
            text(event(
                Parser::Json,
                "/",
                None,
                "x",
                &json!([]),
                Args::Many,
                vec![]
            )),
            r#"42["x"]"#
        );
        assert_eq!(
            text(event(Parser::Json, "/", None, "x", &(), Args::Many, vec![])),
            r#"42["x"]"#
        );
        assert_eq!(
            text(ack(Parser::Json, "/", 1, &(), Args::Many, vec![])),
            "431[]"
        );
        let bin = event(
            Parser::Json,
            "/",
            Some(1),
            "up",
            &json!([{"_placeholder": true, "num": 0}]),
            Args::Many,
            vec![Bytes::from_static(b"\x01")],
        )
        .unwrap();
        assert_eq!(
            bin.first,
            OutFrame::Text(r#"451-1["up",{"_placeholder":true,"num":0}]"#.to_owned())
        );
        assert_eq!(bin.binary, [Bytes::from_static(b"\x01")]);
        assert!(matches!(
            event(Parser::Json, "/", None, "x", &json!({}), Args::Many, vec![]),
            Err(ClientError::InvalidArgs(_))
        ));
        assert!(matches!(
            event(Parser::Json, "/", None, "disconnect", &1, Args::One, vec![]),
            Err(ClientError::InvalidArgs(_))
        ));
    }

    #[test]
    fn acks_and_control() {
        assert_eq!(
            text(ack(Parser::Json, "/", 3, &"ok", Args::One, vec![])),
            r#"433["ok"]"#
        );
        assert_eq!(
            text(ack(Parser::Json, "/n", 3, &(1, 2), Args::Many, vec![])),
            r#"43/n,3[1,2]"#
        );
        assert_eq!(json(connect(Parser::Json, "/", None)), "40");
        assert_eq!(
            json(connect(Parser::Json, "/a", Some(&json!({"t": 1})))),
            r#"40/a,{"t":1}"#
        );
        assert_eq!(json(disconnect(Parser::Json, "/a")), "41/a,");
    }

    /// The msgpack parser's packets, read back by the protocol crate's
    /// decoder (the server's): the same packet as the JSON one, binary
    /// inline and no binary packet types.
    #[test]
    fn msgpack_packets() {
        let decode = |o: Outgoing| {
            assert!(o.binary.is_empty(), "msgpack sends no attachments");
            let OutFrame::Binary(bytes) = o.first else {
                panic!("text from the msgpack parser");
            };
            switchboard_protocol::socket::decode_msgpack(&bytes, 10).unwrap()
        };
        let blob = Bytes::from_static(b"\x00\xff");
        let (packet, binary) = decode(
            event(
                Parser::MsgPack,
                "/admin",
                Some(3),
                "up",
                &json!(["a", {"_placeholder": true, "num": 0}]),
                Args::Many,
                vec![blob.clone()],
            )
            .unwrap(),
        );
        assert_eq!(packet.kind, PacketType::Event);
        assert_eq!(&*packet.nsp, "/admin");
        assert_eq!(packet.id, Some(3));
        assert_eq!(packet.event.as_deref(), Some("up"));
        assert_eq!(
            packet.data.as_deref(),
            Some(r#"["up","a",{"_placeholder":true,"num":0}]"#)
        );
        assert_eq!(binary, [blob]);

        let (packet, binary) =
            decode(ack(Parser::MsgPack, "/", 9, &"ok", Args::One, vec![]).unwrap());
        assert_eq!(
            (packet.kind, packet.id, packet.data.as_deref()),
            (PacketType::Ack, Some(9), Some(r#"["ok"]"#))
        );
        assert!(binary.is_empty());

        let (packet, _) = decode(connect(Parser::MsgPack, "/a", Some(&json!({"t": 1}))));
        assert_eq!(
            (packet.kind, &*packet.nsp, packet.data.as_deref()),
            (PacketType::Connect, "/a", Some(r#"{"t":1}"#))
        );
        let (packet, _) = decode(connect(Parser::MsgPack, "/", None));
        assert_eq!((packet.kind, packet.data), (PacketType::Connect, None));
        let (packet, _) = decode(disconnect(Parser::MsgPack, "/a"));
        assert_eq!((packet.kind, &*packet.nsp), (PacketType::Disconnect, "/a"));
    }
}
