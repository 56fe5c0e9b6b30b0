use serde::{Deserialize, Serialize};

use super::DecodeError;

/// The handshake the server sends in its open packet.
///
/// The fields are exactly the five that Engine.IO v4 defines; clients reject
/// nothing extra, but the official test suite checks the key set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenPacket {
    pub sid: String,
    /// Transports the client may upgrade to from the one it used.
    pub upgrades: Vec<String>,
    /// Milliseconds between the server's pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong before closing.
    pub ping_timeout: u64,
    /// Largest number of bytes the server accepts in one message or polling body.
    pub max_payload: u64,
}

impl OpenPacket {
    /// The JSON body of the open packet (without the `0` type digit).
    pub fn to_json(&self) -> String {
        // Serialising five plain fields cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json).map_err(|e| DecodeError::InvalidOpen(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_exactly_the_five_keys() {
        let open = OpenPacket {
            sid: "abc".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
        };
        assert_eq!(
            open.to_json(),
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(OpenPacket::from_json(&open.to_json()).unwrap(), open);
        assert!(matches!(
            OpenPacket::from_json("{}"),
            Err(DecodeError::InvalidOpen(_))
        ));
    }
}
