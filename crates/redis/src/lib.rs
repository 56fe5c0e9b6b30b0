//! A switchboard adapter on Redis pub/sub that speaks the wire format of
//! Node's `@socket.io/redis-adapter` 8.x, so switchboard servers and Node
//! socket.io servers can share one cluster (same Redis, same key prefix).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use switchboard_redis::{RedisCluster, RedisConfig};
//!
//! let cluster = RedisCluster::connect(RedisConfig::new("redis://127.0.0.1:6379")).await?;
//! let io = switchboard::Io::builder().adapter(cluster.factory()).build();
//! io.emit("hello", "every client of every server")?;
//! # Ok(())
//! # }
//! ```
//!
//! Each namespace gets a [`RedisAdapter`]: this server's rooms and
//! deliveries stay in a [`LocalAdapter`](switchboard::LocalAdapter), and
//! everything not marked `local` is also told to the other servers.
//!
//! While Redis is away, local delivery goes on (the other servers miss
//! those broadcasts; [`RedisStats`] counts them), requests that need the
//! other servers fail at once with
//! [`AdapterError::Transport`](switchboard::AdapterError), requests whose
//! answers do not come in time with `AdapterError::Timeout`, and the
//! adapter reconnects and subscribes again by itself.

mod adapter;
mod config;
mod error;
mod incoming;
mod link;
mod wire;

use std::sync::Arc;

use switchboard::{Adapter, Namespace};

pub use adapter::RedisAdapter;
pub use config::RedisConfig;
pub use error::ConnectError;
pub use link::RedisStats;

use link::Link;

/// One server's connections to Redis, shared by the adapters of all its
/// namespaces. Cheap to clone; the connections close when the last clone
/// and the last adapter are gone.
#[derive(Clone)]
pub struct RedisCluster {
    link: Arc<Link>,
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("url", &self.link.config().url)
            .field("key_prefix", &self.link.config().key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCluster {
    /// Connects to Redis, or fails with why: a server that cannot reach
    /// Redis at start would otherwise run alone without noticing.
    pub async fn connect(config: RedisConfig) -> Result<RedisCluster, ConnectError> {
        let link = Link::start(config, true).await?;
        Ok(RedisCluster {
            link: Arc::new(link),
        })
    }

    /// Starts without waiting for Redis: the server runs local-only until
    /// Redis answers, then joins the cluster. Fails only for an invalid URL.
    pub async fn connect_lazy(config: RedisConfig) -> Result<RedisCluster, ConnectError> {
        let link = Link::start(config, false).await?;
        Ok(RedisCluster {
            link: Arc::new(link),
        })
    }

    /// The adapter factory for [`IoBuilder::adapter`](switchboard::IoBuilder::adapter).
    pub fn factory(&self) -> impl Fn(&Namespace) -> Arc<dyn Adapter> + Send + Sync + 'static {
        let link = self.link.clone();
        move |ns: &Namespace| Arc::new(RedisAdapter::new(ns, link.clone())) as Arc<dyn Adapter>
    }

    /// Resolves once the channels of every namespace created so far are
    /// subscribed on a working connection (so broadcasts from the other
    /// servers arrive) and the publisher is connected. Waits through
    /// reconnections, and for Redis to appear after `connect_lazy`.
    pub async fn subscribed(&self) {
        self.link.subscribed().await;
    }

    /// Whether both connections to Redis work, as far as the adapter knows.
    pub fn connected(&self) -> bool {
        self.link.available()
    }

    /// The start of this cluster's channel names.
    pub fn key_prefix(&self) -> &str {
        &self.link.config().key_prefix
    }

    /// What the adapter has done so far.
    pub fn stats(&self) -> RedisStats {
        self.link.stats()
    }
}
