//! Socket.IO load: server memory per idle connection, and broadcast fan-out.
//!
//! ```text
//! ulimit -n 20000
//! cargo run --release -p switchboard --example load -- idle --clients 10000
//! cargo run --release -p switchboard --example load -- fanout --clients 1000 --seconds 10
//! ```
//!
//! The server runs in a child process (this program again, with `--serve`),
//! pinned to CPU 0 when `taskset` exists; this process, the load, pins
//! itself to CPU 1 before it starts its runtime, so neither steals the
//! other's core. Clients are raw WebSocket Socket.IO clients bound to
//! 127.0.0.2, 127.0.0.3, ... so that 10,000+ connections fit in the ephemeral
//! port range, and they answer the server's pings while connected. Loopback
//! only; every wait is bounded and the run ends by itself.
//!
//! - `idle`: each client connects to `/` and joins room `room-<i % 100>`,
//!   acknowledged by the server. Prints the server's resident memory growth
//!   per connection, and how fast the connections were opened.
//! - `fanout`: a control client on `/control` asks the server for rounds of
//!   broadcasts (`emit("tick", {"seq":n,"text":"hello"})` to all of `/`), which
//!   it sends as fast as it can. The next round starts once every client has
//!   received the last one, so no client's bounded queue (1,024 packets by
//!   default) overflows merely because the load fell behind. Prints
//!   deliveries per second, the server's CPU time and the load's own CPU use;
//!   when the load used over 70% of its core, it may have been the limit and
//!   the result is flagged.
//!
//! Each process needs one file descriptor per connection, and Rust cannot
//! raise `RLIMIT_NOFILE` without libc: run under `ulimit -n 20000` (or more).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use switchboard::{Event, Io, Socket};
use tokio::net::TcpSocket;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Internal: run the server side and print its port.
    #[arg(long, hide = true)]
    serve: bool,
}

#[derive(Subcommand, Clone, Copy)]
enum Mode {
    /// Server memory per idle connection that joined a room.
    Idle {
        /// Connections to open.
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// Connections being opened at the same time.
        #[arg(long, default_value_t = 256)]
        parallel: usize,
    },
    /// Broadcast deliveries per second to every connection.
    Fanout {
        /// Connections that receive the broadcasts.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// How long to keep starting rounds of broadcasts.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Messages per round; at most the server's queue bound per client.
        #[arg(long, default_value_t = 100)]
        round: u64,
        /// Connections being opened at the same time.
        #[arg(long, default_value_t = 256)]
        parallel: usize,
    },
}

/// Connections per source address: well inside the 28,000-port default
/// ephemeral range of each, with room for sockets in TIME_WAIT.
const PER_ADDRESS: usize = 5_000;

/// Connections the server's listener queues before accepting them.
const BACKLOG: u32 = 4_096;

/// The server lets its other tasks (the writers) run after this many
/// broadcasts: it has one core, and queued frames reach nobody until then.
const YIELD_EVERY: u64 = 10;

/// The server's default outgoing queue bound, in packets per client.
const QUEUE_PACKETS: u64 = 1_024;

/// How long a connection may take to open, and how long a round may go
/// without any client finishing it, before the run gives up.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`).
const CLOCK_TICKS: f64 = 100.0;

/// Over this share of its core, the load may be what limited the rate.
const LOAD_CPU_TRUSTED: f64 = 0.70;

/// Over this share of either core used by other processes, the server and
/// the load were not alone on the machine.
const OTHERS_CPU_TRUSTED: f64 = 0.10;

/// How a broadcast arrives: `42` (Socket.IO EVENT on `/`) and the name.
const TICK: &str = "42[\"tick\"";

fn main() -> Result<(), Error> {
    let args = Args::parse();
    if args.serve {
        return tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve());
    }
    let Some(mode) = args.mode else {
        return Err("choose a mode: `idle` or `fanout` (see --help)".into());
    };
    let (Mode::Idle { clients, .. } | Mode::Fanout { clients, .. }) = mode;
    check_fd_limit(clients)?;
    let server = Server::start()?;
    // Built after pinning, so that its thread runs on CPU 1 too; one thread,
    // because the load has one core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        match mode {
            Mode::Idle { clients, parallel } => idle(&server, clients, parallel).await,
            Mode::Fanout {
                clients,
                seconds,
                round,
                parallel,
            } => fanout(&server, clients, seconds, round, parallel).await,
        }
    });
    // Closes every client connection before the server is asked to stop, so
    // that its graceful shutdown has nobody left to wait for.
    drop(runtime);
    drop(server);
    result
}

