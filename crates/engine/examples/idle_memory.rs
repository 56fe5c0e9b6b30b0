//! Server memory per idle WebSocket session:
//! `cargo run --release -p switchboard-engine --example idle_memory -- --sessions 10000`
//!
//! Starts an echo engine in a child process (pinned to CPU 0 when `taskset`
//! exists), opens the sessions from this process (on CPU 1), each of which
//! completes the handshake and echoes one message so that its buffers have
//! been used, then prints the child's resident memory growth per session.
//! Clients bind to 127.0.0.2, 127.0.0.3, ... so that 10,000+ connections fit
//! in the ephemeral port range. Loopback only; it ends by itself.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use switchboard_engine::{
    CloseReason, Engine, EngineConfig, EngineHandler, Message, ServeConfig, Session, serve,
};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Parser)]
struct Args {
    /// Sessions to open.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Connections opened at the same time.
    #[arg(long, default_value_t = 256)]
    parallel: usize,
    /// Internal: run the server side and print its port.
    #[arg(long, hide = true)]
    serve: bool,
}

struct Echo;

impl EngineHandler for Echo {
    fn on_open(&self, _: &Session) {}
    fn on_message(&self, session: &Session, message: Message) {
        if let Message::Text(text) = message {
            let _ = session.send_text(&text);
        }
    }
    fn on_close(&self, _: &Session, _: CloseReason) {}
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.serve {
        return runtime.block_on(server());
    }
    runtime.block_on(measure(args))
}

async fn server() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::new(EngineConfig::default(), Echo);
    let listener = switchboard_engine::bind("127.0.0.1:0").await?;
    #[allow(clippy::print_stdout, reason = "the parent reads the port from stdout")]
    {
        println!("PORT {}", listener.local_addr()?.port());
    }
    // Ends when the parent closes our stdin.
    let shutdown = async {
        let _ =
            tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    };
    serve(
        listener,
        engine.service(),
        engine.clone(),
        ServeConfig::default(),
        shutdown,
    )
    .await?;
    Ok(())
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn measure(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let pinned = Command::new("taskset").arg("-V").output().is_ok();
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
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .ok_or("no port")?
        .parse()?;
    if pinned {
        // The load runs on the other core, so it does not steal the server's.
        // `-a`: every thread of this process, the runtime's workers included.
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
    let pid = child.id();
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let before = rss_bytes(pid);
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(args.sessions);
    let mut opened = futures_util::stream::iter(0..args.sessions)
        .map(|i| open(server, i))
        .buffer_unordered(args.parallel);
    while let Some(socket) = opened.next().await {
        sockets.push(socket?);
    }
    let elapsed = started.elapsed();
    // Let the server's tasks settle after the last handshake.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_bytes(pid);
    let per = (after.saturating_sub(before)) as f64 / args.sessions as f64;
    eprintln!(
        "sessions={} open_time={:.2}s ({:.0}/s) server_rss_before={} KiB after={} KiB \
         per_session={:.0} bytes",
        args.sessions,
        elapsed.as_secs_f64(),
        args.sessions as f64 / elapsed.as_secs_f64(),
        before / 1024,
        after / 1024,
        per
    );
    drop(sockets);
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(())
}

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens one session: handshake, open packet, one echoed message.
async fn open(server: SocketAddr, i: usize) -> Result<Client, Box<dyn std::error::Error>> {
    // 5,000 connections per source address stay well inside the ephemeral
    // port range of each.
    let source = Ipv4Addr::new(127, 0, 0, 2 + (i / 5_000) as u8);
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(server).await?;
    let url = format!("ws://{server}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    let open = ws.next().await.ok_or("closed before open")??;
    if !open.to_text()?.starts_with('0') {
        return Err("no open packet".into());
    }
    ws.send(WsMessage::text("4hello")).await?;
    let echo = ws.next().await.ok_or("closed before echo")??;
    if echo.to_text()? != "4hello" {
        return Err("bad echo".into());
    }
    Ok(ws)
}
