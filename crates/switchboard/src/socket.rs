//! A client's connection to one namespace.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_engine::{Frame, SendError, Session, Sid};
use switchboard_protocol::Str;
use switchboard_protocol::socket::PacketType;
use tokio::sync::oneshot;

use crate::adapter::{BroadcastOptions, PersistedSession, Room};
use crate::broadcast::Broadcast;
use crate::client::Client;
use crate::encode::{EncodedPacket, Parser, event_args, event_one};
use crate::error::{AckError, EmitError};
use crate::event::{AckSender, ErasedHandler, Event, HandlerFuture, Payload, TypedHandler, run};
use crate::handshake::Handshake;
use crate::namespace::{Namespace, NamespaceShared};
use crate::reason::DisconnectReason;

type AnyIncoming = dyn Fn(&Socket, &str, &Payload) + Send + Sync;
type AnyOutgoing = dyn Fn(&Socket, &str, &str) + Send + Sync;
type OnDisconnect = Box<dyn FnOnce(Socket, DisconnectReason) -> HandlerFuture + Send>;
type AckWaiter = oneshot::Sender<Result<Payload, AckError>>;

/// A client connected to a namespace. Cheap to clone; clones are the same socket.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketShared>);

pub(crate) struct SocketShared {
    id: Sid,
    ns: Arc<NamespaceShared>,
    client: Weak<Client>,
    session: Session,
    auth: Value,
    /// The private session id for connection state recovery (when on):
    /// sent to the client only, in the CONNECT reply.
    pid: Option<Str>,
    /// Whether this socket took over a disconnected session.
    recovered: bool,
    connected: AtomicBool,
    // The maps below are read on every event and written when handlers are
    // registered, almost always in the connect handler; no lock is held
    // across `.await` or while a handler runs.
    handlers: RwLock<HashMap<Box<str>, Arc<dyn ErasedHandler>>>,
    any_incoming: RwLock<Vec<Arc<AnyIncoming>>>,
    any_outgoing: RwLock<Vec<Arc<AnyOutgoing>>>,
    /// Whether `any_outgoing` has a listener: read on every delivery, so a
    /// flag rather than the lock; listeners are rare.
    watched: AtomicBool,
    on_disconnect: Mutex<Vec<OnDisconnect>>,
    acks: Mutex<HashMap<u64, AckWaiter>>,
    data: Mutex<http::Extensions>,
    /// Held while the connect handler registers the socket's handlers, so
    /// that an event racing in from the client waits for them.
    pub(crate) gate: Mutex<()>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.namespace_name())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    /// A socket for `client`: a fresh one, or the `restored` session's.
    pub(crate) fn new(
        ns: Arc<NamespaceShared>,
        client: &Arc<Client>,
        auth: Value,
        restored: Option<PersistedSession>,
    ) -> Socket {
        let (id, pid, data, recovered) = match restored {
            Some(session) => (session.sid, Some(session.pid), session.data, true),
            None => {
                let pid = ns
                    .recovery()
                    .map(|_| Str::from(Sid::random().as_str().to_owned()));
                (Sid::random(), pid, http::Extensions::new(), false)
            }
        };
        Socket(Arc::new(SocketShared {
            id,
            ns,
            client: Arc::downgrade(client),
            session: client.session.clone(),
            auth,
            pid,
            recovered,
            connected: AtomicBool::new(false),
            handlers: RwLock::default(),
            any_incoming: RwLock::default(),
            any_outgoing: RwLock::default(),
            watched: AtomicBool::new(false),
            on_disconnect: Mutex::default(),
            acks: Mutex::default(),
            data: Mutex::new(data),
            gate: Mutex::new(()),
        }))
    }

    /// The socket id, as the client sees it in `socket.id`.
    pub fn id(&self) -> &str {
        self.0.id.as_str()
    }

    pub fn sid(&self) -> Sid {
        self.0.id
    }

    pub fn namespace(&self) -> Namespace {
        Namespace(self.0.ns.clone())
    }

    pub fn namespace_name(&self) -> &str {
        self.0.ns.name()
    }

    /// How the client connected.
    pub fn handshake(&self) -> Handshake {
        let engine = self.0.session.handshake();
        Handshake {
            headers: engine.headers.clone(),
            query: engine.query.clone(),
            auth: self.0.auth.clone(),
            address: engine.remote_addr,
            issued: engine.issued,
        }
    }

    /// The auth payload of the client's CONNECT (`{}` when it sent none).
    pub fn auth(&self) -> &Value {
        &self.0.auth
    }

    /// The underlying Engine.IO session (shared by the client's sockets in
    /// every namespace).
    pub fn session(&self) -> &Session {
        &self.0.session
    }

    pub(crate) fn parser(&self) -> Parser {
        self.0.ns.parser()
    }

    /// Whether this socket recovered a session after its client's
    /// connection dropped: same id, rooms and data as before, and the packets
    /// it missed were replayed before anything new. See
    /// [`IoBuilder::connection_state_recovery`](crate::IoBuilder::connection_state_recovery).
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// The private session id, sent in the CONNECT reply (recovery on).
    pub(crate) fn pid(&self) -> Option<&Str> {
        self.0.pid.as_ref()
    }

    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    pub(crate) fn set_connected(&self) {
        self.0.connected.store(true, Ordering::Release);
    }

    // ---- per-socket data ----

    /// Stores a value of type `T` on the socket, replacing any earlier one.
    pub fn set_data<T: Clone + Send + Sync + 'static>(&self, value: T) {
        lock(&self.0.data).insert(value);
    }

    /// The value of type `T` stored with [`Socket::set_data`].
    pub fn data<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.0.data).get::<T>().cloned()
    }

    pub fn remove_data<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.0.data).remove::<T>()
    }

    // ---- listeners ----

    /// Calls `handler` for every `event` from the client. The arguments are
    /// deserialised into `T` from the array of arguments (a tuple for
    /// positional arguments); an event whose arguments do not fit `T` is
    /// dropped (and logged at debug level). Registering again replaces.
    pub fn on<T, F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, Event<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = TypedHandler::erased(handler);
        write(&self.0.handlers).insert(event.into().into_boxed_str(), handler);
    }

    /// Removes the handler of `event`.
    pub fn off(&self, event: &str) {
        write(&self.0.handlers).remove(event);
    }

    /// Calls `listener` with every incoming event's name and arguments,
    /// before its handler.
    pub fn on_any(&self, listener: impl Fn(&Socket, &str, &Payload) + Send + Sync + 'static) {
        write(&self.0.any_incoming).push(Arc::new(listener));
    }

    /// Calls `listener` with every outgoing event's name and JSON array of
    /// arguments, broadcasts included.
    pub fn on_any_outgoing(&self, listener: impl Fn(&Socket, &str, &str) + Send + Sync + 'static) {
        write(&self.0.any_outgoing).push(Arc::new(listener));
        self.0.watched.store(true, Ordering::Release);
    }

    /// Calls `handler` once when the socket disconnects, with the reason.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: FnOnce(Socket, DisconnectReason) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let boxed: OnDisconnect = Box::new(move |s, r| Box::pin(handler(s, r)));
        lock(&self.0.on_disconnect).push(boxed);
    }

    // ---- emitting ----

    /// Emits `event` with one argument.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emitter().emit(event, data)
    }

    /// Emits `event` with several arguments; `args` must serialise to an
    /// array (a tuple, say).
    pub fn emit_args<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.emitter().emit_args(event, args)
    }

    /// Emits `event` with one argument and waits for the client's
    /// acknowledgement, at most the configured ack timeout.
    pub async fn emit_with_ack<R, T>(&self, event: &str, data: &T) -> Result<Ack<R>, AckError>
    where
        R: DeserializeOwned,
        T: Serialize + ?Sized,
    {
        self.emitter().emit_with_ack(event, data).await
    }

    /// Sets the timeout of the next `emit_with_ack`.
    pub fn timeout(&self, timeout: Duration) -> Emitter<'_> {
        self.emitter().timeout(timeout)
    }

    /// Attachments for the next emit; mark their places with
    /// [`Placeholder`](crate::Placeholder).
    pub fn binary(&self, binary: Vec<Bytes>) -> Emitter<'_> {
        self.emitter().binary(binary)
    }

    /// The next emit may be dropped if the client's queue is full.
    pub fn volatile(&self) -> Emitter<'_> {
        self.emitter().volatile()
    }

    fn emitter(&self) -> Emitter<'_> {
        Emitter {
            socket: self,
            timeout: None,
            binary: Vec::new(),
            volatile: false,
        }
    }

    // ---- broadcasting from this socket ----

    /// Everyone in `room` but this socket.
    pub fn to(&self, room: impl Into<Room>) -> Broadcast {
        self.broadcast().to(room)
    }

    /// Everyone but this socket and those in `room`.
    pub fn except(&self, room: impl Into<Room>) -> Broadcast {
        self.broadcast().except(room)
    }

    /// Everyone in the namespace but this socket.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast::new(self.namespace()).except(Room::from(self.id().to_owned()))
    }

    // ---- rooms ----

    pub fn join(&self, room: impl Into<Room>) {
        self.0.ns.adapter().add_all(self.0.id, &[room.into()]);
    }

    pub fn join_all(&self, rooms: impl IntoIterator<Item = impl Into<Room>>) {
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        self.0.ns.adapter().add_all(self.0.id, &rooms);
    }

    pub fn leave(&self, room: &str) {
        self.0.ns.adapter().del(self.0.id, room);
    }

    /// The rooms this socket is in, its own id first.
    pub fn rooms(&self) -> Vec<Room> {
        let mut rooms = vec![Room::from(self.id().to_owned())];
        rooms.extend(self.0.ns.adapter().socket_rooms(self.0.id));
        rooms
    }

    // ---- ending ----

    /// Disconnects this socket from its namespace; the client's connection
    /// stays open for its other namespaces.
    pub fn disconnect(&self) {
        if self.connected() {
            let packet = EncodedPacket::new(
                self.parser(),
                PacketType::Disconnect,
                self.namespace_name(),
                None,
                vec![],
                None,
            );
            let _ = self.send_packet(&packet, false);
        }
        self.disconnected(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Closes the client's whole connection, every namespace of it.
    pub fn close_connection(&self) {
        self.0.session.close();
    }

    // ---- internals ----

    /// Queues an encoded packet for this socket's client. A client whose
    /// queue is full loses a volatile packet, or is disconnected.
    pub(crate) fn send_packet(
        &self,
        packet: &EncodedPacket,
        volatile: bool,
    ) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        self.notify_outgoing(packet);
        self.enqueue(packet, volatile)
    }

    /// `send_packet` without the outgoing listeners, for callers that must
    /// not run user code (the adapter, while it keeps delivery ordered).
    pub(crate) fn enqueue(&self, packet: &EncodedPacket, volatile: bool) -> Result<(), EmitError> {
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        let session = &self.0.session;
        let sent = match &packet.attachments {
            None => session.send(packet.text.clone()),
            Some(attachments) => {
                let frames = std::iter::once(packet.text.clone())
                    .chain(attachments.iter().map(|b| Frame::Binary(b.clone())));
                session.send_all(frames)
            }
        };
        match sent {
            Ok(()) => Ok(()),
            Err(SendError::QueueFull) if volatile => Ok(()),
            Err(SendError::QueueFull) => {
                tracing::warn!(
                    sid = %self.0.id,
                    "disconnecting a client whose outgoing queue stays full (it reads too slowly)"
                );
                session.close();
                Err(EmitError::QueueFull)
            }
            Err(_) => Err(EmitError::Disconnected),
        }
    }

    /// Whether outgoing listeners are registered.
    pub(crate) fn watched(&self) -> bool {
        self.0.watched.load(Ordering::Acquire)
    }

    pub(crate) fn notify_outgoing(&self, packet: &EncodedPacket) {
        if !self.watched() {
            return;
        }
        let Some((event, args)) = packet.event_and_args() else {
            return;
        };
        for listener in read(&self.0.any_outgoing).clone() {
            listener(self, &event, &args);
        }
    }

    /// Registers interest in the acknowledgement with id `id`.
    pub(crate) fn expect_ack(&self, id: u64) -> oneshot::Receiver<Result<Payload, AckError>> {
        let (tx, rx) = oneshot::channel();
        lock(&self.0.acks).insert(id, tx);
        rx
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.0.acks).remove(&id);
    }

    /// Delivers an acknowledgement from the client; unknown ids are ignored,
    /// as in Node.
    pub(crate) fn receive_ack(&self, id: u64, payload: Payload) {
        if let Some(waiter) = lock(&self.0.acks).remove(&id) {
            let _ = waiter.send(Ok(payload));
        }
    }

    /// Runs the listeners and the handler of an incoming event.
    pub(crate) fn receive_event(&self, event: &str, payload: Payload, ack_id: Option<u64>) {
        // Waits, at most for the connect handler, until handlers are in place.
        drop(lock(&self.0.gate));
        for listener in read(&self.0.any_incoming).clone() {
            listener(self, event, &payload);
        }
        let own = read(&self.0.handlers).get(event).cloned();
        let Some(handler) = own.or_else(|| self.0.ns.handler(event)) else {
            tracing::trace!(event, "no handler for event");
            return;
        };
        let ack = ack_id.map(|id| AckSender::new(self.clone(), id));
        if let Some(future) = handler.call(self.clone(), payload, ack) {
            run(future);
        }
    }

    /// The socket left its namespace: cleans up and tells its listeners. Safe
    /// to call more than once; only the first call acts.
    pub(crate) fn disconnected(&self, reason: DisconnectReason) {
        let was_connected = self.0.connected.swap(false, Ordering::AcqRel);
        // Kept for recovery: taken before the socket leaves its rooms. The
        // data is copied, not taken: disconnect handlers still read it.
        let persisted = match &self.0.pid {
            Some(pid) if was_connected && crate::recovery::recoverable(&reason) => {
                Some(PersistedSession::new(
                    self.0.id,
                    pid.clone(),
                    self.rooms(),
                    lock(&self.0.data).clone(),
                ))
            }
            _ => None,
        };
        if let Some(client) = self.0.client.upgrade() {
            client.forget_socket(self);
        }
        self.0.ns.remove_socket(self.0.id);
        if let Some(pid) = &self.0.pid {
            self.0.ns.untrack_pid(pid, self.0.id);
        }
        self.0.ns.adapter().del_all(self.0.id);
        if let Some(session) = persisted {
            self.0.ns.adapter().persist_session(session);
        }
        // Pending acknowledgements fail now rather than at their timeout.
        let acks: Vec<AckWaiter> = lock(&self.0.acks).drain().map(|(_, w)| w).collect();
        for waiter in acks {
            let _ = waiter.send(Err(AckError::Disconnected));
        }
        if !was_connected {
            return;
        }
        tracing::debug!(sid = %self.0.id, nsp = self.namespace_name(), %reason, "socket disconnected");
        let handlers: Vec<OnDisconnect> = lock(&self.0.on_disconnect).drain(..).collect();
        for handler in handlers {
            run(handler(self.clone(), reason.clone()));
        }
        // Handlers may hold this socket; dropping them breaks any cycle.
        write(&self.0.handlers).clear();
        write(&self.0.any_incoming).clear();
        write(&self.0.any_outgoing).clear();
        self.0.watched.store(false, Ordering::Release);
    }
}

