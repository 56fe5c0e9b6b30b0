//! [`Client`]: one Engine.IO connection (socket.io-client's `Manager`) and
//! the namespaces opened on it.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::Notify;

use crate::config::{Auth, ClientBuilder, Config, Transport, normalize_namespace};
use crate::handlers::Handlers;
use crate::outbox::Outbox;
use crate::url::Target;
use crate::{ClientError, Socket, driver};

/// One connection to a server, carrying any number of namespaces.
///
/// Cheap to clone; every clone is the same connection. The connection lives
/// until every namespace is disconnected ([`Socket::disconnect`]) or
/// reconnection gives up: dropping the handles does not close it.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.shared.target.host_header())
            .field("open", &self.shared.namespaces().open)
            .finish()
    }
}

/// What the connection's task and every socket share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) target: Target,
    pub(crate) outbox: Outbox,
    namespaces: Mutex<Namespaces>,
    /// Bumped whenever a socket is added or removed (under the
    /// `namespaces` lock), a socket's handlers change, or its recovery id:
    /// the connection's task keeps what it routed the last packet with
    /// (`receive::Route`) and reads it again only when this moved.
    generation: AtomicU64,
    /// Set once the connection should end for good.
    closing: AtomicBool,
    /// Whether any namespace was ever connected: until then a failure is
    /// the caller's error, not something to retry behind its back.
    ever_connected: AtomicBool,
    /// The transport of the open session: 0 none, 1 polling, 2 WebSocket.
    transport: AtomicU8,
    /// Why the last session ended, when it was an error.
    last_error: Mutex<Option<ClientError>>,
    /// Set, and `ended` notified, when the connection's task has ended. A
    /// flag and a `Notify` live inline, where a channel would be one more
    /// allocation per connection.
    done: AtomicBool,
    ended: Notify,
}

/// The namespaces of the connection, and whether the Engine.IO session is
/// open, under one lock: a namespace added while the session opens is sent
/// its CONNECT exactly once, by whichever side sees the other.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    /// A handful at most, so a Vec searched linearly beats a map's memory.
    pub(crate) sockets: Vec<Socket>,
    pub(crate) open: bool,
}

impl Client {
    /// Starts configuring a connection to `url` (`http://host:port`; a path
    /// names the namespace, as in socket.io-client).
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) async fn connect(builder: ClientBuilder) -> Result<Socket, ClientError> {
        let target = Target::parse(&builder.url)?;
        let namespace = builder
            .namespace
            .clone()
            .unwrap_or_else(|| target.namespace.clone());
        let shared = Arc::new(Shared {
            config: builder.config,
            target,
            outbox: Outbox::default(),
            namespaces: Mutex::new(Namespaces::default()),
            generation: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            last_error: Mutex::new(None),
            transport: AtomicU8::new(0),
            ever_connected: AtomicBool::new(false),
            done: AtomicBool::new(false),
            ended: Notify::new(),
        });
        let client = Client { shared };
        let auth = client.shared.config.auth.clone();
        let socket = client.add(&namespace, auth, builder.handlers);
        let connecting = socket.wait_connected();
        let fut = driver::run(client.shared.clone());
        tokio::spawn(fut);
        let timeout = client.shared.config.connect_timeout;
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(())) => Ok(socket),
            Ok(Err(e)) => {
                client.close();
                Err(e)
            }
            Err(_) => {
                client.close();
                Err(ClientError::Timeout)
            }
        }
    }

    /// Opens namespace `nsp` on this connection (or returns the socket
    /// already open for it) and waits for the server's answer. Uses the
    /// client's `auth`.
    pub async fn socket(&self, nsp: &str) -> Result<Socket, ClientError> {
        self.open(nsp, self.shared.config.auth.clone(), |_| {})
            .await
    }

    /// Like [`socket`](Self::socket), with its own `auth` and handlers
    /// registered before the CONNECT is sent (so no event is missed).
    pub async fn socket_with(
        &self,
        nsp: &str,
        auth: Option<Value>,
        register: impl FnOnce(&Socket),
    ) -> Result<Socket, ClientError> {
        self.open(nsp, Auth::from(auth), register).await
    }

    async fn open(
        &self,
        nsp: &str,
        auth: Auth,
        register: impl FnOnce(&Socket),
    ) -> Result<Socket, ClientError> {
        let nsp = normalize_namespace(nsp);
        if let Some(socket) = self.find(&nsp) {
            socket.wait_connected().await?;
            return Ok(socket);
        }
        if self.shared.is_closing() {
            return Err(ClientError::Disconnected);
        }
        let socket = Socket::new(self.shared.clone(), &nsp, auth, Handlers::default());
        register(&socket);
        let connecting = socket.wait_connected();
        self.shared.attach(socket.clone());
        let timeout = self.shared.config.connect_timeout;
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(())) => Ok(socket),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                socket.detach();
                Err(ClientError::Timeout)
            }
        }
    }

    fn add(&self, nsp: &str, auth: Auth, handlers: Handlers) -> Socket {
        let socket = Socket::new(self.shared.clone(), nsp, auth, handlers);
        self.shared.attach(socket.clone());
        socket
    }

    fn find(&self, nsp: &str) -> Option<Socket> {
        self.shared
            .namespaces()
            .sockets
            .iter()
            .find(|s| s.nsp() == nsp)
            .cloned()
    }

    /// Whether the Engine.IO session is open right now.
    pub fn is_open(&self) -> bool {
        self.shared.namespaces().open
    }

    /// Closes the connection and every namespace on it, without
    /// reconnecting; returns once the connection's task has ended.
    pub async fn close_and_wait(&self) {
        self.close();
        self.shared.wait_done().await;
    }

    /// The transport the open session uses (`None` while disconnected):
    /// polling until an upgrade completes, then WebSocket.
    pub fn transport(&self) -> Option<Transport> {
        match self.shared.transport.load(Ordering::Acquire) {
            1 => Some(Transport::Polling),
            2 => Some(Transport::WebSocket),
            _ => None,
        }
    }

    /// Why the last session ended, when it ended with an error (a protocol
    /// violation by the server, a broken connection); once reconnection
    /// has given up, why its last attempt failed.
    pub fn last_error(&self) -> Option<ClientError> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks the connection to close (every namespace, no reconnection).
    pub fn close(&self) {
        self.shared.request_close();
    }
}

