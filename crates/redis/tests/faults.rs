//! The adapter when Redis misbehaves, each test on a private
//! `redis-server` it starts on a free port (never the shared one): Redis
//! restarted mid-traffic, the pub/sub connections killed, garbage on the
//! channels, requests without answers, Redis missing at start.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::time::{Duration, Instant};

use common::{PrivateRedis, TestNode, free_port, node, shared_redis, unique_prefix, within};
use switchboard::{AckError, AdapterError};
use switchboard_redis::{ConnectError, RedisCluster, RedisConfig};
use switchboard_testkit::Script;

/// Waits until the script printed every line of `expected`, in any order.
async fn expect_lines(script: &mut Script, expected: &[&str]) {
    let mut missing: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    while !missing.is_empty() {
        let line = within(&format!("lines {missing:?}"), script.line())
            .await
            .unwrap_or_else(|| panic!("script ended; still missing {missing:?}"));
        missing.retain(|m| *m != line);
    }
}

/// Emits `text` from `from` every 50 ms until the returned guard drops:
/// how a test sees that cross-node delivery is back without guessing when.
fn keep_emitting(from: &TestNode, text: &'static str) -> tokio::task::JoinHandle<()> {
    let io = from.io.clone();
    tokio::spawn(async move {
        loop {
            let _ = io.emit("msg", text);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Waits for `line` while probes are being emitted; returns how long it took.
async fn until_delivered(
    script: &mut Script,
    from: &TestNode,
    text: &'static str,
    line: &str,
) -> Duration {
    let start = Instant::now();
    let probes = keep_emitting(from, text);
    within(line, script.line_starting(line)).await;
    probes.abort();
    start.elapsed()
}

/// A private Redis, two nodes `a` and `b` on it, and a listening client
/// on each (`c0` on a, `c1` on b) that has seen a first broadcast.
struct Pair {
    redis: PrivateRedis,
    a: TestNode,
    b: TestNode,
    clients: Script,
}

impl Pair {
    /// `None` when Node or redis-server is missing (skip reported).
    async fn start(test: &str, tune: impl Fn(RedisConfig) -> RedisConfig) -> Option<Pair> {
        let node = node()?;
        let redis = PrivateRedis::start().await?;
        let prefix = unique_prefix(test);
        let config = || tune(RedisConfig::new(redis.url.clone()).key_prefix(prefix.clone()));
        let a = TestNode::start("a", config()).await;
        let b = TestNode::start("b", config()).await;
        let mut clients = node.start("cluster/listen.mjs", &[&a.url, &b.url]);
        clients.line_starting("ready").await;
        a.io.emit("msg", "before").unwrap();
        expect_lines(&mut clients, &["got c0 before", "got c1 before"]).await;
        Some(Pair {
            redis,
            a,
            b,
            clients,
        })
    }

    async fn stop(self) {
        drop(self.clients);
        self.a.stop().await;
        self.b.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_traffic() {
    let Some(mut p) = Pair::start("restart", |c| c).await else {
        return;
    };
    // Traffic keeps flowing from both nodes while Redis goes away.
    let traffic = [
        keep_emitting(&p.a, "traffic-a"),
        keep_emitting(&p.b, "traffic-b"),
    ];
    p.redis.kill().await;
    // Local delivery goes on without Redis, and nothing panics.
    p.a.io.emit("msg", "local-a").unwrap();
    p.b.io.emit("msg", "local-b").unwrap();
    expect_lines(&mut p.clients, &["got c0 local-a", "got c1 local-b"]).await;
    let fetched = p.a.io.broadcast().fetch_sockets().await;
    assert!(
        fetched.is_err(),
        "a request while Redis is away fails: {fetched:?}"
    );
    for task in traffic {
        task.abort();
    }

    p.redis.restart().await;
    let a_to_b = until_delivered(&mut p.clients, &p.a, "back-a", "got c1 back-a").await;
    let b_to_a = until_delivered(&mut p.clients, &p.b, "back-b", "got c0 back-b").await;
    // A measurement, not a threshold (see the issue's note on timings).
    eprintln!(
        "cross-node delivery back {a_to_b:?} after Redis returned (a -> b), then b -> a in {b_to_a:?}"
    );
    assert!(p.a.cluster.stats().subscriber_connects >= 2);
    assert!(p.b.cluster.stats().publisher_connects >= 2);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_connections_killed() {
    let Some(mut p) = Pair::start("kill", |c| c).await else {
        return;
    };
    let killed = p.redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    assert_eq!(killed, redis::Value::Int(2), "both subscribers killed");

    let a_to_b = until_delivered(&mut p.clients, &p.a, "again-a", "got c1 again-a").await;
    let b_to_a = until_delivered(&mut p.clients, &p.b, "again-b", "got c0 again-b").await;
    eprintln!("resubscribed: delivery back in {a_to_b:?} (a -> b) and {b_to_a:?} (b -> a)");
    for n in [&p.a, &p.b] {
        let stats = n.cluster.stats();
        assert!(stats.subscriber_connects >= 2, "{stats:?}");
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_answering_is_replaced() {
    // Quick liveness checks, so the test is short.
    let quick = |c: RedisConfig| {
        c.liveness_interval(Duration::from_millis(100))
            .command_timeout(Duration::from_millis(300))
    };
    let Some(mut p) = Pair::start("silent", quick).await else {
        return;
    };
    // Every connection stays open but nothing is answered: what a
    // half-dead network path looks like from here.
    p.redis.command(&["CLIENT", "PAUSE", "1500", "ALL"]).await;
    let back = until_delivered(&mut p.clients, &p.a, "after-pause", "got c1 after-pause").await;
    eprintln!("delivery back {back:?} after the pause began (it lasts 1.5 s)");
    for n in [&p.a, &p.b] {
        let stats = n.cluster.stats();
        assert!(stats.liveness_failures >= 1, "the PING noticed: {stats:?}");
        assert!(
            stats.subscriber_connects >= 2,
            "and the connection was replaced: {stats:?}"
        );
    }
    p.stop().await;
}

// One thread: the ten emits below run without yielding, so the publisher
// cannot take messages off the queue in the middle of the burst (its batch
// drains whatever it finds, which on a second worker made the count of
// refused messages depend on scheduling).
#[tokio::test(flavor = "current_thread")]
async fn a_full_publish_queue_refuses_at_once() {
    let Some(mut p) = Pair::start("queue", |c| c.publish_queue(2)).await else {
        return;
    };
    // Redis stops answering: the publisher waits on its batch, the queue
    // (2 messages) fills, and every broadcast past it is refused at once.
    p.redis.command(&["CLIENT", "PAUSE", "1500", "ALL"]).await;
    let before = p.a.cluster.stats().publish_dropped;
    for i in 0..10 {
        p.a.io.emit("msg", &format!("queued-{i}")).unwrap();
    }
    // One may be in the publisher's hands, two in the queue; the others
    // are dropped at once (counted, logged once), not waited for.
    let refused = p.a.cluster.stats().publish_dropped - before;
    assert!(refused >= 7, "refused {refused} of 10");
    // Local delivery went on for all ten.
    let local: Vec<String> = (0..10).map(|i| format!("got c0 queued-{i}")).collect();
    let local: Vec<&str> = local.iter().map(String::as_str).collect();
    expect_lines(&mut p.clients, &local).await;
    // And once Redis answers again, so does the cluster.
    until_delivered(&mut p.clients, &p.a, "after-full", "got c1 after-full").await;
    p.stop().await;
}

/// Messages no decoder accepts: empty, invalid MessagePack, cut JSON,
/// wrong shapes, unknown types, a missing request id, deep nesting.
fn garbage() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = [
        &b""[..],
        b"\xc1",
        b"{",
        b"not msgpack at all",
        b"\x93\x01\x02\x03",
        b"\x93\xa1u\x80\x80",
        br#"{"type":99}"#,
        br#"{"uid":"x","type":5}"#,
        b"[1,2,3]",
    ]
    .iter()
    .map(|g| g.to_vec())
    .collect();
    all.push([vec![0x91u8; 5_000], vec![0xc0]].concat());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_channels_is_ignored_and_counted() {
    let Some(mut p) = Pair::start("garbage", |c| c).await else {
        return;
    };
    let prefix = p.a.cluster.key_prefix().to_owned();
    let client = redis::Client::open(p.redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channels = [
        format!("{prefix}#/#"),
        format!("{prefix}#/#some-room#"),
        format!("{prefix}-request#/#"),
        format!("{prefix}-response#/#"),
    ];
    let mut sent = 0;
    for channel in &channels {
        for message in garbage() {
            let _: i64 = redis::cmd("PUBLISH")
                .arg(channel)
                .arg(message)
                .query_async(&mut conn)
                .await
                .unwrap();
            sent += 1;
        }
    }
    // Then a well-formed broadcast, as a Node server would send it, on the
    // same connection: once it is delivered, all the garbage was handled.
    // ["zzzzzz", {type: 2, data: ["msg", "after"], nsp: "/"}, {rooms: [], except: [], flags: {}}]
    let valid = b"\x93\xa6zzzzzz\x83\xa4type\x02\xa4data\x92\xa3msg\xa5after\xa3nsp\xa1/\
        \x83\xa5rooms\x90\xa6except\x90\xa5flags\x80";
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channels[0])
        .arg(&valid[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    expect_lines(&mut p.clients, &["got c0 after", "got c1 after"]).await;
    for n in [&p.a, &p.b] {
        assert_eq!(
            n.cluster.stats().garbage,
            sent,
            "every garbage message counted once"
        );
    }

    // The nodes still work both ways.
    p.a.io.emit("msg", "still-a").unwrap();
    p.b.io.emit("msg", "still-b").unwrap();
    expect_lines(
        &mut p.clients,
        &[
            "got c0 still-a",
            "got c1 still-a",
            "got c0 still-b",
            "got c1 still-b",
        ],
    )
    .await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_time_out_with_a_typed_error() {
    let Some(redis) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("timeout");
    let timeout = Duration::from_millis(300);
    let a = TestNode::start(
        "a",
        RedisConfig::new(redis)
            .key_prefix(prefix.clone())
            .requests_timeout(timeout),
    )
    .await;
    // A "server" that subscribes like one (so it is counted) and never answers.
    let client = redis::Client::open(redis).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent
        .subscribe(format!("{prefix}-request#/#"))
        .await
        .unwrap();
    assert_eq!(a.io.of("/").adapter().server_count().await, 2);

    let started = Instant::now();
    let fetched = a.io.broadcast().fetch_sockets().await;
    assert!(matches!(fetched, Err(AdapterError::Timeout)), "{fetched:?}");
    assert!(started.elapsed() >= timeout);
    let rooms = a.io.of("/").adapter().all_rooms().await;
    assert!(matches!(rooms, Err(AdapterError::Timeout)), "{rooms:?}");
    let answers =
        a.io.of("/")
            .server_side_emit_with_ack("who", &Vec::<u8>::new())
            .await;
    assert!(matches!(answers, Err(AckError::Timeout)), "{answers:?}");
    drop(silent);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_missing_at_start() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    // A clear error by default...
    let refused = RedisCluster::connect(RedisConfig::new(url.clone())).await;
    assert!(
        matches!(refused, Err(ConnectError::Unreachable { .. })),
        "{refused:?}"
    );
    let invalid = RedisCluster::connect(RedisConfig::new("http://nope")).await;
    assert!(
        matches!(invalid, Err(ConnectError::InvalidUrl { .. })),
        "{invalid:?}"
    );
    // ...or local-only until Redis answers, when asked.
    let cluster = RedisCluster::connect_lazy(RedisConfig::new(url))
        .await
        .unwrap();
    let io = switchboard::Io::builder()
        .adapter(cluster.factory())
        .build();
    assert!(!cluster.connected());
    io.emit("msg", "local only").unwrap();
    assert_eq!(io.of("/").adapter().server_count().await, 1);
    let fetched = io.broadcast().fetch_sockets().await;
    assert!(
        matches!(fetched, Err(AdapterError::Transport(_))),
        "{fetched:?}"
    );
    // Redis appears: the server joins the cluster by itself.
    let Some(redis) = PrivateRedis::start_on(port).await else {
        return;
    };
    within("joining once Redis is there", cluster.subscribed()).await;
    assert!(cluster.connected());
    assert_eq!(io.of("/").adapter().server_count().await, 1);
    assert!(io.broadcast().fetch_sockets().await.is_ok());
    drop(redis);
}
