use std::fmt;

/// Why a client's message is not a valid Socket.IO packet. Any of these
/// closes the client's connection, as in Node's socket.io.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketDecodeError {
    /// Empty message, or a first byte that is not a type digit `0`..=`6`.
    UnknownType,
    /// The attachment count of a binary packet is missing or not a number.
    InvalidAttachments,
    /// More attachments than the server allows.
    TooManyAttachments,
    /// The ack id is not a non-negative integer below 2^53.
    InvalidAckId,
    /// The JSON does not parse, is nested too deeply, or has the wrong shape
    /// for the packet type.
    InvalidPayload,
    /// An event name that only the server may emit, such as `disconnect`.
    ReservedEvent,
    /// A placeholder that is malformed or refers to no attachment.
    InvalidPlaceholder,
    /// A text packet arrived while binary attachments were still expected.
    UnexpectedText,
    /// A binary message arrived when no attachment was expected.
    UnexpectedBinary,
}

impl fmt::Display for SocketDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SocketDecodeError::UnknownType => "unknown packet type",
            SocketDecodeError::InvalidAttachments => "invalid attachment count",
            SocketDecodeError::TooManyAttachments => "too many attachments",
            SocketDecodeError::InvalidAckId => "invalid ack id",
            SocketDecodeError::InvalidPayload => "invalid payload",
            SocketDecodeError::ReservedEvent => "reserved event name",
            SocketDecodeError::InvalidPlaceholder => "invalid attachment placeholder",
            SocketDecodeError::UnexpectedText => "text packet while attachments are pending",
            SocketDecodeError::UnexpectedBinary => "unexpected binary message",
        })
    }
}

impl std::error::Error for SocketDecodeError {}