impl Shared {
    pub(crate) fn namespaces(&self) -> MutexGuard<'_, Namespaces> {
        // Held for a lookup or a push of a CONNECT, never across `.await`.
        self.namespaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a socket and, if the session is open, sends its CONNECT.
    fn attach(&self, socket: Socket) {
        let mut namespaces = self.namespaces();
        if namespaces.open {
            self.outbox.push(socket.connect_packet());
        }
        namespaces.sockets.push(socket);
        self.changed();
    }

    /// Removes a socket; when it was the last, the connection closes, as
    /// socket.io-client's manager does once no socket is active.
    pub(crate) fn detach(&self, nsp: &str) {
        let mut namespaces = self.namespaces();
        namespaces.sockets.retain(|s| s.nsp() != nsp);
        self.changed();
        let last = namespaces.sockets.is_empty();
        drop(namespaces);
        if last {
            self.request_close();
        }
    }

    pub(crate) fn set_transport(&self, transport: Option<Transport>) {
        let code = match transport {
            None => 0,
            Some(Transport::Polling) => 1,
            Some(Transport::WebSocket) => 2,
        };
        self.transport.store(code, Ordering::Release);
    }

    pub(crate) fn mark_connected(&self) {
        self.ever_connected.store(true, Ordering::Release);
    }

    pub(crate) fn ever_connected(&self) -> bool {
        self.ever_connected.load(Ordering::Acquire)
    }

    pub(crate) fn error(&self) -> Option<ClientError> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_error(&self, error: ClientError) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// The connection ends for good: every socket is told, and forgotten
    /// (which also ends the reference cycle between sockets and `Shared`).
    pub(crate) fn abandon(&self, error: &ClientError) {
        self.closing.store(true, Ordering::Release);
        let sockets = {
            let mut namespaces = self.namespaces();
            self.changed();
            std::mem::take(&mut namespaces.sockets)
        };
        for socket in sockets {
            socket.abandon(error);
        }
    }

    pub(crate) fn request_close(&self) {
        self.closing.store(true, Ordering::Release);
        self.outbox.wake.notify_one();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn mark_done(&self) {
        self.done.store(true, Ordering::Release);
        self.ended.notify_waiters();
    }

    pub(crate) async fn wait_done(&self) {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            // Registered before the check, so a `mark_done` in between
            // still wakes this waiter.
            ended.as_mut().enable();
            if self.done.load(Ordering::Acquire) {
                return;
            }
            ended.await;
        }
    }

    /// Every socket, for the connection's task to notify.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.namespaces().sockets.clone()
    }

    /// The socket of namespace `nsp`, and the generation it was found in.
    pub(crate) fn socket(&self, nsp: &str) -> (u64, Option<Socket>) {
        let namespaces = self.namespaces();
        let generation = self.generation.load(Ordering::Acquire);
        let socket = namespaces.sockets.iter().find(|s| s.nsp() == nsp).cloned();
        (generation, socket)
    }

    /// Something the connection's task keeps a snapshot of changed.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Whether the sockets are still those of `generation`.
    pub(crate) fn is_generation(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) == generation
    }

    /// The session opened: clears what was queued for the previous one and
    /// sends every namespace's CONNECT.
    pub(crate) fn opened(&self) {
        let mut namespaces = self.namespaces();
        self.outbox.clear();
        namespaces.open = true;
        for socket in &namespaces.sockets {
            self.outbox.push(socket.connect_packet());
        }
    }

    /// The session ended: every namespace is disconnected with `reason`.
    /// With `final_` set (no reconnection), sockets are also told that no
    /// answer will come.
    pub(crate) fn closed(&self, reason: &str, final_: bool) {
        self.namespaces().open = false;
        for socket in self.sockets() {
            socket.transport_closed(reason, final_);
        }
    }
}
