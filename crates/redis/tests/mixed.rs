//! A mixed cluster: a Node socket.io 4.8 server on @socket.io/redis-adapter
//! 8.3 (`tests/node/cluster/node-server.mjs`) and a switchboard node on
//! the same Redis and key prefix, a client on each. The scenario of
//! `clients.mjs` runs twice, so that each side originates every operation
//! (broadcasts, rooms, acks, fetchSockets, remote join/leave/disconnect,
//! server-side emits) and answers the other's.
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use common::{TestNode, node, shared_redis, unique_prefix};
use switchboard_redis::RedisConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_switchboard_share_a_cluster() {
    let Some(node) = node() else { return };
    let Some(redis) = shared_redis().await else {
        return;
    };
    let prefix = unique_prefix("mixed");
    let mut peer = node.start("cluster/node-server.mjs", &[redis, &prefix, "node"]);
    let port = peer.line_starting("listening ").await;
    let node_url = format!("http://127.0.0.1:{port}");
    let ours = TestNode::start("switchboard", RedisConfig::new(redis).key_prefix(prefix)).await;

    // Switchboard's client is A (it asks first), then Node's.
    node.run("cluster/clients.mjs", &[&ours.url, &node_url])
        .await
        .assert_success();
    node.run("cluster/clients.mjs", &[&node_url, &ours.url])
        .await
        .assert_success();

    let stats = ours.cluster.stats();
    assert_eq!(
        stats.garbage, 0,
        "everything Node sent was understood: {stats:?}"
    );
    ours.stop().await;
    drop(peer);
}
