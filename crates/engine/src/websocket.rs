//! The WebSocket transport: direct sessions, the upgrade of polling
//! sessions, and the task that runs a session over its WebSocket.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{Frame, Packet};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

use crate::config::EngineConfig;
use crate::engine::{EngineShared, handshake};
use crate::error::RequestError;
use crate::handler::CloseReason;
use crate::outbox::shrink;
use crate::session::{Handshake, Phase, Shared, Tick, TransportKind, Upgrade};

// Boxed: a session's task future would otherwise carry the stream inline in
// several of its states (async functions copy moved arguments), a few
// hundred bytes per idle connection.
type Ws = Box<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>>;
type Reply = Result<Response<Full<Bytes>>, RequestError>;

/// Opens a session directly over WebSocket.
pub(crate) fn open<B>(engine: Arc<EngineShared>, mut request: Request<B>) -> Reply {
    let response = accept(request.headers())?;
    // Boxed: what an async block captures stays in its future for the whole
    // session, so inline it would cost its full size per connection.
    let handshake = Box::new(handshake(&request));
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(io) = on_upgrade.await else { return };
        let ws = websocket(io, &engine.config).await;
        let session = create(&engine, handshake);
        let open = engine.open_packet(session.sid(), TransportKind::WebSocket);
        session
            .0
            .lock()
            .outbox
            .push_control(Packet::Open(open).encode());
        session.0.dispatch_open();
        run(session.0, ws).await;
    });
    Ok(response)
}

/// Creates the session. A function of its own so that the boxed handshake
/// is freed here: a box moved out of inside the task would stay allocated
/// until the task ends.
#[allow(
    clippy::boxed_local,
    reason = "taking the box is the point: it is freed when this returns"
)]
fn create(engine: &Arc<EngineShared>, handshake: Box<Handshake>) -> crate::session::Session {
    engine.create(*handshake, TransportKind::WebSocket)
}

/// Starts upgrading a polling session: the WebSocket probes, then takes over.
pub(crate) fn upgrade<B>(shared: Arc<Shared>, mut request: Request<B>) -> Reply {
    let response = accept(request.headers())?;
    let on_upgrade = hyper::upgrade::on(&mut request);
    let allowed = {
        let mut state = shared.lock();
        // One upgrade per session, and none after it.
        let allowed = state.transport == TransportKind::Polling
            && state.upgrade == Upgrade::None
            && state.phase == Phase::Open;
        if allowed {
            state.upgrade = Upgrade::Connecting;
        }
        allowed
    };
    if !allowed {
        // Refused the way Node's engine.io does and its clients expect: the
        // WebSocket opens and is closed at once, so a browser sees a close
        // rather than a failed handshake.
        tokio::spawn(async move {
            if let Ok(io) = on_upgrade.await {
                close(
                    &mut websocket(io, &shared.engine.config).await,
                    CloseCode::Policy,
                )
                .await;
            }
        });
        return Ok(response);
    }
    tokio::spawn(async move {
        let Ok(io) = on_upgrade.await else {
            shared.lock().upgrade = Upgrade::None;
            return;
        };
        let mut ws = websocket(io, &shared.engine.config).await;
        let deadline = Instant::now() + shared.engine.config.upgrade_timeout;
        match tokio::time::timeout_at(deadline, probe(&shared, &mut ws)).await {
            Ok(Ok(())) => run(shared, ws).await,
            outcome => {
                // The session goes on over polling; this socket is reclaimed.
                shared.lock().upgrade = Upgrade::None;
                shared.wake_writer();
                let code = if outcome.is_err() {
                    CloseCode::Policy
                } else {
                    CloseCode::Normal
                };
                close(&mut ws, code).await;
            }
        }
    });
    Ok(response)
}

