//! The wire format of `@socket.io/redis-adapter` 8.x, without I/O: channel
//! names, the MessagePack broadcast message, and the requests and responses
//! between servers (JSON, except the broadcast-with-acks request and each
//! forwarded acknowledgement, which carry binary and are MessagePack).
//!
//! Everything decoded here comes from the network, so nothing panics on
//! any input: a malformed message is a [`Garbage`] error, counted and
//! dropped by the caller.

use bytes::Bytes;
use rmpv::Value as Pack;
use serde_json::{Map, Value as Json, json};
use switchboard::{BroadcastFlags, BroadcastOptions, PacketParts, Room};
use switchboard_protocol::socket::{PacketType, json_to_msgpack, msgpack_to_json, read_notepack};

/// Deepest nesting accepted in a message, as for client packets.
const MAX_DEPTH: usize = 128;

/// Request types, numbered as the Node adapter's `RequestType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestType {
    Sockets = 0,
    AllRooms = 1,
    RemoteJoin = 2,
    RemoteLeave = 3,
    RemoteDisconnect = 4,
    RemoteFetch = 5,
    ServerSideEmit = 6,
    Broadcast = 7,
    BroadcastClientCount = 8,
    BroadcastAck = 9,
}

impl RequestType {
    fn from_number(n: u64) -> Option<RequestType> {
        use RequestType::*;
        [
            Sockets,
            AllRooms,
            RemoteJoin,
            RemoteLeave,
            RemoteDisconnect,
            RemoteFetch,
            ServerSideEmit,
            Broadcast,
            BroadcastClientCount,
            BroadcastAck,
        ]
        .into_iter()
        .find(|t| *t as u64 == n)
    }
}

/// A message that is not one of the adapter's; why, for the debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Garbage(pub(crate) &'static str);

/// The channels of one namespace under one key prefix.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `<prefix>#<nsp>#`: broadcasts to the whole namespace; with `<room>#`
    /// appended, broadcasts to exactly one room.
    pub(crate) broadcast: String,
    /// `<prefix>-request#<nsp>#`
    pub(crate) request: String,
    /// `<prefix>-response#<nsp>#`
    pub(crate) response: String,
    /// `<prefix>-response#<nsp>#<uid>#`: answers meant for this server only
    /// (Node's `publishOnSpecificResponseChannel`).
    pub(crate) own_response: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str, nsp: &str, uid: &str) -> Channels {
        let response = format!("{prefix}-response#{nsp}#");
        Channels {
            broadcast: format!("{prefix}#{nsp}#"),
            request: format!("{prefix}-request#{nsp}#"),
            own_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// The pattern that receives every broadcast of the namespace. Glob
    /// characters in the prefix or namespace are escaped, so that the
    /// pattern matches this namespace's channels only.
    pub(crate) fn broadcast_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.broadcast.len() + 2);
        for c in self.broadcast.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    /// Where a broadcast goes: the room's channel when it targets exactly
    /// one room (so Node servers can skip rooms they do not have).
    pub(crate) fn broadcast_channel(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.as_slice() {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }
}

/// A packet in the adapter's object form `{type, data, nsp, id?}`, with
/// binary values inline.
pub(crate) fn pack_packet(parts: &PacketParts) -> Pack {
    let number = u8::try_from(parts.kind.digit()).unwrap_or(b'2') - b'0';
    let mut entries = vec![(Pack::from("type"), Pack::from(number))];
    if let Some(data) = &parts.data {
        // `parts` came from our own encoder, so the data is JSON.
        let data: Json = serde_json::from_str(data).unwrap_or(Json::Null);
        entries.push((
            Pack::from("data"),
            json_to_msgpack(data, &parts.attachments),
        ));
    }
    entries.push((Pack::from("nsp"), Pack::from(parts.nsp.as_str())));
    if let Some(id) = parts.id {
        entries.push((Pack::from("id"), Pack::from(id)));
    }
    Pack::Map(entries)
}

/// `{rooms, except, flags}` as Node's adapter sends them, in its key order.
fn targets_pack(opts: &BroadcastOptions, timeout_ms: Option<u64>) -> Pack {
    let list = |rooms: &[Room]| Pack::Array(rooms.iter().map(|r| Pack::from(r.as_ref())).collect());
    let mut flags = Vec::new();
    if opts.flags.volatile {
        flags.push((Pack::from("volatile"), Pack::Boolean(true)));
    }
    if let Some(ms) = timeout_ms {
        flags.push((Pack::from("timeout"), Pack::from(ms)));
    }
    Pack::Map(vec![
        (Pack::from("rooms"), list(&opts.rooms)),
        (Pack::from("except"), list(&opts.except)),
        (Pack::from("flags"), Pack::Map(flags)),
    ])
}

fn encode(value: &Pack) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// The broadcast message `[uid, packet, {rooms, except, flags}]`.
pub(crate) fn encode_broadcast(
    uid: &str,
    packet: &PacketParts,
    opts: &BroadcastOptions,
) -> Vec<u8> {
    encode(&Pack::Array(vec![
        Pack::from(uid),
        pack_packet(packet),
        targets_pack(opts, None),
    ]))
}

/// A packet received from another server: JSON data with placeholders
/// and its attachments, ready for [`switchboard::EncodedPacket::from_parts`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packet {
    pub(crate) kind: PacketType,
    pub(crate) nsp: String,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<String>,
    pub(crate) attachments: Vec<Bytes>,
}

