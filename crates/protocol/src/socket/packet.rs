use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::SocketDecodeError;
use crate::Str;

/// Event names only the server emits; a client sending one is refused.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Deepest JSON nesting accepted; a deeper payload is refused before
/// anything recurses into it. 127, not 128: serde_json's recursion limit of
/// 128 lets 127 levels parse, and a packet accepted here must also parse
/// into handler arguments (a 128-deep event was accepted, then silently
/// dropped by the handler's deserialisation; a 128-deep auth became `{}`).
const MAX_DEPTH: usize = 127;

/// Largest ack id: JavaScript clients count ids in doubles.
const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// The seven Socket.IO packet types, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketType {
    pub fn from_digit(byte: u8) -> Option<Self> {
        Some(match byte {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    pub fn digit(self) -> char {
        match self {
            PacketType::Connect => '0',
            PacketType::Disconnect => '1',
            PacketType::Event => '2',
            PacketType::Ack => '3',
            PacketType::ConnectError => '4',
            PacketType::BinaryEvent => '5',
            PacketType::BinaryAck => '6',
        }
    }

    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// Decoder limits; the defaults are Node's.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most attachments one packet may announce. Default 10.
    pub max_attachments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachments: 10,
        }
    }
}

/// One Socket.IO packet, its JSON checked for shape but not interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub kind: PacketType,
    /// The namespace, `/` when the packet names none.
    pub nsp: Str,
    pub id: Option<u64>,
    /// Binary messages that follow this packet (binary types only).
    pub attachments: usize,
    /// The JSON payload as received; `None` when the packet has none.
    pub data: Option<Str>,
    /// For events, the name (the first element of the JSON array).
    pub event: Option<String>,
}

impl Packet {
    /// Decodes the text of one Engine.IO message (without its `4`).
    pub fn decode(text: Str, limits: &Limits) -> Result<Packet, SocketDecodeError> {
        let bytes = text.as_bytes();
        let kind = bytes
            .first()
            .and_then(|&b| PacketType::from_digit(b))
            .ok_or(SocketDecodeError::UnknownType)?;
        let mut at = 1;
        let mut attachments = 0;
        if kind.is_binary() {
            let digits = count_digits(&bytes[at..]);
            if digits == 0 || bytes.get(at + digits) != Some(&b'-') {
                return Err(SocketDecodeError::InvalidAttachments);
            }
            // More than 4 digits is over any sane limit; checking the length
            // first keeps the parse from overflowing.
            attachments = if digits > 4 {
                usize::MAX
            } else {
                ascii_number(&bytes[at..at + digits]) as usize
            };
            if attachments > limits.max_attachments {
                return Err(SocketDecodeError::TooManyAttachments);
            }
            at += digits + 1;
        }
        let mut nsp = Str::from_static("/");
        if bytes.get(at) == Some(&b'/') {
            // The namespace runs to a comma or to the end of the message.
            let end = bytes[at..]
                .iter()
                .position(|&b| b == b',')
                .map_or(bytes.len(), |p| at + p);
            nsp = text.slice_range(at, end);
            at = (end + 1).min(bytes.len());
        }
        let digits = count_digits(&bytes[at..]);
        let id = if digits > 0 {
            if digits > 16 {
                return Err(SocketDecodeError::InvalidAckId);
            }
            let id = ascii_number(&bytes[at..at + digits]);
            if id > MAX_ACK_ID {
                return Err(SocketDecodeError::InvalidAckId);
            }
            at += digits;
            Some(id)
        } else {
            None
        };
        let data = (at < bytes.len()).then(|| text.slice_from(at));
        let event = check_payload(kind, data.as_deref())?;
        Ok(Packet {
            kind,
            nsp,
            id,
            attachments,
            data,
            event,
        })
    }
}

