//! `RedisAdapter`: the adapter of one namespace. This server's rooms and
//! deliveries are a [`LocalAdapter`]'s; on top, every operation that is
//! not `local` is told to the other servers through Redis, in the wire
//! format of Node's `@socket.io/redis-adapter`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value as Json;
use switchboard::{
    AckError, AckResponse, Adapter, AdapterError, BoxFuture, BroadcastOptions, EncodedPacket,
    LocalAdapter, Namespace, PacketParts, Parser, Payload, PersistedSession, RecoveryStats,
    RemoteSocket, Room, Sid, Socket, WeakNamespace,
};
use switchboard_protocol::Str;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use crate::link::{Link, Topic};
use crate::wire::{self, Channels, RequestType, ResponseBody};

/// The adapter of one namespace on Redis; made by
/// [`RedisCluster::factory`](crate::RedisCluster::factory).
pub struct RedisAdapter(pub(crate) Arc<Core>);

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.0.nsp)
            .field("uid", &self.0.uid)
            .finish_non_exhaustive()
    }
}

/// What the adapter and the subscriber task share.
pub(crate) struct Core {
    pub(crate) inner: LocalAdapter,
    pub(crate) ns: WeakNamespace,
    pub(crate) nsp: String,
    pub(crate) parser: Parser,
    /// This adapter's id on the wire: its own messages come back on the
    /// channels it subscribes, and are recognised by it.
    pub(crate) uid: String,
    pub(crate) channels: Channels,
    pub(crate) link: Arc<Link>,
    /// Requests waiting for answers, by request id. Held for one insert,
    /// remove or lookup.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<ResponseBody>>>,
}

/// Random alphanumerics, as Node's `uid2`.
pub(crate) fn random_id(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl RedisAdapter {
    pub(crate) fn new(ns: &Namespace, link: Arc<Link>) -> RedisAdapter {
        let uid = random_id(6);
        let channels = Channels::new(&link.config().key_prefix, ns.name(), &uid);
        let core = Arc::new(Core {
            inner: LocalAdapter::new(ns),
            ns: ns.downgrade_handle(),
            nsp: ns.name().to_owned(),
            parser: ns.parser(),
            uid,
            channels,
            link,
            pending: Mutex::default(),
        });
        let c = &core.channels;
        core.link.register(
            &core,
            &[
                (c.request.clone(), Topic::Request),
                (c.response.clone(), Topic::Response),
                (c.own_response.clone(), Topic::Response),
            ],
            &c.broadcast_pattern(),
        );
        RedisAdapter(core)
    }
}

impl Drop for RedisAdapter {
    fn drop(&mut self) {
        let c = &self.0.channels;
        self.0.link.unregister(
            vec![
                c.request.clone(),
                c.response.clone(),
                c.own_response.clone(),
            ],
            c.broadcast_pattern(),
        );
    }
}

/// Removes a pending request when its caller is done or gone.
struct Waiting<'a> {
    core: &'a Core,
    id: String,
    answers: mpsc::UnboundedReceiver<ResponseBody>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.core.lock_pending().remove(&self.id);
    }
}

impl Waiting<'_> {
    /// The next answer, or `None` once `deadline` passed.
    async fn next(&mut self, deadline: Instant) -> Option<ResponseBody> {
        timeout_at(deadline, self.answers.recv())
            .await
            .ok()
            .flatten()
    }
}

fn unavailable() -> AdapterError {
    AdapterError::Transport("redis unavailable".to_owned())
}

impl Core {
    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<ResponseBody>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands an answer to the request waiting for it; answers to other
    /// servers' requests are not ours and are dropped.
    pub(crate) fn answer(&self, request_id: &str, body: ResponseBody) {
        if let Some(waiting) = self.lock_pending().get(request_id) {
            let _ = waiting.send(body);
        }
    }

