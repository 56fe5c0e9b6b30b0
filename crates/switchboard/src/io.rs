//! The server: its namespaces, the engine under it, and how to mount it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use switchboard_engine::{
    CloseReason, Cors, Engine, EngineHandler, EngineService, Message, NotFound, ServeConfig,
    Session, Sid,
};
use switchboard_protocol::Str;

use crate::adapter::{AdapterFactory, RecoveryStats, Room};
use crate::broadcast::Broadcast;
use crate::client::Client;
use crate::config::{IoConfig, IoConfigBuilder};
use crate::error::EmitError;
use crate::middleware::Middleware;
use crate::namespace::Namespace;
use crate::service::{IoLayer, IoService};
use crate::socket::Socket;

/// A Socket.IO server; cheap to clone.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = switchboard::Io::new();
/// io.on_connect(|socket| {
///     socket.on("ping", |socket, _: switchboard::Event<()>| async move {
///         let _ = socket.emit("pong", &());
///     });
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// io.serve(listener, std::future::pending()).await
/// # }
/// ```
#[derive(Clone)]
pub struct Io(pub(crate) Arc<IoShared>);

pub(crate) struct IoShared {
    pub(crate) config: IoConfig,
    engine: OnceLock<Engine>,
    // Read on every CONNECT, written when a namespace is added.
    namespaces: RwLock<HashMap<Str, Namespace>>,
    dynamic: RwLock<Vec<Dynamic>>,
    // One lookup per incoming message, one insert and remove per connection.
    clients: Mutex<HashMap<Sid, Arc<Client>>>,
    adapters: Arc<AdapterFactory>,
}

type Setup = dyn Fn(&Namespace) + Send + Sync;

struct Dynamic {
    matcher: Matcher,
    setup: Arc<Setup>,
}

enum Matcher {
    Pattern(Vec<Token>),
    Predicate(Box<dyn Fn(&str) -> bool + Send + Sync>),
}

#[derive(Debug, PartialEq)]
enum Token {
    Literal(String),
    /// `{name}`: one or more characters other than `/`.
    Param,
}

impl fmt::Debug for Io {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Io")
            .field("path", &self.0.config.engine.path())
            .finish_non_exhaustive()
    }
}

impl Default for Io {
    fn default() -> Self {
        Io::new()
    }
}

impl Io {
    /// A server with default settings (path `/socket.io/`).
    pub fn new() -> Io {
        Io::builder().build()
    }

    pub fn builder() -> IoBuilder {
        IoBuilder {
            config: IoConfigBuilder::default(),
            adapters: None,
        }
    }

    /// The engine under this server.
    pub fn engine(&self) -> &Engine {
        // Set in `IoBuilder::build` before the Io is handed out.
        self.0
            .engine
            .get()
            .unwrap_or_else(|| unreachable!("Io without engine"))
    }

    /// A tower layer serving Socket.IO under its path in front of another
    /// service, such as an axum `Router`.
    pub fn layer(&self) -> IoLayer {
        IoLayer::new(self.clone())
    }

    /// Socket.IO on its own: other paths get 404.
    pub fn service(&self) -> IoService<EngineService<NotFound>> {
        IoService::standalone(self.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then closes every
    /// connection gracefully.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let engine = self.engine().clone();
        switchboard_engine::serve(
            listener,
            self.service(),
            engine,
            ServeConfig::default(),
            shutdown,
        )
        .await
    }

    /// The namespace `name`, created if it does not exist.
    pub fn of(&self, name: &str) -> Namespace {
        let name = normalise(name);
        if let Some(ns) = self
            .0
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name.as_str())
        {
            return ns.clone();
        }
        let mut namespaces = self.0.namespaces.write().unwrap_or_else(|e| e.into_inner());
        namespaces
            .entry(Str::from(name.clone()))
            .or_insert_with(|| {
                Namespace::new(
                    Str::from(name),
                    self.0.config.ack_timeout,
                    self.0.config.parser,
                    self.0.config.recovery,
                    &*self.0.adapters,
                )
            })
            .clone()
    }

