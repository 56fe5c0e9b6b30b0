//! The harness every conformance test shares: a server on 127.0.0.1:0 with
//! an echo handler that reports each session's life into a channel, and
//! clients that speak raw HTTP/1.1 and WebSocket to it.
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]
#![allow(unreachable_pub, reason = "test harness module, not a library")]

pub mod http;
pub mod ws;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ::http::Request;
use hyper::body::Incoming;
use switchboard_engine::{
    CloseReason, Engine, EngineConfig, EngineHandler, EngineService, Message, NotFound,
    ServeConfig, Session, TransportKind, serve,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tower_service::Service;

use self::http::{Conn, Reply, exchange, request};

/// How long any single wait may take before the test fails as hung. Never a
/// pass/fail threshold: every wait ends on an event long before this.
pub const GUARD: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it hangs.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A message as the handler saw it, in a form tests can compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

/// One call the engine made on the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Open {
        sid: String,
        transport: TransportKind,
    },
    Message {
        sid: String,
        message: Msg,
    },
    Close {
        sid: String,
        reason: CloseReason,
    },
}

impl Event {
    fn sid(&self) -> &str {
        match self {
            Event::Open { sid, .. } | Event::Message { sid, .. } | Event::Close { sid, .. } => sid,
        }
    }
}

/// Echoes every message back and reports every call.
struct Recorder {
    events: mpsc::UnboundedSender<Event>,
}

impl EngineHandler for Recorder {
    fn on_open(&self, session: &Session) {
        let _ = self.events.send(Event::Open {
            sid: session.id().to_owned(),
            transport: session.transport(),
        });
    }

    fn on_message(&self, session: &Session, message: Message) {
        let reported = match &message {
            Message::Text(text) => Msg::Text(text.as_str().to_owned()),
            Message::Binary(bytes) => Msg::Binary(bytes.to_vec()),
        };
        let _ = self.events.send(Event::Message {
            sid: session.id().to_owned(),
            message: reported,
        });
        // The tests that fill queues do it with their own sends; an echo
        // that did not fit would show up as a missing reply.
        let _ = match message {
            Message::Text(text) => session.send_text(&text),
            Message::Binary(bytes) => session.send_binary(bytes),
        };
    }

    fn on_close(&self, session: &Session, reason: CloseReason) {
        let _ = self.events.send(Event::Close {
            sid: session.id().to_owned(),
            reason,
        });
    }
}

/// A channel whose items tests pick out by predicate, keeping the rest for
/// later waits (several sessions report into one channel).
struct Inbox<T> {
    rx: mpsc::UnboundedReceiver<T>,
    backlog: VecDeque<T>,
}

impl<T: std::fmt::Debug> Inbox<T> {
    fn new(rx: mpsc::UnboundedReceiver<T>) -> Self {
        Inbox {
            rx,
            backlog: VecDeque::new(),
        }
    }

    async fn take(&mut self, what: &str, mut matches: impl FnMut(&T) -> bool) -> T {
        if let Some(at) = self.backlog.iter().position(&mut matches) {
            return self.backlog.remove(at).unwrap();
        }
        loop {
            let item = within(what, self.rx.recv())
                .await
                .expect("the server dropped its handler");
            if matches(&item) {
                return item;
            }
            self.backlog.push_back(item);
        }
    }

    /// Everything received so far, without waiting.
    fn drain_ready(&mut self) -> Vec<T> {
        while let Ok(item) = self.rx.try_recv() {
            self.backlog.push_back(item);
        }
        self.backlog.drain(..).collect()
    }
}

/// Wraps the engine's service to report each request whose response future
/// first returns `Pending`, keyed by method and target. For a long-poll GET
/// that is the moment it is parked in the engine waiting for frames, and for
/// a POST the moment the engine waits for body bytes: the only way for a
/// test to know a request is in flight without sleeping.
#[derive(Clone)]
struct Watched {
    inner: EngineService<NotFound>,
    parked: mpsc::UnboundedSender<String>,
}

type Inner = EngineService<NotFound>;
type InnerResponse = <Inner as Service<Request<Incoming>>>::Response;

