//! The adapter: who is in which room, and how a broadcast reaches sockets,
//! on this server and, for clustered adapters, on the others.
//!
//! Handlers never see the adapter's type: a namespace holds it as
//! `Arc<dyn Adapter>`, so replacing [`LocalAdapter`] by a clustered one
//! changes no handler code.

mod local;
mod sessions;

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
    /// The socket that answered; `None` for a socket on another server,
    /// since clustered adapters (Node's Redis adapter among them) forward
    /// only the answer.
    pub socket: Option<Sid>,
    pub result: Result<Payload, AckError>,
}

/// A session kept for connection state recovery: what a socket that left
/// for a recoverable reason gets back if its client returns in time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PersistedSession {
    pub sid: Sid,
    /// The private session id, known only to the client.
    pub pid: Str,
    /// Its rooms, its own id included.
    pub rooms: Vec<Room>,
    /// Its data ([`Socket::set_data`]); lives in this process only.
    pub data: http::Extensions,
}

impl PersistedSession {
    pub fn new(sid: Sid, pid: Str, rooms: Vec<Room>, data: http::Extensions) -> Self {
        PersistedSession {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// What an adapter keeps for connection state recovery, for observation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryStats {
    /// Sessions waiting for their client to come back.
    pub sessions: usize,
    /// Packets kept for replay.
    pub packets: usize,
    /// Bytes those packets and their targets take.
    pub bytes: usize,
}

impl std::ops::Add for RecoveryStats {
    type Output = RecoveryStats;
    fn add(self, other: RecoveryStats) -> RecoveryStats {
        RecoveryStats {
            sessions: self.sessions + other.sessions,
            packets: self.packets + other.packets,
            bytes: self.bytes + other.bytes,
        }
    }
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

    /// Like `server_side_emit`, and resolves with one answer per other
    /// server (the first argument each gave its acknowledgement), or an
    /// error when not all answered within the adapter's request timeout.
    fn server_side_emit_with_ack(
        &self,
        _event: String,
        _args: String,
    ) -> BoxFuture<'_, Result<Vec<Value>, AdapterError>> {
        // No other server to answer.
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    // ---- connection state recovery ----
    //
    // Every hook has a default meaning "nothing is kept", so an adapter that
    // does not support recovery (or a wrapper that does not delegate) makes
    // clients fall back to fresh sessions, never to partial replays.

    /// An offset for the next packet to keep, unique among the packets this
    /// adapter keeps; the packet is then encoded with it as its last
    /// argument and handed to [`Adapter::broadcast_kept`]. `None` when this
    /// adapter keeps nothing (recovery is off).
    fn new_offset(&self) -> Option<Str> {
        None
    }

    /// Like `broadcast`, for a packet carrying `offset` (from `new_offset`)
    /// as its last argument: also keeps it, with `opts`, for sessions that
    /// recover later. Keeping and delivering are one step with respect to
    /// [`Adapter::replay`], and packets reach each socket in the order kept.
    fn broadcast_kept(
        &self,
        packet: EncodedPacket,
        offset: Str,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let _ = offset;
        self.broadcast(packet, opts)
    }

    /// Keeps a session that left for a recoverable reason.
    fn persist_session(&self, session: PersistedSession) {
        let _ = session;
    }

    /// Takes the session `pid` back, if it has not expired and the packets
    /// after `offset` are still kept; `None` otherwise. A session is taken
    /// once: a second client with the same `pid` gets a fresh one.
    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'_, Result<Option<PersistedSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// The last step of a recovery: calls `join` once with every kept
    /// packet after `offset` that `rooms` select, in order, while no kept
    /// packet is being delivered. `join` queues them and makes the socket
    /// reachable, so each packet reaches it exactly once: replayed if kept
    /// before, live if after. Returns `false` without calling `join` when a
    /// needed packet is gone, and `false` when `join` does (it could not
    /// queue them); the caller then starts a fresh session.
    fn replay(
        &self,
        offset: &str,
        rooms: &[Room],
        join: &mut dyn FnMut(&[EncodedPacket]) -> bool,
    ) -> bool {
        let _ = (offset, rooms, join);
        false
    }

    /// What this adapter keeps for recovery.
    fn recovery_stats(&self) -> RecoveryStats {
        RecoveryStats::default()
    }
}
