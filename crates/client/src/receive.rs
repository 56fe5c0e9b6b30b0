//! Received Engine.IO messages → Socket.IO packets → the namespace's socket:
//! binary assembly through the protocol crate, then routing by type.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use switchboard_protocol::Str;
use switchboard_protocol::socket::{Assembly, Limits, Packet, PacketType, decode_msgpack};

use crate::client::Shared;
use crate::handlers::{EventHandler, Handlers};
use crate::{ClientError, Parser, Socket};

/// The Socket.IO side of one connection's reading.
#[derive(Debug)]
pub(crate) struct Receiver {
    limits: Limits,
    parser: Parser,
    /// A binary packet waiting for its attachments; boxed, since most
    /// connections never have one and this sits in every connection's task.
    pending: Option<Box<Assembly>>,
    /// What the last packet was routed with, valid while the connection's
    /// generation does not move: almost every packet is for the same
    /// namespace and event, and this spares each the socket's locks and a
    /// walk through its handler set. With a thousand connections on one
    /// thread each of those is a cache miss, which is what a received
    /// event cost.
    routed: Option<Route>,
}

/// A snapshot of the socket of one namespace, for routing.
#[derive(Debug)]
struct Route {
    generation: u64,
    socket: Socket,
    /// The socket's namespace is `/`: checked without reaching into it.
    root: bool,
    /// Events carry a recovery offset to keep.
    recovering: bool,
    handlers: Arc<Handlers>,
    /// The event delivered last, when it has exactly one handler, no
    /// catch-all runs, and its name is short enough to keep here.
    last: Option<LastEvent>,
}

/// An event name kept inline (no pointer to chase), and its one handler.
struct LastEvent {
    len: usize,
    name: [u8; LastEvent::MAX],
    handler: EventHandler,
}

impl LastEvent {
    const MAX: usize = 32;

    fn new(name: &str, handler: &EventHandler) -> Option<LastEvent> {
        let mut inline = [0; LastEvent::MAX];
        inline
            .get_mut(..name.len())?
            .copy_from_slice(name.as_bytes());
        Some(LastEvent {
            len: name.len(),
            name: inline,
            handler: handler.clone(),
        })
    }

    fn is(&self, name: &str) -> bool {
        self.name.get(..self.len) == Some(name.as_bytes())
    }
}

impl std::fmt::Debug for LastEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LastEvent")
            .field("name", &String::from_utf8_lossy(&self.name[..self.len]))
            .finish_non_exhaustive()
    }
}

impl Route {
    /// Delivers an event to the socket's handlers.
    fn event(&mut self, name: String, data: Str, binary: Vec<Bytes>, id: Option<u64>) {
        // Checked first, without looking into the handler set (another
        // cache miss): `last` is only kept when nothing else must run.
        if let Some(last) = self.last.as_ref().filter(|last| last.is(&name)) {
            self.socket
                .receive_event_by(&last.handler, name, data, binary, id);
            return;
        }
        if !self.recovering && self.handlers.any.is_empty() {
            if let [handler] = self.handlers.of(&name) {
                self.last = LastEvent::new(&name, handler);
            }
        }
        self.socket
            .receive_event(&self.handlers, self.recovering, name, data, binary, id);
    }
}

impl Receiver {
    pub(crate) fn new(max_attachments: usize, parser: Parser) -> Self {
        Receiver {
            limits: Limits { max_attachments },
            parser,
            pending: None,
            routed: None,
        }
    }

    /// Forgets a half-received packet; a new session starts clean.
    pub(crate) fn reset(&mut self) {
        self.pending = None;
        self.routed = None;
    }

    pub(crate) fn text(&mut self, shared: &Shared, text: Str) -> Result<(), ClientError> {
        if self.parser == Parser::MsgPack {
            return Err(protocol(
                "a text message, but the msgpack parser sends every packet as binary",
            ));
        }
        if self.pending.is_some() {
            return Err(protocol(
                "a text message while binary attachments were expected",
            ));
        }
        let packet = Packet::decode(text, &self.limits).map_err(|e| protocol(&e.to_string()))?;
        if packet.kind.is_binary() {
            let assembly = Assembly::new(packet).map_err(|e| protocol(&e.to_string()))?;
            if assembly.is_complete() {
                let (packet, binary) = assembly.into_parts();
                return self.route(shared, packet, binary);
            }
            self.pending = Some(Box::new(assembly));
            return Ok(());
        }
        self.route(shared, packet, Vec::new())
    }