// ---- the server (child process) ----

async fn serve() -> Result<(), Error> {
    // Warnings (accept failures, slow clients disconnected) go to stderr,
    // which the parent shares; stdout carries the port.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let io = Io::new();
    io.on_connect(|socket| {
        socket.on(
            "join",
            |socket: Socket, event: Event<(String,)>| async move {
                let (room,) = event.data;
                socket.join(room);
                if let Some(ack) = event.ack {
                    let _ = ack.send(&true);
                }
            },
        );
    });
    let main = io.of("/");
    io.of("/control").on_connect(move |socket| {
        let main = main.clone();
        // `go(first, count)`: broadcasts ticks `first..first + count` to `/`,
        // then acknowledges with the count.
        socket.on("go", move |_: Socket, event: Event<(u64, u64)>| {
            let main = main.clone();
            async move {
                let (first, count) = event.data;
                for seq in first..first + count {
                    let tick = serde_json::json!({ "seq": seq, "text": "hello" });
                    let _ = main.emit("tick", &tick);
                    if (seq + 1) % YIELD_EVERY == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                if let Some(ack) = event.ack {
                    let _ = ack.send(&count);
                }
            }
        });
    });
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    // `TcpListener::bind` listens with a backlog of 128, fewer than the load
    // opens at once: the excess SYNs were dropped and retried a second later,
    // which measured the retry timer instead of the server.
    let listener = socket.listen(BACKLOG)?;
    #[allow(clippy::print_stdout, reason = "the parent reads the port from stdout")]
    {
        println!("PORT {}", listener.local_addr()?.port());
    }
    // Ends when the parent closes our stdin (or exits).
    let shutdown = async {
        let _ =
            tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    };
    io.serve(listener, shutdown).await?;
    Ok(())
}

/// The server child process; asked to stop when dropped.
struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    pinned: bool,
}

impl Server {
    /// Starts the server on CPU 0 and moves this process to CPU 1.
    fn start() -> Result<Server, Error> {
        let exe = std::env::current_exe()?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pinned = cores >= 2 && Command::new("taskset").arg("-V").output().is_ok();
        let mut command = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let mut child = command
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        // taskset execs the server, so the child's pid is the server's.
        let pid = child.id();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the server did not report its port (got {line:?})").into());
        };
        let mut pinned_self = false;
        if pinned {
            // Every thread of this process (`-a`), though only the main one
            // exists yet.
            pinned_self = Command::new("taskset")
                .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        }
        Ok(Server {
            child,
            pid,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            pinned: pinned && pinned_self,
        })
    }

    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid));
        status
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing its stdin is the server's shutdown signal.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// User plus system CPU time of a process (`self` for this one), in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name in parentheses may hold spaces; fields after it start
    // with the state (field 3), so utime and stime (14 and 15) are 11 and 12.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    (field(11).unwrap_or(0) + field(12).unwrap_or(0)) as f64 / CLOCK_TICKS
}

/// Busy time (user, nice, system) of CPUs 0 and 1, in seconds: what the
/// server and the load used of them, plus whatever else ran there.
fn cores_busy() -> [f64; 2] {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut busy = [0.0; 2];
    for line in stat.lines() {
        for (core, name) in ["cpu0 ", "cpu1 "].into_iter().enumerate() {
            if let Some(times) = line.strip_prefix(name) {
                let ticks: u64 = times
                    .split_whitespace()
                    .take(3)
                    .filter_map(|t| t.parse::<u64>().ok())
                    .sum();
                busy[core] = ticks as f64 / CLOCK_TICKS;
            }
        }
    }
    busy
}

