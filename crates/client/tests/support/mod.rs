//! The two servers the client is tested against, speaking one event
//! contract (written at the top of `tests/node/client/server.mjs`):
//! switchboard in this process, and Node's socket.io 4.8 as a child process.
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(unreachable_pub, reason = "test harness module, not a library")]
#![allow(dead_code, reason = "each test uses its own part of the harness")]

pub mod tls;

/// Two tests from one scenario taking a [`Kind`]: against switchboard and
/// against Node. Arguments after the kind follow the scenario's name in
/// parentheses: `both!(round_trips(&[Transport::Polling], "polling"): a, b)`.
macro_rules! both {
    // One thread, named: the connection's task runs only when the test
    // awaits, which some scenarios count on (tests/queue.rs).
    ($scenario:ident $(($($arg:expr),* $(,)?))?: $switchboard:ident, $node:ident) => {
        #[tokio::test(flavor = "current_thread")]
        async fn $switchboard() {
            $scenario(Kind::Switchboard $($(, $arg)*)?).await;
        }

        #[tokio::test(flavor = "current_thread")]
        async fn $node() {
            $scenario(Kind::Node $($(, $arg)*)?).await;
        }
    };
}

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{ConnectError, Event, Io, Recovery, Socket};
use switchboard_testkit::Script;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Turns a hang into a failure; never a pass/fail threshold.
pub const GUARD: Duration = Duration::from_secs(30);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    switchboard_testkit::within(GUARD, what, future).await
}

/// The answer to a contract event that takes no arguments and
/// acknowledges with one (`transport`, `auth`).
async fn ask<T: serde::de::DeserializeOwned>(
    socket: &switchboard_client::Socket,
    event: &str,
) -> T {
    socket
        .emit_with_ack_raw(event, &(), Vec::new(), GUARD)
        .await
        .unwrap()
        .first()
        .unwrap()
}

/// The transport the server sees for this client socket.
pub async fn server_transport(socket: &switchboard_client::Socket) -> String {
    ask(socket, "transport").await
}

/// The auth the server saw in this socket's CONNECT.
pub async fn server_auth(socket: &switchboard_client::Socket) -> Value {
    ask(socket, "auth").await
}

/// Waits until the server sees `expected` for this socket: an upgrade
/// finishes in the background, and each round trip is an event to wait
/// on, bounded by the guard.
pub async fn until_transport(socket: &switchboard_client::Socket, expected: &str) {
    within("the server to see the expected transport", async {
        while server_transport(socket).await != expected {}
    })
    .await;
}

pub async fn next<T>(what: &str, rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    within(what, rx.recv())
        .await
        .unwrap_or_else(|| panic!("channel closed while waiting for {what}"))
}

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Switchboard,
    Node,
}

/// A running server of either kind.
#[derive(Debug)]
pub enum Server {
    Switchboard(SwitchboardServer),
    Node(Box<Script>, SocketAddr),
}

impl Server {
    /// Starts a server of `kind` on a free port; `None` when Node is not
    /// installed and this is not CI (the skip was reported).
    pub async fn start(kind: Kind) -> Option<Server> {
        Server::start_on(kind, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// A server with connection state recovery on (every emit then carries
    /// an offset as its last argument, so the other scenarios run without).
    pub async fn start_recovering(kind: Kind) -> Option<Server> {
        Server::launch(kind, SocketAddr::from(([127, 0, 0, 1], 0)), true).await
    }

    pub async fn start_on(kind: Kind, addr: SocketAddr) -> Option<Server> {
        Server::launch(kind, addr, false).await
    }

    /// Behind a gate that refuses every HTTP request and upgrade without
    /// the header `x-gate: open` (an HTTP error status).
    pub async fn start_gated(kind: Kind) -> Option<Server> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Some(match kind {
            Kind::Switchboard => Server::Switchboard(SwitchboardServer::start_gated(addr).await),
            Kind::Node => Server::node(addr, "gated").await?,
        })
    }

    /// A server using `socket.io-msgpack-parser`'s format.
    pub async fn start_msgpack(kind: Kind) -> Option<Server> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Some(match kind {
            Kind::Switchboard => {
                Server::Switchboard(SwitchboardServer::launch(addr, Setup::MsgPack).await)
            }
            Kind::Node => Server::node(addr, "msgpack").await?,
        })
    }

    async fn launch(kind: Kind, addr: SocketAddr, recovery: bool) -> Option<Server> {
        Some(match kind {
            Kind::Switchboard => {
                Server::Switchboard(SwitchboardServer::start(addr, recovery).await)
            }
            Kind::Node => Server::node(addr, if recovery { "recovery" } else { "plain" }).await?,
        })
    }

