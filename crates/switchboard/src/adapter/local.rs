//! The default adapter: rooms and delivery within this process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use switchboard_engine::Sid;
use tokio::time::Instant;

use switchboard_protocol::Str;

use super::sessions::{Job, SessionStore};
use super::{
    AckResponse, Adapter, BoxFuture, BroadcastOptions, PersistedSession, RecoveryStats,
    RemoteSocket, Room,
};
use crate::encode::EncodedPacket;
use crate::error::{AckError, AdapterError};
use crate::namespace::{Namespace, NamespaceShared};
use crate::socket::Socket;

/// Rooms and broadcasts for one namespace of one server.
#[derive(Debug)]
pub struct LocalAdapter {
    index: Arc<Index>,
    /// Kept sessions and packets, when connection state recovery is on.
    store: Option<Arc<SessionStore>>,
}

/// Who is where: shared with the task that goes on delivering kept
/// broadcasts (see `deliver_kept`).
#[derive(Debug)]
struct Index {
    ns: Weak<NamespaceShared>,
    // Each operation is a few map updates; nothing awaits while holding it.
    rooms: RwLock<Rooms>,
}

#[derive(Debug, Default)]
struct Rooms {
    members: HashMap<Room, HashSet<Sid>>,
    of_socket: HashMap<Sid, HashSet<Room>>,
}

