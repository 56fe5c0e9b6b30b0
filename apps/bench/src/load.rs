//! The load generator's clients: many `switchboard-client` connections from
//! one process on one core, spread over source addresses.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::ProgressBar;
use switchboard_client::{Client, SharedHandler, Socket, Transport};

use crate::Error;
use crate::latency::Recorder;

/// Connections per source address: well inside the 28,000 ephemeral ports
/// (32768-60999) of each, with room for sockets in TIME_WAIT from the
/// scenario before.
const PER_ADDRESS: usize = 5_000;

/// Connections being opened at the same time. The servers listen with a
/// backlog of 4,096, so none of these is dropped and retried by TCP.
pub(crate) const PARALLEL: usize = 256;

/// One client in this many records latencies; every client counts its
/// deliveries. Reading the send time costs the load more than counting, and
/// a tenth of the clients still sees every message.
const SAMPLE_EVERY: usize = 10;

/// How many of clients `0..clients` record latencies.
pub(crate) fn sampled(clients: usize) -> usize {
    clients.div_ceil(SAMPLE_EVERY)
}

/// How long one connection may take to open before the run gives up.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Client `i` connects from 127.0.0.2, 127.0.0.3, ...: one address cannot
/// hold 19,000 connections to one server port.
pub(crate) fn source_address(i: usize) -> IpAddr {
    let n = u8::try_from(2 + i / PER_ADDRESS).unwrap_or(u8::MAX);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// What every client of a scenario shares.
#[derive(Clone)]
pub(crate) struct Fleet {
    pub(crate) url: String,
    /// Counts clients the server disconnected.
    pub(crate) disconnected: Arc<AtomicU64>,
    /// Counts `chat:message` deliveries (all tags).
    pub(crate) delivered: Arc<AtomicU64>,
    /// The `chat:message` handlers: counting only, and counting and
    /// timing (every tenth client, when the fleet has a recorder). Shared
    /// by the clients rather than a closure each, so the handler's state is
    /// one warm cache line for the whole fleet, not a miss per delivery.
    counting: SharedHandler,
    timing: SharedHandler,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("url", &self.url)
            .field("delivered", &self.delivered)
            .field("disconnected", &self.disconnected)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    pub(crate) fn new(url: String, recorder: Option<Arc<Recorder>>) -> Fleet {
        let delivered: Arc<AtomicU64> = Arc::default();
        let counted = delivered.clone();
        let counting: SharedHandler = Arc::new(move |_, _| {
            counted.fetch_add(1, Relaxed);
        });
        let counted = delivered.clone();
        let timing: SharedHandler = Arc::new(move |_, event| {
            counted.fetch_add(1, Relaxed);
            if let Some(recorder) = &recorder {
                recorder.record_delivery(event.args_json());
            }
        });
        Fleet {
            url,
            disconnected: Arc::default(),
            delivered,
            counting,
            timing,
        }
    }

    /// Opens client `i` over `transport` (no upgrade, no reconnection).
    pub(crate) async fn open(&self, i: usize, transport: Transport) -> Result<Socket, Error> {
        let handler = if i % SAMPLE_EVERY == 0 {
            self.timing.clone()
        } else {
            self.counting.clone()
        };
        let disconnected = self.disconnected.clone();
        let connect = Client::builder(&self.url)
            .transports(&[transport])
            .local_address(source_address(i))
            .reconnection(false)
            .on_shared("chat:message", handler)
            .on_disconnect(move |_, _| {
                disconnected.fetch_add(1, Relaxed);
            })
            .connect();
        match tokio::time::timeout(OPEN_TIMEOUT, connect).await {
            Ok(socket) => Ok(socket.map_err(|e| format!("client {i}: {e}"))?),
            Err(_) => Err(format!("client {i}: no connection within {OPEN_TIMEOUT:?}").into()),
        }
    }

    /// Opens clients `range`, [`PARALLEL`] at a time; client `i` uses
    /// long-polling when `polling(i)`, else WebSocket.
    pub(crate) async fn open_many(
        &self,
        range: std::ops::Range<usize>,
        polling: impl Fn(usize) -> bool,
        bar: &ProgressBar,
    ) -> Result<Vec<Socket>, Error> {
        let mut sockets = Vec::with_capacity(range.len());
        let mut opening = futures_util::stream::iter(range)
            .map(|i| {
                let transport = if polling(i) {
                    Transport::Polling
                } else {
                    Transport::WebSocket
                };
                self.open(i, transport)
            })
            .buffer_unordered(PARALLEL);
        while let Some(socket) = opening.next().await {
            sockets.push(socket?);
            bar.inc(1);
        }
        Ok(sockets)
    }

    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Relaxed)
    }

    pub(crate) fn disconnected(&self) -> u64 {
        self.disconnected.load(Relaxed)
    }
}