/// Fails early, with the fix, when this process (and so the server, which
/// inherits the limit) cannot hold a descriptor per connection.
fn check_fd_limit(clients: usize) -> Result<(), Error> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<usize>().ok());
    // Stdio, the runtime, the control connection and the listener.
    let needed = clients + 64;
    match soft {
        Some(limit) if limit < needed => Err(format!(
            "{clients} connections need about {needed} file descriptors per process but the \
             limit is {limit}: run under `ulimit -n {}`",
            needed.max(20_000)
        )
        .into()),
        _ => Ok(()),
    }
}

/// An I/O error with the fix when it is the descriptor or port limit.
fn io_error(error: std::io::Error) -> Error {
    match error.raw_os_error() {
        // EMFILE, ENFILE
        Some(24 | 23) => format!(
            "out of file descriptors ({error}): run under `ulimit -n 20000`, one descriptor \
             per connection in each process"
        )
        .into(),
        // EADDRNOTAVAIL
        Some(99) => format!("out of local ports ({error}): open fewer connections").into(),
        _ => error.into(),
    }
}

// ---- clients ----

/// Opens a WebSocket and joins namespace `nsp`: open packet, CONNECT, and
/// the server's CONNECT with the socket id.
async fn connect(server: SocketAddr, i: usize, nsp: &str) -> Result<Ws, Error> {
    let source = Ipv4Addr::new(127, 0, 0, 2 + u8::try_from(i / PER_ADDRESS)?);
    let socket = TcpSocket::new_v4().map_err(io_error)?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .map_err(io_error)?;
    let stream = socket.connect(server).await.map_err(io_error)?;
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    // A small read buffer: tungstenite's 128 KiB default, touched on the
    // first read, would cost the load 1.3 GB at 10,000 clients.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected the open packet, got {open:?}").into());
    }
    let prefix = if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    };
    ws.send(WsMessage::text(format!("40{prefix}"))).await?;
    let reply = next_text(&mut ws).await?;
    if !reply.starts_with(&format!("40{prefix}{{\"sid\":")) {
        return Err(format!("expected CONNECT to {nsp}, got {reply:?}").into());
    }
    Ok(ws)
}

/// The next text message, answering Engine.IO pings on the way.
async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(text))) if text.as_str() == "2" => {
                ws.send(WsMessage::text("3")).await?;
            }
            Some(Ok(WsMessage::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(WsMessage::Binary(_))) => return Err("unexpected binary message".into()),
            Some(Ok(WsMessage::Close(_))) | None => return Err("connection closed".into()),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
        }
    }
}

/// Emits `event(arg)` on `nsp` with ack id `id` and waits for the ack.
async fn call(ws: &mut Ws, nsp: &str, id: u64, event: &str, args: &str) -> Result<(), Error> {
    let prefix = if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    };
    let packet = format!("42{prefix}{id}[\"{event}\",{args}]");
    ws.send(WsMessage::text(packet)).await?;
    let ack = format!("43{prefix}{id}[");
    loop {
        let text = next_text(ws).await?;
        if text.starts_with(&ack) {
            return Ok(());
        }
    }
}

/// What the clients saw, shared by their tasks and the control.
struct Stats {
    base: Instant,
    /// Ticks received by each client.
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    /// Nanoseconds after `base`, plus one (0: none yet).
    first: AtomicU64,
    last: AtomicU64,
    /// The tick count that completes the current round, and how many
    /// clients reached it.
    target: AtomicU64,
    reached: AtomicUsize,
    /// Clients whose connection ended.
    ended: AtomicUsize,
    progress: Notify,
}

impl Stats {
    fn new(clients: usize) -> Stats {
        Stats {
            base: Instant::now(),
            counts: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            first: AtomicU64::new(0),
            last: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            reached: AtomicUsize::new(0),
            ended: AtomicUsize::new(0),
            progress: Notify::new(),
        }
    }

    fn delivered(&self, client: usize) {
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        let _ = self.first.compare_exchange(0, now, Relaxed, Relaxed);
        self.last.fetch_max(now, Relaxed);
        self.total.fetch_add(1, Relaxed);
        let count = self.counts[client].fetch_add(1, Relaxed) + 1;
        if count == self.target.load(Relaxed) {
            self.reached.fetch_add(1, Relaxed);
            self.progress.notify_one();
        }
    }