/// Who a request or broadcast from another server targets, and its ack
/// timeout when it has one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    pub(crate) opts: BroadcastOptions,
    pub(crate) timeout_ms: Option<u64>,
}

/// A broadcast from another server.
#[derive(Debug, Clone)]
pub(crate) struct Broadcast {
    pub(crate) uid: String,
    pub(crate) packet: Packet,
    pub(crate) targets: Targets,
}

pub(crate) fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, Garbage> {
    let (message, attachments) = decode_msgpack(bytes)?;
    let Json::Array(mut items) = message else {
        return Err(Garbage("broadcast is not an array"));
    };
    if items.len() < 3 {
        return Err(Garbage("broadcast has fewer than 3 elements"));
    }
    let targets = targets(&items[2])?;
    let packet = packet(items[1].take(), &attachments)?;
    let Json::String(uid) = items[0].take() else {
        return Err(Garbage("broadcast uid is not a string"));
    };
    Ok(Broadcast {
        uid,
        packet,
        targets,
    })
}

/// MessagePack to JSON with placeholders, read as notepack writes it (so
/// Node's `undefined` is left out, not taken for binary).
fn decode_msgpack(bytes: &[u8]) -> Result<(Json, Vec<Bytes>), Garbage> {
    let value = read_notepack(bytes, MAX_DEPTH)
        .ok_or(Garbage("not one MessagePack value, or nested too deep"))?;
    let mut attachments = Vec::new();
    let json = msgpack_to_json(value, &mut attachments)
        .map_err(|_| Garbage("MessagePack value has no JSON form"))?;
    Ok((json, attachments))
}

