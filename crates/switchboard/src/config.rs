//! Socket.IO settings on top of the engine's.

use std::time::Duration;

use switchboard_engine::{EngineConfig, EngineConfigBuilder};

use crate::encode::Parser;
use crate::recovery::Recovery;

/// Settings of an [`Io`](crate::Io); see [`IoBuilder`](crate::IoBuilder).
#[derive(Debug, Clone)]
pub(crate) struct IoConfig {
    pub(crate) engine: EngineConfig,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_attachments: usize,
    pub(crate) parser: Parser,
    pub(crate) serve_client: bool,
    /// Connection state recovery; off (`None`) by default, as in Node.
    pub(crate) recovery: Option<Recovery>,
}

#[derive(Debug, Clone)]
pub(crate) struct IoConfigBuilder {
    pub(crate) engine: EngineConfigBuilder,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_attachments: usize,
    pub(crate) parser: Parser,
    pub(crate) serve_client: bool,
    /// Connection state recovery; off (`None`) by default, as in Node.
    pub(crate) recovery: Option<Recovery>,
}

impl Default for IoConfigBuilder {
    fn default() -> Self {
        IoConfigBuilder {
            engine: EngineConfig::builder().path("/socket.io/"),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(10),
            max_attachments: 10,
            parser: Parser::Json,
            serve_client: true,
            recovery: None,
        }
    }
}

impl IoConfigBuilder {
    pub(crate) fn engine(
        mut self,
        f: impl FnOnce(EngineConfigBuilder) -> EngineConfigBuilder,
    ) -> Self {
        self.engine = f(self.engine);
        self
    }

    pub(crate) fn build(self) -> IoConfig {
        IoConfig {
            engine: self.engine.build(),
            connect_timeout: self.connect_timeout,
            ack_timeout: self.ack_timeout,
            max_attachments: self.max_attachments,
            parser: self.parser,
            serve_client: self.serve_client,
            recovery: self.recovery,
        }
    }
}