    /// Waits until every client reached the target or ended; false when
    /// nobody made progress for [`STALL_TIMEOUT`].
    async fn round_done(&self) -> bool {
        loop {
            if self.reached.load(Relaxed) + self.ended.load(Relaxed) >= self.counts.len() {
                return true;
            }
            let progress = self.progress.notified();
            if tokio::time::timeout(STALL_TIMEOUT, progress).await.is_err() {
                return false;
            }
        }
    }

    /// Seconds from the first delivery to the last.
    fn delivery_span(&self) -> f64 {
        let (first, last) = (self.first.load(Relaxed), self.last.load(Relaxed));
        Duration::from_nanos(last.saturating_sub(first)).as_secs_f64()
    }
}

/// A connected client: counts ticks and answers pings until its connection
/// ends or the runtime is dropped.
async fn listen(mut ws: Ws, client: usize, stats: Arc<Stats>) {
    loop {
        let text = match ws.next().await {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break,
            Some(Ok(_)) => continue,
        };
        if text.starts_with(TICK) {
            stats.delivered(client);
        } else if text.as_str() == "2" {
            if ws.send(WsMessage::text("3")).await.is_err() {
                break;
            }
        } else if text.as_str() == "1" || text.starts_with("41") {
            // Engine.IO close, or Socket.IO DISCONNECT from `/`.
            break;
        }
    }
    stats.ended.fetch_add(1, Relaxed);
    stats.progress.notify_one();
}

/// Opens `clients` connections to `/`, `parallel` at a time, each prepared by
/// `setup`, and leaves each with a task that keeps it alive.
async fn open_all<F, Fut>(
    server: SocketAddr,
    clients: usize,
    parallel: usize,
    stats: &Arc<Stats>,
    setup: F,
) -> Result<Duration, Error>
where
    F: Fn(usize, Ws) -> Fut,
    Fut: Future<Output = Result<Ws, Error>>,
{
    let started = Instant::now();
    let mut opened = futures_util::stream::iter(0..clients)
        .map(|i| {
            let setup = &setup;
            async move {
                let ws = tokio::time::timeout(OPEN_TIMEOUT, async {
                    setup(i, connect(server, i, "/").await?).await
                })
                .await
                .map_err(|_| format!("connection {i} took over {OPEN_TIMEOUT:?} to open"))??;
                Ok::<_, Error>((i, ws))
            }
        })
        .buffer_unordered(parallel.max(1));
    while let Some(opened) = opened.next().await {
        let (i, ws) = opened?;
        tokio::spawn(listen(ws, i, stats.clone()));
    }
    Ok(started.elapsed())
}

// ---- the modes ----

async fn idle(server: &Server, clients: usize, parallel: usize) -> Result<(), Error> {
    let stats = Arc::new(Stats::new(clients));
    // Let the server finish starting before its baseline is taken.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss_bytes();
    let opening = open_all(
        server.addr,
        clients,
        parallel,
        &stats,
        |i, mut ws| async move {
            let room = format!("\"room-{}\"", i % 100);
            call(&mut ws, "/", 0, "join", &room).await?;
            Ok(ws)
        },
    )
    .await?;
    // Let the server's tasks settle after the last join.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_bytes();
    let ended = stats.ended.load(Relaxed);
    let per = after.saturating_sub(before) as f64 / clients.max(1) as f64;
    #[allow(clippy::print_stdout, reason = "the report is the output")]
    {
        println!("mode=idle clients={clients} pinned={}", server.pinned);
        println!(
            "open+connect+join: {:.2} s, {:.0} connections/s",
            opening.as_secs_f64(),
            clients as f64 / opening.as_secs_f64()
        );
        println!(
            "server rss: before={} KiB after={} KiB, {per:.0} bytes per connection",
            before / 1024,
            after / 1024
        );
        if ended > 0 {
            println!("WARNING: {ended} connections ended before the measurement");
        }
    }
    Ok(())
}

