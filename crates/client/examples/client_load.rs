//! What switchboard-client costs as a load generator: memory per idle
//! connection, and events decoded per second.
//!
//! ```text
//! ulimit -n 20000
//! cargo run --release -p switchboard-client --example client_load -- idle 10000
//! cargo run --release -p switchboard-client --example client_load -- decode 1 5
//! cargo run --release -p switchboard-client --example client_load -- decode 1000 5
//! cargo run --release -p switchboard-client --example client_load -- fanout 1000 100000 5
//! ```
//!
//! - `idle N`: a switchboard server runs in a child process (this program
//!   with `serve`, pinned to CPU 0 when `taskset` exists); this process,
//!   on a current-thread runtime, opens N WebSocket clients from 127.0.0.2,
//!   127.0.0.3, ... (2,500 per address) and prints its own resident memory
//!   growth per connection once all are connected, and how fast they opened.
//! - `decode C S`: a fake server thread in this process sends C clients the
//!   same `chat:message` event as fast as the sockets take it (once all are
//!   connected), for S seconds;
//!   each client's handler counts it and reads one field of its arguments.
//!   Prints events per second and per CPU second of the client's thread
//!   (its own CPU time, so the fake server's work is not counted).
//! - `fanout C RATE S`: the bench's pattern. The fake server broadcasts
//!   MESSAGE to all C clients, RATE deliveries per second in total, one
//!   frame per write, so each delivery usually costs the client a wakeup
//!   and a read of its own (`decode` sends bursts, which one read takes
//!   many of). Prints the client thread's CPU per delivery.

