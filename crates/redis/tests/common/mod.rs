//! What the Redis adapter's tests share: the machine's Redis (skipped
//! loudly when missing, failing in CI), private `redis-server`s for fault
//! tests, unique key prefixes, and switchboard nodes that speak the `do`
//! contract of `tests/node/cluster/clients.mjs`.
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]
#![allow(unreachable_pub, reason = "test harness module, not a library")]

use std::future::Future;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{Event, Io, IoBuilder, Placeholder, Socket};
use switchboard_redis::{RedisCluster, RedisConfig};
use switchboard_testkit::{Node, skip};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The machine's Redis.
pub const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

/// Only turns a hang into a failure; every wait ends on an event first.
pub const GUARD: Duration = Duration::from_secs(60);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    switchboard_testkit::within(GUARD, what, future).await
}

/// `tests/node`, with the official client, socket.io and the Node adapter.
pub fn node() -> Option<&'static Node> {
    Node::package("tests/node")
}

/// The machine's Redis URL, or `None` (skip reported; a failure in CI).
pub async fn shared_redis() -> Option<&'static str> {
    let reachable = async {
        let client = redis::Client::open(SHARED_REDIS).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    match tokio::time::timeout(Duration::from_secs(5), reachable).await {
        Ok(Some(_)) => Some(SHARED_REDIS),
        _ => {
            skip(
                "Redis is not running on 127.0.0.1:6379",
                "Start it (`redis-server --daemonize yes`) to run the Redis adapter tests",
            );
            None
        }
    }
}

/// A key prefix no other test uses, so tests can share one Redis.
pub fn unique_prefix(test: &str) -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random();
    format!("sbtest-{test}-{}-{n:08x}", std::process::id())
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A `redis-server` of this test's own on a free port.
#[derive(Debug)]
pub struct PrivateRedis {
    pub port: u16,
    pub url: String,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    /// Starts one, or `None` when `redis-server` is missing (skip reported;
    /// a failure in CI).
    pub async fn start() -> Option<PrivateRedis> {
        PrivateRedis::start_on(free_port()).await
    }

    /// The same on a given port.
    pub async fn start_on(port: u16) -> Option<PrivateRedis> {
        let mut redis = PrivateRedis {
            port,
            url: format!("redis://127.0.0.1:{port}"),
            child: None,
        };
        if !redis.launch().await {
            skip(
                "redis-server is not installed",
                "Install Redis to run the adapter's fault tests",
            );
            return None;
        }
        Some(redis)
    }

    /// Starts the server and waits for its "Ready to accept connections".
    async fn launch(&mut self) -> bool {
        let spawned = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        within("redis-server to be ready", async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Ready to accept connections") {
                    return;
                }
            }
            panic!(
                "redis-server on port {} exited before it was ready",
                self.port
            );
        })
        .await;
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        true
    }

    /// Kills the server (abruptly, as a crash).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill().await;
        assert!(self.launch().await, "redis-server disappeared");
    }

    /// A command on a connection of the test's own.
    pub async fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await.unwrap()
    }
}

