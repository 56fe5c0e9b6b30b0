//! Errors of starting the adapter. Operations on a running adapter fail
//! with switchboard's [`AdapterError`](switchboard::AdapterError):
//! `Transport` while Redis is away, `Timeout` when other servers do not
//! answer in time.

use std::fmt;

/// Why [`RedisCluster::connect`](crate::RedisCluster::connect) failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL.
    InvalidUrl { url: String, reason: String },
    /// Redis did not accept a connection or answer a PING.
    Unreachable { url: String, reason: String },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::InvalidUrl { url, reason } => {
                write!(f, "invalid Redis URL {url:?}: {reason}")
            }
            ConnectError::Unreachable { url, reason } => {
                write!(f, "cannot reach Redis at {url}: {reason}")
            }
        }
    }
}

impl std::error::Error for ConnectError {}
