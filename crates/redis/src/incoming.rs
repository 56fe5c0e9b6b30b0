//! What the other servers send a namespace: broadcasts to deliver here,
//! requests to carry out and answer, and answers to our own requests.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Map, Value as Json, json};
use switchboard::{Adapter, BroadcastOptions, EncodedPacket, Namespace, ServerAck, Socket};

use crate::adapter::Core;
use crate::link::Topic;
use crate::wire::{self, Packet, Request, RequestKind};

impl Core {
    /// Handles one message from `channel`; false when it is garbage.
    pub(crate) async fn receive(
        self: &Arc<Self>,
        topic: Topic,
        channel: &str,
        bytes: &[u8],
    ) -> bool {
        let outcome = match topic {
            Topic::Broadcast => match wire::decode_broadcast(bytes) {
                Ok(b) if b.uid == self.uid => Ok(()),
                Ok(b) if b.packet.nsp != self.nsp => {
                    Err(wire::Garbage("packet of another namespace"))
                }
                Ok(b) => {
                    self.deliver(b.packet, b.targets.opts).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Topic::Request => match wire::decode_request(bytes) {
                Ok(r) if r.uid.as_deref() == Some(self.uid.as_str()) => Ok(()),
                Ok(r) => {
                    self.carry_out(r).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Topic::Response => {
                wire::decode_response(bytes).map(|r| self.answer(&r.request_id, r.body))
            }
        };
        match outcome {
            Ok(()) => true,
            Err(wire::Garbage(why)) => {
                tracing::debug!(channel, why, "ignoring a message that is not the adapter's");
                false
            }
        }
    }

    fn namespace(&self) -> Option<Namespace> {
        self.ns.upgrade()
    }

    /// A broadcast from another server, to this server's sockets. With
    /// recovery on, it is kept under an offset of this server's.
    async fn deliver(&self, packet: Packet, opts: BroadcastOptions) {
        let offset = match (packet.kind, packet.id, opts.flags.volatile) {
            (switchboard_protocol::socket::PacketType::Event, None, false) => {
                self.inner.new_offset()
            }
            _ => None,
        };
        let data = match (&offset, &packet.data) {
            (Some(offset), Some(data)) => Some(with_argument(data, offset)),
            _ => packet.data.clone(),
        };
        let encoded = EncodedPacket::from_parts(
            self.parser,
            packet.kind,
            &self.nsp,
            packet.id,
            data.as_deref(),
            packet.attachments,
        );
        let delivered = match offset {
            Some(offset) => self.inner.broadcast_kept(encoded, offset, opts).await,
            None => self.inner.broadcast(encoded, opts).await,
        };
        if let Err(error) = delivered {
            tracing::debug!(%error, "delivering a broadcast from another server failed");
        }
    }

    async fn carry_out(self: &Arc<Self>, request: Request) {
        let id = request.request_id;
        match request.kind {
            RequestKind::Sockets { rooms } => {
                let opts = BroadcastOptions {
                    rooms,
                    ..Default::default()
                };
                let ids: Vec<String> = self
                    .inner
                    .local_sockets(&opts)
                    .iter()
                    .map(|s| s.id().to_owned())
                    .collect();
                self.reply(id, "sockets", json!(ids));
            }
            RequestKind::AllRooms => {
                let rooms: Vec<String> = self
                    .inner
                    .local_rooms()
                    .iter()
                    .map(|r| r.to_string())
                    .collect();
                self.reply(id, "rooms", json!(rooms));
            }
            RequestKind::Join { targets, rooms } => {
                let _ = self.inner.add_sockets(targets.opts, rooms).await;
            }
            RequestKind::Leave { targets, rooms } => {
                let _ = self.inner.del_sockets(targets.opts, rooms).await;
            }
            RequestKind::Disconnect { targets, close } => {
                let _ = self.inner.disconnect_sockets(targets.opts, close).await;
            }
            RequestKind::JoinOne { sid, room } => {
                if let Some(socket) = self.namespace().and_then(|ns| ns.socket(&sid)) {
                    socket.join(room);
                    self.reply(id, "", Json::Null);
                }
            }
            RequestKind::LeaveOne { sid, room } => {
                if let Some(socket) = self.namespace().and_then(|ns| ns.socket(&sid)) {
                    socket.leave(&room);
                    self.reply(id, "", Json::Null);
                }
            }
            RequestKind::DisconnectOne { sid, close } => {
                if let Some(socket) = self.namespace().and_then(|ns| ns.socket(&sid)) {
                    match close {
                        true => socket.close_connection(),
                        false => socket.disconnect(),
                    }
                    self.reply(id, "", Json::Null);
                }
            }
            RequestKind::Fetch { targets } => {
                let sockets: Vec<Json> = self
                    .inner
                    .local_sockets(&targets.opts)
                    .iter()
                    .map(socket_details)
                    .collect();
                self.reply(id, "sockets", Json::Array(sockets));
            }
            RequestKind::ServerSideEmit { event, args } => {
                let Some(ns) = self.namespace() else { return };
                let ack = id.map(|id| {
                    let core = self.clone();
                    ServerAck::new(move |answer| {
                        core.respond(wire::server_side_ack_response(&id, answer));
                    })
                });
                ns.receive_server_side_emit(&event, args, ack);
            }
            RequestKind::BroadcastWithAck { packet, targets } => {
                let Some(id) = id else { return };
                let timeout = targets
                    .timeout_ms
                    .map_or(self.link.config().requests_timeout, Duration::from_millis);
                // The acks stream back as they come, on a task of their own,
                // so this one goes on with the next message.
                let core = self.clone();
                tokio::spawn(async move {
                    core.broadcast_for(id, packet, targets.opts, timeout).await;
                });
            }
        }
    }

    /// `{requestId, key: value}` (or `{requestId}` alone for an empty key)
    /// when the request has an id.
    fn reply(&self, id: Option<String>, key: &str, value: Json) {
        if let Some(id) = id {
            self.respond(wire::list_response(&id, key, value));
        }
    }

    /// Another server's broadcast with acknowledgements, done here: first
    /// the number of clients it reaches, then each client's answer.
    async fn broadcast_for(
        &self,
        request_id: String,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) {
        let Some(ns) = self.namespace() else { return };
        let sockets = self.inner.local_sockets(&opts);
        self.respond(wire::client_count_response(&request_id, sockets.len()));
        if sockets.is_empty() {
            return;
        }
        let ack_id = ns.next_ack_id();
        let encoded = EncodedPacket::from_parts(
            self.parser,
            packet.kind,
            &self.nsp,
            Some(ack_id),
            packet.data.as_deref(),
            packet.attachments,
        );
        // One local broadcast per socket (by its id as a room), so that
        // each answer goes out as soon as it is in.
        let mut answers: FuturesUnordered<_> = sockets
            .iter()
            .map(|socket| {
                let one = BroadcastOptions {
                    rooms: vec![socket.id().to_owned().into()],
                    ..Default::default()
                };
                self.inner
                    .broadcast_with_ack(encoded.clone(), ack_id, one, timeout)
            })
            .collect();
        while let Some(answer) = answers.next().await {
            for response in answer.into_iter().flatten() {
                let Ok(payload) = response.result else {
                    continue;
                };
                // Node forwards the first argument of an acknowledgement.
                let first = match serde_json::from_str::<Json>(&payload.args_json()) {
                    Ok(Json::Array(mut args)) if !args.is_empty() => args.swap_remove(0),
                    _ => Json::Null,
                };
                self.respond(wire::ack_response(&request_id, first, &payload.binary));
            }
        }
    }
}

/// `data` (a JSON array) with `argument` appended.
fn with_argument(data: &str, argument: &str) -> String {
    match serde_json::from_str::<Json>(data) {
        Ok(Json::Array(mut args)) => {
            args.push(Json::from(argument));
            Json::Array(args).to_string()
        }
        _ => data.to_owned(),
    }
}

/// A local socket as Node's adapter describes it in a fetch answer:
/// `{id, handshake, rooms, data}`.
fn socket_details(socket: &Socket) -> Json {
    let handshake = socket.handshake();
    let mut headers = Map::new();
    for (name, value) in &handshake.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Json::from(value));
        }
    }
    let mut query = Map::new();
    for pair in handshake.query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.insert(key.to_owned(), Json::from(value));
    }
    let issued = handshake
        .issued
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    json!({
        "id": socket.id(),
        "handshake": {
            "headers": headers,
            "time": "",
            "address": handshake.address.map(|a| a.ip().to_string()).unwrap_or_default(),
            "xdomain": handshake.headers.contains_key(http_origin()),
            "secure": false,
            "issued": issued,
            "url": "",
            "query": query,
            "auth": handshake.auth,
        },
        "rooms": rooms,
        // Socket data is typed Rust values here, with no JSON form.
        "data": {},
    })
}

fn http_origin() -> &'static str {
    "origin"
}
