//! Socket.IO v5 server on switchboard's Engine.IO engine: namespaces,
//! events with typed arguments, acknowledgements, rooms, broadcasting and
//! connect middleware, behaving as the official clients expect.
//!
//! Start with [`Io`].

mod adapter;
mod broadcast;
mod client;
mod client_js;
mod config;
mod encode;
mod error;
mod event;
mod handshake;
mod io;
mod middleware;
mod namespace;
mod reason;
mod recovery;
mod server_event;
mod service;
mod socket;

pub use adapter::{
    AckResponse, Adapter, AdapterFactory, BoxFuture, BroadcastFlags, BroadcastOptions,
    LocalAdapter, PersistedSession, RecoveryStats, RemoteSocket, Room,
};
pub use broadcast::Broadcast;
pub use encode::{EncodedPacket, PacketParts, Parser, Placeholder};
pub use error::{AckError, AdapterError, EmitError};
pub use event::{AckSender, Event, Payload};
pub use handshake::Handshake;
pub use io::{Io, IoBuilder};
pub use middleware::{ConnectError, Middleware};
pub use namespace::{Namespace, WeakNamespace};
pub use reason::DisconnectReason;
pub use recovery::Recovery;
pub use server_event::ServerAck;
pub use service::{IoFuture, IoLayer, IoService};
pub use socket::{Ack, Emitter, Socket};
pub use switchboard_engine::{Cors, RemoteAddr, Sid, bind};