/// The probe of an upgrade: answers `2probe`, and on `5` moves the session
/// onto this WebSocket. An error means the upgrade is off.
async fn probe(shared: &Arc<Shared>, ws: &mut Ws) -> Result<(), ()> {
    loop {
        let mut ended = std::pin::pin!(shared.owner.notified());
        ended.as_mut().enable();
        let packet = tokio::select! {
            message = ws.next() => match message {
                Some(Ok(WsMessage::Text(text))) => {
                    Packet::decode_text(to_str(text)).map_err(|_| ())?
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                _ => return Err(()),
            },
            // A session that is only closing keeps its probe (see `ends`).
            () = ended => if ends(shared) { return Err(()) } else { continue },
        };
        match packet {
            Packet::Ping(data) if data == "probe" => {
                shared.lock().upgrade = Upgrade::Probing;
                // Releases a pending long-poll with a noop, so the client can
                // pause polling and send the upgrade packet.
                shared.wake_writer();
                let pong = Packet::Pong(Str::from_static("probe")).encode();
                ws.send(to_ws(pong)).await.map_err(|_| ())?;
            }
            Packet::Upgrade => {
                let mut state = shared.lock();
                if matches!(state.phase, Phase::Closed(_)) {
                    return Err(());
                }
                state.transport = TransportKind::WebSocket;
                state.upgrade = Upgrade::None;
                drop(state);
                // The polling task sees it no longer owns the session, and a
                // GET still pending is released.
                shared.wake_owner();
                shared.wake_writer();
                return Ok(());
            }
            _ => return Err(()),
        }
    }
}

/// Whether an upgrade probe must give up: only once the session has ended.
/// A session that is closing (a server-side close or shutdown, with frames
/// and a close packet still queued) completes its upgrade, as in Node's
/// engine.io, and flushes them over the WebSocket: a client that has
/// answered the probe has paused polling and will not poll again, so
/// dropping the probe then left it hanging until its ping timeout, the
/// queued frames undelivered.
fn ends(shared: &Shared) -> bool {
    matches!(shared.lock().phase, Phase::Closed(_))
}

/// Runs a session over its WebSocket until it ends, then reports the end.
async fn run(shared: Arc<Shared>, mut ws: Ws) {
    let config = &shared.engine.config;
    // A client that stops reading fills our socket buffer; once a write has
    // waited this long it would have missed a heartbeat anyway.
    let write_timeout = config.ping_interval + config.ping_timeout;
    // Frames being written; kept between batches so steady traffic does not
    // allocate, and shrunk after a burst.
    let mut batch = VecDeque::new();
    let reason = loop {
        let mut wake_writer = std::pin::pin!(shared.writer.notified());
        wake_writer.as_mut().enable();
        let mut wake_owner = std::pin::pin!(shared.owner.notified());
        wake_owner.as_mut().enable();
        let wake_at = match shared.tick(TransportKind::WebSocket) {
            Tick::Ended(reason) => break reason,
            // Only a WebSocket can take over from a WebSocket, and none can.
            Tick::NotOwner => return,
            Tick::WakeAt(at) => at,
        };
        {
            let mut state = shared.lock();
            state.outbox.drain_into(&mut batch);
            if batch.is_empty() {
                // Nothing to write: the task is about to wait. Idle sessions
                // are most sessions, so they hold no queue memory.
                state.outbox.release_if_empty();
                batch = VecDeque::new();
            }
        }
        if !batch.is_empty() {
            // Boxed, allocated per batch written rather than carried by
            // every idle session's task: this state is the largest of `run`.
            let sent = Box::pin(tokio::time::timeout(write_timeout, async {
                for frame in batch.drain(..) {
                    ws.feed(to_ws(frame)).await?;
                }
                ws.flush().await
            }))
            .await;
            shrink(&mut batch);
            match sent {
                Ok(Ok(())) => shared.after_flush(),
                Ok(Err(_)) => shared.end(CloseReason::TransportClose),
                Err(_) => shared.end(CloseReason::TransportError("write timed out")),
            }
            // Under a steady stream of sends the queue is refilled before we
            // get back here, and the select below is never reached: take what
            // the client sent meanwhile (its pongs above all) without waiting,
            // so that it is not starved into a ping timeout.
            while let Some(message) = ws.next().now_or_never() {
                if let Err((reason, code)) = receive(&shared, message) {
                    if let Some(code) = code {
                        Box::pin(close(&mut ws, code)).await;
                    }
                    shared.end(reason);
                    break;
                }
            }
            continue;
        }
        tokio::select! {
            message = ws.next() => {
                if let Err((reason, code)) = receive(&shared, message) {
                    if let Some(code) = code {
                        Box::pin(close(&mut ws, code)).await;
                    }
                    shared.end(reason);
                }
            }
            () = wake_writer => {}
            () = wake_owner => {}
            () = tokio::time::sleep_until(wake_at) => {}
        }
    };
    Box::pin(close(&mut ws, CloseCode::Normal)).await;
    shared.dispatch_close(reason);
}

/// Handles one read from the socket. An error carries the reason to end the
/// session with and the close code to send first, if any.
fn receive(
    shared: &Arc<Shared>,
    message: Option<Result<WsMessage, WsError>>,
) -> Result<(), (CloseReason, Option<CloseCode>)> {
    let packet = match message {
        Some(Ok(WsMessage::Text(text))) => Packet::decode_text(to_str(text)),
        Some(Ok(WsMessage::Binary(bytes))) => Ok(Packet::Binary(bytes)),
        // tungstenite answers WebSocket pings itself.
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => return Ok(()),
        Some(Ok(WsMessage::Close(_))) | None => return Err((CloseReason::TransportClose, None)),
        Some(Err(error)) => return Err(read_error(error)),
    };
    match packet {
        Ok(packet) => shared.receive(packet).map_err(|reason| (reason, None)),
        Err(_) => Err((
            CloseReason::TransportError("parse error"),
            Some(CloseCode::Normal),
        )),
    }
}

/// The close code RFC 6455 prescribes for each way a peer can break it.
fn read_error(error: WsError) -> (CloseReason, Option<CloseCode>) {
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => (
            CloseReason::TransportError("message over max payload"),
            Some(CloseCode::Size),
        ),
        WsError::Capacity(_) => (
            CloseReason::TransportError("capacity"),
            Some(CloseCode::Size),
        ),
        WsError::Utf8(_) => (
            CloseReason::TransportError("invalid UTF-8"),
            Some(CloseCode::Invalid),
        ),
        // The peer's TCP connection ended without a close frame (a tab
        // closed, a network dropped): the connection ended, which is
        // `TransportClose` as documented, not a protocol violation to
        // answer with 1002 on a socket nobody reads any more.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            (CloseReason::TransportClose, None)
        }
        WsError::Protocol(_) => (
            CloseReason::TransportError("WebSocket protocol error"),
            Some(CloseCode::Protocol),
        ),
        WsError::ConnectionClosed | WsError::AlreadyClosed => (CloseReason::TransportClose, None),
        _ => (CloseReason::TransportClose, None),
    }
}

