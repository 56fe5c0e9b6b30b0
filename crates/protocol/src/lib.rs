//! Wire formats of Engine.IO v4, Socket.IO v5 and WebSocket frame heads, with
//! no I/O at all.
//!
//! Everything here turns bytes into packets and packets into bytes. Transports,
//! sessions and timers live in `switchboard-engine`; this crate knows nothing of
//! sockets, so it can be fuzzed and property-tested in isolation.

pub mod engine;
pub mod socket;
mod str;
pub mod websocket;

pub use crate::str::{Str, Utf8Error};
