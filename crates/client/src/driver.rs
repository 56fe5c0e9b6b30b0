//! The connection's task: open an Engine.IO session, run it until it ends,
//! reconnect with backoff, until the client closes or gives up.
//!
//! One task per connection owns the transport, the heartbeat deadline (its
//! only timer) and the Socket.IO decoding; sockets reach it through the
//! outbox. Handlers run inline here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{OpenPacket, Packet, decode_payload};
use tokio::time::{Instant, Sleep};

use crate::ClientError;
use crate::backoff::Backoff;
use crate::client::Shared;
use crate::config::Transport;
use crate::polling::{self, Conn, InFlight, Poster};
use crate::receive::Receiver;
use crate::websocket::{self, Incoming, Ws};

/// Received messages after which what handlers queued is written, even
/// while more messages are ready to read (a WebSocket) or a payload is not
/// yet read to its end (polling).
const WRITE_AT_LEAST_EVERY: u32 = 256;

/// socket.io-client's disconnect reasons.
const TRANSPORT_CLOSE: &str = "transport close";
const TRANSPORT_ERROR: &str = "transport error";
const PARSE_ERROR: &str = "parse error";
const PING_TIMEOUT: &str = "ping timeout";
const CLIENT_DISCONNECT: &str = "io client disconnect";

/// How long a closing connection waits for its last packets to go out.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(crate) async fn run(shared: Arc<Shared>) {
    let config = &shared.config;
    let backoff = Backoff {
        min: config.reconnection_delay,
        max: config.reconnection_delay_max,
        jitter: config.randomization_factor,
    };
    let mut receiver = Receiver::new(config.max_attachments, config.parser);
    let hooks = &config.reconnect_hooks;
    // Attempts in this run of reconnections; 0 while none is under way.
    let mut attempts: u32 = 0;
    loop {
        if attempts > 0 {
            hooks.attempt(attempts);
        }
        let opened = tokio::select! {
            // Boxed: the handshake's state (tungstenite's, hyper's) is large
            // and only needed while opening; inline it would make every
            // connection's task that much bigger for its whole life.
            opened = tokio::time::timeout(config.connect_timeout, Box::pin(open(&shared))) => {
                opened.unwrap_or(Err(ClientError::Timeout))
            }
            () = until_closing(&shared) => break,
        };
        match opened {
            Ok((handshake, transport)) => {
                if attempts > 0 {
                    hooks.reconnected(attempts);
                }
                attempts = 0;
                receiver.reset();
                let reason = session(&shared, &mut receiver, handshake, transport).await;
                shared.set_transport(None);
                let final_ = reason == CLIENT_DISCONNECT
                    || shared.is_closing()
                    || !config.reconnection
                    || !shared.ever_connected();
                shared.closed(reason, final_);
                if final_ {
                    // A first connection that ended before its namespace
                    // was answered fails `connect` with the reason.
                    let error = shared.error().unwrap_or(ClientError::Disconnected);
                    shared.abandon(&error);
                    break;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "connection attempt failed");
                // A first connection that fails is the caller's error, not
                // something to retry behind its back.
                if !shared.ever_connected() {
                    shared.abandon(&e);
                    break;
                }
                hooks.error(&e);
                if config
                    .reconnection_attempts
                    .is_some_and(|max| attempts >= max)
                {
                    hooks.failed();
                    shared.set_error(e.clone());
                    shared.abandon(&e);
                    break;
                }
            }
        }
        let delay = backoff.delay(attempts, rand::random::<f64>());
        attempts = attempts.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = until_closing(&shared) => break,
        }
    }
    shared.abandon(&ClientError::Disconnected);
    shared.outbox.clear();
    shared.mark_done();
}

/// Resolves once the client is asked to close. Takes outbox wake-ups too;
/// a session drains the outbox when it starts, so none is lost.
async fn until_closing(shared: &Shared) {
    while !shared.is_closing() {
        shared.outbox.wake.notified().await;
    }
}

