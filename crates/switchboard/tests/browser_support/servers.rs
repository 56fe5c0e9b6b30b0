//! The servers under test: this crate's, in-process, with the contract's
//! handlers, and Node's socket.io 4.8 (`tests/browser/reference-server.mjs`);
//! both restartable on their port.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{Value, json};
use switchboard::{ConnectError, Event, Io, Socket};
use switchboard_engine::ServeConfig;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower_layer::Layer;

use super::Tools;
use super::pages::pages;

/// A server under test, restartable on its port.
#[derive(Debug)]
pub enum Server {
    Switchboard(SwitchboardServer),
    Node(NodeServer),
}

impl Server {
    pub fn url(&self) -> String {
        match self {
            Server::Switchboard(s) => format!("http://{}", s.addr),
            Server::Node(s) => format!("http://127.0.0.1:{}", s.port),
        }
    }

    /// Stops the server (its listener first, then every connection) and
    /// starts it again on the same port.
    pub(super) async fn restart(&mut self) -> Result<(), String> {
        match self {
            Server::Switchboard(s) => {
                let addr = s.addr;
                std::mem::replace(s, SwitchboardServer::placeholder())
                    .stop()
                    .await;
                *s = SwitchboardServer::start(addr).await?;
            }
            Server::Node(s) => {
                let port = s.port;
                let tools = s.tools;
                s.stop().await;
                *s = NodeServer::start(tools, port).await?;
            }
        }
        Ok(())
    }

    pub async fn stop(self) {
        match self {
            Server::Switchboard(s) => s.stop().await,
            Server::Node(mut s) => s.stop().await,
        }
    }
}

/// Node's socket.io 4.8: `tests/browser/reference-server.mjs`.
#[derive(Debug)]
pub struct NodeServer {
    tools: &'static Tools,
    port: u16,
    child: Option<Child>,
}

impl NodeServer {
    /// Starts it on `port` (0 for a free one) and waits for its
    /// `listening <port>` line.
    pub async fn start(tools: &'static Tools, port: u16) -> Result<NodeServer, String> {
        let mut child = Command::new(&tools.node)
            .arg(tools.package.join("reference-server.mjs"))
            .args(["--port", &port.to_string()])
            .current_dir(&tools.package)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the reference server: {e}"))?;
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("the reference server said {line:?}, not `listening <port>`"))?;
        Ok(NodeServer {
            tools,
            port,
            child: Some(child),
        })
    }

    /// Closing its stdin makes it stop gracefully; then it exits.
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let status = child.wait().await.unwrap();
            assert!(
                status.success(),
                "the reference server exited with {status}"
            );
        }
    }
}

/// This crate's server with the contract's handlers, in-process.
#[derive(Debug)]
pub struct SwitchboardServer {
    pub addr: SocketAddr,
    stop: Option<(oneshot::Sender<()>, watch::Sender<bool>)>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SwitchboardServer {
    fn placeholder() -> Self {
        SwitchboardServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stop: None,
            task: None,
        }
    }

