//! The adapter: who is in which room, and how a broadcast reaches sockets,
//! on this server and, for clustered adapters, on the others.
//!
//! Handlers never see the adapter's type: a namespace holds it as
//! `Arc<dyn Adapter>`, so replacing [`LocalAdapter`] by a clustered one
//! changes no handler code.

mod local;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use switchboard_engine::Sid;
use switchboard_protocol::Str;

use crate::encode::EncodedPacket;
use crate::error::{AckError, AdapterError};
use crate::event::Payload;
use crate::namespace::Namespace;
use crate::socket::Socket;

pub use local::LocalAdapter;

/// A room name. Every socket is also addressable by its id as a room.
pub type Room = Str;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who a broadcast or a remote operation targets.
#[derive(Debug, Clone, Default)]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<Room>,
    /// Minus the sockets in any of these rooms (a socket id counts as a room).
    pub except: Vec<Room>,
    pub flags: BroadcastFlags,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// This server's sockets only.
    pub local: bool,
    /// May be dropped for a client whose queue is full.
    pub volatile: bool,
}

/// A socket found by [`Adapter::fetch_sockets`], on this server or another.
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    pub id: Sid,
    pub rooms: Vec<Room>,
    /// The handshake's auth payload and the socket's query string.
    pub auth: Value,
    /// The socket itself when it lives on this server.
    pub local: Option<Socket>,
}

/// One socket's answer to a broadcast with acknowledgement.
#[derive(Debug)]
pub struct AckResponse {
    pub socket: Sid,
    pub result: Result<Payload, AckError>,
}

/// A session kept for connection state recovery.
#[derive(Debug, Clone)]
pub struct PersistedSession {
    pub sid: Sid,
    pub pid: Str,
    pub rooms: Vec<Room>,
    pub data: Option<Value>,
}

/// What recovery hands back: the session and every packet it missed.
#[derive(Debug, Clone)]
pub struct RestoredSession {
    pub session: PersistedSession,
    pub missed: Vec<EncodedPacket>,
}

/// Makes the adapter of each namespace.
pub type AdapterFactory = dyn Fn(&Namespace) -> std::sync::Arc<dyn Adapter> + Send + Sync;

/// Rooms and delivery for one namespace.
///
/// Membership calls are synchronous: they touch only this server's state and
/// sit on hot paths (every join). Everything that may involve other servers
/// returns a future and a typed error rather than hanging.
pub trait Adapter: Send + Sync + 'static {
    /// Puts a local socket into rooms.
    fn add_all(&self, sid: Sid, rooms: &[Room]);
    /// Takes a local socket out of one room.
    fn del(&self, sid: Sid, room: &str);
    /// Takes a local socket out of every room (it disconnected).
    fn del_all(&self, sid: Sid);
    /// The rooms a local socket is in, not counting its own id.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;
    /// Local sockets `opts` selects.
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Socket>;
    /// Rooms with at least one local socket.
    fn local_rooms(&self) -> Vec<Room>;

    /// Sends an encoded packet to every socket `opts` selects, here and,
    /// unless `opts.flags.local`, on the other servers.
    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Like `broadcast`, for a packet carrying ack id `ack_id`; resolves with
    /// every selected socket's answer (or its error) once all answered or
    /// `timeout` passed.
    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<AckResponse>, AdapterError>>;

    /// Sockets `opts` selects, with their rooms.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>>;
    /// Makes the sockets `opts` selects join `rooms`.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Makes the sockets `opts` selects leave `rooms`.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Disconnects the sockets `opts` selects; `close` closes their whole
    /// connection rather than this namespace only.
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Every room with a socket, on every server.
    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>>;
    /// Emits an event to the other servers (not to clients); `args` is a JSON
    /// array. Local-only adapters have no one to tell.
    fn server_side_emit(
        &self,
        event: String,
        args: String,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;
    /// Servers in the cluster, this one included.
    fn server_count(&self) -> BoxFuture<'_, usize>;

    /// Keeps a disconnected session for connection state recovery.
    fn persist_session(&self, session: PersistedSession);
    /// The session `pid` with every packet after `offset`, or `None` when it
    /// is unknown, expired, or a needed packet is gone: never a partial one.
    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>>;
}
