//! The connection's reconnection notices (socket.io-client's `Manager`
//! events `reconnect_attempt`, `reconnect_error`, `reconnect` and
//! `reconnect_failed`), for code that must know when the client retries or
//! gives up rather than only that a namespace disconnected.

use std::sync::Arc;

use crate::ClientError;
use crate::socket::guard;

type Attempt = Arc<dyn Fn(u32) + Send + Sync>;
type Failure = Arc<dyn Fn(&ClientError) + Send + Sync>;
type GaveUp = Arc<dyn Fn() + Send + Sync>;

/// The callbacks given to the builder; called on the connection's task,
/// where a panic in one is logged and the connection goes on.
#[derive(Clone, Default)]
pub(crate) struct ReconnectHooks {
    pub(crate) attempt: Vec<Attempt>,
    pub(crate) error: Vec<Failure>,
    pub(crate) reconnected: Vec<Attempt>,
    pub(crate) failed: Vec<GaveUp>,
}

impl std::fmt::Debug for ReconnectHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectHooks")
            .field("attempt", &self.attempt.len())
            .field("error", &self.error.len())
            .field("reconnected", &self.reconnected.len())
            .field("failed", &self.failed.len())
            .finish()
    }
}

impl ReconnectHooks {
    /// Attempt `n` (from 1) of this run of reconnections starts.
    pub(crate) fn attempt(&self, n: u32) {
        self.attempt
            .iter()
            .for_each(|h| guard("reconnect_attempt", || h(n)));
    }

    /// That attempt failed with `error`.
    pub(crate) fn error(&self, error: &ClientError) {
        self.error
            .iter()
            .for_each(|h| guard("reconnect_error", || h(error)));
    }

    /// Attempt `n` opened a session; namespaces reconnect next.
    pub(crate) fn reconnected(&self, n: u32) {
        self.reconnected
            .iter()
            .for_each(|h| guard("reconnect", || h(n)));
    }

    /// The last attempt allowed by `reconnection_attempts` failed.
    pub(crate) fn failed(&self) {
        self.failed
            .iter()
            .for_each(|h| guard("reconnect_failed", || h()));
    }
}
