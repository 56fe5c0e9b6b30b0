//! Namespaces: their sockets, middleware, connect handler and adapter.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_engine::Sid;
use switchboard_protocol::Str;

use crate::adapter::{Adapter, LocalAdapter, Room};
use crate::broadcast::Broadcast;
use crate::encode::Parser;
use crate::error::EmitError;
use crate::event::{ErasedHandler, Event, TypedHandler};
use crate::middleware::Middleware;
use crate::socket::Socket;

type ConnectHandler = dyn Fn(Socket) + Send + Sync;

/// A namespace; cheap to clone.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NamespaceShared>);

pub(crate) struct NamespaceShared {
    name: Str,
    ack_timeout: Duration,
    parser: Parser,
    // Written when a socket connects or leaves; read by broadcasts, which
    // copy out the handles they need before sending.
    sockets: RwLock<HashMap<Sid, Socket>>,
    /// Connected sockets by private session id (recovery on): a client back
    /// on a new connection before its old one was noticed dead takes the
    /// old socket over. One insert and remove per connection.
    pids: RwLock<HashMap<Str, Sid>>,
    middlewares: RwLock<Vec<Arc<dyn Middleware>>>,
    on_connect: RwLock<Option<Arc<ConnectHandler>>>,
    /// Event handlers every socket of the namespace shares (see
    /// [`Namespace::on`]); read on every event without a socket handler.
    handlers: RwLock<HashMap<Box<str>, Arc<dyn ErasedHandler>>>,
    adapter: OnceLock<Arc<dyn Adapter>>,
    /// Ack ids are per namespace, as in Node, so one id can serve every
    /// recipient of a broadcast with acknowledgements.
    next_ack: AtomicU64,
    /// Connection state recovery settings, when it is on.
    recovery: Option<crate::recovery::Recovery>,
    pub(crate) server_events: crate::server_event::ServerEvents,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    pub(crate) fn new(
        name: Str,
        ack_timeout: Duration,
        parser: Parser,
        recovery: Option<crate::recovery::Recovery>,
        make_adapter: &crate::adapter::AdapterFactory,
    ) -> Namespace {
        let ns = Namespace(Arc::new(NamespaceShared {
            name,
            ack_timeout,
            parser,
            sockets: RwLock::default(),
            pids: RwLock::default(),
            middlewares: RwLock::default(),
            on_connect: RwLock::default(),
            handlers: RwLock::default(),
            adapter: OnceLock::new(),
            next_ack: AtomicU64::new(0),
            recovery,
            server_events: Default::default(),
        }));
        let adapter = make_adapter(&ns);
        let _ = ns.0.adapter.set(adapter);
        ns
    }

    /// The adapter factory of a plain server.
    pub(crate) fn local_adapter(ns: &Namespace) -> Arc<dyn Adapter> {
        Arc::new(LocalAdapter::new(ns))
    }

