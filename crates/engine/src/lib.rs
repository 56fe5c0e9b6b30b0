//! Engine.IO v4 server: sessions, heartbeat, HTTP long-polling and
//! WebSocket transports with the upgrade between them, as a tower service.
//!
//! The engine knows nothing of Socket.IO. It hands whole messages to one
//! [`EngineHandler`] and takes outgoing messages through each [`Session`]'s
//! bounded queue.

mod config;
mod cors;
mod engine;
mod error;
mod flush;
mod handler;
mod heartbeat;
mod outbox;
mod polling;
mod server;
mod service;
mod session;
mod sid;
mod websocket;
mod wire;

pub use config::{EngineConfig, EngineConfigBuilder, Transports};
pub use cors::Cors;
pub use engine::{Engine, RemoteAddr};
pub use error::RequestError;
pub use handler::{CloseReason, EngineHandler, Message};
pub use server::{BACKLOG, ServeConfig, bind, serve};
pub use service::{EngineLayer, EngineService, NotFound};
pub use session::{Handshake, SendError, Session, TransportKind};
pub use sid::Sid;
pub use switchboard_protocol::engine::Frame;
pub use websocket::raw_websocket_echo;
