//! Raw Socket.IO clients for the bad-input tests: a tungstenite WebSocket
//! on which every Engine.IO and Socket.IO byte is written by hand, and an
//! in-process echo server that reports each socket's disconnection.
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the helpers"
)]

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard::{DisconnectReason, Event, Io, IoBuilder, Socket};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long any single wait may take before the test fails as hung. Never a
/// pass/fail threshold: every wait ends on an event long before this.
pub(crate) const GUARD: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it hangs.
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

// ---- panics ----

thread_local! {
    /// Panics on this thread. `#[tokio::test]` runs a current-thread
    /// runtime, so the server's tasks run on the test's own thread, and a
    /// panic in one of them (which tokio would otherwise swallow, showing
    /// the client nothing but a dropped connection) is counted here.
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
}

// ---- the server ----

/// An echo server on 127.0.0.1:0 with every other setting as `builder` has
/// it. On `/`, the event `echo` is acknowledged with its arguments and
/// attachments when the client asks for an ack, and otherwise emitted back
/// as `echo`; every socket's disconnection is reported to
/// [`Server::disconnected`].
pub(crate) async fn start(builder: IoBuilder) -> Server {
    count_panics();
    let io = builder.build();
    let (tx, disconnects) = mpsc::unbounded_channel();
    io.on_connect(move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |socket: Socket, reason| async move {
            let _ = tx.send((socket.id().to_owned(), reason));
        });
        socket.on(
            "echo",
            |socket: Socket, event: Event<Vec<Value>>| async move {
                match event.ack {
                    Some(ack) => {
                        let _ = ack.binary(event.binary).send_args(&event.data);
                    }
                    None => {
                        let _ = socket.binary(event.binary).emit_args("echo", &event.data);
                    }
                }
            },
        );
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = io.clone();
    let task = tokio::spawn(async move {
        serving
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Server {
        addr,
        io,
        disconnects,
        stop: Some(stop),
        task,
    }
}

/// A default server (ping interval 25 s, so heartbeats stay out of the way).
pub(crate) async fn start_default() -> Server {
    start(Io::builder()).await
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) io: Io,
    disconnects: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Waits for the socket `id` to disconnect and returns why; any other
    /// socket disconnecting first fails the test.
    pub(crate) async fn disconnected(&mut self, id: &str) -> DisconnectReason {
        let (who, reason) = within("a socket to disconnect", self.disconnects.recv())
            .await
            .unwrap();
        assert_eq!(who, id, "another socket disconnected ({reason})");
        assert!(
            self.io.of("/").socket(id).is_none(),
            "a disconnected socket is still in its namespace"
        );
        reason
    }

    /// Shuts the server down and checks that nothing panicked.
    pub(crate) async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within("the server to shut down", &mut self.task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(PANICS.with(Cell::get), 0, "something panicked");
    }
}

// ---- the client ----

/// What a client reads, with heartbeats already answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A Socket.IO packet: an Engine.IO message without its `4`.
    Packet(String),
    /// An attachment.
    Binary(Vec<u8>),
    /// The Engine.IO close packet `1`.
    EngineClose,
    /// A WebSocket close frame, with its code.
    CloseFrame(Option<u16>),
    /// The connection ended (or broke) without a close frame.
    End,
}

/// How the server closed a connection.
#[derive(Debug)]
pub(crate) struct Closed {
    /// The Engine.IO close packet came first.
    pub(crate) close_packet: bool,
    /// The close code of the WebSocket close frame, if one came.
    pub(crate) close_code: Option<u16>,
}

/// One raw Socket.IO client over a WebSocket.
pub(crate) struct Client {
    ws: WebSocketStream<TcpStream>,
    /// The socket id the server gave on `/`, once connected.
    pub(crate) id: String,
}

