use std::fmt;

/// Why bytes from a peer are not an Engine.IO packet or payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A text frame or payload record with no bytes, so no packet type.
    Empty,
    /// The first byte is not a packet type digit `0`..=`6`.
    UnknownType(u8),
    /// A text frame or a polling body that is not UTF-8.
    InvalidUtf8,
    /// A `b`-prefixed polling record whose base64 does not decode.
    InvalidBase64,
    /// An open packet whose JSON is not a handshake.
    InvalidOpen(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty packet"),
            DecodeError::UnknownType(b) => write!(f, "unknown packet type byte 0x{b:02x}"),
            DecodeError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            DecodeError::InvalidBase64 => f.write_str("binary record is not valid base64"),
            DecodeError::InvalidOpen(e) => write!(f, "invalid open packet: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}