    pub(crate) fn binary(&mut self, shared: &Shared, bytes: Bytes) -> Result<(), ClientError> {
        if self.parser == Parser::MsgPack {
            let (packet, binary) = decode_msgpack(&bytes, self.limits.max_attachments)
                .map_err(|e| protocol(&e.to_string()))?;
            return self.route(shared, packet, binary);
        }
        let Some(assembly) = self.pending.as_mut() else {
            return Err(protocol("a binary message that no packet announced"));
        };
        assembly.push(bytes).map_err(|e| protocol(&e.to_string()))?;
        if assembly.is_complete() {
            if let Some(assembly) = self.pending.take() {
                let (packet, binary) = (*assembly).into_parts();
                return self.route(shared, packet, binary);
            }
        }
        Ok(())
    }
}

fn protocol(why: &str) -> ClientError {
    ClientError::Protocol(why.to_owned())
}

/// The server's answer to CONNECT.
#[derive(Deserialize)]
struct ConnectAnswer {
    sid: String,
    #[serde(default)]
    pid: Option<String>,
}

/// The server's CONNECT_ERROR payload (v5; a bare string in older servers).
#[derive(Deserialize)]
#[serde(untagged)]
enum Refusal {
    Object {
        message: String,
        #[serde(default)]
        data: Option<Value>,
    },
    Message(String),
}

impl Receiver {
    /// The route to namespace `nsp`'s socket: the one kept while the
    /// connection's generation did not move, else read again (and kept).
    fn socket(&mut self, shared: &Shared, nsp: &str) -> Option<&mut Route> {
        let hit = self.routed.as_ref().is_some_and(|route| {
            shared.is_generation(route.generation)
                && if nsp == "/" {
                    route.root
                } else {
                    route.socket.nsp() == nsp
                }
        });
        if !hit {
            let (generation, socket) = shared.socket(nsp);
            self.routed = socket.map(|socket| {
                let (recovering, handlers) = socket.snapshot();
                Route {
                    generation,
                    root: socket.nsp() == "/",
                    socket,
                    recovering,
                    handlers,
                    last: None,
                }
            });
        }
        self.routed.as_mut()
    }

    fn route(
        &mut self,
        shared: &Shared,
        packet: Packet,
        binary: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        // Packets for a namespace this connection has no socket for (left,
        // or refused) are ignored, as socket.io-client's manager does.
        let Some(route) = self.socket(shared, &packet.nsp) else {
            return Ok(());
        };
        route_to(route, packet, binary)
    }
}

fn route_to(route: &mut Route, packet: Packet, binary: Vec<Bytes>) -> Result<(), ClientError> {
    let socket = &route.socket;
    match packet.kind {
        PacketType::Connect => {
            let data = packet.data.as_deref().unwrap_or("");
            let answer: ConnectAnswer = serde_json::from_str(data)
                .map_err(|_| protocol("a CONNECT answer without a sid"))?;
            socket.connected_as(answer.sid, answer.pid);
        }
        PacketType::ConnectError => {
            let data = packet.data.as_deref().unwrap_or("");
            let (message, data) = match serde_json::from_str(data) {
                Ok(Refusal::Object { message, data }) => (message, data),
                Ok(Refusal::Message(message)) => (message, None),
                Err(_) => return Err(protocol("a CONNECT_ERROR without a message")),
            };
            socket.refused(message, data);
        }
        PacketType::Disconnect => socket.server_disconnected(),
        PacketType::Event | PacketType::BinaryEvent => {
            // The decoder guarantees both for events.
            if let (Some(name), Some(data)) = (packet.event, packet.data) {
                route.event(name, data, binary, packet.id);
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let id = packet.id.ok_or_else(|| protocol("an ACK without an id"))?;
            let data = packet.data.unwrap_or_else(|| Str::from_static("[]"));
            socket.receive_ack(id, data, binary);
        }
    }
    Ok(())
}