impl Client {
    /// Opens an Engine.IO session over WebSocket and reads its open packet;
    /// joins no namespace.
    pub(crate) async fn open(addr: SocketAddr) -> Client {
        let stream = within("TCP connect", TcpStream::connect(addr))
            .await
            .unwrap();
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(url, stream),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 101);
        let mut client = Client {
            ws,
            id: String::new(),
        };
        match within("the open packet", client.ws.next()).await {
            Some(Ok(Message::Text(text))) => {
                let open: Value = serde_json::from_str(
                    text.strip_prefix('0')
                        .unwrap_or_else(|| panic!("expected the open packet, got {text}")),
                )
                .unwrap();
                assert!(open["sid"].is_string(), "open packet without sid: {open}");
            }
            other => panic!("expected the open packet, got {other:?}"),
        }
        client
    }

    /// Opens a session and joins `/` with `40`.
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        let mut client = Client::open(addr).await;
        client.join("/").await;
        client
    }

    /// Joins `nsp` and records the socket id (on `/`); any answer other than
    /// the CONNECT acknowledgement fails the test.
    pub(crate) async fn join(&mut self, nsp: &str) -> String {
        let prefix = if nsp == "/" {
            "0".to_owned()
        } else {
            format!("0{nsp},")
        };
        self.send(&prefix).await;
        let reply = self.packet().await;
        let json = reply
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("expected the CONNECT answer {prefix}{{..}}, got {reply}"));
        let answer: Value = serde_json::from_str(json).unwrap();
        let id = answer["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("CONNECT answer without sid: {reply}"))
            .to_owned();
        if nsp == "/" {
            self.id.clone_from(&id);
        }
        id
    }

    /// Sends one Socket.IO packet (the `4` of the Engine.IO message is
    /// added here).
    pub(crate) async fn send(&mut self, packet: &str) {
        self.send_engine(&format!("4{packet}")).await;
    }

    /// Sends one Engine.IO text message exactly as given.
    pub(crate) async fn send_engine(&mut self, text: &str) {
        within("a WebSocket write", self.ws.send(Message::text(text)))
            .await
            .unwrap();
    }

    /// Sends one binary message (an attachment).
    pub(crate) async fn send_binary(&mut self, bytes: &[u8]) {
        within(
            "a WebSocket write",
            self.ws.send(Message::binary(bytes.to_vec())),
        )
        .await
        .unwrap();
    }

    /// The next thing the server sends, answering Engine.IO pings on the way.
    pub(crate) async fn next(&mut self) -> Incoming {
        loop {
            match within("the server", self.ws.next()).await {
                Some(Ok(Message::Text(text))) => match text.as_bytes().first() {
                    Some(b'4') => return Incoming::Packet(text[1..].to_owned()),
                    Some(b'2') => {
                        // Best effort: the server may be closing.
                        let pong = format!("3{}", &text[1..]);
                        let _ = self.ws.send(Message::text(pong)).await;
                    }
                    Some(b'1') => return Incoming::EngineClose,
                    Some(b'6') => {}
                    _ => panic!("unexpected Engine.IO packet {text:?}"),
                },
                Some(Ok(Message::Binary(bytes))) => return Incoming::Binary(bytes.to_vec()),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    return Incoming::CloseFrame(frame.map(|f| u16::from(f.code)));
                }
                None | Some(Err(_)) => return Incoming::End,
            }
        }
    }

    /// The next Socket.IO packet; anything else fails the test.
    pub(crate) async fn packet(&mut self) -> String {
        match self.next().await {
            Incoming::Packet(text) => text,
            other => panic!("expected a Socket.IO packet, got {other:?}"),
        }
    }

    /// The next attachment; anything else fails the test.
    pub(crate) async fn binary(&mut self) -> Vec<u8> {
        match self.next().await {
            Incoming::Binary(bytes) => bytes,
            other => panic!("expected an attachment, got {other:?}"),
        }
    }

    /// Reads until the server has closed this connection: the Engine.IO
    /// close packet and then the end of the WebSocket, or either alone. A
    /// Socket.IO packet or attachment first fails the test.
    pub(crate) async fn closed(&mut self) -> Closed {
        let mut close_packet = false;
        loop {
            match self.next().await {
                Incoming::EngineClose if !close_packet => close_packet = true,
                Incoming::CloseFrame(code) => {
                    return Closed {
                        close_packet,
                        close_code: code,
                    };
                }
                Incoming::End => {
                    return Closed {
                        close_packet,
                        close_code: None,
                    };
                }
                other => panic!("expected the server to close the connection, got {other:?}"),
            }
        }
    }

    /// Emits `echo` asking for an ack and checks the ack carries the
    /// arguments back: the connection is alive and its events are handled.
    pub(crate) async fn assert_echo(&mut self) {
        self.send(r#"27["echo","still here",1]"#).await;
        assert_eq!(self.packet().await, r#"37["still here",1]"#);
        self.send(r#"2["echo",{"a":[true]}]"#).await;
        assert_eq!(self.packet().await, r#"2["echo",{"a":[true]}]"#);
    }
}

// ---- the common shape of a test ----

/// One message a misbehaving client sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Out<'a> {
    /// A Socket.IO packet (sent as Engine.IO message `4<packet>`).
    Packet(&'a str),
    /// An Engine.IO text message exactly as given.
    Engine(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl Client {
    pub(crate) async fn send_all(&mut self, messages: &[Out<'_>]) {
        for message in messages {
            match *message {
                Out::Packet(text) => self.send(text).await,
                Out::Engine(text) => self.send_engine(text).await,
                Out::Binary(bytes) => self.send_binary(bytes).await,
            }
        }
    }
}

/// The shape of most tests: on a server built from `builder`, a healthy
/// client joins `/`, then an offender joins `/` and sends `messages`. The
/// server must close the offender's connection (and disconnect its socket,
/// as a forced server close), without panicking, and the healthy client
/// must still get its echoes.
pub(crate) async fn closes_only_offender_with(builder: IoBuilder, messages: &[Out<'_>]) {
    let mut server = start(builder).await;
    let mut healthy = Client::connect(server.addr).await;
    let mut offender = Client::connect(server.addr).await;
    offender.send_all(messages).await;
    offender.closed().await;
    assert_eq!(
        server.disconnected(&offender.id).await,
        DisconnectReason::ForcedServerClose
    );
    healthy.assert_echo().await;
    server.finish().await;
}

/// [`closes_only_offender_with`] on a default server.
pub(crate) async fn closes_only_offender(messages: &[Out<'_>]) {
    closes_only_offender_with(Io::builder(), messages).await;
}

/// [`closes_only_offender`] for one Socket.IO packet.
pub(crate) async fn closes_on_packet(packet: &str) {
    closes_only_offender(&[Out::Packet(packet)]).await;
}
