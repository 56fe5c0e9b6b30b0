//! Events between the servers of a cluster, not seen by clients: Node's
//! `io.serverSideEmit(event, ...args)` and `io.on(event, handler)`.
//!
//! Sending goes through the namespace's adapter (a local adapter has no one
//! to tell); a clustered adapter hands what it receives to
//! [`Namespace::receive_server_side_emit`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;

use crate::encode::array;
use crate::error::{AckError, AdapterError, EmitError};
use crate::namespace::Namespace;

type Handler = dyn Fn(Vec<Value>, Option<ServerAck>) + Send + Sync;

/// Handlers of events from other servers, by event name.
#[derive(Default)]
pub(crate) struct ServerEvents(
    // Written when a handler is registered, read per event from another
    // server; never held while a handler runs.
    RwLock<HashMap<String, Arc<Handler>>>,
);

impl fmt::Debug for ServerEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerEvents")
    }
}

/// Answers the server that sent an event with acknowledgement. Only the
/// first answer counts, as in Node; dropping it answers nothing, and the
/// sender's request times out.
pub struct ServerAck(Box<dyn FnOnce(Value) + Send>);

impl fmt::Debug for ServerAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerAck")
    }
}

impl ServerAck {
    /// An acknowledgement that calls `reply` with the answer (for adapters).
    pub fn new(reply: impl FnOnce(Value) + Send + 'static) -> ServerAck {
        ServerAck(Box::new(reply))
    }

    pub fn send(self, answer: Value) {
        (self.0)(answer);
    }
}

impl Namespace {
    /// Calls `handler` with the arguments of every `event` another server of
    /// the cluster emits with [`Namespace::server_side_emit`] (or Node's
    /// `serverSideEmit`), and an acknowledgement when the sender waits for
    /// one. Registering again replaces. The handler runs on the adapter's
    /// task: spawn anything that waits.
    pub fn on_server_side_emit(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Vec<Value>, Option<ServerAck>) + Send + Sync + 'static,
    ) {
        self.0
            .server_events
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into(), Arc::new(handler));
    }

    /// Hands an event from another server to its handler (for adapters);
    /// false when there is none, in which case `ack` is dropped.
    pub fn receive_server_side_emit(
        &self,
        event: &str,
        args: Vec<Value>,
        ack: Option<ServerAck>,
    ) -> bool {
        let handler = self
            .0
            .server_events
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned();
        match handler {
            Some(handler) => {
                handler(args, ack);
                true
            }
            None => false,
        }
    }

    /// Emits `event` to the other servers of the cluster (not to clients);
    /// `args` must serialise to an array.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), AckError> {
        let args = array(args).map_err(EmitError::from)?;
        self.adapter()
            .server_side_emit(event.to_owned(), args)
            .await
            .map_err(adapter_error)
    }

    /// Emits `event` to the other servers and waits for each one's
    /// acknowledgement, at most the adapter's request timeout.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<Value>, AckError> {
        let args = array(args).map_err(EmitError::from)?;
        self.adapter()
            .server_side_emit_with_ack(event.to_owned(), args)
            .await
            .map_err(adapter_error)
    }
}

fn adapter_error(e: AdapterError) -> AckError {
    match e {
        AdapterError::Timeout => AckError::Timeout,
        other => AckError::Adapter(other.to_string()),
    }
}
