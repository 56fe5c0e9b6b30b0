//! Broadcast operators: `to`, `except`, `local`, `volatile`, `timeout`, and
//! what can be done to the sockets they select.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_engine::Sid;
use switchboard_protocol::socket::PacketType;

use crate::adapter::{BroadcastOptions, RemoteSocket, Room};
use crate::encode::{EncodedPacket, event_args, event_one};
use crate::error::{AckError, AdapterError, EmitError};
use crate::event::run;
use crate::namespace::Namespace;
use crate::socket::Ack;

/// A selection of sockets of one namespace, built up with operators.
#[derive(Debug, Clone)]
pub struct Broadcast {
    ns: Namespace,
    opts: BroadcastOptions,
    timeout: Option<Duration>,
    binary: Vec<Bytes>,
}

impl Broadcast {
    pub(crate) fn new(ns: Namespace) -> Self {
        Broadcast {
            ns,
            opts: BroadcastOptions::default(),
            timeout: None,
            binary: Vec::new(),
        }
    }

    /// Also the sockets in `room` (a socket id is a room too).
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        self.opts.rooms.push(room.into());
        self
    }

    /// Minus the sockets in `room`.
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        self.opts.except.push(room.into());
        self
    }

    /// This server's sockets only.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Dropped for clients whose queue is full instead of disconnecting them.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// How long `emit_with_ack` waits for the answers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Attachments; mark their places with [`Placeholder`](crate::Placeholder).
    pub fn binary(mut self, binary: Vec<Bytes>) -> Self {
        self.binary = binary;
        self
    }

    /// Emits `event` with one argument to the selected sockets. The packet
    /// is encoded once. Local delivery is done when this returns (with
    /// connection state recovery on, a thread delivering another broadcast
    /// of the namespace at that moment may deliver this one right after
    /// its own, keeping the order); other servers (clustered adapters) are
    /// told in the background, and a failure there is logged.
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        let json = event_one(event, data)?;
        self.send(&json);
        Ok(())
    }

    /// Emits `event` with several arguments (`args` serialises to an array).
    pub fn emit_args<T: Serialize + ?Sized>(self, event: &str, args: &T) -> Result<(), EmitError> {
        let json = event_args(event, args)?;
        self.send(&json);
        Ok(())
    }

    fn send(self, json: &str) {
        let adapter = self.ns.adapter().clone();
        // With recovery on, a packet that is not volatile is kept for
        // clients that drop; its offset is appended before the one
        // encoding, so every recipient still shares the same bytes.
        let offset = match self.opts.flags.volatile {
            false => adapter.new_offset(),
            true => None,
        };
        let json = match &offset {
            Some(offset) => std::borrow::Cow::Owned(crate::recovery::with_offset(json, offset)),
            None => std::borrow::Cow::Borrowed(json),
        };
        let packet = EncodedPacket::new(
            self.ns.0.parser(),
            PacketType::Event,
            self.ns.name(),
            None,
            self.binary,
            Some(&json),
        );
        run(Box::pin(async move {
            let sent = match offset {
                Some(offset) => adapter.broadcast_kept(packet, offset, self.opts).await,
                None => adapter.broadcast(packet, self.opts).await,
            };
            if let Err(error) = sent {
                tracing::warn!(%error, "broadcast to other servers failed");
            }
        }));
    }

    /// Emits with one argument and collects every selected socket's
    /// acknowledgement, until all answered or the timeout passed. The id is
    /// `None` for a socket on another server (see [`AckResponse`](crate::AckResponse)).
    pub async fn emit_with_ack<R, T>(
        self,
        event: &str,
        data: &T,
    ) -> Result<Vec<(Option<Sid>, Result<Ack<R>, AckError>)>, AckError>
    where
        R: DeserializeOwned,
        T: Serialize + ?Sized,
    {
        let json = event_one(event, data).map_err(EmitError::from)?;
        let timeout = self.timeout.unwrap_or_else(|| self.ns.0.ack_timeout());
        let id = self.ns.0.next_ack_id();
        let packet = EncodedPacket::new(
            self.ns.0.parser(),
            PacketType::Event,
            self.ns.name(),
            Some(id),
            self.binary,
            Some(&json),
        );
        let responses = self
            .ns
            .adapter()
            .broadcast_with_ack(packet, id, self.opts, timeout)
            .await
            .map_err(|e| AckError::Adapter(e.to_string()))?;
        Ok(responses
            .into_iter()
            .map(|response| {
                let result = response.result.and_then(|payload| {
                    let data = payload.args::<R>().map_err(AckError::Deserialize)?;
                    Ok(Ack {
                        data,
                        binary: payload.binary,
                    })
                });
                (response.socket, result)
            })
            .collect())
    }

    /// The selected sockets, with their rooms.
    pub async fn fetch_sockets(self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.ns.adapter().fetch_sockets(self.opts).await
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(
        self,
        rooms: impl IntoIterator<Item = impl Into<Room>>,
    ) -> Result<(), AdapterError> {
        let rooms = rooms.into_iter().map(Into::into).collect();
        self.ns.adapter().add_sockets(self.opts, rooms).await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(
        self,
        rooms: impl IntoIterator<Item = impl Into<Room>>,
    ) -> Result<(), AdapterError> {
        let rooms = rooms.into_iter().map(Into::into).collect();
        self.ns.adapter().del_sockets(self.opts, rooms).await
    }

    /// Disconnects the selected sockets from the namespace, or with `close`
    /// closes their clients' connections.
    pub async fn disconnect_sockets(self, close: bool) -> Result<(), AdapterError> {
        self.ns.adapter().disconnect_sockets(self.opts, close).await
    }
}
