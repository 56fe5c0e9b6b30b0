//! Why a socket disconnected.

use std::fmt;

use switchboard_engine::CloseReason;

/// Why a socket left its namespace; names as in Node's socket.io.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client disconnected this namespace (`socket.disconnect()`).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket ([`Socket::disconnect`](crate::Socket::disconnect)).
    ServerNamespaceDisconnect,
    /// The client's connection closed or the client closed it.
    TransportClose,
    /// The client's connection failed or broke the protocol.
    TransportError,
    /// No pong within the ping timeout.
    PingTimeout,
    /// The server closed the whole connection (including for a client that
    /// broke the Socket.IO protocol).
    ForcedServerClose,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl DisconnectReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }

    pub(crate) fn from_engine(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ServerClose => DisconnectReason::ForcedServerClose,
            CloseReason::ServerShutdown => DisconnectReason::ServerShuttingDown,
            _ => DisconnectReason::TransportError,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
