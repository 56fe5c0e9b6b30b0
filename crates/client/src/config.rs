//! [`ClientBuilder`]: every setting, its default (socket.io-client's where it
//! has one), and the handlers of the first namespace.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, header};
use serde_json::Value;

use crate::handlers::Handlers;
use crate::outbox::Bounds;
use crate::reconnect::ReconnectHooks;

/// An event handler that many connections can share
/// ([`ClientBuilder::on_shared`]).
pub type SharedHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
use crate::{Client, ClientError, Event, Socket};

/// Where a namespace's CONNECT payload comes from.
#[derive(Clone)]
pub(crate) enum Auth {
    None,
    Fixed(Value),
    /// Asked at each CONNECT ([`ClientBuilder::auth_with`]).
    Provider(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl Auth {
    /// The payload for a CONNECT about to be sent.
    pub(crate) fn value(&self) -> Option<Value> {
        match self {
            Auth::None => None,
            Auth::Fixed(value) => Some(value.clone()),
            Auth::Provider(provider) => {
                // The application's code, called deep inside the client: a
                // panic is logged and the CONNECT goes without auth (which
                // the server may refuse), so the connection's task lives.
                let mut value = None;
                crate::socket::guard("auth", || value = Some(provider()));
                value
            }
        }
    }
}

impl From<Option<Value>> for Auth {
    fn from(auth: Option<Value>) -> Auth {
        auth.map_or(Auth::None, Auth::Fixed)
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Fixed(value) => f.debug_tuple("Fixed").field(value).finish(),
            Auth::Provider(_) => f.write_str("Provider"),
        }
    }
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// HTTP long-polling: a pending GET for the server's packets, a POST for ours.
    Polling,
    WebSocket,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// How Socket.IO packets are written on the wire. Client and server must
/// use the same one, as in Node, where it is an option of both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// The default Socket.IO parser (`socket.io-parser`): JSON text, each
    /// binary value sent as an attachment after its packet.
    #[default]
    Json,
    /// `socket.io-msgpack-parser`: each packet one MessagePack binary
    /// message, binary values inline.
    MsgPack,
}

/// Settings shared by every namespace of one connection; fixed at connect.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) path: String,
    pub(crate) transports: Vec<Transport>,
    pub(crate) upgrade: bool,
    pub(crate) local_address: Option<IpAddr>,
    /// For `https`/`wss` URLs; `None`: Mozilla's roots (`net::default_tls`).
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) auth: Auth,
    pub(crate) query: Vec<(String, String)>,
    /// Sent with every HTTP request, in order; never a header the protocol
    /// sets. Pairs, not a `HeaderMap`: an empty vector is 24 bytes of each
    /// connection's settings, an empty map 96.
    pub(crate) extra_headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) reconnection: bool,
    pub(crate) reconnection_attempts: Option<u32>,
    pub(crate) reconnect_hooks: ReconnectHooks,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) ack_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) max_attachments: usize,
    /// Bounds of the outgoing queue and of each socket's buffer.
    pub(crate) queue: Bounds,
    pub(crate) parser: Parser,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: "/socket.io/".to_owned(),
            transports: vec![Transport::Polling, Transport::WebSocket],
            upgrade: true,
            local_address: None,
            tls: None,
            auth: Auth::None,
            query: Vec::new(),
            extra_headers: Vec::new(),
            reconnection: true,
            reconnection_attempts: None,
            reconnect_hooks: ReconnectHooks::default(),
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            ack_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(20),
            max_message_size: 64 << 20,
            max_attachments: 10,
            queue: Bounds {
                packets: 10_000,
                bytes: 64 << 20,
            },
            parser: Parser::Json,
        }
    }
}

