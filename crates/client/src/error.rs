//! The crate's errors: [`ClientError`] for connecting and emitting, and
//! [`AckError`] for the one operation that can also time out or lose its
//! answer (an emit waiting for an acknowledgement).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Why connecting, emitting or a connection failed.
///
/// `Clone` because one failure (a refused handshake, a lost connection) is
/// reported to every caller waiting on that connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL given to [`Client::builder`](crate::Client::builder) cannot be
    /// used: not `http(s)://` or `ws(s)://`, no host, a bad port.
    InvalidUrl(String),
    /// The TCP connection could not be made or broke.
    Io(Arc<std::io::Error>),
    /// The TLS handshake of an `https://` or `wss://` connection failed,
    /// for example because the server's certificate is not trusted or is
    /// not for the URL's host.
    Tls(Arc<std::io::Error>),
    /// The server did not complete an Engine.IO handshake: an HTTP error
    /// status, a refused WebSocket upgrade, or no open packet.
    Handshake(String),
    /// The server sent something that is not Engine.IO / Socket.IO; the
    /// connection was closed.
    Protocol(String),
    /// The server refused the namespace (`CONNECT_ERROR`), for example from a
    /// connect middleware: its `message` and optional `data`.
    ConnectRefused {
        message: String,
        data: Option<Value>,
    },
    /// The handshake or the namespace's CONNECT was not answered in time.
    Timeout,
    /// The socket was disconnected (by the server, by [`Socket::disconnect`](crate::Socket::disconnect),
    /// or because the connection ended without reconnection).
    Disconnected,
    /// The arguments of an emit could not be serialised as a JSON array.
    InvalidArgs(String),
    /// The emit was not queued: the packets already waiting to be sent
    /// reach the client's `max_queued_packets` or `max_queued_bytes` (the
    /// server reads slowly, or the namespace is disconnected and buffering).
    QueueFull,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ClientError::Io(e) => write!(f, "connection failed: {e}"),
            ClientError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            ClientError::Handshake(why) => write!(f, "handshake failed: {why}"),
            ClientError::Protocol(why) => write!(f, "protocol error from the server: {why}"),
            ClientError::ConnectRefused { message, .. } => {
                write!(f, "namespace connection refused: {message}")
            }
            ClientError::Timeout => f.write_str("timed out"),
            ClientError::Disconnected => f.write_str("socket disconnected"),
            ClientError::InvalidArgs(why) => write!(f, "invalid emit arguments: {why}"),
            ClientError::QueueFull => f.write_str("outgoing queue full"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) | ClientError::Tls(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(Arc::new(e))
    }
}

/// Why an emit waiting for an acknowledgement got no usable answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// No acknowledgement within the timeout.
    Timeout,
    /// The socket disconnected before the acknowledgement arrived (the server
    /// never answers an ack across a reconnection).
    Disconnected,
    /// The acknowledgement's first argument is not the expected type.
    Decode(serde_json::Error),
    /// The emit itself failed.
    Emit(ClientError),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("acknowledgement timed out"),
            AckError::Disconnected => f.write_str("socket disconnected before the acknowledgement"),
            AckError::Decode(e) => write!(f, "acknowledgement does not decode: {e}"),
            AckError::Emit(e) => write!(f, "emit failed: {e}"),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Decode(e) => Some(e),
            AckError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for AckError {
    fn from(e: ClientError) -> Self {
        AckError::Emit(e)
    }
}
