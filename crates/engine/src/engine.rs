//! The engine: its sessions, and the routing of each request to the
//! handshake, a polling request, or a WebSocket.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::Full;
use switchboard_protocol::engine::OpenPacket;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::EngineConfig;
use crate::cors::OriginCheck;
use crate::error::RequestError;
use crate::flush::Flushers;
use crate::handler::{CloseReason, EngineHandler};
use crate::session::{Handshake, Session, TransportKind};
use crate::sid::Sid;
use crate::{polling, websocket};

/// Boxed error of request bodies, as hyper and axum hand them over.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The peer's address, for [`Handshake::remote_addr`]. [`crate::serve`]
/// inserts it into each request's extensions; other servers may too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

pub(crate) struct EngineShared {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn EngineHandler>,
    // Looked up once per polling request or upgrade, and written on open and
    // close; each critical section is a single map operation.
    sessions: Mutex<HashMap<Sid, Session>>,
    shutting_down: AtomicBool,
    /// Signalled when the last session is removed during shutdown.
    emptied: Notify,
    /// Sessions whose `on_close` has not run yet: shutdown waits for these,
    /// not for the map to empty, so every disconnect handler has run when it
    /// returns.
    live: AtomicUsize,
    /// Write queued frames to WebSocket sessions (see `flush.rs`).
    pub(crate) flushers: Flushers,
}

/// An Engine.IO server: cheap to clone, all clones share the sessions.
///
/// Mount it with [`Engine::layer`] in front of another service (an axum
/// router, say) or use [`Engine::service`] on its own.
#[derive(Clone)]
pub struct Engine(pub(crate) Arc<EngineShared>);

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.0.config.path)
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(config: EngineConfig, handler: impl EngineHandler) -> Engine {
        Engine::with_handler(config, Arc::new(handler))
    }

    pub fn with_handler(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Engine {
        Engine(Arc::new(EngineShared {
            config,
            handler,
            sessions: Mutex::new(HashMap::new()),
            shutting_down: AtomicBool::new(false),
            emptied: Notify::new(),
            live: AtomicUsize::new(0),
            flushers: Flushers::new(),
        }))
    }

    pub fn config(&self) -> &EngineConfig {
        &self.0.config
    }

    /// The live session with this id.
    pub fn session(&self, id: &str) -> Option<Session> {
        Sid::parse(id).and_then(|sid| self.0.sessions().get(&sid).cloned())
    }

    pub fn session_count(&self) -> usize {
        self.0.sessions().len()
    }

    /// Closes every session with a close packet and refuses new ones; returns
    /// when all have ended, or after `shutdown_timeout`.
    pub async fn shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + self.0.config.shutdown_timeout;
        let sessions: Vec<Session> = self.0.sessions().values().cloned().collect();
        for session in &sessions {
            session
                .0
                .close_gracefully_by(CloseReason::ServerShutdown, deadline);
        }
        // Past the deadline the sessions left are ended without their close
        // packet; their `on_close` then runs at once, and is waited for
        // briefly too.
        let mut forced = false;
        loop {
            let emptied = self.0.emptied.notified();
            if self.0.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            let wait_until = if forced {
                deadline + Duration::from_secs(1)
            } else {
                deadline
            };
            if tokio::time::timeout_at(wait_until, emptied).await.is_err() {
                if forced {
                    return;
                }
                forced = true;
                let left: Vec<Session> = self.0.sessions().values().cloned().collect();
                for session in left {
                    session.0.end(CloseReason::ServerShutdown);
                }
            }
        }
    }

    /// Answers one request under the engine's path.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.0.clone().handle(request).await
    }
}