    /// Namespaces created on demand when a client connects to a name that
    /// matches `pattern`, where `{param}` stands for one or more characters
    /// other than `/` (`/team-{id}`). `setup` runs once per new namespace.
    pub fn dynamic_namespace(
        &self,
        pattern: &str,
        setup: impl Fn(&Namespace) + Send + Sync + 'static,
    ) {
        let matcher = Matcher::Pattern(parse_pattern(&normalise(pattern)));
        self.0
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Dynamic {
                matcher,
                setup: Arc::new(setup),
            });
    }

    /// Namespaces created on demand for names `accept` approves.
    pub fn dynamic_namespace_by(
        &self,
        accept: impl Fn(&str) -> bool + Send + Sync + 'static,
        setup: impl Fn(&Namespace) + Send + Sync + 'static,
    ) {
        let matcher = Matcher::Predicate(Box::new(accept));
        self.0
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Dynamic {
                matcher,
                setup: Arc::new(setup),
            });
    }

    /// Connect handler of the main namespace `/`.
    pub fn on_connect(&self, handler: impl Fn(Socket) + Send + Sync + 'static) {
        self.of("/").on_connect(handler);
    }

    /// Connect middleware of the main namespace `/`.
    pub fn use_middleware(&self, middleware: impl Middleware) {
        self.of("/").use_middleware(middleware);
    }

    /// Operators on the main namespace.
    pub fn broadcast(&self) -> Broadcast {
        self.of("/").broadcast()
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

    /// Emits to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    pub fn emit_args<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.broadcast().emit_args(event, args)
    }

    /// Emits an event to the other servers of the cluster (not to clients).
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), crate::error::AckError> {
        let args = crate::encode::array(args).map_err(EmitError::from)?;
        self.of("/")
            .adapter()
            .server_side_emit(event.to_owned(), args)
            .await
            .map_err(|e| crate::error::AckError::Adapter(e.to_string()))
    }

    /// What connection state recovery keeps right now, summed over the
    /// namespaces: sessions waiting for their client, and packets kept for
    /// them. All zero when recovery is off.
    pub fn recovery_stats(&self) -> RecoveryStats {
        let namespaces: Vec<Namespace> = self
            .0
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        namespaces
            .iter()
            .map(|ns| ns.adapter().recovery_stats())
            .fold(RecoveryStats::default(), |a, b| a + b)
    }

    /// Closes every connection gracefully.
    pub async fn close(&self) {
        self.engine().shutdown().await;
    }
}

impl IoShared {
    /// The namespace a client asked for: a static one, or a dynamic one
    /// created now.
    pub(crate) fn namespace_for(self: &Arc<Self>, name: &str) -> Option<Namespace> {
        if let Some(ns) = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(ns.clone());
        }
        let setup = {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            dynamic
                .iter()
                .find(|d| d.matcher.matches(name))
                .map(|d| d.setup.clone())?
        };
        let (ns, created) = {
            let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
            match namespaces.get(name) {
                Some(ns) => (ns.clone(), false),
                None => {
                    let ns = Namespace::new(
                        Str::from(name.to_owned()),
                        self.config.ack_timeout,
                        self.config.parser,
                        self.config.recovery,
                        &*self.adapters,
                    );
                    namespaces.insert(Str::from(name.to_owned()), ns.clone());
                    (ns, true)
                }
            }
        };
        if created {
            setup(&ns);
        }
        Some(ns)
    }

    fn client(&self, session: &Session) -> Option<Arc<Client>> {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&session.sid())
            .cloned()
    }
}

/// The engine's view of the Socket.IO layer.
struct Handler(Weak<IoShared>);

impl EngineHandler for Handler {
    fn on_open(&self, session: &Session) {
        let Some(io) = self.0.upgrade() else { return };
        let client = Client::new(&io, session.clone());
        io.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session.sid(), client);
    }

    fn on_message(&self, session: &Session, message: Message) {
        let Some(client) = self.0.upgrade().and_then(|io| io.client(session)) else {
            return;
        };
        match message {
            Message::Text(text) => client.on_text(text),
            Message::Binary(bytes) => client.on_binary(bytes),
        }
    }

    fn on_close(&self, session: &Session, reason: CloseReason) {
        let Some(io) = self.0.upgrade() else { return };
        let client = io
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session.sid());
        if let Some(client) = client {
            client.on_close(&reason);
        }
    }
}

/// Builder of an [`Io`]; every setting has Node's default unless noted.
pub struct IoBuilder {
    config: IoConfigBuilder,
    adapters: Option<Arc<AdapterFactory>>,
}

impl fmt::Debug for IoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl IoBuilder {
    /// URL path. Default `/socket.io/`.
    pub fn path(mut self, path: &str) -> Self {
        let path = path.to_owned();
        self.config = self.config.engine(|e| e.path(path));
        self
    }

