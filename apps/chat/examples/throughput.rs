//! Chat messages stored and delivered per second:
//!
//! ```text
//! cargo run --release -p switchboard-chat --example throughput -- --database memory
//! cargo run --release -p switchboard-chat --example throughput -- --database sqlite:///tmp/chat-bench.db
//! ```
//!
//! The chat server runs in a child process (this program with `--serve`),
//! pinned to CPU 0 when `taskset` exists; the load runs here, on CPU 1.
//! `--clients` raw WebSocket clients join the chat; each sends
//! `chat:message` in a closed loop (the next once the ack for the last came
//! back, so every acknowledged message was committed first), and every
//! client receives every message. Prints acknowledged (stored) messages per
//! second and delivered `chat:message` events per second. Loopback only; it
//! ends by itself after `--seconds`.
//!
//! The full side-by-side benchmark is the job of `apps/bench`; this is the
//! measurement the chat server's issue asks for until then.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

#[derive(Parser)]
struct Args {
    /// sqlite://PATH, postgres://..., or memory.
    #[arg(long, default_value = "memory")]
    database: String,
    /// Clients, each sending in a closed loop and receiving everything.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Internal: run the server and print its port.
    #[arg(long, hide = true)]
    serve: bool,
}

fn main() -> Result<(), Error> {
    let args = Args::parse();
    if args.serve {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(serve(args.database));
    }
    let mut command = Command::new("taskset");
    command.args(["-c", "0"]).arg(std::env::current_exe()?);
    let pinned = Command::new("taskset").arg("-V").output().is_ok();
    let mut child = if pinned {
        command
    } else {
        Command::new(std::env::current_exe()?)
    }
    .args(["--serve", "--database", &args.database])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .ok_or("no port from the server")?
        .parse()?;
    if pinned {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(load(SocketAddr::from(([127, 0, 0, 1], port)), &args));
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

async fn serve(database: String) -> Result<(), Error> {
    let listener = switchboard::bind("127.0.0.1:0").await?;
    #[allow(clippy::print_stdout, reason = "the parent reads the port from stdout")]
    {
        println!("PORT {}", listener.local_addr()?.port());
    }
    let config = switchboard_chat::Config {
        database,
        ..Default::default()
    };
    // Ends when the parent closes our stdin.
    let stop = async {
        let _ =
            tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    };
    switchboard_chat::run(listener, config, stop).await
}

/// A connected client that joined the chat as `user<i>`.
async fn join(server: SocketAddr, i: usize) -> Result<Ws, Error> {
    let stream = tokio::net::TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    ws.send(Message::text("40")).await?;
    ws.send(Message::text(format!(r#"420["user:join","user{i}"]"#)))
        .await?;
    loop {
        let text = next_text(&mut ws).await?;
        if text.starts_with("430") {
            return Ok(ws);
        }
    }
}

/// The next text frame, answering pings on the way.
async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await.ok_or("connection closed")?? {
            Message::Text(text) if text.as_str() == "2" => ws.send(Message::text("3")).await?,
            Message::Text(text) => return Ok(text.to_string()),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Counts {
    acked: AtomicU64,
    delivered: AtomicU64,
}

async fn load(server: SocketAddr, args: &Args) -> Result<(), Error> {
    let mut clients = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        clients.push(join(server, i).await?);
    }
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(client(ws, i, deadline, counts.clone())))
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acked = counts.acked.load(Relaxed) as f64;
    let delivered = counts.delivered.load(Relaxed) as f64;
    eprintln!(
        "database={} clients={} seconds={elapsed:.1}: {:.0} messages stored and acknowledged/s, \
         {:.0} chat:message deliveries/s",
        args.database,
        args.clients,
        acked / elapsed,
        delivered / elapsed
    );
    Ok(())
}

/// Sends in a closed loop until `deadline`, counting acks and deliveries.
async fn client(mut ws: Ws, i: usize, deadline: Instant, counts: Arc<Counts>) -> Result<(), Error> {
    let mut id = 1u64;
    ws.send(Message::text(format!(
        r#"42{id}["chat:message","hello from {i}"]"#
    )))
    .await?;
    let ack = |id: u64| format!("43{id}[");
    let mut waiting = ack(id);
    loop {
        let text = match tokio::time::timeout_at(deadline.into(), next_text(&mut ws)).await {
            Ok(text) => text?,
            Err(_) => return Ok(()),
        };
        if text.starts_with(r#"42["chat:message""#) {
            counts.delivered.fetch_add(1, Relaxed);
        } else if text.starts_with(&waiting) {
            counts.acked.fetch_add(1, Relaxed);
            if Instant::now() >= deadline {
                return Ok(());
            }
            id += 1;
            waiting = ack(id);
            ws.send(Message::text(format!(
                r#"42{id}["chat:message","hello from {i}"]"#
            )))
            .await?;
        }
    }
}