async fn fanout(
    server: &Server,
    clients: usize,
    seconds: u64,
    round: u64,
    parallel: usize,
) -> Result<(), Error> {
    if round == 0 || round > QUEUE_PACKETS {
        return Err(
            format!("--round must be 1..={QUEUE_PACKETS}, the server's queue bound").into(),
        );
    }
    let stats = Arc::new(Stats::new(clients));
    let opening = open_all(server.addr, clients, parallel, &stats, |_, ws| async {
        Ok(ws)
    })
    .await?;
    // Not on `/`, so that it receives no ticks itself.
    let mut control = connect(server.addr, clients, "/control").await?;

    let server_cpu = server.cpu_seconds();
    let own_cpu = cpu_seconds("self");
    let cores = cores_busy();
    let started = Instant::now();
    let mut sent = 0;
    let mut rounds = 0;
    let mut stalled = false;
    while started.elapsed() < Duration::from_secs(seconds) {
        // Every client has all of the previous round: nothing is in flight.
        stats.reached.store(0, Relaxed);
        stats.target.store(sent + round, Relaxed);
        let args = format!("{sent},{round}");
        tokio::time::timeout(
            STALL_TIMEOUT,
            call(&mut control, "/control", rounds, "go", &args),
        )
        .await
        .map_err(|_| "the server did not acknowledge a round")??;
        sent += round;
        rounds += 1;
        if !stats.round_done().await {
            stalled = true;
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = server.cpu_seconds() - server_cpu;
    let own_cpu = cpu_seconds("self") - own_cpu;
    let cores_now = cores_busy();
    // Softirq time is not in these counts, so the difference is what other
    // processes ran on each core.
    let others = [
        (cores_now[0] - cores[0] - server_cpu).max(0.0) / wall,
        (cores_now[1] - cores[1] - own_cpu).max(0.0) / wall,
    ];
    let own_cpu = own_cpu / wall;

    let total = stats.total.load(Relaxed);
    let expected = sent * clients as u64;
    let complete = stats
        .counts
        .iter()
        .filter(|c| c.load(Relaxed) == sent)
        .count();
    let ended = stats.ended.load(Relaxed);
    let span = stats.delivery_span();
    #[allow(clippy::print_stdout, reason = "the report is the output")]
    {
        println!(
            "mode=fanout clients={clients} round={round} pinned={}",
            server.pinned
        );
        println!(
            "opened {clients} connections in {:.2} s ({:.0}/s)",
            opening.as_secs_f64(),
            clients as f64 / opening.as_secs_f64()
        );
        println!("rounds={rounds} messages broadcast={sent} window={wall:.2} s");
        println!(
            "deliveries: received={total} expected={expected} ({}), clients with every \
             message={complete}/{clients}, disconnected={ended}",
            if total == expected { "all" } else { "MISSING" }
        );
        println!(
            "first to last delivery: {span:.3} s, {:.0} deliveries/s ({:.0} over the whole \
             window, waits between rounds included)",
            total as f64 / span.max(f64::EPSILON),
            total as f64 / wall
        );
        println!(
            "server cpu: {server_cpu:.2} s ({:.0}% of its core), {:.0} ns per delivery",
            100.0 * server_cpu / wall,
            1e9 * server_cpu / total.max(1) as f64
        );
        let verdict = if own_cpu > LOAD_CPU_TRUSTED {
            "NOT TRUSTWORTHY: the load may have been the limit"
        } else {
            "ok"
        };
        println!("load cpu: {:.0}% of its core ({verdict})", 100.0 * own_cpu);
        if server.pinned {
            let verdict = if others.iter().any(|&o| o > OTHERS_CPU_TRUSTED) {
                "NOT TRUSTWORTHY: the machine was not quiet"
            } else {
                "ok"
            };
            println!(
                "other processes: {:.0}% of CPU 0, {:.0}% of CPU 1 ({verdict})",
                100.0 * others[0],
                100.0 * others[1]
            );
        }
        if stalled {
            println!(
                "STALLED: no client finished a round for {STALL_TIMEOUT:?}; some ticks never arrived"
            );
        }
    }
    Ok(())
}
