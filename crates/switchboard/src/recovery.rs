//! Connection state recovery: its settings, and the rules shared by the
//! socket (which sessions are kept) and the broadcast path (how a kept
//! packet carries its offset).
//!
//! The protocol, as the official client (4.6 and later) speaks it: the
//! CONNECT reply carries `{"sid","pid"}`; every kept event carries its offset
//! as an extra last argument, which the client remembers as its last offset;
//! after a drop the client's CONNECT auth carries `{pid, offset}` and the
//! server replays what the client missed. The store itself lives in the
//! adapter (`adapter/sessions.rs` for the local one).

use std::time::Duration;

use crate::reason::DisconnectReason;

/// Connection state recovery settings; see
/// [`IoBuilder::connection_state_recovery`](crate::IoBuilder::connection_state_recovery).
///
/// Every bound applies per namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    pub(crate) max_disconnection_duration: Duration,
    pub(crate) skip_middlewares: bool,
    pub(crate) max_packets: usize,
    pub(crate) max_bytes: usize,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: false,
            max_packets: 10_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Recovery {
    /// The defaults: 2 minutes, middleware run again, 10,000 packets and
    /// 16 MiB kept per namespace.
    pub fn new() -> Self {
        Recovery::default()
    }

    /// How long a disconnected session, and the packets it may need, are
    /// kept. Default 2 minutes (as in Node).
    pub fn max_disconnection_duration(mut self, duration: Duration) -> Self {
        self.max_disconnection_duration = duration;
        self
    }

    /// Whether a recovered session skips the connect middleware. Default
    /// `false` (Node's default is `true`): a session that was valid two
    /// minutes ago may not be now, say with an expired token.
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// Most packets kept per namespace; the oldest go first. A client that
    /// needs one that is gone gets a fresh session. Default 10,000.
    pub fn max_packets(mut self, packets: usize) -> Self {
        self.max_packets = packets;
        self
    }

    /// Most bytes of packets kept per namespace (encoded size plus their
    /// room lists). Default 16 MiB.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }
}

/// Whether a socket that left for `reason` is kept. Leaving on purpose
/// (either side disconnecting the namespace) is final; everything that
/// breaks or closes the connection is not. Node's list, where "forced
/// close" is our `ForcedServerClose` and "server shutting down" only helps a
/// clustered adapter that outlives this process.
pub(crate) fn recoverable(reason: &DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::TransportClose
            | DisconnectReason::TransportError
            | DisconnectReason::PingTimeout
            | DisconnectReason::ForcedServerClose
            | DisconnectReason::ServerShuttingDown
    )
}

/// The JSON array of an event with `offset` appended as its last argument.
/// Offsets are ASCII letters and digits, so they need no escaping.
pub(crate) fn with_offset(json: &str, offset: &str) -> String {
    debug_assert!(json.ends_with(']'));
    let body = json.strip_suffix(']').unwrap_or(json);
    let mut out = String::with_capacity(json.len() + offset.len() + 3);
    out.push_str(body);
    out.push_str(",\"");
    out.push_str(offset);
    out.push_str("\"]");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_the_last_argument() {
        assert_eq!(with_offset(r#"["e"]"#, "a1"), r#"["e","a1"]"#);
        assert_eq!(
            with_offset(r#"["e",1,{"x":[2]}]"#, "b"),
            r#"["e",1,{"x":[2]},"b"]"#
        );
    }

    #[test]
    fn which_reasons_are_kept() {
        assert!(recoverable(&DisconnectReason::TransportClose));
        assert!(recoverable(&DisconnectReason::PingTimeout));
        assert!(!recoverable(&DisconnectReason::ClientNamespaceDisconnect));
        assert!(!recoverable(&DisconnectReason::ServerNamespaceDisconnect));
    }
}
