//! The `socket.io-msgpack-parser` format: each packet is one binary message
//! holding a MessagePack map `{type, data, nsp, id?}`, with binary data
//! inline (no attachments, no binary packet types).
//!
//! Decoding turns it into the same shape the JSON parser produces, a packet
//! whose JSON data marks each binary value with a placeholder plus the list
//! of attachments, so everything above the parser handles one shape.

use bytes::Bytes;
use rmpv::Value as Pack;
use serde_json::{Map, Number, Value as Json};

use super::notepack::read_notepack;
use super::packet::{check_payload, depth_within};
use super::{Packet, PacketType, SocketDecodeError};
use crate::Str;

/// Deepest MessagePack nesting accepted; the same bound as for JSON.
const MAX_DEPTH: usize = 128;

/// Decodes one binary message into a packet and its binary values.
pub fn decode_msgpack(
    bytes: &[u8],
    max_attachments: usize,
) -> Result<(Packet, Vec<Bytes>), SocketDecodeError> {
    let invalid = SocketDecodeError::InvalidPayload;
    // One level more than the data's bound: the packet's own map.
    let value = read_notepack(bytes, MAX_DEPTH + 1).ok_or(invalid.clone())?;
    let Pack::Map(entries) = value else {
        return Err(invalid);
    };
    let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
    for (key, value) in entries {
        match key.as_str() {
            Some("type") => kind = value.as_u64(),
            Some("nsp") => nsp = Some(value.as_str().ok_or(invalid.clone())?.to_owned()),
            Some("id") => match value {
                Pack::Nil => {}
                v => id = Some(v.as_u64().ok_or(SocketDecodeError::InvalidAckId)?),
            },
            Some("data") => data = Some(value),
            _ => {}
        }
    }
    // The msgpack parser knows only the five non-binary types.
    let kind = match kind {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::Event,
        Some(3) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(SocketDecodeError::UnknownType),
    };
    let nsp = nsp.ok_or(invalid.clone())?;
    if id.is_some_and(|id| id > (1 << 53) - 1) {
        return Err(SocketDecodeError::InvalidAckId);
    }
    let mut attachments = Vec::new();
    let json = match data {
        None | Some(Pack::Nil) if matches!(kind, PacketType::Connect | PacketType::Disconnect) => {
            None
        }
        None => None,
        Some(value) => {
            let json = to_json(value, &mut attachments)?;
            if attachments.len() > max_attachments {
                return Err(SocketDecodeError::TooManyAttachments);
            }
            Some(json.to_string())
        }
    };
    if let Some(json) = &json {
        if !depth_within(json, MAX_DEPTH) {
            return Err(invalid);
        }
    }
    let event = check_payload(kind, json.as_deref())?;
    let packet = Packet {
        kind,
        nsp: Str::from(nsp),
        id,
        attachments: attachments.len(),
        data: json.map(Str::from),
        event,
    };
    Ok((packet, attachments))
}

/// MessagePack to JSON, binary values becoming placeholders that refer to
/// `attachments` (which they are appended to).
pub fn to_json(value: Pack, attachments: &mut Vec<Bytes>) -> Result<Json, SocketDecodeError> {
    let invalid = SocketDecodeError::InvalidPayload;
    Ok(match value {
        Pack::Nil => Json::Null,
        Pack::Boolean(b) => Json::Bool(b),
        Pack::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (None, Some(s)) => Json::from(s),
            _ => return Err(invalid),
        },
        Pack::F32(f) => Number::from_f64(f64::from(f)).map_or(Json::Null, Json::Number),
        Pack::F64(f) => Number::from_f64(f).map_or(Json::Null, Json::Number),
        Pack::String(s) => Json::String(s.into_str().ok_or(invalid)?),
        Pack::Binary(b) => {
            let num = attachments.len();
            attachments.push(Bytes::from(b));
            let mut placeholder = Map::new();
            placeholder.insert("_placeholder".to_owned(), Json::Bool(true));
            placeholder.insert("num".to_owned(), Json::from(num));
            Json::Object(placeholder)
        }
        // An extension notepack does not know: it reads `[type, Buffer]`.
        Pack::Ext(kind, b) => Json::Array(vec![
            Json::from(kind),
            to_json(Pack::Binary(b), attachments)?,
        ]),
        Pack::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|v| to_json(v, attachments))
                .collect::<Result<_, _>>()?,
        ),
        Pack::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match key {
                    Pack::String(s) => s.into_str().ok_or(invalid.clone())?,
                    Pack::Integer(i) => i.to_string(),
                    _ => return Err(invalid),
                };
                map.insert(key, to_json(value, attachments)?);
            }
            Json::Object(map)
        }
    })
}

/// Encodes one packet as a MessagePack message. `data` is JSON whose
/// placeholders refer to `attachments`; they are put back inline.
pub fn encode_msgpack(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    attachments: &[Bytes],
) -> Vec<u8> {
    let wire_type = match kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        other => other,
    };
    let type_number = u64::from(wire_type.digit() as u8 - b'0');
    let mut entries = vec![(Pack::from("type"), Pack::from(type_number))];
    if let Some(data) = data {
        // Our own encoder produced `data`, so it parses; a failure would only
        // drop the data, never panic.
        let json: Json = serde_json::from_str(data).unwrap_or(Json::Null);
        entries.push((Pack::from("data"), to_pack(json, attachments)));
    }
    entries.push((Pack::from("nsp"), Pack::from(nsp)));
    if let Some(id) = id {
        entries.push((Pack::from("id"), Pack::from(id)));
    }
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &Pack::Map(entries));
    out
}