/// Sends a close frame and waits briefly for the socket to take it; the
/// connection is dropped right after either way.
async fn close(ws: &mut Ws, code: CloseCode) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::default(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), (**ws).close(Some(frame))).await;
}

async fn websocket(io: hyper::upgrade::Upgraded, config: &EngineConfig) -> Ws {
    Box::new(
        WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(ws_config(config)))
            .await,
    )
}

/// Small buffers that grow on demand: an idle session should cost a few
/// kilobytes, not tungstenite's 128 KiB defaults (see
/// docs/decisions/0001-websocket-crate.md).
fn ws_config(config: &EngineConfig) -> WebSocketConfig {
    let max = config.max_payload;
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Bytes tungstenite reads per syscall. It zero-fills this much per
/// connection on the first read, so it is resident for every session; it
/// grows only while a larger message is being received. 512 rather than
/// ADR 0001's 1 KiB: clients mostly send small packets (pongs, events,
/// acks), and the half kilobyte saved is a tenth of an idle session; a
/// client streaming large messages pays one more read syscall per 512 bytes
/// (see the addendum in docs/decisions/0001-websocket-crate.md).
const READ_BUFFER: usize = 512;

/// Bytes of frames tungstenite gathers before it writes: a drained outbox
/// goes out in few syscalls. Not preallocated, so an idle session pays nothing.
const WRITE_BATCH: usize = 8 * 1024;

/// Answers a WebSocket handshake and echoes every message back, on the same
/// WebSocket stack and settings (buffers, `max_payload`) as the engine's
/// transport, with no Engine.IO on top. It exists for RFC 6455 conformance
/// runs such as the Autobahn test suite (`examples/ws_echo.rs`).
pub fn raw_websocket_echo<B>(
    config: &EngineConfig,
    mut request: Request<B>,
) -> Response<Full<Bytes>> {
    let response = match accept(request.headers()) {
        Ok(response) => response,
        Err(error) => return error.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let config = config.clone();
    tokio::spawn(async move {
        let Ok(io) = on_upgrade.await else { return };
        let mut ws = websocket(io, &config).await;
        while let Some(message) = ws.next().await {
            let reply = match message {
                Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_))) => message,
                Ok(_) => continue,
                Err(error) => {
                    if let (_, Some(code)) = read_error(error) {
                        close(&mut ws, code).await;
                    }
                    return;
                }
            };
            if ws.send(reply).await.is_err() {
                return;
            }
        }
    });
    response
}

/// Checks a WebSocket handshake and builds the 101 answer.
fn accept(headers: &HeaderMap) -> Result<Response<Full<Bytes>>, RequestError> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(RequestError::BadRequest);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(RequestError::BadRequest);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(RequestError::BadRequest)?;
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| RequestError::BadRequest)?;
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(response)
}

fn to_str(text: Utf8Bytes) -> Str {
    // tungstenite checked the UTF-8; the second check only re-scans bytes
    // that are already in cache.
    Str::from_utf8(Bytes::from(text)).unwrap_or_default()
}

#[allow(
    unsafe_code,
    reason = "checking the UTF-8 of a broadcast frame again for every recipient would undo encoding it once"
)]
fn to_ws(frame: Frame) -> WsMessage {
    match frame {
        // SAFETY: a `Str` holds UTF-8 by construction (checked where it was
        // built) and its bytes are immutable.
        Frame::Text(text) => {
            WsMessage::Text(unsafe { Utf8Bytes::from_bytes_unchecked(text.into_bytes()) })
        }
        Frame::Binary(bytes) => WsMessage::Binary(bytes),
    }
}