/// The packet object, its placeholders renumbered to its own attachments
/// (the message's list may hold binary from elsewhere in the message).
fn packet(value: Json, all: &[Bytes]) -> Result<Packet, Garbage> {
    let Json::Object(mut map) = value else {
        return Err(Garbage("packet is not an object"));
    };
    let kind = match map.get("type").and_then(Json::as_u64) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2 | 5) => PacketType::Event,
        Some(3 | 6) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(Garbage("packet type unknown")),
    };
    // Node fills in "/" when a packet has no namespace.
    let nsp = match map.get("nsp") {
        None | Some(Json::Null) => "/".to_owned(),
        Some(Json::String(nsp)) => nsp.clone(),
        Some(_) => return Err(Garbage("packet nsp is not a string")),
    };
    let id = match map.get("id") {
        None | Some(Json::Null) => None,
        Some(id) => Some(id.as_u64().ok_or(Garbage("packet id is not a number"))?),
    };
    let (data, attachments) = match map.remove("data") {
        None | Some(Json::Null) if kind != PacketType::Event => (None, Vec::new()),
        None => return Err(Garbage("event without data")),
        Some(mut data) => {
            let mut own = Vec::new();
            renumber(&mut data, all, &mut own)?;
            if kind == PacketType::Event && data.as_array().is_none_or(Vec::is_empty) {
                return Err(Garbage("event data is not a non-empty array"));
            }
            (Some(data.to_string()), own)
        }
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data,
        attachments,
    })
}

