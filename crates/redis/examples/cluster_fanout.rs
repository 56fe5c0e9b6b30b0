//! Cross-node fanout through Redis: two switchboard nodes in this process
//! on one Redis, N clients (switchboard-client, WebSocket) on node B, and
//! node A broadcasting `tick` at a fixed rate. Prints deliveries per
//! second and the latency from `emit` on A to the client's handler on B
//! (p50, p99, max), and the same with the clients on A for comparison.
//!
//! ```sh
//! cargo run --release -p switchboard-redis --example cluster_fanout -- [CLIENTS] [RATE] [SECONDS] [REDIS_URL]
//! ```
//!
//! Everything (both nodes, the clients, and Redis beside them) shares the
//! machine's cores: the numbers are a floor, not what separate machines
//! would give.
#![allow(
    clippy::print_stdout,
    reason = "a measuring program prints its results"
)]
#![allow(clippy::unwrap_used, reason = "an example that stops on any failure")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard::Io;
use switchboard_client::{Client, Event, Socket, Transport};
use switchboard_redis::{RedisCluster, RedisConfig};
use tokio::net::TcpListener;

struct Node {
    io: Io,
    url: String,
}

async fn node(redis: &str, prefix: &str) -> (Node, RedisCluster) {
    let cluster = RedisCluster::connect(RedisConfig::new(redis).key_prefix(prefix))
        .await
        .unwrap();
    let io = Io::builder().adapter(cluster.factory()).build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = io.clone();
    tokio::spawn(async move { served.serve(listener, std::future::pending()).await });
    cluster.subscribed().await;
    (Node { io, url }, cluster)
}

/// Latencies in microseconds, as the clients' handlers record them.
type Samples = Arc<Mutex<Vec<u32>>>;

async fn clients(url: &str, n: usize, epoch: Instant, samples: &Samples) -> Vec<Socket> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let samples = samples.clone();
        let socket = Client::builder(url)
            .transports(&[Transport::WebSocket])
            .on("tick", move |_: &Socket, event: &Event| {
                if let Ok((sent,)) = event.args::<(u64,)>() {
                    let micros = (epoch.elapsed().as_nanos() as u64).saturating_sub(sent) / 1_000;
                    samples.lock().unwrap().push(micros as u32);
                }
            })
            .connect()
            .await
            .unwrap();
        sockets.push(socket);
    }
    sockets
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

async fn measure(label: &str, from: &Io, to: &str, n: usize, rate: u64, seconds: u64) {
    let epoch = Instant::now();
    let samples: Samples = Arc::default();
    let sockets = clients(to, n, epoch, &samples).await;
    // Let the connections settle before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    samples.lock().unwrap().clear();
    let total = rate * seconds;
    let every = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let mut ticks = tokio::time::interval(every);
    let started = Instant::now();
    for _ in 0..total {
        ticks.tick().await;
        from.emit("tick", &(epoch.elapsed().as_nanos() as u64))
            .unwrap();
    }
    let send_secs = started.elapsed().as_secs_f64();
    let expected = total as usize * n;
    // Drain: until everything arrived or nothing more comes for a second.
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = samples.lock().unwrap().len();
        if now >= expected || now == last {
            break;
        }
        last = now;
    }
    let mut sorted = samples.lock().unwrap().clone();
    sorted.sort_unstable();
    println!(
        "{label}: {n} clients, {rate} msg/s for {seconds} s: {} of {expected} delivered, \
         {:.0} deliveries/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        sorted.len(),
        sorted.len() as f64 / send_secs,
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.99),
        percentile(&sorted, 1.0),
    );
    for socket in sockets {
        socket.io().close();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n, rate, seconds) = (number(0, 1000) as usize, number(1, 100), number(2, 5));
    let redis = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let prefix = format!("fanout-{}", std::process::id());
        let (a, _ca) = node(&redis, &prefix).await;
        let (b, cb) = node(&redis, &prefix).await;
        measure(
            "cross-node (A -> Redis -> B)",
            &a.io,
            &b.url,
            n,
            rate,
            seconds,
        )
        .await;
        measure("same node (A -> A)", &a.io, &a.url, n, rate, seconds).await;
        println!("node B's adapter: {:?}", cb.stats());
    });
}