impl LocalAdapter {
    pub fn new(ns: &Namespace) -> Self {
        LocalAdapter {
            index: Arc::new(Index {
                ns: ns.downgrade(),
                rooms: RwLock::new(Rooms::default()),
            }),
            store: ns.0.recovery().map(|r| Arc::new(SessionStore::new(r))),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        self.index.read()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        self.index.rooms.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Index {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        self.rooms.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Local sockets `opts` selects.
    fn select(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let Some(ns) = self.ns.upgrade() else {
            return Vec::new();
        };
        let except = self.in_rooms(&ns, &opts.except);
        if opts.rooms.is_empty() {
            return ns.sockets_where(|sid| !except.contains(&sid));
        }
        self.in_rooms(&ns, &opts.rooms)
            .into_iter()
            .filter(|sid| !except.contains(sid))
            .filter_map(|sid| ns.socket(sid))
            .collect()
    }

    /// Ids of the sockets in `rooms`, where a room may also be a socket id.
    fn in_rooms(&self, ns: &NamespaceShared, rooms: &[Room]) -> HashSet<Sid> {
        let index = self.read();
        let mut ids = HashSet::new();
        for room in rooms {
            if let Some(members) = index.members.get(room) {
                ids.extend(members.iter().copied());
            }
            if let Some(sid) = Sid::parse(room) {
                if ns.has_socket(sid) {
                    ids.insert(sid);
                }
            }
        }
        ids
    }
}

/// Logs and delivers queued kept broadcasts, in order, unless another
/// thread holds the delivery token: that one delivers them before letting go (see
/// `sessions.rs`). One batch per call: if more are queued, a task goes on,
/// so a storm of broadcasts does not keep this thread (and the tasks queued
/// behind it) from the rest of its work.
fn deliver_kept(index: &Arc<Index>, store: &Arc<SessionStore>) {
    // Bounds how long a recovery (which takes the token outright) waits.
    const BATCH: usize = 16;
    let mut watched = Vec::new();
    loop {
        let Some(token) = store.try_token() else {
            return;
        };
        for _ in 0..BATCH {
            let Some(job) = store.pop() else { break };
            store.keep(&job);
            for socket in index.select(&job.opts) {
                let _ = socket.enqueue(&job.packet, false);
                if socket.watched() {
                    watched.push((socket, job.packet.clone()));
                }
            }
        }
        drop(token);
        // Listeners are user code: they run once the token is released, so
        // one that broadcasts does not deadlock.
        for (socket, packet) in watched.drain(..) {
            socket.notify_outgoing(&packet);
        }
        // A job queued after our last pop but before we let go found the
        // token held: it is ours to deliver.
        if !store.has_jobs() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (index, store) = (index.clone(), store.clone());
            runtime.spawn(async move { deliver_kept(&index, &store) });
            return;
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let mut index = self.write();
        for room in rooms {
            index.members.entry(room.clone()).or_default().insert(sid);
            index.of_socket.entry(sid).or_default().insert(room.clone());
        }
    }

    fn del(&self, sid: Sid, room: &str) {
        let mut index = self.write();
        let room = Room::from(room.to_owned());
        if let Some(members) = index.members.get_mut(&room) {
            members.remove(&sid);
            if members.is_empty() {
                index.members.remove(&room);
            }
        }
        if let Some(rooms) = index.of_socket.get_mut(&sid) {
            rooms.remove(&room);
            if rooms.is_empty() {
                index.of_socket.remove(&sid);
            }
        }
    }

    fn del_all(&self, sid: Sid) {
        let mut index = self.write();
        let Some(rooms) = index.of_socket.remove(&sid) else {
            return;
        };
        for room in rooms {
            if let Some(members) = index.members.get_mut(&room) {
                members.remove(&sid);
                if members.is_empty() {
                    index.members.remove(&room);
                }
            }
        }
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.read()
            .of_socket
            .get(&sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        self.index.select(opts)
    }

    fn local_rooms(&self) -> Vec<Room> {
        self.read().members.keys().cloned().collect()
    }

    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_sockets(&opts) {
            // A failed send has been dealt with per socket (a slow client is
            // disconnected); the others still get theirs.
            let _ = socket.send_packet(&packet, opts.flags.volatile);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<AckResponse>, AdapterError>> {
        let deadline = Instant::now() + timeout;
        let waiting: Vec<_> = self
            .local_sockets(&opts)
            .into_iter()
            .map(|socket| {
                let answer = socket.expect_ack(ack_id);
                let sent = socket.send_packet(&packet, opts.flags.volatile);
                (socket, answer, sent)
            })
            .collect();
        Box::pin(async move {
            let mut responses = Vec::with_capacity(waiting.len());
            for (socket, answer, sent) in waiting {
                let result = match sent {
                    Err(e) => {
                        socket.forget_ack(ack_id);
                        Err(AckError::Emit(e))
                    }
                    Ok(()) => match tokio::time::timeout_at(deadline, answer).await {
                        Ok(Ok(result)) => result,
                        Ok(Err(_)) => Err(AckError::Disconnected),
                        Err(_) => {
                            socket.forget_ack(ack_id);
                            Err(AckError::Timeout)
                        }
                    },
                };
                responses.push(AckResponse {
                    socket: Some(socket.sid()),
                    result,
                });
            }
            Ok(responses)
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        let sockets = self
            .local_sockets(&opts)
            .into_iter()
            .map(|socket| RemoteSocket {
                id: socket.sid(),
                rooms: socket.rooms(),
                auth: socket.handshake().auth.clone(),
                local: Some(socket),
            })
            .collect();
        Box::pin(std::future::ready(Ok(sockets)))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_sockets(&opts) {
            self.add_all(socket.sid(), &rooms);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_sockets(&opts) {
            for room in &rooms {
                self.del(socket.sid(), room);
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        for socket in self.local_sockets(&opts) {
            if close {
                socket.close_connection();
            } else {
                socket.disconnect();
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(std::future::ready(Ok(self.local_rooms())))
    }

    fn server_side_emit(
        &self,
        _event: String,
        _args: String,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        // No other server to tell.
        Box::pin(std::future::ready(Ok(())))
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(std::future::ready(1))
    }

    fn new_offset(&self) -> Option<Str> {
        self.store.as_ref().map(|s| s.new_offset())
    }

    fn broadcast_kept(
        &self,
        packet: EncodedPacket,
        offset: Str,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let Some(store) = &self.store else {
            return self.broadcast(packet, opts);
        };
        store.push(Job {
            packet,
            offset,
            opts,
        });
        deliver_kept(&self.index, store);
        Box::pin(std::future::ready(Ok(())))
    }

    fn persist_session(&self, session: PersistedSession) {
        if let Some(store) = &self.store {
            store.persist(session);
        }
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'_, Result<Option<PersistedSession>, AdapterError>> {
        let session = self.store.as_ref().and_then(|s| s.restore(pid, offset));
        Box::pin(std::future::ready(Ok(session)))
    }

    fn replay(
        &self,
        offset: &str,
        rooms: &[Room],
        join: &mut dyn FnMut(&[EncodedPacket]) -> bool,
    ) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let joined = store.replay(offset, rooms, join);
        // Broadcasts queued while the replay held the token.
        deliver_kept(&self.index, store);
        joined
    }

    fn recovery_stats(&self) -> RecoveryStats {
        self.store.as_ref().map(|s| s.stats()).unwrap_or_default()
    }
}