/// JSON to MessagePack, placeholders replaced by their attachments.
pub fn to_pack(value: Json, attachments: &[Bytes]) -> Pack {
    match value {
        Json::Null => Pack::Nil,
        Json::Bool(b) => Pack::Boolean(b),
        Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Pack::from(u),
            (None, Some(i), _) => Pack::from(i),
            (_, _, Some(f)) => Pack::F64(f),
            _ => Pack::Nil,
        },
        Json::String(s) => Pack::from(s),
        Json::Array(items) => {
            Pack::Array(items.into_iter().map(|v| to_pack(v, attachments)).collect())
        }
        Json::Object(map) => {
            if map.get("_placeholder") == Some(&Json::Bool(true)) {
                if let Some(bytes) = map
                    .get("num")
                    .and_then(Json::as_u64)
                    .and_then(|n| attachments.get(n as usize))
                {
                    return Pack::Binary(bytes.to_vec());
                }
            }
            Pack::Map(
                map.into_iter()
                    .map(|(k, v)| (Pack::from(k), to_pack(v, attachments)))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(entries: Vec<(&str, Pack)>) -> Vec<u8> {
        let map = Pack::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Pack::from(k), v))
                .collect(),
        );
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &map).unwrap();
        out
    }

    #[test]
    fn decodes_an_event_with_binary() {
        let bytes = pack(vec![
            ("type", Pack::from(2)),
            (
                "data",
                Pack::Array(vec![
                    Pack::from("up"),
                    Pack::Binary(vec![1, 2]),
                    Pack::from(3),
                ]),
            ),
            ("nsp", Pack::from("/")),
            ("id", Pack::from(7)),
        ]);
        let (packet, attachments) = decode_msgpack(&bytes, 10).unwrap();
        assert_eq!(
            (packet.kind, packet.id, packet.event.as_deref()),
            (PacketType::Event, Some(7), Some("up"))
        );
        assert_eq!(
            packet.data.as_deref(),
            Some(r#"["up",{"_placeholder":true,"num":0},3]"#)
        );
        assert_eq!(attachments, vec![Bytes::from_static(&[1, 2])]);
    }

    #[test]
    fn roundtrips_through_encode() {
        let data = r#"["m",{"a":{"_placeholder":true,"num":0}},-1,1.5,null]"#;
        let attachments = vec![Bytes::from_static(b"xyz")];
        let wire = encode_msgpack(
            PacketType::BinaryEvent,
            "/chat",
            Some(3),
            Some(data),
            &attachments,
        );
        let (packet, back) = decode_msgpack(&wire, 10).unwrap();
        assert_eq!(
            (packet.kind, &*packet.nsp, packet.id),
            (PacketType::Event, "/chat", Some(3))
        );
        assert_eq!(packet.data.as_deref(), Some(data));
        assert_eq!(back, attachments);
        let connect = encode_msgpack(PacketType::Connect, "/", None, Some(r#"{"sid":"x"}"#), &[]);
        assert_eq!(
            decode_msgpack(&connect, 10).unwrap().0.kind,
            PacketType::Connect
        );
    }

    #[test]
    fn refuses_bad_packets() {
        use SocketDecodeError::*;
        assert_eq!(decode_msgpack(b"\xc1", 10).err(), Some(InvalidPayload));
        assert_eq!(
            decode_msgpack(
                &pack(vec![("type", Pack::from(9)), ("nsp", Pack::from("/"))]),
                10
            )
            .err(),
            Some(UnknownType)
        );
        assert_eq!(
            decode_msgpack(
                &pack(vec![("type", Pack::from(2)), ("nsp", Pack::from("/"))]),
                10
            )
            .err(),
            Some(InvalidPayload)
        );
        assert_eq!(
            decode_msgpack(&pack(vec![("type", Pack::from(0))]), 10).err(),
            Some(InvalidPayload)
        );
        let reserved = pack(vec![
            ("type", Pack::from(2)),
            ("nsp", Pack::from("/")),
            ("data", Pack::Array(vec![Pack::from("disconnect")])),
        ]);
        assert_eq!(decode_msgpack(&reserved, 10).err(), Some(ReservedEvent));
        let many = Pack::Array(
            std::iter::once(Pack::from("e"))
                .chain((0..3).map(|_| Pack::Binary(vec![0])))
                .collect(),
        );
        let many = pack(vec![
            ("type", Pack::from(2)),
            ("nsp", Pack::from("/")),
            ("data", many),
        ]);
        assert_eq!(decode_msgpack(&many, 2).err(), Some(TooManyAttachments));
        // Deep nesting is refused without recursing.
        let mut deep = vec![0x91u8; 100_000];
        deep.push(0xc0);
        assert_eq!(decode_msgpack(&deep, 10).err(), Some(InvalidPayload));
    }
}