/// A freshly opened Engine.IO session's transport.
enum Opened {
    WebSocket(Box<Ws>),
    Polling {
        conn: Conn,
        /// Packets that came with the open packet in the handshake's body.
        rest: Vec<Packet>,
    },
}

async fn open(shared: &Arc<Shared>) -> Result<(OpenPacket, Opened), ClientError> {
    match shared.config.transports.first() {
        Some(Transport::WebSocket) => {
            let mut ws = websocket::open(shared, None).await?;
            loop {
                let packet = match ws.next().await? {
                    Incoming::Text(text) => Packet::decode_text(to_str(text)?),
                    Incoming::Ping(data) => {
                        ws.pong(&data).await?;
                        continue;
                    }
                    Incoming::Binary(_) => return Err(handshake("no open packet")),
                    Incoming::Close => return Err(handshake("closed before the open packet")),
                };
                return match packet {
                    Ok(Packet::Open(open)) => Ok((open, Opened::WebSocket(Box::new(ws)))),
                    _ => Err(handshake("the first message is not an open packet")),
                };
            }
        }
        _ => {
            let target = polling::target(shared, None);
            let max = shared.config.max_message_size;
            let (conn, body) =
                polling::request(shared, None, Method::GET, target, Bytes::new(), max).await;
            let mut packets = decode_payload(body?).map_err(|e| protocol(&e))?;
            let Some(Ok(Packet::Open(open))) = packets.next() else {
                return Err(handshake("the first packet is not an open packet"));
            };
            let rest = packets
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| protocol(&e))?;
            Ok((open, Opened::Polling { conn, rest }))
        }
    }
}

