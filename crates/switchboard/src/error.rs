//! The Socket.IO layer's errors: small, one per operation.

use std::fmt;

/// Why an emit did not go out.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The data did not serialise to JSON (or, for `emit_args`, not to an array).
    Serialize(serde_json::Error),
    /// The socket is disconnected.
    Disconnected,
    /// The client's outgoing queue is full; it was disconnected.
    QueueFull,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Serialize(e) => write!(f, "cannot serialise the data: {e}"),
            EmitError::Disconnected => f.write_str("socket disconnected"),
            EmitError::QueueFull => f.write_str("outgoing queue full"),
        }
    }
}

impl std::error::Error for EmitError {}

impl From<serde_json::Error> for EmitError {
    fn from(e: serde_json::Error) -> Self {
        EmitError::Serialize(e)
    }
}

/// Why an acknowledgement did not come back as expected.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The emit itself failed.
    Emit(EmitError),
    /// No answer within the timeout.
    Timeout,
    /// The socket disconnected before answering.
    Disconnected,
    /// The answer did not deserialise to the requested type.
    Deserialize(serde_json::Error),
    /// A remote server (through the adapter) failed to answer.
    Adapter(String),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Emit(e) => write!(f, "emit failed: {e}"),
            AckError::Timeout => f.write_str("acknowledgement timed out"),
            AckError::Disconnected => f.write_str("socket disconnected before acknowledging"),
            AckError::Deserialize(e) => write!(f, "acknowledgement has the wrong shape: {e}"),
            AckError::Adapter(e) => write!(f, "adapter: {e}"),
        }
    }
}

impl std::error::Error for AckError {}

impl From<EmitError> for AckError {
    fn from(e: EmitError) -> Self {
        AckError::Emit(e)
    }
}

/// An adapter operation failed (for example a remote server did not answer).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AdapterError {
    /// No answer from the other servers in time.
    Timeout,
    /// The adapter's transport failed; the text says how.
    Transport(String),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Timeout => f.write_str("adapter request timed out"),
            AdapterError::Transport(e) => write!(f, "adapter transport: {e}"),
        }
    }
}

impl std::error::Error for AdapterError {}