/// One switchboard server with a Redis adapter, serving on a free port.
pub struct TestNode {
    pub io: Io,
    pub cluster: RedisCluster,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestNode {
    /// A node named `name` on Redis `config`, ready: its channels are
    /// subscribed when this returns.
    pub async fn start(name: &str, config: RedisConfig) -> TestNode {
        TestNode::start_with(name, config, |builder| builder).await
    }

    /// The same, with other settings of the server.
    pub async fn start_with(
        name: &str,
        config: RedisConfig,
        tune: impl FnOnce(IoBuilder) -> IoBuilder,
    ) -> TestNode {
        let cluster = RedisCluster::connect(config).await.unwrap();
        let io = tune(Io::builder().adapter(cluster.factory())).build();
        install_contract(&io, name);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let task = tokio::spawn(async move {
            served
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        });
        within("the node's channels to be subscribed", cluster.subscribed()).await;
        TestNode {
            io,
            cluster,
            url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = within("the node to stop", task).await;
        }
    }
}

/// One step the cluster scenario asks a server for.
#[derive(Debug, Deserialize)]
struct Op {
    op: String,
    marker: i64,
    room: Option<String>,
    rooms: Option<Vec<String>>,
    except: Option<String>,
    text: Option<String>,
    target: Option<String>,
}

/// The server side of `tests/node/cluster/clients.mjs`: the `do` event,
/// and the answers to the other servers' server-side emits.
pub fn install_contract(io: &Io, name: &str) {
    let main = io.of("/");
    let local = io.clone();
    main.on_server_side_emit("sse", move |args, _| {
        let text = args.first().cloned().unwrap_or(Value::Null);
        let _ = local.local().emit("sse", &text);
    });
    let name = Arc::<str>::from(name);
    main.on_server_side_emit("who", move |_, ack| {
        if let Some(ack) = ack {
            ack.send(json!(&*name));
        }
    });
    let io = io.clone();
    io.clone().on_connect(move |socket| {
        let io = io.clone();
        socket.on("do", move |socket: Socket, event: Event<(Op,)>| {
            let io = io.clone();
            async move {
                let (op,) = event.data;
                let marker = op.marker;
                let result = perform(&io, &socket, op).await;
                io.emit("marker", &marker).unwrap();
                if let Some(ack) = event.ack {
                    ack.send(&json!({"marker": marker, "result": result}))
                        .unwrap();
                }
            }
        });
    });
}

async fn perform(io: &Io, socket: &Socket, op: Op) -> Value {
    let text = op.text.clone().unwrap_or_default();
    let room = || op.room.clone().unwrap();
    let ns = io.of("/");
    match op.op.as_str() {
        "server-count" => json!(ns.adapter().server_count().await),
        "join" => {
            match &op.rooms {
                Some(rooms) => socket.join_all(rooms.clone()),
                None => socket.join(room()),
            }
            Value::Null
        }
        "emit" => {
            io.emit("msg", &text).unwrap();
            Value::Null
        }
        "local" => {
            io.local().emit("msg", &text).unwrap();
            Value::Null
        }
        "to" => {
            let mut to = io.broadcast();
            for room in op.rooms.clone().unwrap() {
                to = to.to(room);
            }
            to.emit("msg", &text).unwrap();
            Value::Null
        }
        "socket-to" => {
            socket.to(room()).emit("msg", &text).unwrap();
            Value::Null
        }
        "to-except" => {
            io.to(room())
                .except(op.except.clone().unwrap())
                .emit("msg", &text)
                .unwrap();
            Value::Null
        }
        "except" => {
            io.except(room()).emit("msg", &text).unwrap();
            Value::Null
        }
        "broadcast" => {
            socket.broadcast().emit("msg", &text).unwrap();
            Value::Null
        }
        "binary" => {
            io.broadcast()
                .binary(vec![Bytes::from_static(&[1, 2, 3])])
                .emit_args("bin", &(text, Placeholder(0)))
                .unwrap();
            Value::Null
        }
        "ack" => {
            let answers = io
                .timeout(Duration::from_secs(5))
                .emit_with_ack::<(String,), _>("question", "?")
                .await
                .unwrap();
            let mut labels: Vec<String> = answers
                .into_iter()
                .map(|(_, answer)| answer.map_or_else(|e| format!("error: {e}"), |a| a.data.0))
                .collect();
            labels.sort();
            json!(labels)
        }
        "fetch" => {
            let selection = match &op.room {
                Some(room) => io.to(room.clone()),
                None => io.broadcast(),
            };
            let mut sockets: Vec<Value> = selection
                .fetch_sockets()
                .await
                .unwrap()
                .into_iter()
                .map(|s| {
                    let mut rooms: Vec<String> = s.rooms.iter().map(|r| r.to_string()).collect();
                    rooms.sort();
                    json!({"id": s.id.to_string(), "rooms": rooms})
                })
                .collect();
            sockets.sort_by_key(|s| s["id"].as_str().unwrap().to_owned());
            json!(sockets)
        }
        "remote-join" => {
            io.to(op.target.clone().unwrap())
                .sockets_join([room()])
                .await
                .unwrap();
            Value::Null
        }
        "remote-leave" => {
            io.to(op.target.clone().unwrap())
                .sockets_leave([room()])
                .await
                .unwrap();
            Value::Null
        }
        "remote-disconnect" => {
            io.to(op.target.clone().unwrap())
                .disconnect_sockets(false)
                .await
                .unwrap();
            Value::Null
        }
        "all-rooms" => {
            let rooms = ns.adapter().all_rooms().await.unwrap();
            json!(rooms.iter().map(|r| r.to_string()).collect::<Vec<_>>())
        }
        "sse" => {
            ns.server_side_emit("sse", &(text,)).await.unwrap();
            Value::Null
        }
        "sse-ack" => {
            let mut names: Vec<String> = ns
                .server_side_emit_with_ack("who", &Vec::<Value>::new())
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            names.sort();
            json!(names)
        }
        other => panic!("unknown op {other}"),
    }
}