/// Runs one session until it ends; returns socket.io-client's reason.
async fn session(
    shared: &Arc<Shared>,
    receiver: &mut Receiver,
    handshake: OpenPacket,
    transport: Opened,
) -> &'static str {
    shared.opened();
    let heartbeat = Duration::from_millis(
        handshake
            .ping_interval
            .saturating_add(handshake.ping_timeout),
    );
    let deadline = tokio::time::sleep(heartbeat);
    tokio::pin!(deadline);
    let mut link = Link {
        shared,
        receiver,
        heartbeat,
    };
    let result = match transport {
        Opened::WebSocket(ws) => {
            drop(handshake);
            link.websocket(*ws, deadline.as_mut()).await
        }
        Opened::Polling { conn, rest } => {
            let upgrade = shared.config.upgrade
                && shared.config.transports.contains(&Transport::WebSocket)
                && handshake.upgrades.iter().any(|u| u == "websocket");
            // Boxed for the same reason: a WebSocket-only connection's
            // task should not carry the polling loop's state.
            let polled =
                Box::pin(link.polling(handshake, conn, rest, upgrade, deadline.as_mut())).await;
            match polled {
                Ok(Polled::Upgraded(ws)) => link.websocket(*ws, deadline.as_mut()).await,
                Ok(Polled::Ended(reason)) => Ok(reason),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(reason) => reason,
        Err(e) => {
            tracing::debug!(error = %e, "connection closed");
            let reason = match e {
                ClientError::Protocol(_) => PARSE_ERROR,
                _ => TRANSPORT_ERROR,
            };
            shared.set_error(e);
            reason
        }
    }
}

/// How a polling session ended.
enum Polled {
    Upgraded(Box<Ws>),
    Ended(&'static str),
}

/// What the session loop does after an Engine.IO packet.
enum Step {
    Continue,
    Pong(Str),
    Close,
}

struct Link<'a> {
    shared: &'a Arc<Shared>,
    receiver: &'a mut Receiver,
    /// pingInterval + pingTimeout: the server is dead when no ping came
    /// for this long.
    heartbeat: Duration,
}

impl Link<'_> {
    fn packet(&mut self, packet: Packet, deadline: Pin<&mut Sleep>) -> Result<Step, ClientError> {
        Ok(match packet {
            Packet::Message(text) => {
                self.receiver.text(self.shared, text)?;
                Step::Continue
            }
            Packet::Binary(bytes) => {
                self.receiver.binary(self.shared, bytes)?;
                Step::Continue
            }
            Packet::Ping(data) => {
                deadline.reset(Instant::now() + self.heartbeat);
                Step::Pong(data)
            }
            Packet::Close => Step::Close,
            Packet::Pong(_) | Packet::Noop | Packet::Upgrade => Step::Continue,
            Packet::Open(_) => return Err(ClientError::Protocol("a second open packet".into())),
        })
    }

    async fn websocket(
        &mut self,
        mut ws: Ws,
        mut deadline: Pin<&mut Sleep>,
    ) -> Result<&'static str, ClientError> {
        let shared = self.shared;
        shared.set_transport(Some(Transport::WebSocket));
        // Whatever was queued before this transport took over goes first.
        let mut woken = true;
        // One wait for the outbox, kept across messages and replaced only
        // once it fired: a new one per received message cost a waiter's
        // registration and removal each time.
        let wake = shared.outbox.wake.notified();
        tokio::pin!(wake);
        let mut since_write = 0u32;
        loop {
            if woken {
                woken = false;
                since_write = 0;
                let frames = shared.outbox.take_all();
                if !frames.is_empty() {
                    ws.send_all(frames).await?;
                }
                if shared.is_closing() {
                    // Boxed: a rare path whose timer need not sit in every
                    // connection's task.
                    Box::pin(close_websocket(&mut ws)).await;
                    return Ok(CLIENT_DISCONNECT);
                }
            }
            tokio::select! {
                biased;
                message = ws.next() => {
                    let packet = match message? {
                        Incoming::Text(text) => Packet::decode_text(to_str(text)?),
                        Incoming::Binary(bytes) => Ok(Packet::Binary(bytes)),
                        // Also a peer that went away without a close frame
                        // (a killed server): it closed the transport, it did
                        // not send anything malformed.
                        Incoming::Close => return Ok(TRANSPORT_CLOSE),
                        Incoming::Ping(data) => {
                            ws.pong(&data).await?;
                            continue;
                        }
                    };
                    match self.packet(packet.map_err(|e| protocol(&e))?, deadline.as_mut())? {
                        Step::Continue => {}
                        Step::Pong(data) => {
                            // Through the outbox, so that one write path
                            // (and one future's state) serves everything.
                            shared.outbox.push_text(format!("3{data}"));
                        }
                        Step::Close => return Ok(TRANSPORT_CLOSE),
                    }
                    // Reads win the biased select, so a burst is handled
                    // with no write in between; every so often write
                    // anyway, so that handlers' acks to a flood neither
                    // wait for its end nor fill the queue's bound.
                    since_write += 1;
                    if since_write == WRITE_AT_LEAST_EVERY {
                        woken = true;
                    }
                }
                () = wake.as_mut() => {
                    woken = true;
                    wake.set(shared.outbox.wake.notified());
                }
                () = deadline.as_mut() => return Ok(PING_TIMEOUT),
            }
        }
    }

    async fn polling(
        &mut self,
        handshake: OpenPacket,
        mut get_conn: Conn,
        rest: Vec<Packet>,
        upgrade: bool,
        mut deadline: Pin<&mut Sleep>,
    ) -> Result<Polled, ClientError> {
        let shared = self.shared;
        shared.set_transport(Some(Transport::Polling));
        let sid = handshake.sid.as_str();
        let max_body = shared.config.max_message_size;
        let budget = usize::try_from(handshake.max_payload).unwrap_or(usize::MAX);
        for packet in rest {
            match self.packet(packet, deadline.as_mut())? {
                Step::Continue => {}
                Step::Pong(data) => shared.outbox.push_text(format!("3{data}")),
                Step::Close => return Ok(Polled::Ended(TRANSPORT_CLOSE)),
            }
        }
        let mut poster = Poster::new(polling::target(shared, Some(sid)), budget, max_body);
        let mut get: Option<InFlight> = None;
        let mut probe: Option<Probe> = upgrade.then(|| {
            let shared = shared.clone();
            let sid = sid.to_owned();
            Box::pin(async move { websocket::probe(&shared, &sid).await }) as Probe
        });
        // Set once the probe succeeded: polling pauses (no new requests)
        // and the upgrade completes when both requests have returned.
        let mut upgraded: Option<Ws> = None;
        loop {
            let closing = shared.is_closing();
            if upgraded.is_some() && get.is_none() && poster.is_idle() {
                if let Some(mut ws) = upgraded.take() {
                    ws.send_text("5").await?;
                    return Ok(Polled::Upgraded(Box::new(ws)));
                }
            }
            if upgraded.is_none() && !poster.start(shared) && closing {
                // Tell the server, as socket.io-client does on polling.
                let target = polling::target(shared, Some(sid));
                let close = Bytes::from_static(b"1");
                let request = polling::request(
                    shared,
                    poster.take_conn(),
                    Method::POST,
                    target,
                    close,
                    max_body,
                );
                let _ = tokio::time::timeout(CLOSE_GRACE, request).await;
                return Ok(Polled::Ended(CLIENT_DISCONNECT));
            }
            if get.is_none() && upgraded.is_none() && !closing {
                let target = polling::target(shared, Some(sid));
                let conn = get_conn.take();
                let shared = shared.clone();
                get = Some(Box::pin(async move {
                    polling::request(&shared, conn, Method::GET, target, Bytes::new(), max_body)
                        .await
                }));
            }
            tokio::select! {
                biased;
                (conn, answer) = pending_or(&mut get) => {
                    get = None;
                    get_conn = conn;
                    let packets = decode_payload(answer?).map_err(|e| protocol(&e))?;
                    for (n, packet) in (1..).zip(packets) {
                        match self.packet(packet.map_err(|e| protocol(&e))?, deadline.as_mut())? {
                            Step::Continue => {}
                            Step::Pong(data) => shared.outbox.push_text(format!("3{data}")),
                            Step::Close => return Ok(Polled::Ended(TRANSPORT_CLOSE)),
                        }
                        // As on a WebSocket: what handlers queued goes out
                        // while a long payload is read, so that their acks
                        // to it do not fill the queue's bound. One POST at
                        // a time, so this waits for the server's answers
                        // (the probe waits meanwhile). Once an upgrade is
                        // ready no POST may start: the rest of a payload
                        // then queues, as it did before.
                        if n % WRITE_AT_LEAST_EVERY == 0 && upgraded.is_none() {
                            tokio::select! {
                                biased;
                                drained = poster.drain(shared) => drained?,
                                () = deadline.as_mut() => return Ok(Polled::Ended(PING_TIMEOUT)),
                            }
                        }
                    }
                }
                answer = poster.answered() => answer?,
                probed = pending_or(&mut probe) => {
                    probe = None;
                    match probed {
                        Ok(ws) => upgraded = Some(ws),
                        // As socket.io-client: a failed upgrade leaves the
                        // session on polling.
                        Err(e) => tracing::debug!(error = %e, "upgrade failed; staying on polling"),
                    }
                }
                () = shared.outbox.wake.notified() => {}
                () = deadline.as_mut() => return Ok(Polled::Ended(PING_TIMEOUT)),
            }
        }
    }
}

async fn close_websocket(ws: &mut Ws) {
    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close()).await;
}

type Probe = Pin<Box<dyn Future<Output = Result<Ws, ClientError>> + Send>>;

/// The output of `future` if there is one in flight; otherwise never.
async fn pending_or<F: Future + Unpin>(future: &mut Option<F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

fn to_str(bytes: Bytes) -> Result<Str, ClientError> {
    // The one UTF-8 check of a text message (the WebSocket reader leaves
    // it to this).
    Str::from_utf8(bytes).map_err(|_| ClientError::Protocol("invalid UTF-8".into()))
}

fn protocol(e: &impl std::fmt::Display) -> ClientError {
    ClientError::Protocol(e.to_string())
}

fn handshake(why: &str) -> ClientError {
    ClientError::Handshake(why.to_owned())
}
