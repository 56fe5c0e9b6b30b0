//! Received Engine.IO messages → Socket.IO packets → the namespace's socket:
//! binary assembly through the protocol crate, then routing by type.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use switchboard_protocol::Str;
use switchboard_protocol::socket::{Assembly, Limits, Packet, PacketType};

use crate::client::Shared;
use crate::{ClientError, Socket};

/// The Socket.IO side of one connection's reading.
#[derive(Debug)]
pub(crate) struct Receiver {
    limits: Limits,
    /// A binary packet waiting for its attachments; boxed, since most
    /// connections never have one and this sits in every connection's task.
    pending: Option<Box<Assembly>>,
    /// The socket the last packet went to, valid while the connection's
    /// sockets are still of this generation: almost every packet is for
    /// the same namespace, and this spares each a lock and a clone.
    routed: Option<(u64, Socket)>,
}

impl Receiver {
    pub(crate) fn new(max_attachments: usize) -> Self {
        Receiver {
            limits: Limits { max_attachments },
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
    /// The socket of namespace `nsp`: the one routed to last while the
    /// connection's sockets did not change, else looked up (and kept).
    fn socket(&mut self, shared: &Shared, nsp: &str) -> Option<&Socket> {
        let hit = self.routed.as_ref().is_some_and(|(generation, socket)| {
            shared.is_generation(*generation) && socket.nsp() == nsp
        });
        if !hit {
            let (generation, socket) = shared.socket(nsp);
            self.routed = socket.map(|socket| (generation, socket));
        }
        self.routed.as_ref().map(|(_, socket)| socket)
    }

    fn route(
        &mut self,
        shared: &Shared,
        packet: Packet,
        binary: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        // Packets for a namespace this connection has no socket for (left,
        // or refused) are ignored, as socket.io-client's manager does.
        let Some(socket) = self.socket(shared, &packet.nsp) else {
            return Ok(());
        };
        route_to(socket, packet, binary)
    }
}

fn route_to(socket: &Socket, packet: Packet, binary: Vec<Bytes>) -> Result<(), ClientError> {
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
                socket.receive_event(name, data, binary, packet.id);
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