impl Service<Request<Incoming>> for Watched {
    type Response = InnerResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<InnerResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<Incoming>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let key = format!("{} {}", request.method(), request.uri());
        let mut future = Box::pin(self.inner.call(request));
        let parked = self.parked.clone();
        let mut reported = false;
        Box::pin(std::future::poll_fn(move |cx| {
            let poll = future.as_mut().poll(cx);
            if poll.is_pending() && !reported {
                reported = true;
                let _ = parked.send(key.clone());
            }
            poll
        }))
    }
}

/// The handshake's open packet, parsed.
#[derive(Debug, Clone)]
pub struct Open {
    pub sid: String,
    pub json: serde_json::Value,
}

impl Open {
    /// Parses `0{...}`.
    #[track_caller]
    pub fn parse(packet: &str) -> Open {
        let json = packet
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {packet:?}"));
        let json: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
        let sid = json["sid"].as_str().expect("sid is a string").to_owned();
        Open { sid, json }
    }
}

/// Every request carries a fresh `t`, as real clients' cache busters do, so
/// that a test can recognise its own request among the parked ones.
fn stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A session opened before some bad input, to show the input touched only
/// its own session.
#[derive(Debug)]
pub struct Healthy {
    pub sid: String,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: Engine,
    events: tokio::sync::Mutex<Inbox<Event>>,
    parked: tokio::sync::Mutex<Inbox<String>>,
    shutdown: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with(EngineConfig::default(), ServeConfig::default()).await
    }

    pub async fn with_config(config: EngineConfig) -> TestServer {
        TestServer::with(config, ServeConfig::default()).await
    }

    pub async fn with(config: EngineConfig, serve_config: ServeConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let engine = Engine::new(config, Recorder { events: events_tx });
        let (parked_tx, parked_rx) = mpsc::unbounded_channel();
        let service = Watched {
            inner: engine.service(),
            parked: parked_tx,
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let serving = tokio::spawn(serve(
            listener,
            service,
            engine.clone(),
            serve_config,
            async move {
                let _ = stop_rx.await;
            },
        ));
        TestServer {
            addr,
            engine,
            events: tokio::sync::Mutex::new(Inbox::new(events_rx)),
            parked: tokio::sync::Mutex::new(Inbox::new(parked_rx)),
            shutdown: Some(stop_tx),
            serving: Some(serving),
        }
    }

    /// Resolves the shutdown future given to `serve`.
    pub fn begin_shutdown(&mut self) {
        let stop = self.shutdown.take().expect("shutdown already begun");
        stop.send(()).expect("serve is gone");
    }

    /// Waits for `serve` to return.
    pub async fn served(&mut self) -> io::Result<()> {
        let serving = self.serving.take().expect("already waited for");
        within("serve to return", serving)
            .await
            .expect("serve panicked")
    }

    // ---- handler events ----

    pub async fn next_event(&self, sid: &str) -> Event {
        self.events
            .lock()
            .await
            .take("a handler call", |e| e.sid() == sid)
            .await
    }

    /// The next `on_open` of any session.
    pub async fn opened(&self) -> (String, TransportKind) {
        match self
            .events
            .lock()
            .await
            .take("on_open", |e| matches!(e, Event::Open { .. }))
            .await
        {
            Event::Open { sid, transport } => (sid, transport),
            _ => unreachable!(),
        }
    }

    /// The next `on_message` of this session.
    pub async fn message(&self, sid: &str) -> Msg {
        let event = self
            .events
            .lock()
            .await
            .take(
                "on_message",
                |e| matches!(e, Event::Message { sid: s, .. } if s == sid),
            )
            .await;
        match event {
            Event::Message { message, .. } => message,
            _ => unreachable!(),
        }
    }

    /// The `on_close` of this session.
    pub async fn closed(&self, sid: &str) -> CloseReason {
        let event = self
            .events
            .lock()
            .await
            .take(
                "on_close",
                |e| matches!(e, Event::Close { sid: s, .. } if s == sid),
            )
            .await;
        match event {
            Event::Close { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Every handler call reported so far, without waiting.
    pub async fn events_so_far(&self) -> Vec<Event> {
        self.events.lock().await.drain_ready()
    }

    // ---- HTTP ----

    /// One request under the engine's path, on a connection of its own.
    pub async fn request(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let target = format!("/engine.io/?{query}");
        exchange(
            self.addr,
            &request(self.addr, method, &target, headers, body),
        )
        .await
    }

    pub async fn get(&self, query: &str) -> Reply {
        self.request("GET", query, &[], b"").await
    }

    /// Polling handshake; asserts it succeeded.
    pub async fn handshake(&self) -> Open {
        let reply = self
            .get(&format!("EIO=4&transport=polling&t={}", stamp()))
            .await;
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=UTF-8")
        );
        Open::parse(reply.ok_text())
    }

    fn session_query(sid: &str) -> String {
        format!("EIO=4&transport=polling&sid={sid}&t={}", stamp())
    }

    /// A long-poll GET, waited for to the end.
    pub async fn poll(&self, sid: &str) -> Reply {
        self.get(&Self::session_query(sid)).await
    }

    /// A long-poll GET that must succeed; its body.
    pub async fn poll_text(&self, sid: &str) -> String {
        self.poll(sid).await.ok_text().to_owned()
    }

    /// A POST of `body` to the session.
    pub async fn post(&self, sid: &str, body: &[u8]) -> Reply {
        self.request("POST", &Self::session_query(sid), &[], body)
            .await
    }

    /// A POST that must be answered `ok`.
    pub async fn post_ok(&self, sid: &str, body: &str) {
        let reply = self.post(sid, body.as_bytes()).await;
        assert_eq!(reply.ok_text(), "ok", "{reply:?}");
    }

    /// Waits until a request with this target is parked in the engine.
    async fn wait_parked(&self, method: &str, target: &str) {
        let key = format!("{method} {target}");
        self.parked
            .lock()
            .await
            .take("a request to be parked in the engine", |k| *k == key)
            .await;
    }

    /// Starts a long-poll GET and returns once the engine holds it waiting
    /// for frames; the handle yields its response.
    pub async fn parked_poll(&self, sid: &str) -> JoinHandle<Reply> {
        let mut conn = self.parked_poll_conn(sid).await;
        tokio::spawn(async move { conn.read_response().await.expect("long-poll response") })
    }

    /// Like [`TestServer::parked_poll`], but hands back the connection so the
    /// test can abort the request.
    pub async fn parked_poll_conn(&self, sid: &str) -> Conn {
        let target = format!("/engine.io/?{}", Self::session_query(sid));
        let mut conn = Conn::connect(self.addr).await;
        conn.send(&request(self.addr, "GET", &target, &[], b""))
            .await;
        self.wait_parked("GET", &target).await;
        conn
    }

    /// Starts a POST that declares `declared` body bytes but sends only
    /// `first`, and returns once the engine is waiting for the rest.
    pub async fn parked_post(&self, sid: &str, declared: usize, first: &[u8]) -> Conn {
        let target = format!("/engine.io/?{}", Self::session_query(sid));
        let length = declared.to_string();
        let mut conn = Conn::connect(self.addr).await;
        conn.send(&request(
            self.addr,
            "POST",
            &target,
            &[("Content-Length", &length)],
            first,
        ))
        .await;
        self.wait_parked("POST", &target).await;
        conn
    }

    // ---- healthy bystanders ----

    pub async fn healthy(&self) -> Healthy {
        let open = self.handshake().await;
        Healthy { sid: open.sid }
    }

    /// The bystander session still echoes, over a fresh POST and GET.
    pub async fn assert_healthy(&self, healthy: &Healthy) {
        let text = format!("still alive {}", stamp());
        self.post_ok(&healthy.sid, &format!("4{text}")).await;
        assert_eq!(
            self.message(&healthy.sid).await,
            Msg::Text(text.clone()),
            "bystander's message reached the handler"
        );
        assert_eq!(self.poll_text(&healthy.sid).await, format!("4{text}"));
    }

    /// The session is gone: its GET is refused as an unknown sid.
    pub async fn assert_gone(&self, sid: &str) {
        self.poll(sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
        assert!(
            self.engine.session(sid).is_none(),
            "engine still lists {sid}"
        );
    }
}