    pub(crate) fn downgrade(&self) -> Weak<NamespaceShared> {
        Arc::downgrade(&self.0)
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Calls `handler` with each socket that connects, after the middleware
    /// accepted it and the client was told. Register the socket's event
    /// handlers here: events from the client wait until it returns. Spawn a
    /// task for anything that awaits.
    pub fn on_connect(&self, handler: impl Fn(Socket) + Send + Sync + 'static) -> &Self {
        *self.0.on_connect.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
        self
    }

    /// Calls `handler` for every `event` from any socket of this namespace
    /// that has no handler of its own for it (see [`Socket::on`], whose
    /// rules for the arguments apply). Registered once, it costs nothing per
    /// connection, where the same handler registered with [`Socket::on`] in
    /// the connect handler costs every socket its own table entry and
    /// closure: prefer this for handlers that need only the socket.
    pub fn on<T, F, Fut>(&self, event: impl Into<String>, handler: F) -> &Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, Event<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = TypedHandler::erased(handler);
        self.0
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into().into_boxed_str(), handler);
        self
    }

    /// Adds a connect middleware.
    pub fn use_middleware(&self, middleware: impl Middleware) -> &Self {
        self.0
            .middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(middleware));
        self
    }

    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        self.0.adapter()
    }

    /// The packet format of this server (for adapters that encode packets
    /// they receive from other servers).
    pub fn parser(&self) -> Parser {
        self.0.parser()
    }

    /// A fresh acknowledgement id of this namespace (for adapters that
    /// broadcast with acknowledgements on behalf of another server).
    pub fn next_ack_id(&self) -> u64 {
        self.0.next_ack_id()
    }

    /// A handle that does not keep the namespace alive, for an adapter,
    /// which the namespace itself holds.
    pub fn downgrade_handle(&self) -> WeakNamespace {
        WeakNamespace(self.downgrade())
    }

    /// The sockets connected to this namespace on this server.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.sockets_where(|_| true)
    }

    pub fn socket(&self, id: &str) -> Option<Socket> {
        Sid::parse(id).and_then(|sid| self.0.socket(sid))
    }

    // ---- broadcasting ----

    pub fn broadcast(&self) -> Broadcast {
        Broadcast::new(self.clone())
    }

    pub fn to(&self, room: impl Into<Room>) -> Broadcast {
        self.broadcast().to(room)
    }

    pub fn except(&self, room: impl Into<Room>) -> Broadcast {
        self.broadcast().except(room)
    }

    pub fn local(&self) -> Broadcast {
        self.broadcast().local()
    }

    pub fn volatile(&self) -> Broadcast {
        self.broadcast().volatile()
    }

    pub fn timeout(&self, timeout: Duration) -> Broadcast {
        self.broadcast().timeout(timeout)
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    pub fn emit_args<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.broadcast().emit_args(event, args)
    }

    pub(crate) fn middlewares(&self) -> Vec<Arc<dyn Middleware>> {
        self.0
            .middlewares
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn connect_handler(&self) -> Option<Arc<ConnectHandler>> {
        self.0
            .on_connect
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn insert_socket(&self, socket: &Socket) {
        self.0
            .sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.sid(), socket.clone());
    }
}

/// A namespace that may be gone; from [`Namespace::downgrade_handle`].
#[derive(Clone)]
pub struct WeakNamespace(Weak<NamespaceShared>);

impl fmt::Debug for WeakNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakNamespace")
    }
}

impl WeakNamespace {
    pub fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace)
    }
}

impl NamespaceShared {
    /// The namespace-wide handler of `event`, if any.
    pub(crate) fn handler(&self, event: &str) -> Option<Arc<dyn ErasedHandler>> {
        self.handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    pub(crate) fn parser(&self) -> Parser {
        self.parser
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn recovery(&self) -> Option<crate::recovery::Recovery> {
        self.recovery
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        // Set in `Namespace::new` before the namespace is shared.
        self.adapter
            .get()
            .unwrap_or_else(|| unreachable!("namespace without adapter"))
    }

    pub(crate) fn socket(&self, sid: Sid) -> Option<Socket> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sid)
            .cloned()
    }

    pub(crate) fn has_socket(&self, sid: Sid) -> bool {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&sid)
    }

    pub(crate) fn sockets_where(&self, keep: impl Fn(Sid) -> bool) -> Vec<Socket> {
        let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
        sockets
            .iter()
            .filter(|(sid, _)| keep(**sid))
            .map(|(_, s)| s.clone())
            .collect()
    }

    pub(crate) fn track_pid(&self, pid: &Str, sid: Sid) {
        self.pids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid.clone(), sid);
    }

    /// Forgets `pid` if it still names `sid` (a takeover may have moved it).
    pub(crate) fn untrack_pid(&self, pid: &str, sid: Sid) {
        let mut pids = self.pids.write().unwrap_or_else(|e| e.into_inner());
        if pids.get(pid) == Some(&sid) {
            pids.remove(pid);
        }
    }

    pub(crate) fn socket_by_pid(&self, pid: &str) -> Option<Socket> {
        let sid = *self
            .pids
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(pid)?;
        self.socket(sid)
    }

    pub(crate) fn remove_socket(&self, sid: Sid) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sid);
    }
}
