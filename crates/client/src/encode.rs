//! Outgoing Socket.IO packets, encoded straight into the Engine.IO text
//! they travel in (`4` + the packet), with their attachments.

use bytes::Bytes;
use serde::Serialize;
use switchboard_protocol::socket::{PacketType, RESERVED_EVENTS, encode_packet};

use crate::ClientError;

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
    pub(crate) text: String,
    pub(crate) binary: Vec<Bytes>,
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
    encode(kind, nsp, id, Some(name), value, args, binary)
}

/// An ACK (or BINARY_ACK) answering `id`.
pub(crate) fn ack<T: Serialize + ?Sized>(
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
    encode(kind, nsp, Some(id), None, value, args, binary)
}

fn encode<T: Serialize + ?Sized>(
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
    head.push('4');
    encode_packet(&mut head, kind, nsp, id, binary.len(), None);
    // serde_json writes bytes; building in a Vec and checking the UTF-8 once
    // at the end is cheaper than a second String per argument.
    let mut buf = head.into_bytes();
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
    Ok(Outgoing { text, binary })
}

/// A CONNECT for `nsp` with its auth payload.
pub(crate) fn connect(nsp: &str, auth: Option<&serde_json::Value>) -> String {
    let mut out = String::from("4");
    let data = auth.map(|a| a.to_string());
    encode_packet(&mut out, PacketType::Connect, nsp, None, 0, data.as_deref());
    out
}

/// A DISCONNECT for `nsp`.
pub(crate) fn disconnect(nsp: &str) -> String {
    let mut out = String::from("4");
    encode_packet(&mut out, PacketType::Disconnect, nsp, None, 0, None);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(r: Result<Outgoing, ClientError>) -> String {
        r.unwrap().text
    }

    #[test]
    fn events() {
        assert_eq!(
            text(event(
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
            text(event("/", None, "x", &json!([]), Args::Many, vec![])),
            r#"42["x"]"#
        );
        assert_eq!(
            text(event("/", None, "x", &(), Args::Many, vec![])),
            r#"42["x"]"#
        );
        assert_eq!(text(ack("/", 1, &(), Args::Many, vec![])), "431[]");
        let bin = event(
            "/",
            Some(1),
            "up",
            &json!([{"_placeholder": true, "num": 0}]),
            Args::Many,
            vec![Bytes::from_static(b"\x01")],
        )
        .unwrap();
        assert_eq!(bin.text, r#"451-1["up",{"_placeholder":true,"num":0}]"#);
        assert!(matches!(
            event("/", None, "x", &json!({}), Args::Many, vec![]),
            Err(ClientError::InvalidArgs(_))
        ));
        assert!(matches!(
            event("/", None, "disconnect", &1, Args::One, vec![]),
            Err(ClientError::InvalidArgs(_))
        ));
    }

    #[test]
    fn acks_and_control() {
        assert_eq!(text(ack("/", 3, &"ok", Args::One, vec![])), r#"433["ok"]"#);
        assert_eq!(
            text(ack("/n", 3, &(1, 2), Args::Many, vec![])),
            r#"43/n,3[1,2]"#
        );
        assert_eq!(connect("/", None), "40");
        assert_eq!(connect("/a", Some(&json!({"t": 1}))), r#"40/a,{"t":1}"#);
        assert_eq!(disconnect("/a"), "41/a,");
    }
}