#![allow(
    clippy::print_stdout,
    reason = "a measuring program prints its results"
)]
#![allow(clippy::unwrap_used, reason = "an example that stops on any failure")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use switchboard_client::{Client, Event, Socket, Transport};
use tokio::io::AsyncBufReadExt as _;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("serve") => serve(),
        Some("idle") => idle(number(1, 10_000) as usize),
        Some("decode") => decode(number(1, 1) as usize, number(2, 5), None),
        Some("fanout") => decode(
            number(1, 1000) as usize,
            number(3, 5),
            Some(number(2, 100_000)),
        ),
        _ => {
            eprintln!(
                "usage: client_load idle N | decode CLIENTS SECONDS | \
                 fanout CLIENTS RATE SECONDS | serve"
            );
            std::process::exit(2);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The child process: switchboard with an `echo` event, until stdin closes.
fn serve() {
    runtime().block_on(async {
        let io = switchboard::Io::new();
        io.on_connect(|socket| {
            socket.on(
                "echo",
                |_: switchboard::Socket, ev: switchboard::Event<Vec<Value>>| async move {
                    if let Some(ack) = ev.ack {
                        let _ = ack.send_args(&ev.data);
                    }
                },
            );
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        let stdin_closed = async {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        };
        io.serve(listener, stdin_closed).await.unwrap();
    });
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// CPU time of the calling thread: user and kernel.
fn thread_cpu() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|t| t.parse().ok()).unwrap_or(0) };
    // USER_HZ is 100 on Linux.
    (
        Duration::from_millis(ticks(11) * 10),
        Duration::from_millis(ticks(12) * 10),
    )
}

fn idle(clients: usize) {
    let exe = std::env::current_exe().unwrap();
    let pinned = Command::new("taskset").arg("-V").output().is_ok();
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let mut child = command
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    if pinned {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
    let url = format!("http://127.0.0.1:{port}");
    runtime().block_on(async {
        // One client first, so the runtime's and the allocator's one-time
        // costs are not counted per connection.
        let warm = Client::builder(&url)
            .transports(&[Transport::WebSocket])
            .connect()
            .await
            .unwrap();
        let before = rss();
        let started = Instant::now();
        let mut sockets = Vec::with_capacity(clients);
        // At most 256 handshakes in flight, as a load generator would.
        let mut pending = futures_util::stream::iter(0..clients)
            .map(|i| {
                let local = IpAddr::V4(Ipv4Addr::new(
                    127,
                    0,
                    (2 + i / 2500 / 250) as u8,
                    (2 + i / 2500 % 250) as u8,
                ));
                Client::builder(&url)
                    .transports(&[Transport::WebSocket])
                    .local_address(local)
                    .on("chat:message", |_: &Socket, _: &Event| {})
                    .connect()
            })
            .buffer_unordered(256);
        while let Some(socket) = pending.next().await {
            sockets.push(socket.unwrap());
        }
        let elapsed = started.elapsed();
        // Let every connection's first reads and writes settle.
        let echo: u8 = sockets[clients - 1]
            .emit_with_ack("echo", &1)
            .await
            .unwrap();
        assert_eq!(echo, 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss();
        println!(
            "{clients} idle WebSocket clients: {:.0} bytes of client RSS per connection \
             ({:.1} MB in total); opened in {:.2} s ({:.0} connections/s)",
            (after.saturating_sub(before)) as f64 / clients as f64,
            (after.saturating_sub(before)) as f64 / 1e6,
            elapsed.as_secs_f64(),
            clients as f64 / elapsed.as_secs_f64(),
        );
        for socket in &sockets {
            socket.io().close();
        }
        warm.disconnect().await;
    });
    drop(child.stdin.take());
    let _ = child.wait();
}

const MESSAGE: &str = r#"42["chat:message",{"id":"m-000123","room":"general","user":"alice","text":"hello, how is everyone doing today?","ts":1763776000000}]"#;

/// A fake server: for each connection, the handshake, the CONNECT answer,
/// then, once `go` is set, MESSAGE as fast as the socket takes it until
/// `stop`.
async fn blaster(
    listener: TcpListener,
    go: tokio::sync::watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
    paced: Option<tokio::sync::broadcast::Sender<()>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let stop = stop.clone();
        let mut go = go.clone();
        // Subscribed before the client can see its CONNECT answer, so no
        // broadcast is missed.
        let mut ticks = paced
            .as_ref()
            .map(tokio::sync::broadcast::Sender::subscribe);
        tokio::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            let open = r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
            ws.send(Message::text(open)).await.unwrap();
            let _connect = ws.next().await;
            ws.send(Message::text(r#"40{"sid":"a"}"#)).await.unwrap();
            let _ = go.wait_for(|go| *go).await;
            let frame = Message::text(MESSAGE);
            if let Some(ticks) = ticks.as_mut() {
                // One frame per broadcast, written alone, as a server
                // fanning out a chat message does.
                loop {
                    match ticks.recv().await {
                        Ok(()) => {}
                        // Behind: the client did not keep up; carry on
                        // with the newest, as a server's queue would.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    }
                    if ws.send(frame.clone()).await.is_err() {
                        return;
                    }
                }
            }
            while !stop.load(Relaxed) {
                for _ in 0..64 {
                    if ws.feed(frame.clone()).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The `ts` field of MESSAGE's argument text, found by hand as the bench
/// finds its send time.
fn ts_of(args_json: &str) -> Option<u64> {
    const KEY: &str = "\"ts\":";
    let start = args_json.find(KEY)? + KEY.len();
    let digits = args_json[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    digits.parse().ok()
}

/// Broadcasts to every connection `rate` deliveries per second in total,
/// in ticks of a millisecond, until `stop`.
async fn pace(
    paced: tokio::sync::broadcast::Sender<()>,
    clients: usize,
    rate: u64,
    mut go: tokio::sync::watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
) {
    let _ = go.wait_for(|go| *go).await;
    let per_second = rate as f64 / clients as f64;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while !stop.load(Relaxed) {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * per_second) as u64;
        while sent < due {
            let _ = paced.send(());
            sent += 1;
        }
    }
}

fn decode(clients: usize, seconds: u64, rate: Option<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr: SocketAddr = std_listener.local_addr().unwrap();
    let server_stop = stop.clone();
    let (go, go_rx) = tokio::sync::watch::channel(false);
    let server = std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            let paced = rate.map(|_| tokio::sync::broadcast::channel(1024).0);
            if let (Some(paced), Some(rate)) = (&paced, rate) {
                let pacer = pace(
                    paced.clone(),
                    clients,
                    rate,
                    go_rx.clone(),
                    server_stop.clone(),
                );
                tokio::spawn(pacer);
            }
            blaster(listener, go_rx, server_stop, paced).await;
        });
    });
    let count = Arc::new(AtomicU64::new(0));
    let bench_like = rate.is_some();
    runtime().block_on(async {
        let url = format!("http://{addr}");
        let mut sockets = Vec::new();
        for i in 0..clients {
            let count = count.clone();
            let local = IpAddr::V4(Ipv4Addr::new(127, 0, 0, (2 + i / 2500) as u8));
            let socket = Client::builder(&url)
                .transports(&[Transport::WebSocket])
                .local_address(local)
                .on("chat:message", move |_: &Socket, ev: &Event| {
                    if bench_like {
                        // The bench's handler: every client counts, every
                        // tenth also reads a field from the argument text.
                        if i % 10 == 0 && ts_of(ev.args_json()).is_none() {
                            return;
                        }
                        count.fetch_add(1, Relaxed);
                        return;
                    }
                    // A typed handler: deserialise and read the timestamp.
                    #[derive(serde::Deserialize)]
                    struct Message {
                        ts: u64,
                    }
                    let (message,): (Message,) = ev.args().unwrap();
                    if message.ts > 0 {
                        count.fetch_add(1, Relaxed);
                    }
                })
                .connect()
                .await
                .unwrap();
            sockets.push(socket);
        }
        go.send_replace(true);
        let cpu0 = thread_cpu();
        let n0 = count.load(Relaxed);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let events = count.load(Relaxed) - n0;
        let wall = t0.elapsed().as_secs_f64();
        let cpu1 = thread_cpu();
        let user = (cpu1.0 - cpu0.0).as_secs_f64();
        let cpu = user + (cpu1.1 - cpu0.1).as_secs_f64();
        println!(
            "{clients} client(s), {MESSAGE_LEN}-byte events: {:.0} events/s decoded and handled; \
             client thread CPU {:.2} s of {:.2} s -> {:.0} events per CPU second \
             ({:.2} us per event, {:.2} us of it in user space)",
            events as f64 / wall,
            cpu,
            wall,
            events as f64 / cpu.max(0.001),
            1e6 * cpu / (events as f64).max(1.0),
            1e6 * user / (events as f64).max(1.0),
            MESSAGE_LEN = MESSAGE.len(),
        );
        stop.store(true, Relaxed);
        for socket in &sockets {
            socket.io().close();
        }
    });
    // The fake server's accept loop runs until the process ends.
    drop(server);
}