/// An acknowledgement's arguments and attachments.
#[derive(Debug)]
pub struct Ack<T> {
    pub data: T,
    pub binary: Vec<Bytes>,
}

/// Options for one emit to one socket; from [`Socket::timeout`],
/// [`Socket::binary`] or [`Socket::volatile`].
#[derive(Debug)]
pub struct Emitter<'a> {
    socket: &'a Socket,
    timeout: Option<Duration>,
    binary: Vec<Bytes>,
    volatile: bool,
}

impl Emitter<'_> {
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn binary(mut self, binary: Vec<Bytes>) -> Self {
        self.binary = binary;
        self
    }

    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EmitError> {
        let json = event_one(event, data)?;
        self.send(&json, None)
    }

    pub fn emit_args<T: Serialize + ?Sized>(self, event: &str, args: &T) -> Result<(), EmitError> {
        let json = event_args(event, args)?;
        self.send(&json, None)
    }

    pub async fn emit_with_ack<R, T>(self, event: &str, data: &T) -> Result<Ack<R>, AckError>
    where
        R: DeserializeOwned,
        T: Serialize + ?Sized,
    {
        let json = event_one(event, data).map_err(EmitError::from)?;
        self.send_with_ack(json).await
    }

    pub async fn emit_args_with_ack<R, T>(self, event: &str, args: &T) -> Result<Ack<R>, AckError>
    where
        R: DeserializeOwned,
        T: Serialize + ?Sized,
    {
        let json = event_args(event, args).map_err(EmitError::from)?;
        self.send_with_ack(json).await
    }

    async fn send_with_ack<R: DeserializeOwned>(self, json: String) -> Result<Ack<R>, AckError> {
        let socket = self.socket.clone();
        let timeout = self.timeout.unwrap_or_else(|| socket.0.ns.ack_timeout());
        let id = socket.0.ns.next_ack_id();
        let answer = socket.expect_ack(id);
        if let Err(e) = self.send(&json, Some(id)) {
            socket.forget_ack(id);
            return Err(AckError::Emit(e));
        }
        let payload = match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => return Err(AckError::Disconnected),
            Err(_) => {
                socket.forget_ack(id);
                return Err(AckError::Timeout);
            }
        };
        let data = payload.args::<R>().map_err(AckError::Deserialize)?;
        Ok(Ack {
            data,
            binary: payload.binary,
        })
    }

    fn send(self, json: &str, id: Option<u64>) -> Result<(), EmitError> {
        // With recovery on, an emit without acknowledgement is kept like a
        // broadcast to the socket's own room, as in Node: it carries an
        // offset (the client takes any event's last string argument as its
        // offset) and is replayed if the connection drops before it arrives.
        if id.is_none() && !self.volatile {
            if let Some(offset) = self.socket.0.ns.adapter().new_offset() {
                return self.send_kept(json, offset);
            }
        }
        let packet = EncodedPacket::new(
            self.socket.parser(),
            PacketType::Event,
            self.socket.namespace_name(),
            id,
            self.binary,
            Some(json),
        );
        self.socket.send_packet(&packet, self.volatile)
    }

    fn send_kept(self, json: &str, offset: Str) -> Result<(), EmitError> {
        let socket = self.socket;
        if !socket.connected() {
            return Err(EmitError::Disconnected);
        }
        let json = crate::recovery::with_offset(json, &offset);
        let packet = EncodedPacket::new(
            socket.parser(),
            PacketType::Event,
            socket.namespace_name(),
            None,
            self.binary,
            Some(&json),
        );
        let mut opts = BroadcastOptions::default();
        opts.rooms.push(Room::from(socket.id().to_owned()));
        opts.flags.local = true;
        let adapter = socket.0.ns.adapter().clone();
        // The local adapter delivers before this returns; a slow client is
        // dealt with there, as for any broadcast.
        run(Box::pin(async move {
            if let Err(error) = adapter.broadcast_kept(packet, offset, opts).await {
                tracing::warn!(%error, "emit failed in the adapter");
            }
        }));
        Ok(())
    }
}