/// Points the placeholders in `value` at `own`, copying their attachments
/// there from `all` in order of appearance.
fn renumber(value: &mut Json, all: &[Bytes], own: &mut Vec<Bytes>) -> Result<(), Garbage> {
    match value {
        Json::Object(map) if map.get("_placeholder") == Some(&Json::Bool(true)) => {
            let bytes = map
                .get("num")
                .and_then(Json::as_u64)
                .and_then(|n| all.get(usize::try_from(n).ok()?))
                .ok_or(Garbage("placeholder without attachment"))?;
            map.insert("num".to_owned(), Json::from(own.len()));
            own.push(bytes.clone());
        }
        Json::Object(map) => {
            for v in map.values_mut() {
                renumber(v, all, own)?;
            }
        }
        Json::Array(items) => {
            for v in items {
                renumber(v, all, own)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn rooms(value: Option<&Json>) -> Result<Vec<Room>, Garbage> {
    match value {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|room| match room {
                Json::String(s) => Ok(Room::from(s.clone())),
                // Node allows numbers as room names.
                Json::Number(n) => Ok(Room::from(n.to_string())),
                _ => Err(Garbage("room is not a string")),
            })
            .collect(),
        Some(_) => Err(Garbage("rooms is not an array")),
    }
}

fn targets(value: &Json) -> Result<Targets, Garbage> {
    let Json::Object(map) = value else {
        return Err(Garbage("options are not an object"));
    };
    let flags = map.get("flags");
    let flag = |name: &str| {
        flags
            .and_then(|f| f.get(name))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    Ok(Targets {
        opts: BroadcastOptions {
            rooms: rooms(map.get("rooms"))?,
            except: rooms(map.get("except"))?,
            flags: BroadcastFlags {
                // Received broadcasts are delivered here only.
                local: true,
                volatile: flag("volatile"),
            },
        },
        timeout_ms: flags.and_then(|f| f.get("timeout")).and_then(Json::as_u64),
    })
}

/// A request from another server.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) uid: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) kind: RequestKind,
}

#[derive(Debug, Clone)]
pub(crate) enum RequestKind {
    /// The ids of the sockets in some rooms (older servers' `allSockets`).
    Sockets {
        rooms: Vec<Room>,
    },
    AllRooms,
    /// Sockets `targets` selects join (or leave) `rooms`.
    Join {
        targets: Targets,
        rooms: Vec<Room>,
    },
    Leave {
        targets: Targets,
        rooms: Vec<Room>,
    },
    Disconnect {
        targets: Targets,
        close: bool,
    },
    /// One socket by id (the older form, answered with `{requestId}`).
    JoinOne {
        sid: String,
        room: Room,
    },
    LeaveOne {
        sid: String,
        room: Room,
    },
    DisconnectOne {
        sid: String,
        close: bool,
    },
    Fetch {
        targets: Targets,
    },
    /// `data` is `[event, ...args]`.
    ServerSideEmit {
        event: String,
        args: Vec<Json>,
    },
    BroadcastWithAck {
        packet: Packet,
        targets: Targets,
    },
}

/// A message on the request channel: JSON when it starts with `{`,
/// MessagePack otherwise (as Node tells them apart).
pub(crate) fn decode_request(bytes: &[u8]) -> Result<Request, Garbage> {
    let (message, attachments) = decode_any(bytes)?;
    let Json::Object(mut map) = message else {
        return Err(Garbage("request is not an object"));
    };
    let kind = map
        .get("type")
        .and_then(Json::as_u64)
        .and_then(RequestType::from_number)
        .ok_or(Garbage("request type unknown"))?;
    let text =
        |map: &Map<String, Json>, key: &str| map.get(key).and_then(Json::as_str).map(str::to_owned);
    let uid = text(&map, "uid");
    let request_id = text(&map, "requestId");
    let targets_of = |map: &Map<String, Json>| map.get("opts").map(targets).transpose();
    let close = map.get("close").and_then(Json::as_bool).unwrap_or(false);
    let one = |map: &Map<String, Json>| -> Result<(String, Room), Garbage> {
        let sid = text(map, "sid").ok_or(Garbage("request without opts or sid"))?;
        let room = rooms(
            map.get("room")
                .map(|r| Json::Array(vec![r.clone()]))
                .as_ref(),
        )?
        .pop()
        .unwrap_or_else(|| Room::from(String::new()));
        Ok((sid, room))
    };
    let kind = match kind {
        RequestType::Sockets => RequestKind::Sockets {
            rooms: rooms(map.get("rooms"))?,
        },
        RequestType::AllRooms => RequestKind::AllRooms,
        RequestType::RemoteJoin => match targets_of(&map)? {
            Some(targets) => RequestKind::Join {
                targets,
                rooms: rooms(map.get("rooms"))?,
            },
            None => {
                let (sid, room) = one(&map)?;
                RequestKind::JoinOne { sid, room }
            }
        },
        RequestType::RemoteLeave => match targets_of(&map)? {
            Some(targets) => RequestKind::Leave {
                targets,
                rooms: rooms(map.get("rooms"))?,
            },
            None => {
                let (sid, room) = one(&map)?;
                RequestKind::LeaveOne { sid, room }
            }
        },
        RequestType::RemoteDisconnect => match targets_of(&map)? {
            Some(targets) => RequestKind::Disconnect { targets, close },
            None => RequestKind::DisconnectOne {
                sid: one(&map)?.0,
                close,
            },
        },
        RequestType::RemoteFetch => RequestKind::Fetch {
            targets: targets_of(&map)?.unwrap_or_default(),
        },
        RequestType::ServerSideEmit => {
            let Some(Json::Array(mut data)) = map.remove("data") else {
                return Err(Garbage("server-side emit without data array"));
            };
            if data.is_empty() {
                return Err(Garbage("server-side emit without event"));
            }
            let Json::String(event) = data.remove(0) else {
                return Err(Garbage("server-side emit event is not a string"));
            };
            RequestKind::ServerSideEmit { event, args: data }
        }
        RequestType::Broadcast => {
            let targets = targets_of(&map)?.unwrap_or_default();
            let packet = packet(
                map.remove("packet")
                    .ok_or(Garbage("broadcast request without packet"))?,
                &attachments,
            )?;
            RequestKind::BroadcastWithAck { packet, targets }
        }
        RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
            return Err(Garbage("response type on the request channel"));
        }
    };
    if request_id.is_none()
        && matches!(
            kind,
            RequestKind::Sockets { .. }
                | RequestKind::AllRooms
                | RequestKind::Fetch { .. }
                | RequestKind::BroadcastWithAck { .. }
        )
    {
        return Err(Garbage("request without requestId"));
    }
    Ok(Request {
        uid,
        request_id,
        kind,
    })
}

fn decode_any(bytes: &[u8]) -> Result<(Json, Vec<Bytes>), Garbage> {
    if bytes.first() == Some(&b'{') {
        let json = serde_json::from_slice(bytes).map_err(|_| Garbage("not JSON"))?;
        Ok((json, Vec::new()))
    } else {
        decode_msgpack(bytes)
    }
}

/// An answer from another server to one of our requests.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) request_id: String,
    pub(crate) body: ResponseBody,
}

#[derive(Debug, Clone)]
pub(crate) enum ResponseBody {
    ClientCount(u64),
    /// The first argument of one socket's acknowledgement, as a one-element
    /// JSON array, with its attachments.
    Ack {
        args: String,
        attachments: Vec<Bytes>,
    },
    ServerSideEmit(Json),
    /// Socket ids (`SOCKETS`) or socket details (`REMOTE_FETCH`).
    Sockets(Vec<Json>),
    Rooms(Vec<Room>),
    /// `{requestId}` alone: a remote join, leave or disconnect of one socket.
    Done,
}

pub(crate) fn decode_response(bytes: &[u8]) -> Result<Response, Garbage> {
    let (message, attachments) = decode_any(bytes)?;
    let Json::Object(mut map) = message else {
        return Err(Garbage("response is not an object"));
    };
    let request_id = match map.get("requestId") {
        Some(Json::String(id)) => id.clone(),
        _ => return Err(Garbage("response without requestId")),
    };
    let kind = map
        .get("type")
        .and_then(Json::as_u64)
        .and_then(RequestType::from_number);
    let body = match kind {
        Some(RequestType::BroadcastClientCount) => ResponseBody::ClientCount(
            map.get("clientCount")
                .and_then(Json::as_u64)
                .ok_or(Garbage("client count is not a number"))?,
        ),
        Some(RequestType::BroadcastAck) => {
            let mut arg = map.remove("packet").unwrap_or(Json::Null);
            let mut own = Vec::new();
            renumber(&mut arg, &attachments, &mut own)?;
            ResponseBody::Ack {
                args: Json::Array(vec![arg]).to_string(),
                attachments: own,
            }
        }
        Some(RequestType::ServerSideEmit) => {
            ResponseBody::ServerSideEmit(map.remove("data").unwrap_or(Json::Null))
        }
        _ => match (map.remove("sockets"), map.get("rooms")) {
            (Some(Json::Array(sockets)), _) => ResponseBody::Sockets(sockets),
            (Some(_), _) => return Err(Garbage("sockets is not an array")),
            (None, Some(_)) => ResponseBody::Rooms(rooms(map.get("rooms"))?),
            (None, None) => ResponseBody::Done,
        },
    };
    Ok(Response { request_id, body })
}

// ---- what this server sends ----

fn request_json(uid: &str, request_id: Option<&str>, kind: RequestType) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert("uid".to_owned(), Json::from(uid));
    if let Some(id) = request_id {
        map.insert("requestId".to_owned(), Json::from(id));
    }
    map.insert("type".to_owned(), Json::from(kind as u8));
    map
}

