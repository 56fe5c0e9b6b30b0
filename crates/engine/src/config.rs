//! Engine settings. Every limit has a default, named here once, and a setter
//! that documents it.

use std::time::Duration;

use crate::cors::Cors;

/// Which transports a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    pub polling: bool,
    pub websocket: bool,
}

/// Settings of an Engine.IO server; build with [`EngineConfig::builder`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_queued_packets: usize,
    pub(crate) max_queued_bytes: usize,
    pub(crate) transports: Transports,
    pub(crate) cors: Cors,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            max_queued_packets: 1_024,
            max_queued_bytes: 4 * 1024 * 1024,
            transports: Transports {
                polling: true,
                websocket: true,
            },
            cors: Cors::default(),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl EngineConfig {
    pub fn builder() -> EngineConfigBuilder {
        EngineConfigBuilder(EngineConfig::default())
    }

    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }
    pub fn upgrade_timeout(&self) -> Duration {
        self.upgrade_timeout
    }
    pub fn max_queued_packets(&self) -> usize {
        self.max_queued_packets
    }
    pub fn max_queued_bytes(&self) -> usize {
        self.max_queued_bytes
    }
    pub fn transports(&self) -> Transports {
        self.transports
    }
    pub fn cors(&self) -> &Cors {
        &self.cors
    }
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }
}

/// Builder for [`EngineConfig`].
#[derive(Debug, Clone)]
pub struct EngineConfigBuilder(EngineConfig);

impl EngineConfigBuilder {
    /// URL path the engine answers under. Default `/engine.io/`. A trailing
    /// slash is added when missing; requests to the path without it match too.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.0.path = path;
        self
    }

    /// Time between the server's pings. Default 25 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.0.ping_interval = interval;
        self
    }

    /// Time the server waits for a pong after queueing a ping before it
    /// closes the session. Default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.0.ping_timeout = timeout;
        self
    }

    /// Largest polling request body, and largest WebSocket message and frame,
    /// in bytes. Default 1,000,000. A larger polling body is refused without
    /// being buffered; a larger WebSocket message closes it with code 1009.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.0.max_payload = bytes;
        self
    }

    /// Time a client has, after opening a WebSocket to upgrade a polling
    /// session, to complete the upgrade; past it the WebSocket is closed and
    /// the session stays on polling. Default 10 s.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.0.upgrade_timeout = timeout;
        self
    }

    /// Packets a session may have waiting to be sent before
    /// [`SendError::QueueFull`](crate::SendError::QueueFull). Default 1,024.
    pub fn max_queued_packets(mut self, packets: usize) -> Self {
        self.0.max_queued_packets = packets;
        self
    }

    /// Bytes a session may have waiting to be sent before
    /// [`SendError::QueueFull`](crate::SendError::QueueFull). Default 4 MiB.
    /// A message is counted by its encoded length, even when its buffer is
    /// shared with other sessions.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.0.max_queued_bytes = bytes;
        self
    }

    /// Which transports clients may use. Default both; upgrades are offered
    /// only when WebSocket is allowed.
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.0.transports = Transports { polling, websocket };
        self
    }

    /// Cross-origin policy. Default [`Cors::same_origin`].
    pub fn cors(mut self, cors: Cors) -> Self {
        self.0.cors = cors;
        self
    }

    /// Time [`Engine::shutdown`](crate::Engine::shutdown) waits for sessions
    /// to flush their close packet before it drops them. Default 5 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.0.shutdown_timeout = timeout;
        self
    }

    pub fn build(self) -> EngineConfig {
        self.0
    }
}