    async fn node(addr: SocketAddr, mode: &str) -> Option<Server> {
        let node = switchboard_testkit::Node::package("tests/node")?;
        let port = addr.port().to_string();
        let mut script = node.start("client/server.mjs", &[&port, mode]);
        let port: u16 = script.line_starting("listening ").await.parse().unwrap();
        Some(Server::Node(
            Box::new(script),
            SocketAddr::from(([127, 0, 0, 1], port)),
        ))
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Server::Switchboard(s) => s.addr,
            Server::Node(_, addr) => *addr,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Stops the server: switchboard shuts down gracefully, Node is killed.
    pub async fn stop(self) {
        match self {
            Server::Switchboard(s) => s.stop().await,
            Server::Node(script, _) => drop(script),
        }
    }
}

/// switchboard serving the contract on a local port.
#[derive(Debug)]
pub struct SwitchboardServer {
    pub addr: SocketAddr,
    io: Io,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SwitchboardServer {
    pub async fn start(addr: SocketAddr, recovery: bool) -> SwitchboardServer {
        let setup = if recovery {
            Setup::Recovery
        } else {
            Setup::Plain
        };
        SwitchboardServer::launch(addr, setup).await
    }

    /// Behind a gate, as a gateway in front of a server would be: any
    /// request without `x-gate: open` (a polling GET or POST, the WebSocket
    /// upgrade) is sent to a path the server does not serve, so it is
    /// answered 404 and never reaches Socket.IO.
    pub async fn start_gated(addr: SocketAddr) -> SwitchboardServer {
        SwitchboardServer::launch(addr, Setup::Gated).await
    }

    async fn launch(addr: SocketAddr, setup: Setup) -> SwitchboardServer {
        let io = contract_io(setup);
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let stopped = async {
            let _ = stopped.await;
        };
        let task = if setup == Setup::Gated {
            let inner = io.service();
            let gate = tower::service_fn(move |mut request: http::Request<_>| {
                if request.headers().get("x-gate").is_none_or(|v| v != "open") {
                    *request.uri_mut() = http::Uri::from_static("/refused-by-the-gate");
                }
                tower::ServiceExt::oneshot(inner.clone(), request)
            });
            let engine = io.engine().clone();
            tokio::spawn(switchboard_engine::serve(
                listener,
                gate,
                engine,
                switchboard_engine::ServeConfig::default(),
                stopped,
            ))
        } else {
            tokio::spawn(async move { served.serve(listener, stopped).await })
        };
        SwitchboardServer {
            addr,
            io,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            within("the server to stop", task).await.unwrap().unwrap();
        }
    }
}

impl Drop for SwitchboardServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The modes of `tests/node/client/server.mjs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Plain,
    Recovery,
    Gated,
    MsgPack,
}

/// The contract of `tests/node/client/server.mjs`, on switchboard.
fn contract_io(setup: Setup) -> Io {
    let mut builder = Io::builder();
    match setup {
        Setup::Recovery => {
            builder = builder.connection_state_recovery(
                Recovery::new()
                    .max_disconnection_duration(Duration::from_secs(60))
                    .skip_middlewares(true),
            );
        }
        Setup::MsgPack => builder = builder.parser(switchboard::Parser::MsgPack),
        Setup::Plain | Setup::Gated => {}
    }
    let io = builder.build();
    io.on_connect(|socket| contract(&socket));
    io.of("/admin").on_connect(|socket| {
        socket.emit("welcome", "admin").unwrap();
        contract(&socket);
    });
    let private = io.of("/private");
    private.use_middleware(|socket: Socket| async move {
        if socket.auth().get("token") == Some(&json!("secret")) {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({"code": "E_AUTH"})))
        }
    });
    private.on_connect(|socket| contract(&socket));
    io
}

fn contract(socket: &Socket) {
    socket.on("echo", |_: Socket, event: Event<Vec<Value>>| async move {
        if let Some(ack) = event.ack {
            ack.binary(event.binary).send_args(&event.data).unwrap();
        }
    });
    socket.on(
        "emit-back",
        |socket: Socket, event: Event<Vec<Value>>| async move {
            socket
                .binary(event.binary)
                .emit_args("back", &event.data)
                .unwrap();
        },
    );
    socket.on("ask", |socket: Socket, event: Event<(Value,)>| async move {
        let asked = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack::<Vec<Value>, _>("question", &event.data.0)
            .await;
        match asked {
            // As Node's `emitWithAck`: the answer's first argument.
            Ok(answer) => socket
                .binary(answer.binary)
                .emit("answer", &answer.data[0])
                .unwrap(),
            Err(e) => socket.emit("answer", &format!("error: {e}")).unwrap(),
        }
    });
    socket.on("never", |_: Socket, _: Event<Vec<Value>>| async move {});
    socket.on("transport", |socket: Socket, event: Event<()>| async move {
        let name = socket.session().transport().as_str();
        event.ack.unwrap().send(name).unwrap();
    });
    socket.on("auth", |socket: Socket, event: Event<()>| async move {
        event.ack.unwrap().send(socket.auth()).unwrap();
    });
    socket.on(
        "header",
        |socket: Socket, event: Event<(String,)>| async move {
            let headers = socket.handshake().headers;
            let value = headers.get(&event.data.0).and_then(|v| v.to_str().ok());
            event.ack.unwrap().send(&value).unwrap();
        },
    );
    socket.on("disconnect-me", |socket: Socket, _: Event<()>| async move {
        socket.disconnect();
    });
    socket.on(
        "close-transport",
        |socket: Socket, _: Event<()>| async move {
            socket.close_connection();
        },
    );
    socket.on(
        "tick",
        |socket: Socket, event: Event<(Value,)>| async move {
            socket.namespace().emit("tick", &event.data.0).unwrap();
        },
    );
    socket.on("drop-and-miss", |socket: Socket, _: Event<()>| async move {
        // Broadcast once the server has seen the socket go, so the client
        // can only get them by recovering.
        socket.on_disconnect(|socket: Socket, _| async move {
            socket.namespace().emit("missed", &1).unwrap();
            socket.namespace().emit("missed", &2).unwrap();
        });
        socket.close_connection();
    });
    socket
        .emit(
            "hello",
            &json!({"recovered": socket.recovered(), "id": socket.id()}),
        )
        .unwrap();
}
