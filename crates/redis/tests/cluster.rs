//! Switchboard nodes sharing one Redis, a client of the official
//! socket.io-client on each: broadcasts, rooms, `except`, `local`, binary,
//! acks across nodes, fetch_sockets, all rooms, remote join, leave and
//! disconnect, server-side emit with and without acks, the server count.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use common::{TestNode, node, shared_redis, unique_prefix};
use switchboard::Recovery;
use switchboard_redis::RedisConfig;

async fn cluster_of(nodes: usize, test: &str) {
    let Some(node) = node() else { return };
    let Some(redis) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix(test);
    let mut servers = Vec::new();
    for i in 0..nodes {
        let config = RedisConfig::new(redis).key_prefix(prefix.clone());
        servers.push(TestNode::start(&format!("node{i}"), config).await);
    }
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    node.run("cluster/clients.mjs", &urls)
        .await
        .assert_success();
    for (i, server) in servers.iter().enumerate() {
        let stats = server.cluster.stats();
        assert_eq!(stats.garbage, 0, "node{i}: {stats:?}");
        assert_eq!(stats.publish_dropped, 0, "node{i}: {stats:?}");
    }
    for server in servers {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes() {
    cluster_of(2, "two").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes() {
    cluster_of(3, "three").await;
}

/// Recovery on every node: a client of node B that drops gets back, once
/// and in order, what node A broadcast meanwhile (kept by B under its own
/// offsets); the offset A appended for its own clients is not forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_of_broadcasts_from_another_node() {
    let Some(node) = node() else { return };
    let Some(redis) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("recover");
    let recovering = |b: switchboard::IoBuilder| b.connection_state_recovery(Recovery::new());
    let config = || RedisConfig::new(redis).key_prefix(prefix.clone());
    let a = TestNode::start_with("a", config(), recovering).await;
    let b = TestNode::start_with("b", config(), recovering).await;
    let mut script = node.start("cluster/recover.mjs", &[&b.url]);
    script.line_starting("connected").await;
    a.io.emit("msg", "m0").unwrap();
    script.line_starting("dropped").await;
    for text in ["m1", "m2", "m3"] {
        a.io.emit("msg", text).unwrap();
    }
    script.finish().await.assert_success();
    a.stop().await;
    b.stop().await;
}