    /// Default 25 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config = self.config.engine(|e| e.ping_interval(interval));
        self
    }

    /// Default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config = self.config.engine(|e| e.ping_timeout(timeout));
        self
    }

    /// Largest message or polling body in bytes. Default 1,000,000.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config = self.config.engine(|e| e.max_payload(bytes));
        self
    }

    /// Time a client has to join a namespace after connecting. Default 45 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long an `emit_with_ack` waits when no timeout is given. Default
    /// 10 s (Node waits forever; a bound keeps memory bounded).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = timeout;
        self
    }

    /// The packet format. Default [`Parser::Json`]; clients must use the
    /// matching parser (`socket.io-msgpack-parser` for [`Parser::MsgPack`]).
    pub fn parser(mut self, parser: crate::Parser) -> Self {
        self.config.parser = parser;
        self
    }

    /// Whether to serve the browser client at `<path>socket.io.js` and
    /// `<path>socket.io.esm.js`. Default on.
    pub fn serve_client(mut self, serve: bool) -> Self {
        self.config.serve_client = serve;
        self
    }

    /// Turns on connection state recovery: a client whose connection drops
    /// and comes back within `recovery`'s window gets the same socket id,
    /// rooms and data, and every packet it missed, in order and exactly
    /// once, before anything new ([`Socket::recovered`] is true). Off by
    /// default, as in Node. Broadcasts and emits without acknowledgement,
    /// and not volatile, then carry an offset as their last argument, which
    /// the official clients expect.
    pub fn connection_state_recovery(mut self, recovery: crate::Recovery) -> Self {
        self.config.recovery = Some(recovery);
        self
    }

    /// Most binary attachments in one packet. Default 10.
    pub fn max_attachments(mut self, count: usize) -> Self {
        self.config.max_attachments = count;
        self
    }

    /// Cross-origin policy. Default same-origin only.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config = self.config.engine(|e| e.cors(cors));
        self
    }

    /// Which transports clients may use. Default both.
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.config = self.config.engine(|e| e.transports(polling, websocket));
        self
    }

    /// Any other engine setting.
    pub fn engine(
        mut self,
        f: impl FnOnce(
            switchboard_engine::EngineConfigBuilder,
        ) -> switchboard_engine::EngineConfigBuilder,
    ) -> Self {
        self.config = self.config.engine(f);
        self
    }

    /// The adapter of each namespace. Default [`LocalAdapter`](crate::LocalAdapter).
    pub fn adapter(
        mut self,
        factory: impl Fn(&Namespace) -> Arc<dyn crate::Adapter> + Send + Sync + 'static,
    ) -> Self {
        self.adapters = Some(Arc::new(factory));
        self
    }

    pub fn build(self) -> Io {
        let config = self.config.build();
        let adapters = self
            .adapters
            .unwrap_or_else(|| Arc::new(Namespace::local_adapter));
        let shared = Arc::new(IoShared {
            engine: OnceLock::new(),
            config,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
            clients: Mutex::default(),
            adapters,
        });
        let engine = Engine::new(
            shared.config.engine.clone(),
            Handler(Arc::downgrade(&shared)),
        );
        let _ = shared.engine.set(engine);
        let io = Io(shared);
        // The main namespace always exists.
        io.of("/");
        io
    }
}

/// `name` with a leading `/`.
fn normalise(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

fn parse_pattern(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            tokens.push(Token::Literal(rest[..open].to_owned()));
        }
        tokens.push(Token::Param);
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Literal(rest.to_owned()));
    }
    tokens
}

impl Matcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Pattern(tokens) => match_tokens(tokens, name),
            Matcher::Predicate(accept) => accept(name),
        }
    }
}

fn match_tokens(tokens: &[Token], name: &str) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::Literal(lit), rest)) => name
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| match_tokens(rest, tail)),
        Some((Token::Param, rest)) => {
            let segment = name.find('/').unwrap_or(name.len());
            (1..=segment)
                .filter(|&i| name.is_char_boundary(i))
                .any(|i| match_tokens(rest, &name[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = parse_pattern("/team-{id}");
        assert_eq!(p, vec![Token::Literal("/team-".into()), Token::Param]);
        assert!(match_tokens(&p, "/team-42"));
        assert!(!match_tokens(&p, "/team-"));
        assert!(!match_tokens(&p, "/team-4/2"));
        let p = parse_pattern("/org/{org}/room-{room}");
        assert!(match_tokens(&p, "/org/acme/room-1"));
        assert!(!match_tokens(&p, "/org/acme/x/room-1"));
    }
}