fn opts_json(opts: &BroadcastOptions) -> Json {
    json!({
        "rooms": opts.rooms.iter().map(|r| r.as_ref()).collect::<Vec<&str>>(),
        "except": opts.except.iter().map(|r| r.as_ref()).collect::<Vec<&str>>(),
    })
}

/// `REMOTE_FETCH` or `ALL_ROOMS` (no options).
pub(crate) fn query_request(
    uid: &str,
    request_id: &str,
    kind: RequestType,
    opts: Option<&BroadcastOptions>,
) -> Vec<u8> {
    let mut map = request_json(uid, Some(request_id), kind);
    if let Some(opts) = opts {
        map.insert("opts".to_owned(), opts_json(opts));
    }
    Json::Object(map).to_string().into_bytes()
}

/// `REMOTE_JOIN` / `REMOTE_LEAVE` with rooms, `REMOTE_DISCONNECT` with `close`.
pub(crate) fn sockets_request(
    uid: &str,
    kind: RequestType,
    opts: &BroadcastOptions,
    rooms: Option<&[Room]>,
    close: Option<bool>,
) -> Vec<u8> {
    let mut map = request_json(uid, None, kind);
    map.insert("opts".to_owned(), opts_json(opts));
    if let Some(rooms) = rooms {
        let rooms: Vec<&str> = rooms.iter().map(|r| r.as_ref()).collect();
        map.insert("rooms".to_owned(), json!(rooms));
    }
    if let Some(close) = close {
        map.insert("close".to_owned(), Json::Bool(close));
    }
    Json::Object(map).to_string().into_bytes()
}

