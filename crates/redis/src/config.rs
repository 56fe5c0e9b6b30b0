//! Settings of the Redis adapter; every one has a default and a setter.

use std::time::Duration;

/// How to reach Redis and how to behave on it.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub(crate) url: String,
    pub(crate) key_prefix: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) liveness_interval: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) max_reconnect_delay: Duration,
    pub(crate) publish_queue: usize,
}

impl RedisConfig {
    /// Defaults for the server at `url` (`redis://host:port[/db]`).
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            key_prefix: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            liveness_interval: Duration::from_secs(1),
            command_timeout: Duration::from_secs(2),
            max_reconnect_delay: Duration::from_secs(1),
            publish_queue: 8192,
        }
    }

    /// The start of every channel name. Default `socket.io`, as Node's
    /// adapter (its `key` option); servers share a cluster only with the
    /// same prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long a request to the other servers (fetch sockets, all rooms,
    /// server-side emit with ack) waits for their answers. Default 5 s, as
    /// Node's `requestsTimeout`.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// How often the subscriber connection is checked with a PING; a
    /// connection that does not answer within `command_timeout` is replaced
    /// and every channel subscribed again. Default 1 s.
    pub fn liveness_interval(mut self, interval: Duration) -> Self {
        self.liveness_interval = interval;
        self
    }

    /// The longest wait for Redis to connect or answer one command (or one
    /// batch of publishes) before the connection counts as broken.
    /// Default 2 s.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Reconnection backs off from 50 ms, doubling up to this. Default 1 s.
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    /// Messages waiting to be published, at most; past it a broadcast
    /// reaches this server's clients only and the drop is counted.
    /// Default 8,192.
    pub fn publish_queue(mut self, messages: usize) -> Self {
        self.publish_queue = messages.max(1);
        self
    }
}