    /// Registers request `id`, then publishes `message` on the request
    /// channel (registered first, so no answer can come too early).
    fn ask(&self, id: String, message: Vec<u8>) -> Result<Waiting<'_>, AdapterError> {
        let (tx, answers) = mpsc::unbounded_channel();
        self.lock_pending().insert(id.clone(), tx);
        let waiting = Waiting {
            core: self,
            id,
            answers,
        };
        self.link.publish(self.channels.request.clone(), message)?;
        Ok(waiting)
    }

    pub(crate) fn respond(&self, message: Vec<u8>) {
        if let Err(error) = self.link.publish(self.channels.response.clone(), message) {
            tracing::debug!(%error, "cannot answer a request from another server");
        }
    }

    /// Tells the other servers to make the sockets `opts` selects join or
    /// leave `rooms` (fire and forget, as Node's adapter does).
    fn tell_rooms(
        &self,
        kind: RequestType,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> Result<(), AdapterError> {
        if opts.flags.local {
            return Ok(());
        }
        self.publish_request(wire::sockets_request(
            &self.uid,
            kind,
            opts,
            Some(rooms),
            None,
        ))
    }

    fn publish_request(&self, message: Vec<u8>) -> Result<(), AdapterError> {
        self.link.publish(self.channels.request.clone(), message)
    }

    /// Servers subscribed to this namespace, this one included.
    async fn servers(&self) -> Result<usize, AdapterError> {
        if !self.link.available() {
            return Err(unavailable());
        }
        self.link.numsub(&self.channels.request).await
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.link.config().requests_timeout
    }

    /// Publishes a broadcast for the other servers: one message, whatever
    /// their number. `strip_offset` drops the recovery offset this server
    /// appended as the last argument: each server keeps its own.
    ///
    /// Best effort, as a broadcast is: while Redis is away or the queue is
    /// full, the other servers miss it; that is counted (`publish_dropped`)
    /// and logged at most once a second, not returned, since the caller
    /// would log every one of thousands.
    fn publish_broadcast(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
        strip_offset: bool,
    ) {
        // Checked first: no decoding and encoding for nothing in an outage.
        if !self.link.available() {
            self.link.dropped("redis unavailable");
            return;
        }
        let Some(mut parts) = packet.parts() else {
            tracing::warn!("a packet could not be decoded for the other servers");
            return;
        };
        if strip_offset {
            parts.data = parts.data.as_deref().map(without_last_argument);
        }
        let message = wire::encode_broadcast(&self.uid, &parts, opts);
        let _ = self
            .link
            .publish(self.channels.broadcast_channel(opts), message);
    }

    /// The other servers' answers to a broadcast with acknowledgements:
    /// first each server's client count, then one answer per client.
    async fn remote_acks(
        &self,
        parts: PacketParts,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Result<Vec<AckResponse>, AdapterError> {
        let deadline = Instant::now() + timeout;
        let id = random_id(12);
        let message = wire::broadcast_request(
            &self.uid,
            &id,
            &parts,
            opts,
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        );
        let mut waiting = self.ask(id, message)?;
        let others = self.servers().await?.saturating_sub(1);
        let (mut counted, mut expected) = (0, 0u64);
        let mut responses = Vec::new();
        while counted < others || (responses.len() as u64) < expected {
            match waiting.next(deadline).await {
                Some(ResponseBody::ClientCount(n)) => {
                    counted += 1;
                    expected += n;
                }
                Some(ResponseBody::Ack { args, attachments }) => responses.push(AckResponse {
                    socket: None,
                    result: Ok(Payload::from_args_json(args, attachments)),
                }),
                Some(_) => {}
                None => break,
            }
        }
        if counted < others {
            tracing::debug!(
                answered = counted,
                servers = others,
                "not every server counted its clients before the ack timeout"
            );
        }
        // Clients that were counted but did not answer in time.
        while (responses.len() as u64) < expected {
            responses.push(AckResponse {
                socket: None,
                result: Err(AckError::Timeout),
            });
        }
        Ok(responses)
    }

    /// Asks every other server for a list (`sockets` or `rooms`), and
    /// fails when one does not answer in time.
    async fn collect(
        &self,
        kind: RequestType,
        opts: Option<&BroadcastOptions>,
    ) -> Result<Vec<ResponseBody>, AdapterError> {
        let servers = self.servers().await?;
        if servers <= 1 {
            return Ok(Vec::new());
        }
        let deadline = self.deadline();
        let id = random_id(12);
        let message = wire::query_request(&self.uid, &id, kind, opts);
        let mut waiting = self.ask(id, message)?;
        let mut answers = Vec::with_capacity(servers - 1);
        while answers.len() < servers - 1 {
            match waiting.next(deadline).await {
                Some(body @ (ResponseBody::Sockets(_) | ResponseBody::Rooms(_))) => {
                    answers.push(body);
                }
                Some(_) => {}
                None => return Err(AdapterError::Timeout),
            }
        }
        Ok(answers)
    }
}

/// `[a, b, offset]` → `[a, b]`.
fn without_last_argument(data: &str) -> String {
    match serde_json::from_str::<Json>(data) {
        Ok(Json::Array(mut args)) => {
            args.pop();
            Json::Array(args).to_string()
        }
        _ => data.to_owned(),
    }
}

/// A socket of another server, from its fetch answer; `None` when it does
/// not have the expected shape.
fn remote_socket(details: &Json) -> Option<RemoteSocket> {
    let id = Sid::parse(details.get("id")?.as_str()?)?;
    let rooms = details
        .get("rooms")
        .and_then(Json::as_array)
        .map(|rooms| {
            rooms
                .iter()
                .filter_map(|r| match r {
                    Json::String(s) => Some(Room::from(s.clone())),
                    Json::Number(n) => Some(Room::from(n.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let auth = details
        .get("handshake")
        .and_then(|h| h.get("auth"))
        .cloned()
        .unwrap_or_else(|| Json::Object(Default::default()));
    Some(RemoteSocket {
        id,
        rooms,
        auth,
        local: None,
    })
}

impl Adapter for RedisAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.0.inner.add_all(sid, rooms);
    }

    fn del(&self, sid: Sid, room: &str) {
        self.0.inner.del(sid, room);
    }

    fn del_all(&self, sid: Sid) {
        self.0.inner.del_all(sid);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.0.inner.socket_rooms(sid)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        self.0.inner.local_sockets(opts)
    }

    fn local_rooms(&self) -> Vec<Room> {
        self.0.inner.local_rooms()
    }

    fn broadcast(
        &self,
        packet: EncodedPacket,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        if !opts.flags.local {
            self.0.publish_broadcast(&packet, &opts, false);
        }
        self.0.inner.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: EncodedPacket,
        ack_id: u64,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<AckResponse>, AdapterError>> {
        let parts = match opts.flags.local {
            true => None,
            false => Some(packet.parts()),
        };
        let local = self
            .0
            .inner
            .broadcast_with_ack(packet, ack_id, opts.clone(), timeout);
        Box::pin(async move {
            let Some(parts) = parts else {
                return local.await;
            };
            let parts = parts.ok_or_else(|| {
                AdapterError::Transport("packet cannot be decoded for other servers".to_owned())
            })?;
            let remote = self.0.remote_acks(parts, &opts, timeout);
            let (local, remote) = tokio::join!(local, remote);
            let mut responses = local?;
            responses.extend(remote?);
            Ok(responses)
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        Box::pin(async move {
            let mut sockets = self.0.inner.fetch_sockets(opts.clone()).await?;
            if opts.flags.local {
                return Ok(sockets);
            }
            for answer in self
                .0
                .collect(RequestType::RemoteFetch, Some(&opts))
                .await?
            {
                if let ResponseBody::Sockets(list) = answer {
                    sockets.extend(list.iter().filter_map(remote_socket));
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.0
                .inner
                .add_sockets(opts.clone(), rooms.clone())
                .await?;
            self.0.tell_rooms(RequestType::RemoteJoin, &opts, &rooms)
        })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.0
                .inner
                .del_sockets(opts.clone(), rooms.clone())
                .await?;
            self.0.tell_rooms(RequestType::RemoteLeave, &opts, &rooms)
        })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            // Told to the others first: the local part may close this
            // server's connections, and the request must not wait on that.
            let remote = match opts.flags.local {
                true => Ok(()),
                false => self.0.publish_request(wire::sockets_request(
                    &self.0.uid,
                    RequestType::RemoteDisconnect,
                    &opts,
                    None,
                    Some(close),
                )),
            };
            self.0.inner.disconnect_sockets(opts, close).await?;
            remote
        })
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(async move {
            let mut rooms: HashSet<Room> = self.0.inner.local_rooms().into_iter().collect();
            for answer in self.0.collect(RequestType::AllRooms, None).await? {
                if let ResponseBody::Rooms(list) = answer {
                    rooms.extend(list);
                }
            }
            Ok(rooms.into_iter().collect())
        })
    }

    fn server_side_emit(
        &self,
        event: String,
        args: String,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let data = event_data(event, &args)?;
            self.0
                .publish_request(wire::server_side_emit_request(&self.0.uid, None, data))
        })
    }

    fn server_side_emit_with_ack(
        &self,
        event: String,
        args: String,
    ) -> BoxFuture<'_, Result<Vec<Json>, AdapterError>> {
        Box::pin(async move {
            let data = event_data(event, &args)?;
            let others = self.0.servers().await?.saturating_sub(1);
            if others == 0 {
                return Ok(Vec::new());
            }
            let deadline = self.0.deadline();
            let id = random_id(12);
            let message = wire::server_side_emit_request(&self.0.uid, Some(&id), data);
            let mut waiting = self.0.ask(id, message)?;
            let mut answers = Vec::with_capacity(others);
            while answers.len() < others {
                match waiting.next(deadline).await {
                    Some(ResponseBody::ServerSideEmit(answer)) => answers.push(answer),
                    Some(_) => {}
                    None => return Err(AdapterError::Timeout),
                }
            }
            Ok(answers)
        })
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            match self.0.servers().await {
                Ok(n) => n.max(1),
                Err(error) => {
                    tracing::debug!(%error, "server count unknown; counting this one");
                    1
                }
            }
        })
    }

    // Recovery is this server's business: each keeps its own packets and
    // sessions, so every hook goes to the local adapter. Broadcasts from
    // other servers are kept here too (see `incoming.rs`).

    fn new_offset(&self) -> Option<Str> {
        self.0.inner.new_offset()
    }

    fn broadcast_kept(
        &self,
        packet: EncodedPacket,
        offset: Str,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        if !opts.flags.local {
            self.0.publish_broadcast(&packet, &opts, true);
        }
        self.0.inner.broadcast_kept(packet, offset, opts)
    }

    fn persist_session(&self, session: PersistedSession) {
        self.0.inner.persist_session(session);
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'_, Result<Option<PersistedSession>, AdapterError>> {
        self.0.inner.restore_session(pid, offset)
    }

    fn replay(
        &self,
        offset: &str,
        rooms: &[Room],
        join: &mut dyn FnMut(&[EncodedPacket]) -> bool,
    ) -> bool {
        self.0.inner.replay(offset, rooms, join)
    }

    fn recovery_stats(&self) -> RecoveryStats {
        self.0.inner.recovery_stats()
    }
}

/// `[event, ...args]` from the event name and the JSON array of arguments.
fn event_data(event: String, args: &str) -> Result<Json, AdapterError> {
    let Ok(Json::Array(args)) = serde_json::from_str::<Json>(args) else {
        return Err(AdapterError::Transport(
            "server-side emit arguments are not a JSON array".to_owned(),
        ));
    };
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Json::String(event));
    data.extend(args);
    Ok(Json::Array(data))
}