/// Checks the payload's shape for its packet type, as Node's parser does,
/// and returns the event name of an event.
pub(crate) fn check_payload(
    kind: PacketType,
    data: Option<&str>,
) -> Result<Option<String>, SocketDecodeError> {
    let Some(json) = data else {
        return match kind {
            PacketType::Connect | PacketType::Disconnect => Ok(None),
            _ => Err(SocketDecodeError::InvalidPayload),
        };
    };
    if !depth_within(json, MAX_DEPTH) {
        return Err(SocketDecodeError::InvalidPayload);
    }
    let invalid = |_| SocketDecodeError::InvalidPayload;
    match kind {
        PacketType::Disconnect => Err(SocketDecodeError::InvalidPayload),
        PacketType::Connect => {
            let value: &RawValue = serde_json::from_str(json).map_err(invalid)?;
            if value.get().starts_with('{') {
                Ok(None)
            } else {
                Err(SocketDecodeError::InvalidPayload)
            }
        }
        PacketType::ConnectError => {
            let value: &RawValue = serde_json::from_str(json).map_err(invalid)?;
            let first = value.get().as_bytes().first();
            if matches!(first, Some(b'{' | b'"')) {
                Ok(None)
            } else {
                Err(SocketDecodeError::InvalidPayload)
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            serde_json::from_str::<Head<'_>>(json).map_err(invalid)?;
            Ok(None)
        }
        PacketType::Event | PacketType::BinaryEvent => {
            let Head(first) = serde_json::from_str(json).map_err(invalid)?;
            let name = first.ok_or(SocketDecodeError::InvalidPayload)?.get();
            let name = if name.starts_with('"') {
                let name: String = serde_json::from_str(name).map_err(invalid)?;
                if RESERVED_EVENTS.contains(&name.as_str()) {
                    return Err(SocketDecodeError::ReservedEvent);
                }
                name
            } else if serde_json::from_str::<f64>(name).is_ok() {
                name.to_owned()
            } else {
                return Err(SocketDecodeError::InvalidPayload);
            };
            Ok(Some(name))
        }
    }
}

/// Whether `json` nests arrays and objects no deeper than `max`. A linear
/// scan, so hostile nesting costs nothing but its own bytes; a string is
/// skipped in a loop of its own (to its closing quote, escapes jumped), as
/// most of a message's bytes are text.
pub(crate) fn depth_within(json: &str, max: usize) -> bool {
    let bytes = json.as_bytes();
    // Nesting can go no deeper than the number of opening brackets, so
    // when those are few (strings included: counting them all is one
    // vectorised pass) there is nothing to scan for.
    if openings(bytes) <= max {
        return true;
    }
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => {
                at += 1;
                while let Some(&b) = bytes.get(at) {
                    match b {
                        b'\\' => at += 2,
                        b'"' => break,
                        _ => at += 1,
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    true
}

/// How many `[` and `{` bytes there are. The two differ only in bit 0x20,
/// so one compare finds both, and each block of 255 bytes is counted in a
/// `u8`, which the compiler keeps 16 or more to a vector register. Counting
/// straight into a `usize` widened every byte to 64 bits, 4 bytes a step:
/// 97 ns for a 137-byte chat message, against 11 ns this way (a `rustc -O`
/// loop), and 9 % of the bench's load generator in the ack scenario.
fn openings(bytes: &[u8]) -> usize {
    bytes
        .chunks(usize::from(u8::MAX))
        .map(|block| {
            let count = block
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b | 0x20 == b'{'));
            usize::from(count)
        })
        .sum()
}

/// The first element of a JSON array, every other one checked and
/// skipped: what an event's name and an ack's shape need, without
/// collecting the elements into a `Vec` (an allocation per packet). Accepts
/// exactly what `Vec<&RawValue>` accepts: both parse each element through
/// serde_json's same skipping parser.
struct Head<'a>(Option<&'a RawValue>);

impl<'de> Deserialize<'de> for Head<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadVisitor;

        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Head<'de>, A::Error> {
                let first = seq.next_element::<&RawValue>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Head(first))
            }
        }

        deserializer.deserialize_seq(HeadVisitor)
    }
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The value of at most 16 ASCII digits (callers check the length).
fn ascii_number(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

/// Appends one encoded packet to `out`:
/// `<type>[<attachments>-][<nsp>,][<id>][<data>]`.
pub fn encode_packet(
    out: &mut String,
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    attachments: usize,
    data: Option<&str>,
) {
    out.push(kind.digit());
    if kind.is_binary() {
        let _ = write!(out, "{attachments}-");
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
    if let Some(data) = data {
        out.push_str(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &'static str) -> Result<Packet, SocketDecodeError> {
        Packet::decode(Str::from_static(s), &Limits::default())
    }

    fn encode(
        kind: PacketType,
        nsp: &str,
        id: Option<u64>,
        n: usize,
        data: Option<&str>,
    ) -> String {
        let mut out = String::new();
        encode_packet(&mut out, kind, nsp, id, n, data);
        out
    }

    #[test]
    fn decodes_connect_variants() {
        let p = decode("0").unwrap();
        assert_eq!((p.kind, &*p.nsp, p.data), (PacketType::Connect, "/", None));
        let p = decode(r#"0{"token":"123"}"#).unwrap();
        assert_eq!(p.data.as_deref(), Some(r#"{"token":"123"}"#));
        let p = decode("0/custom,").unwrap();
        assert_eq!((&*p.nsp, p.data), ("/custom", None));
        // Without the trailing comma, as the official suite sends it.
        assert_eq!(&*decode("0/random").unwrap().nsp, "/random");
        let p = decode(r#"0/custom,{"token":"abc"}"#).unwrap();
        assert_eq!(
            (&*p.nsp, p.data.as_deref()),
            ("/custom", Some(r#"{"token":"abc"}"#))
        );
        assert_eq!(decode("0[]"), Err(SocketDecodeError::InvalidPayload));
    }

    #[test]
    fn decodes_events_and_acks() {
        let p = decode(r#"2["message",1,"2",{"3":[true]}]"#).unwrap();
        assert_eq!(
            (p.kind, p.event.as_deref(), p.id),
            (PacketType::Event, Some("message"), None)
        );
        let p = decode(r#"2/admin,456["ev"]"#).unwrap();
        assert_eq!(
            (&*p.nsp, p.id, p.data.as_deref()),
            ("/admin", Some(456), Some(r#"["ev"]"#))
        );
        let p = decode(r#"3456[1,"2"]"#).unwrap();
        assert_eq!((p.kind, p.id), (PacketType::Ack, Some(456)));
        let p =
            decode(r#"52-789["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
                .unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.id),
            (PacketType::BinaryEvent, 2, Some(789))
        );
        assert_eq!(decode("1").unwrap().kind, PacketType::Disconnect);
        assert_eq!(decode("1/custom,").unwrap().nsp, "/custom");
        assert_eq!(decode(r#"2[42]"#).unwrap().event.as_deref(), Some("42"));
    }

    #[test]
    fn rejects_bad_packets() {
        use SocketDecodeError::*;
        assert_eq!(decode(""), Err(UnknownType));
        assert_eq!(decode("abc"), Err(UnknownType));
        assert_eq!(decode("9"), Err(UnknownType));
        assert_eq!(decode("2{}"), Err(InvalidPayload));
        assert_eq!(decode("2"), Err(InvalidPayload));
        assert_eq!(decode("2[]"), Err(InvalidPayload));
        assert_eq!(decode("2[{}]"), Err(InvalidPayload));
        assert_eq!(decode(r#"2abc["message-with-ack"]"#), Err(InvalidPayload));
        assert_eq!(decode(r#"2["disconnect"]"#), Err(ReservedEvent));
        assert_eq!(decode(r#"2["newListener"]"#), Err(ReservedEvent));
        assert_eq!(
            decode(r#"21234567890123456789012345678901234567890["a"]"#),
            Err(InvalidAckId)
        );
        assert_eq!(decode(r#"29007199254740992["a"]"#), Err(InvalidAckId));
        assert!(decode(r#"29007199254740991["a"]"#).is_ok());
        assert_eq!(decode(r#"5["a"]"#), Err(InvalidAttachments));
        assert_eq!(decode(r#"5x-["a"]"#), Err(InvalidAttachments));
        assert_eq!(decode(r#"511-["a"]"#), Err(TooManyAttachments));
        assert_eq!(decode(r#"599999999999-["a"]"#), Err(TooManyAttachments));
        assert_eq!(decode(r#"1{}"#), Err(InvalidPayload));
        assert_eq!(decode(r#"3"#), Err(InvalidPayload));
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            Packet::decode(Str::from(deep), &Limits::default()),
            Err(SocketDecodeError::InvalidPayload)
        );
        // Brackets inside strings do not count.
        assert!(
            decode(r#"2["a","[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]"#).is_ok()
        );
    }

    #[test]
    fn nesting_limit_is_what_serde_json_parses() {
        let nested = |depth: usize| {
            let arg = format!("{}{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
            format!(r#"2["a",{arg}]"#)
        };
        let at_limit = Packet::decode(Str::from(nested(MAX_DEPTH)), &Limits::default()).unwrap();
        let json = at_limit.data.unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
        assert_eq!(
            Packet::decode(Str::from(nested(MAX_DEPTH + 1)), &Limits::default()),
            Err(SocketDecodeError::InvalidPayload)
        );
    }

    #[test]
    fn openings_counts_both_brackets_across_blocks() {
        // 255 is a block: a block of nothing but brackets must not overflow
        // its u8, and a count must carry across blocks.
        for len in [0, 1, 254, 255, 256, 510, 511, 1000] {
            let all = "[{".repeat(len).into_bytes();
            assert_eq!(openings(&all[..len]), len);
            let sample = b"[x{]}\"\\;";
            let mixed: Vec<u8> = (0..len).map(|i| sample[i % sample.len()]).collect();
            let naive = mixed.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(openings(&mixed), naive);
        }
        // Bytes one bit away from a bracket are not brackets.
        assert_eq!(openings(b"\x1b\x3b\x5a\x5c\x7a\x7c\xdb\xfb"), 0);
    }

    #[test]
    fn encodes() {
        use PacketType::*;
        assert_eq!(
            encode(Connect, "/", None, 0, Some(r#"{"sid":"x"}"#)),
            r#"0{"sid":"x"}"#
        );
        assert_eq!(
            encode(Connect, "/custom", None, 0, Some("{}")),
            "0/custom,{}"
        );
        assert_eq!(
            encode(Event, "/", Some(12), 0, Some(r#"["a"]"#)),
            r#"212["a"]"#
        );
        assert_eq!(
            encode(BinaryAck, "/admin", Some(1), 1, Some("[]")),
            "61-/admin,1[]"
        );
        assert_eq!(encode(Disconnect, "/x", None, 0, None), "1/x,");
        assert_eq!(
            encode(
                ConnectError,
                "/random",
                None,
                0,
                Some(r#"{"message":"Invalid namespace"}"#)
            ),
            r#"4/random,{"message":"Invalid namespace"}"#
        );
    }
}