    /// Binds `addr` (port 0 for a free one) and serves until stopped.
    pub async fn start(addr: SocketAddr) -> Result<SwitchboardServer, String> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot bind {addr}: {e}"))?;
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (release, released) = watch::channel(false);
        let main = main_io();
        let recover = recover_io();
        let router = pages(released);
        // The two Socket.IO servers in front of the pages: each answers its
        // own path and passes the rest on.
        let service = main.layer().layer(recover.layer().layer(router));
        let engine = main.engine().clone();
        let task = tokio::spawn(async move {
            // `serve` drops the listener before it closes the sessions, so a
            // client cannot come back to this server while it stops.
            let served = switchboard_engine::serve(
                listener,
                service,
                engine,
                ServeConfig::default(),
                async {
                    let _ = stopped.await;
                },
            )
            .await;
            recover.close().await;
            served
        });
        Ok(SwitchboardServer {
            addr,
            stop: Some((stop, release)),
            task: Some(task),
        })
    }

    pub async fn stop(mut self) {
        if let Some((stop, release)) = self.stop.take() {
            // Held fake long-polls end first, so the graceful shutdown does
            // not wait for them.
            let _ = release.send(true);
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// Every argument as the client sent it, placeholders included.
type AnyArgs = Vec<Box<RawValue>>;

fn builder() -> switchboard::IoBuilder {
    // The contract's heartbeat: a ping every 300 ms, 2 s for the pong.
    Io::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_secs(2))
}

fn main_io() -> Io {
    let io = builder().build();
    let everyone = io.clone();
    io.on_connect(move |socket| {
        let _ = socket.emit("welcome", socket.id());
        socket.on("echo", |socket: Socket, event: Event<AnyArgs>| async move {
            let _ = socket.binary(event.binary).emit_args("echo", &event.data);
        });
        echo_ack(&socket);
        socket.on("ask", |socket: Socket, event: Event<AnyArgs>| async move {
            let (Some(ack), Some((name, args))) = (event.ack, event.data.split_first()) else {
                return;
            };
            let Ok(name) = serde_json::from_str::<String>(name.get()) else {
                return;
            };
            let answer = socket
                .timeout(Duration::from_secs(10))
                .binary(event.binary)
                .emit_args_with_ack::<AnyArgs, _>(&name, args)
                .await;
            let _ = match answer {
                Ok(answer) => ack.binary(answer.binary).send_args(&answer.data),
                Err(error) => ack.send(&json!({ "error": error.to_string() })),
            };
        });
        rooms(&socket);
        socket.on("kick", |socket: Socket, _: Event<AnyArgs>| async move {
            socket.disconnect();
        });
        socket.on("never-ack", |_: Socket, _: Event<AnyArgs>| async {});
        let everyone = everyone.clone();
        socket.on("chat message", move |_: Socket, event: Event<(Value,)>| {
            let _ = everyone.emit("chat message", &event.data.0);
            async {}
        });
    });
    io.of("/custom").on_connect(|socket| {
        let _ = socket.emit("welcome", socket.id());
        echo_ack(&socket);
    });
    let guarded = io.of("/guarded");
    guarded.use_middleware(|socket: Socket| async move {
        if socket.auth().get("token").and_then(Value::as_str) == Some("let-me-in") {
            Ok(())
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({ "reason": "bad token" })))
        }
    });
    guarded.on_connect(|socket| {
        let _ = socket.emit("hello", socket.auth());
    });
    io
}

/// The contract's `/recover/` server, with connection state recovery (and
/// Node's `skipMiddlewares`, as the reference server has; there is no
/// middleware here anyway).
fn recover_io() -> Io {
    let io = builder()
        .path("/recover/")
        .connection_state_recovery(switchboard::Recovery::new().skip_middlewares(true))
        .build();
    io.on_connect(|socket| {
        let _ = socket.emit("caps", &json!({ "recovery": true }));
        rooms(&socket);
        socket.on(
            "watch",
            |socket: Socket, event: Event<AnyArgs>| async move {
                socket.join("watchers");
                if let Some(ack) = event.ack {
                    let _ = ack.send_args(&[(); 0]);
                }
            },
        );
        socket.on_disconnect(|socket, _| async move {
            let _ = socket.namespace().to("watchers").emit("left", socket.id());
        });
    });
    io
}

fn echo_ack(socket: &Socket) {
    socket.on("echo-ack", |_: Socket, event: Event<AnyArgs>| async move {
        if let Some(ack) = event.ack {
            let _ = ack.binary(event.binary).send_args(&event.data);
        }
    });
}

fn rooms(socket: &Socket) {
    socket.on(
        "join",
        |socket: Socket, event: Event<(String,)>| async move {
            let (room,) = event.data;
            socket.join(room.clone());
            if let Some(ack) = event.ack {
                let _ = ack.send(&room);
            }
        },
    );
    socket.on(
        "to-room",
        |socket: Socket, event: Event<AnyArgs>| async move {
            let room = event
                .data
                .first()
                .and_then(|r| serde_json::from_str::<String>(r.get()).ok());
            let Some(room) = room else { return };
            let _ = socket
                .namespace()
                .to(room)
                .binary(event.binary)
                .emit_args("room", &event.data);
            if let Some(ack) = event.ack {
                let _ = ack.send_args(&[(); 0]);
            }
        },
    );
}
