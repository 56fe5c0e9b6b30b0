//! The engine's request errors and their one mapping to HTTP.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// Why the engine refused an HTTP request, with the Engine.IO error code the
/// protocol defines for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// `transport` missing, unknown or disabled (code 0).
    UnknownTransport,
    /// `sid` names no live session (code 1).
    UnknownSid,
    /// A handshake that is not a GET (code 2).
    BadHandshakeMethod,
    /// Anything else the protocol does not allow (code 3).
    BadRequest,
    /// The request's origin is not allowed (code 4).
    Forbidden,
    /// `EIO` is not 4 (code 5).
    UnsupportedProtocolVersion,
    /// A polling body over `max_payload` (code 3, HTTP 413).
    PayloadTooLarge,
}

impl RequestError {
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest | RequestError::PayloadTooLarge => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The message Node's engine.io sends with the code; clients log it.
    pub fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
            RequestError::PayloadTooLarge => "Payload too large",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            RequestError::Forbidden => StatusCode::FORBIDDEN,
            RequestError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let body = format!(
            r#"{{"code":{},"message":"{}"}}"#,
            self.code(),
            self.message()
        );
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message(), self.code())
    }
}

impl std::error::Error for RequestError {}