/// `SERVER_SIDE_EMIT`; `data` is `[event, ...args]`.
pub(crate) fn server_side_emit_request(uid: &str, request_id: Option<&str>, data: Json) -> Vec<u8> {
    let mut map = request_json(uid, request_id, RequestType::ServerSideEmit);
    map.insert("data".to_owned(), data);
    Json::Object(map).to_string().into_bytes()
}

/// `BROADCAST` (with acks), MessagePack since the packet may hold binary.
/// The packet goes without its ack id: each server picks its own.
pub(crate) fn broadcast_request(
    uid: &str,
    request_id: &str,
    packet: &PacketParts,
    opts: &BroadcastOptions,
    timeout_ms: u64,
) -> Vec<u8> {
    let mut packet = packet.clone();
    packet.id = None;
    encode(&Pack::Map(vec![
        (Pack::from("uid"), Pack::from(uid)),
        (Pack::from("requestId"), Pack::from(request_id)),
        (Pack::from("type"), Pack::from(RequestType::Broadcast as u8)),
        (Pack::from("packet"), pack_packet(&packet)),
        (Pack::from("opts"), targets_pack(opts, Some(timeout_ms))),
    ]))
}

/// `{type: 8, requestId, clientCount}`.
pub(crate) fn client_count_response(request_id: &str, count: usize) -> Vec<u8> {
    json!({
        "type": RequestType::BroadcastClientCount as u8,
        "requestId": request_id,
        "clientCount": count,
    })
    .to_string()
    .into_bytes()
}

/// `{type: 9, requestId, packet: <first argument>}` in MessagePack.
pub(crate) fn ack_response(request_id: &str, first_arg: Json, attachments: &[Bytes]) -> Vec<u8> {
    encode(&Pack::Map(vec![
        (
            Pack::from("type"),
            Pack::from(RequestType::BroadcastAck as u8),
        ),
        (Pack::from("requestId"), Pack::from(request_id)),
        (
            Pack::from("packet"),
            json_to_msgpack(first_arg, attachments),
        ),
    ]))
}

/// `{type: 6, requestId, data}`: one server's answer to a server-side emit.
pub(crate) fn server_side_ack_response(request_id: &str, data: Json) -> Vec<u8> {
    json!({
        "type": RequestType::ServerSideEmit as u8,
        "requestId": request_id,
        "data": data,
    })
    .to_string()
    .into_bytes()
}