/// Builds a [`Client`] and connects its first namespace; see
/// [`Client::builder`].
pub struct ClientBuilder {
    pub(crate) url: String,
    pub(crate) config: Config,
    pub(crate) namespace: Option<String>,
    pub(crate) handlers: Handlers,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: &str) -> Self {
        ClientBuilder {
            url: url.to_owned(),
            config: Config::default(),
            namespace: None,
            handlers: Handlers::default(),
        }
    }

    /// The Engine.IO path on the server. Default `/socket.io/`.
    pub fn path(mut self, path: &str) -> Self {
        let mut path = path.to_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.config.path = path;
        self
    }

    /// Transports to use, in order. Default `[Polling, WebSocket]`: open with
    /// long-polling, then upgrade to WebSocket, as socket.io-client does.
    /// `[WebSocket]` opens a WebSocket directly; `[Polling]` never upgrades.
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        if !transports.is_empty() {
            self.config.transports = transports.to_vec();
        }
        self
    }

    /// Whether to upgrade from polling to WebSocket when both are allowed.
    /// Default true.
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.config.upgrade = upgrade;
        self
    }

    /// The local IP address the client's TCP connections bind to. Default:
    /// chosen by the system. A load with more connections than one source
    /// address has ports spreads them over 127.0.0.2, 127.0.0.3, ...
    pub fn local_address(mut self, address: IpAddr) -> Self {
        self.config.local_address = Some(address);
        self
    }

    /// The TLS settings of `https://` and `wss://` connections: the roots
    /// to trust (a private CA, a self-signed certificate), a client
    /// certificate, protocol versions. Default: Mozilla's root
    /// certificates, TLS 1.2 and 1.3, no client certificate. The config is
    /// used as given; leave its ALPN protocols empty or HTTP/1.1 only, as
    /// Engine.IO runs over HTTP/1.1. Build it with the re-exported
    /// [`rustls`](crate::rustls) so the versions match.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.config.tls = Some(config);
        self
    }

    /// The CONNECT payload of every namespace (socket.io-client's `auth`).
    /// Default none. It should be an object: connection state recovery adds
    /// its `pid` and `offset` to it.
    pub fn auth(mut self, auth: Value) -> Self {
        self.config.auth = Auth::Fixed(auth);
        self
    }

    /// Like [`auth`](Self::auth), but `provider` is asked for the payload
    /// at every CONNECT: the first, each reconnection's, and each namespace
    /// opened later with [`Client::socket`]; socket.io-client's `auth`
    /// callback. A token refreshed meanwhile (by a task of the
    /// application's, into a shared cell `provider` reads) is then what the
    /// server's middleware sees after a reconnection. Unlike socket.io-client's
    /// callback it is synchronous, and it runs (on the connection's task,
    /// or on the task opening a namespace) while the client holds its
    /// namespace list, so other calls on this client wait for it: keep it
    /// short, and do not call into this client from it. A panic in it is
    /// logged and that CONNECT is sent without auth. Replaces `auth`.
    pub fn auth_with(mut self, provider: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        self.config.auth = Auth::Provider(Arc::new(provider));
        self
    }

    /// Adds a query parameter to every Engine.IO request.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.config.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header to every HTTP request of the connection: the polling
    /// GETs and POSTs and the WebSocket upgrade (socket.io-client's
    /// `extraHeaders`), for example an `Authorization` or `Cookie` that a
    /// gateway in front of the server checks. Called again with the same
    /// name, it adds another value. The headers the protocol itself sets
    /// (`Host`, `Connection`, `Upgrade`, `Content-Type`, `Content-Length`,
    /// `Transfer-Encoding` and `Sec-WebSocket-*`) are ignored here: a second
    /// value of one of those would make the request invalid. The types are
    /// the re-exported [`http`](crate::http) crate's.
    pub fn extra_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if !set_by_the_protocol(&name) {
            self.config.extra_headers.push((name, value));
        }
        self
    }

    /// Reconnect after the connection is lost. Default true.
    pub fn reconnection(mut self, reconnect: bool) -> Self {
        self.config.reconnection = reconnect;
        self
    }

    /// Gives up after this many failed attempts in a row. Default unlimited.
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.config.reconnection_attempts = Some(attempts);
        self
    }

    /// First delay before reconnecting; it doubles per failed attempt.
    /// Default 1 s.
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.config.reconnection_delay = delay;
        self
    }

    /// Longest delay between attempts. Default 5 s.
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.config.reconnection_delay_max = delay;
        self
    }

    /// Jitter: each delay is moved by up to this fraction, up or down.
    /// Default 0.5. Clamped to 0..=1.
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.config.randomization_factor = factor.clamp(0.0, 1.0);
        self
    }

    /// How long [`Socket::emit_with_ack`] waits. Default 10 s.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = timeout;
        self
    }

    /// How long the handshake plus the namespace's CONNECT may take.
    /// Default 20 s (socket.io-client's `timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Largest message accepted from the server, in bytes; a larger one
    /// closes the connection with [`ClientError::Protocol`]. Default 64 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes.max(1);
        self
    }

    /// Most binary attachments one received packet may announce (with
    /// [`Parser::MsgPack`]: binary values one packet may hold). Default 10.
    pub fn max_attachments(mut self, count: usize) -> Self {
        self.config.max_attachments = count;
        self
    }

    /// Most Engine.IO messages waiting to be sent (an attachment is a
    /// message of its own), per queue: the connection's queue while
    /// connected, not counting the write in progress, and each
    /// namespace's buffer while it is not. An emit or ack past it fails
    /// with [`ClientError::QueueFull`](crate::ClientError::QueueFull) and
    /// sends nothing. A handler's emits and acks leave when the
    /// connection's task next writes, after the handler returns, so
    /// retrying inside the handler cannot succeed. Default 10,000.
    pub fn max_queued_packets(mut self, packets: usize) -> Self {
        self.config.queue.packets = packets;
        self
    }

    /// Most bytes waiting to be sent, counted as
    /// [`max_queued_packets`](Self::max_queued_packets) counts messages;
    /// a single emit larger than this can never be sent. Default 64 MiB
    /// (as [`max_message_size`](Self::max_message_size)).
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.config.queue.bytes = bytes;
        self
    }

    /// The packet format: the server's must be the same. Default
    /// [`Parser::Json`]; [`Parser::MsgPack`] for a server using
    /// `socket.io-msgpack-parser`.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.config.parser = parser;
        self
    }

    /// The namespace of the socket [`connect`](Self::connect) returns.
    /// Default `/`, or the URL's path when it has one.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(normalize_namespace(namespace));
        self
    }

    /// Calls `handler` for every `event` the server sends this namespace,
    /// inline on the connection's task: keep it short.
    pub fn on(
        mut self,
        event: &str,
        handler: impl Fn(&Socket, &Event) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.add(event, Arc::new(handler));
        self
    }

    /// [`on`](Self::on) with a handler that many connections share: one
    /// allocation for all of them instead of one each. A load generator's
    /// thousands of connections then run one handler whose captured state
    /// stays in the cache, where a copy per connection is a cache miss per
    /// received event.
    pub fn on_shared(mut self, event: &str, handler: SharedHandler) -> Self {
        self.handlers.add(event, handler);
        self
    }

    /// Calls `handler` for every event, after the handlers of its name.
    pub fn on_any(mut self, handler: impl Fn(&Socket, &Event) + Send + Sync + 'static) -> Self {
        self.handlers.any.push(Arc::new(handler));
        self
    }

    /// Calls `handler` after each (re)connection of the namespace.
    pub fn on_connect(mut self, handler: impl Fn(&Socket) + Send + Sync + 'static) -> Self {
        self.handlers.connect.push(Arc::new(handler));
        self
    }

    /// Calls `handler` with socket.io-client's reason when the namespace
    /// disconnects (`transport close`, `io server disconnect`, ...).
    pub fn on_disconnect(
        mut self,
        handler: impl Fn(&Socket, &str) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.disconnect.push(Arc::new(handler));
        self
    }

    /// Calls `handler` with the attempt's number (from 1) before each
    /// reconnection attempt (socket.io-client's `reconnect_attempt`).
    pub fn on_reconnect_attempt(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.config.reconnect_hooks.on_attempt(Arc::new(handler));
        self
    }

    /// Calls `handler` with the reason when a reconnection attempt fails
    /// (socket.io-client's `reconnect_error`).
    pub fn on_reconnect_error(
        mut self,
        handler: impl Fn(&ClientError) + Send + Sync + 'static,
    ) -> Self {
        self.config.reconnect_hooks.on_error(Arc::new(handler));
        self
    }

    /// Calls `handler` with the number of attempts it took when a
    /// reconnection opens a session (socket.io-client's `reconnect`); the
    /// namespaces' [`on_connect`](Self::on_connect) follow once the server
    /// answers their CONNECT.
    pub fn on_reconnect(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.config
            .reconnect_hooks
            .on_reconnected(Arc::new(handler));
        self
    }

    /// Calls `handler` when the client gives up: the last attempt allowed
    /// by [`reconnection_attempts`](Self::reconnection_attempts) failed
    /// (socket.io-client's `reconnect_failed`). The connection is closed
    /// after it, and its sockets are disconnected.
    pub fn on_reconnect_failed(mut self, handler: impl Fn() + Send + Sync + 'static) -> Self {
        self.config.reconnect_hooks.on_failed(Arc::new(handler));
        self
    }

    /// Opens the connection and the namespace; resolves once the server
    /// answers the namespace's CONNECT.
    ///
    /// A first connection that fails is an error, not retried: reconnection
    /// is for connections that were up. A refusal (`CONNECT_ERROR`, e.g. from
    /// a middleware) is [`ClientError::ConnectRefused`].
    pub async fn connect(self) -> Result<Socket, ClientError> {
        Client::connect(self).await
    }
}

fn set_by_the_protocol(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::UPGRADE,
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ]
    .contains(name)
        || name.as_str().starts_with("sec-websocket-")
}

/// `admin` → `/admin`; `/admin/` stays as given by the server's rules, with
/// only a missing leading slash added.
pub(crate) fn normalize_namespace(namespace: &str) -> String {
    if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_headers_leave_out_the_protocols_own() {
        let value = HeaderValue::from_static("v");
        let mut builder = ClientBuilder::new("http://x");
        for name in [
            header::HOST,
            header::CONNECTION,
            header::UPGRADE,
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::SEC_WEBSOCKET_KEY,
            header::SEC_WEBSOCKET_VERSION,
            header::SEC_WEBSOCKET_EXTENSIONS,
            header::AUTHORIZATION,
            header::COOKIE,
        ] {
            builder = builder.extra_header(name, value.clone());
        }
        builder = builder.extra_header(header::COOKIE, HeaderValue::from_static("w"));
        let kept: Vec<(&str, &[u8])> = builder
            .config
            .extra_headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        assert_eq!(
            kept,
            [
                ("authorization", &b"v"[..]),
                ("cookie", b"v"),
                ("cookie", b"w")
            ]
        );
    }
}