impl EngineShared {
    fn sessions(&self) -> MutexGuard<'_, HashMap<Sid, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn remove(&self, sid: Sid) {
        self.sessions().remove(&sid);
    }

    /// A session's `on_close` has run.
    pub(crate) fn closed(&self) {
        let before = self.live.fetch_sub(1, Ordering::SeqCst);
        if before == 1 && self.shutting_down.load(Ordering::SeqCst) {
            self.emptied.notify_one();
        }
    }

    pub(crate) fn is_path(&self, path: &str) -> bool {
        let base = self.config.path.as_str();
        path == base || path == &base[..base.len() - 1]
    }

    async fn handle<B>(self: Arc<Self>, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let origin = self.config.cors.check(request.headers());
        let mut response = if origin == OriginCheck::Denied {
            tracing::debug!(origin = ?request.headers().get(header::ORIGIN), "origin refused");
            RequestError::Forbidden.into_response()
        } else if request.method() == Method::OPTIONS {
            preflight(request.headers())
        } else {
            match self.clone().route(request).await {
                Ok(response) => response,
                Err(error) => {
                    tracing::debug!(%error, "request refused");
                    error.into_response()
                }
            }
        };
        self.config.cors.apply(&origin, response.headers_mut());
        response
    }

    async fn route<B>(
        self: Arc<Self>,
        request: Request<B>,
    ) -> Result<Response<Full<Bytes>>, RequestError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let query = Query::parse(request.uri().query().unwrap_or(""));
        let transports = self.config.transports;
        let transport = match query.transport {
            Some("polling") if transports.polling => TransportKind::Polling,
            Some("websocket") if transports.websocket => TransportKind::WebSocket,
            _ => return Err(RequestError::UnknownTransport),
        };
        if let Some(sid) = query.sid {
            let session = Sid::parse(sid)
                .and_then(|sid| self.sessions().get(&sid).cloned())
                .ok_or(RequestError::UnknownSid)?;
            return match (transport, request.method()) {
                (TransportKind::Polling, &Method::GET) => polling::get(session.0).await,
                (TransportKind::Polling, &Method::POST) => polling::post(session.0, request).await,
                (TransportKind::WebSocket, &Method::GET) => websocket::upgrade(session.0, request),
                _ => Err(RequestError::BadRequest),
            };
        }
        if request.method() != Method::GET {
            return Err(RequestError::BadHandshakeMethod);
        }
        if query.eio != Some("4") {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(RequestError::BadRequest);
        }
        match transport {
            TransportKind::Polling => Ok(self.open_polling(&request)),
            TransportKind::WebSocket => websocket::open(self, request),
        }
    }

    /// Creates a session and registers it; the caller starts its transport.
    pub(crate) fn create(
        self: &Arc<Self>,
        handshake: Handshake,
        transport: TransportKind,
    ) -> Session {
        let session = Session::new(self.clone(), handshake, transport);
        self.live.fetch_add(1, Ordering::SeqCst);
        self.sessions().insert(session.sid(), session.clone());
        tracing::debug!(sid = %session.sid(), transport = transport.as_str(), "session opened");
        session
    }

    pub(crate) fn open_packet(&self, sid: Sid, transport: TransportKind) -> OpenPacket {
        let upgrades = if transport == TransportKind::Polling && self.config.transports.websocket {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        };
        OpenPacket {
            sid: sid.as_str().to_owned(),
            upgrades,
            ping_interval: millis(self.config.ping_interval),
            ping_timeout: millis(self.config.ping_timeout),
            max_payload: self.config.max_payload as u64,
        }
    }

    fn open_polling<B>(self: &Arc<Self>, request: &Request<B>) -> Response<Full<Bytes>> {
        let session = self.create(handshake(request), TransportKind::Polling);
        let open = self.open_packet(session.sid(), TransportKind::Polling);
        let body = format!("0{}", open.to_json());
        session.0.dispatch_open();
        tokio::spawn(polling::drive(session.0.clone()));
        let mut response = Response::new(Full::new(Bytes::from(body)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        response
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The parts of the query string the engine reads.
#[derive(Debug, Default)]
struct Query<'a> {
    transport: Option<&'a str>,
    eio: Option<&'a str>,
    sid: Option<&'a str>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Self {
        let mut q = Query::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "transport" => q.transport = Some(value),
                "EIO" => q.eio = Some(value),
                "sid" => q.sid = Some(value),
                _ => {}
            }
        }
        q
    }
}

/// Headers that only carried the HTTP upgrade or the request's framing.
/// They mean nothing once the session is open, and a WebSocket client sends
/// four or five of them, so keeping them would cost every session a few
/// hundred bytes for nothing; everything else (cookies, authorization,
/// origin, user agent, forwarding headers, subprotocols) is kept.
const TRANSPORT_ONLY: [HeaderName; 7] = [
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

/// What a session keeps of the request that opened it, copied so that it
/// shares no buffer with the connection.
pub(crate) fn handshake<B>(request: &Request<B>) -> Handshake {
    let kept = || {
        request
            .headers()
            .iter()
            .filter(|(name, _)| !TRANSPORT_ONLY.contains(name))
    };
    // Sized exactly: the map lives as long as the session.
    let mut headers = HeaderMap::with_capacity(kept().count());
    for (name, value) in kept() {
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    Handshake {
        headers,
        query: request.uri().query().unwrap_or("").into(),
        remote_addr: request.extensions().get::<RemoteAddr>().map(|a| a.0),
        issued: SystemTime::now(),
    }
}

/// Answers a CORS preflight from an allowed (or absent) origin.
fn preflight(headers: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = Query::parse("EIO=4&transport=polling&t=N8hyd6w&sid=abc");
        assert_eq!(
            (q.eio, q.transport, q.sid),
            (Some("4"), Some("polling"), Some("abc"))
        );
        let q = Query::parse("");
        assert_eq!((q.eio, q.transport, q.sid), (None, None, None));
        assert_eq!(
            Query::parse("transport=__proto__").transport,
            Some("__proto__")
        );
    }

    #[test]
    fn handshake_keeps_request_headers_but_not_the_upgrade_mechanics() {
        let request = Request::builder()
            .uri("/engine.io/?EIO=4&transport=websocket")
            .header("host", "example.test")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .header("cookie", "session=abc")
            .header("authorization", "Bearer t")
            .body(())
            .unwrap();
        let kept = handshake(&request).headers;
        let names: Vec<&str> = kept.keys().map(|name| name.as_str()).collect();
        assert_eq!(names, ["host", "cookie", "authorization"]);
        assert_eq!(kept["cookie"], "session=abc");
    }
}
