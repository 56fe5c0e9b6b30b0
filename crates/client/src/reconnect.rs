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
///
/// Boxed and absent until a first callback is added: every connection
/// keeps its settings for its whole life, and most never set these (the
/// bench's thousands of clients among them), so they cost such a
/// connection one pointer, not four empty vectors.
#[derive(Clone, Default)]
pub(crate) struct ReconnectHooks(Option<Box<Hooks>>);

#[derive(Clone, Default)]
struct Hooks {
    attempt: Vec<Attempt>,
    error: Vec<Failure>,
    reconnected: Vec<Attempt>,
    failed: Vec<GaveUp>,
}

impl std::fmt::Debug for ReconnectHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |len: fn(&Hooks) -> usize| self.0.as_deref().map_or(0, len);
        f.debug_struct("ReconnectHooks")
            .field("attempt", &count(|h| h.attempt.len()))
            .field("error", &count(|h| h.error.len()))
            .field("reconnected", &count(|h| h.reconnected.len()))
            .field("failed", &count(|h| h.failed.len()))
            .finish()
    }
}

impl ReconnectHooks {
    fn hooks(&mut self) -> &mut Hooks {
        self.0.get_or_insert_with(Box::default)
    }

    pub(crate) fn on_attempt(&mut self, handler: Attempt) {
        self.hooks().attempt.push(handler);
    }

    pub(crate) fn on_error(&mut self, handler: Failure) {
        self.hooks().error.push(handler);
    }

    pub(crate) fn on_reconnected(&mut self, handler: Attempt) {
        self.hooks().reconnected.push(handler);
    }

    pub(crate) fn on_failed(&mut self, handler: GaveUp) {
        self.hooks().failed.push(handler);
    }

    /// Attempt `n` (from 1) of this run of reconnections starts.
    pub(crate) fn attempt(&self, n: u32) {
        for h in self.0.iter().flat_map(|h| &h.attempt) {
            guard("reconnect_attempt", || h(n));
        }
    }

    /// That attempt failed with `error`.
    pub(crate) fn error(&self, error: &ClientError) {
        for h in self.0.iter().flat_map(|h| &h.error) {
            guard("reconnect_error", || h(error));
        }
    }

    /// Attempt `n` opened a session; namespaces reconnect next.
    pub(crate) fn reconnected(&self, n: u32) {
        for h in self.0.iter().flat_map(|h| &h.reconnected) {
            guard("reconnect", || h(n));
        }
    }

    /// The last attempt allowed by `reconnection_attempts` failed.
    pub(crate) fn failed(&self) {
        for h in self.0.iter().flat_map(|h| &h.failed) {
            guard("reconnect_failed", || h());
        }
    }
}