/// `{requestId, <key>: <value>}`: answers to fetch, all rooms, sockets.
pub(crate) fn list_response(request_id: &str, key: &str, value: Json) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("requestId".to_owned(), Json::from(request_id));
    if !key.is_empty() {
        map.insert(key.to_owned(), value);
    }
    Json::Object(map).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(data: &str, attachments: Vec<Bytes>) -> PacketParts {
        let p = switchboard::EncodedPacket::from_parts(
            switchboard::Parser::Json,
            PacketType::Event,
            "/",
            None,
            Some(data),
            attachments,
        );
        p.parts().unwrap()
    }

    #[test]
    fn channel_names() {
        let c = Channels::new("socket.io", "/", "abc123");
        assert_eq!(c.broadcast, "socket.io#/#");
        assert_eq!(c.request, "socket.io-request#/#");
        assert_eq!(c.response, "socket.io-response#/#");
        assert_eq!(c.own_response, "socket.io-response#/#abc123#");
        assert_eq!(c.broadcast_pattern(), "socket.io#/#*");
        assert_eq!(
            Channels::new("a*", "/x", "u").broadcast_pattern(),
            "a\\*#/x#*"
        );
        let one = BroadcastOptions {
            rooms: vec![Room::from("red")],
            ..Default::default()
        };
        assert_eq!(c.broadcast_channel(&one), "socket.io#/#red#");
        assert_eq!(
            c.broadcast_channel(&BroadcastOptions::default()),
            "socket.io#/#"
        );
    }

    #[test]
    fn broadcast_bytes_are_nodes() {
        // What notepack.io encodes for
        // ["uid", {type: 2, data: ["e", 1], nsp: "/"}, {rooms: [], except: [], flags: {}}]
        let node: &[u8] = b"\x93\xa3uid\x83\xa4type\x02\xa4data\x92\xa1e\x01\xa3nsp\xa1/\
            \x83\xa5rooms\x90\xa6except\x90\xa5flags\x80";
        let ours = encode_broadcast("uid", &parts(r#"["e",1]"#, vec![]), &Default::default());
        assert_eq!(ours, node);
        let back = decode_broadcast(node).unwrap();
        assert_eq!(back.uid, "uid");
        assert_eq!(back.packet.data.as_deref(), Some(r#"["e",1]"#));
        assert_eq!(back.packet.kind, PacketType::Event);
        assert!(back.targets.opts.flags.local);
    }

    #[test]
    fn binary_and_undefined() {
        // [uid, {type: 2, data: ["b", <bin 01 02>, undefined], nsp: "/", id: undefined}, {rooms: ["r"], except: ["x"], flags: {volatile: true}}]
        let node: &[u8] = b"\x93\xa1u\x84\xa4type\x02\xa4data\x93\xa1b\xc4\x02\x01\x02\xd4\x00\x00\
            \xa3nsp\xa1/\xa2id\xd4\x00\x00\
            \x83\xa5rooms\x91\xa1r\xa6except\x91\xa1x\xa5flags\x81\xa8volatile\xc3";
        let b = decode_broadcast(node).unwrap();
        assert_eq!(
            b.packet.data.as_deref(),
            Some(r#"["b",{"_placeholder":true,"num":0},null]"#)
        );
        assert_eq!(b.packet.attachments, vec![Bytes::from_static(&[1, 2])]);
        assert_eq!(b.packet.id, None);
        assert_eq!(b.targets.opts.rooms, vec![Room::from("r")]);
        assert_eq!(b.targets.opts.except, vec![Room::from("x")]);
        assert!(b.targets.opts.flags.volatile);
        let again = encode_broadcast(
            "u",
            &parts(
                r#"["b",{"_placeholder":true,"num":0}]"#,
                vec![Bytes::from_static(&[1, 2])],
            ),
            &Default::default(),
        );
        let b = decode_broadcast(&again).unwrap();
        assert_eq!(b.packet.attachments, vec![Bytes::from_static(&[1, 2])]);
    }

    #[test]
    fn garbage_is_an_error() {
        for bytes in [
            &b""[..],
            b"\xc1",
            b"{",
            b"\x93\xa1u\x80\x80",
            b"\x92\xa1u\x80",
            b"\x93\x01\x83\xa4type\x02\xa4data\x91\xa1e\xa3nsp\xa1/\x80",
            b"\x93\xa1u\x83\xa4type\x02\xa4data\x90\xa3nsp\xa1/\x80",
            b"\x93\xa1u\x83\xa4type\x02\xa4data\x91\x81\xac_placeholder\xc3\xa3nsp\xa1/\x80",
        ] {
            assert!(decode_broadcast(bytes).is_err(), "{bytes:?}");
            assert!(decode_request(bytes).is_err(), "{bytes:?}");
            assert!(decode_response(bytes).is_err(), "{bytes:?}");
        }
        // Deep nesting is refused before recursing.
        let deep = [vec![0x91u8; 10_000], vec![0xc0]].concat();
        assert!(decode_broadcast(&deep).is_err());
    }

    #[test]
    fn nesting_limit() {
        // [uid, {type: 2, data: ["e", [[...[]...]]], nsp: "/"}, {}]: the
        // packet map, its data and the event array take 3 levels of the
        // message's array, so `n` more arrays nest to 1 + 3 + n.
        let message = |n: usize| {
            [
                &b"\x93\xa1u\x83\xa4type\x02\xa4data\x92\xa1e"[..],
                &vec![0x91u8; n - 1],
                b"\x90\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80",
            ]
            .concat()
        };
        let deepest = (1..MAX_DEPTH + 8)
            .take_while(|&n| decode_broadcast(&message(n)).is_ok())
            .last()
            .unwrap();
        assert_eq!(deepest + 3, MAX_DEPTH, "the deepest accepted message");
        assert!(
            decode_broadcast(&message(deepest + 1)).is_err(),
            "one level more"
        );
    }

    #[test]
    fn requests_from_node() {
        let r = decode_request(
            br#"{"uid":"n1","requestId":"r1","type":5,"opts":{"rooms":["a",7],"except":[]}}"#,
        )
        .unwrap();
        assert_eq!(r.uid.as_deref(), Some("n1"));
        let RequestKind::Fetch { targets } = r.kind else {
            panic!("{r:?}")
        };
        assert_eq!(targets.opts.rooms, vec![Room::from("a"), Room::from("7")]);
        let r = decode_request(br#"{"uid":"n1","type":6,"data":["hello",1,{"a":2}]}"#).unwrap();
        assert!(r.request_id.is_none());
        let RequestKind::ServerSideEmit { event, args } = r.kind else {
            panic!()
        };
        assert_eq!((event.as_str(), args.len()), ("hello", 2));
        let r = decode_request(br#"{"uid":"n1","type":2,"sid":"abc","room":"r","requestId":"x"}"#)
            .unwrap();
        assert!(matches!(r.kind, RequestKind::JoinOne { .. }));
        let ours = broadcast_request(
            "me",
            "q1",
            &parts(
                r#"["e",{"_placeholder":true,"num":0}]"#,
                vec![Bytes::from_static(b"z")],
            ),
            &Default::default(),
            500,
        );
        let r = decode_request(&ours).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("q1"));
        let RequestKind::BroadcastWithAck { packet, targets } = r.kind else {
            panic!()
        };
        assert_eq!(packet.attachments, vec![Bytes::from_static(b"z")]);
        assert_eq!(targets.timeout_ms, Some(500));
        assert!(
            decode_request(br#"{"uid":"n1","type":5}"#).is_err(),
            "no requestId"
        );
        assert!(decode_request(br#"{"type":42}"#).is_err());
    }

    #[test]
    fn responses() {
        let r = decode_response(br#"{"type":8,"requestId":"q","clientCount":3}"#).unwrap();
        assert!(matches!(r.body, ResponseBody::ClientCount(3)));
        let bytes = ack_response(
            "q",
            json!({"_placeholder":true,"num":0}),
            &[Bytes::from_static(b"k")],
        );
        let r = decode_response(&bytes).unwrap();
        let ResponseBody::Ack { args, attachments } = r.body else {
            panic!()
        };
        assert_eq!(args, r#"[{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments, vec![Bytes::from_static(b"k")]);
        let r = decode_response(br#"{"requestId":"q","rooms":["a","b"]}"#).unwrap();
        assert!(matches!(r.body, ResponseBody::Rooms(ref v) if v.len() == 2));
        let r = decode_response(br#"{"requestId":"q"}"#).unwrap();
        assert!(matches!(r.body, ResponseBody::Done));
        assert!(decode_response(br#"{"rooms":[]}"#).is_err());
    }
}
