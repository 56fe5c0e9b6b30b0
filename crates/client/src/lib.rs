//! switchboard-client: an async Socket.IO v5 client (Engine.IO v4 over
//! WebSocket and HTTP long-polling, with the upgrade) on
//! `switchboard-protocol`.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use switchboard_client::{Client, Event, Socket};
//!
//! let socket = Client::builder("http://127.0.0.1:3000")
//!     .on("chat:message", |_: &Socket, ev: &Event| {
//!         println!("{}", ev.args_json());
//!     })
//!     .connect()
//!     .await?;
//! socket.emit("chat:message", &serde_json::json!({"text": "hi"}))?;
//! let answer: serde_json::Value = socket.emit_with_ack("ping", &1).await?;
//! # let _ = answer;
//! # Ok(()) }
//! ```
//!
//! `https://` and `wss://` URLs connect over TLS (rustls, trusting
//! Mozilla's roots unless [`ClientBuilder::tls_config`] says otherwise).
//!
//! A [`Client`] is one connection (socket.io-client's `Manager`); each
//! namespace on it is a [`Socket`]. One tokio task per connection does all
//! the I/O and runs the handlers, which are synchronous closures called
//! inline: this crate is also the engine of the load generator, where
//! thousands of connections share one core. See `docs/ARCHITECTURE.md`.

mod backoff;
mod client;
mod config;
mod driver;
mod encode;
mod error;
mod event;
mod handlers;
mod net;
mod outbox;
mod polling;
mod receive;
mod reconnect;
mod socket;
mod url;
mod websocket;

pub use client::Client;
pub use config::{ClientBuilder, Parser, SharedHandler, Transport};
pub use error::{AckError, ClientError};
pub use event::{AckReply, Event};
/// The HTTP types of [`ClientBuilder::extra_header`].
pub use http;
/// The TLS library of `https`/`wss` connections, for
/// [`ClientBuilder::tls_config`].
pub use rustls;
pub use socket::{Socket, placeholder};
