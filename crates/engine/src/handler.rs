//! The one trait between the engine and whatever runs on top of it.

use std::fmt;

use bytes::Bytes;
use switchboard_protocol::Str;

use crate::Session;

/// A whole message received from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(Str),
    Binary(Bytes),
}

/// Why a session ended; passed once to [`EngineHandler::on_close`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent a close packet or its connection ended.
    TransportClose,
    /// The client broke the protocol or the transport failed; the text says how.
    TransportError(&'static str),
    /// No pong arrived within the ping timeout.
    PingTimeout,
    /// The server closed the session with [`Session::close`].
    ServerClose,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// The reason as Node's engine.io names it, for logs and upper layers.
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError(_) => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ServerClose => "forced close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::TransportError(detail) => write!(f, "transport error: {detail}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Receives the life of every session.
///
/// Calls are synchronous and made from the task that serves the session's
/// transport, so they must not block: hand long work to a task of your own.
/// For one session, calls never overlap and come in order: `on_open`, any
/// number of `on_message`, then `on_close` exactly once.
pub trait EngineHandler: Send + Sync + 'static {
    /// A session completed its handshake. The open packet is already queued.
    fn on_open(&self, session: &Session);

    /// A client sent a message.
    fn on_message(&self, session: &Session, message: Message);

    /// The session ended; it can no longer send.
    fn on_close(&self, session: &Session, reason: CloseReason);
}
