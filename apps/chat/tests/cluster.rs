//! Two chat servers in one cluster through Redis (`--redis`): the chat
//! contract across them with the official socket.io-client, presence
//! cluster-wide (`tests/node/cluster/chat.mjs`). Needs Node.js and the
//! machine's Redis (127.0.0.1:6379); without them a local run skips
//! loudly, and with `CI` set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::time::Duration;

use switchboard_chat::Config;
use switchboard_redis::{RedisCluster, RedisConfig};
use switchboard_testkit::skip;

use support::{Chat, memory, node};

const REDIS: &str = "redis://127.0.0.1:6379";

async fn redis_running() -> bool {
    let probe = RedisCluster::connect(RedisConfig::new(REDIS));
    if matches!(
        tokio::time::timeout(Duration::from_secs(5), probe).await,
        Ok(Ok(_))
    ) {
        return true;
    }
    skip(
        "Redis is not running on 127.0.0.1:6379",
        "Start it (`redis-server --daemonize yes`) to run the chat's cluster test",
    );
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_contract_across_two_servers() {
    let Some(node) = node() else { return };
    if !redis_running().await {
        return;
    }
    // A prefix of this run's own, so tests sharing the Redis do not meet.
    let prefix = format!("sbtest-chat-{}-{}", std::process::id(), rand_suffix());
    let clustered = || Config {
        redis: Some(RedisConfig::new(REDIS).key_prefix(prefix.clone())),
        ..memory()
    };
    let one = Chat::start(clustered()).await;
    let two = Chat::start(clustered()).await;
    node.run("cluster/chat.mjs", &[&one.url, &two.url])
        .await
        .assert_success();
    one.stop().await;
    two.stop().await;
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
