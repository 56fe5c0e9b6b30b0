//! What a socket knows of how its client connected.

use std::net::SocketAddr;
use std::time::SystemTime;

use http::HeaderMap;
use serde_json::Value;

/// The handshake of a socket: the engine's request plus the CONNECT payload.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Headers of the request that opened the connection.
    pub headers: HeaderMap,
    /// The raw query string of that request.
    pub query: Box<str>,
    /// The `auth` object the client sent with CONNECT (`{}` when none).
    pub auth: Value,
    pub address: Option<SocketAddr>,
    /// When the connection was opened.
    pub issued: SystemTime,
}

impl Handshake {
    /// The first value of query parameter `name`, undecoded.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }
}
