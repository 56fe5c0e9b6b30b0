//! The WebSocket transport: direct sessions, the upgrade of polling
//! sessions, and the task that runs a session over its WebSocket.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
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
use crate::session::{Handshake, Phase, Shared, Tick, TransportKind, Upgrade, Written};
use crate::wire::{Wire, WireStream, encode_frame};

// Boxed: a session's task future would otherwise carry the stream inline in
// several of its states (async functions copy moved arguments), a few
// hundred bytes per idle connection.
type Ws = Box<WebSocketStream<WireStream>>;
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
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {
                    // tungstenite's pong to a ping: nothing else writes to
                    // this socket until the session moves onto it.
                    write_captured(ws).await.map_err(|_| ())?;
                    continue;
                }
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
                let mut buf = Vec::new();
                encode_frame(&mut buf, &pong);
                ws.get_ref().wire().write_all(&buf).await.map_err(|_| ())?;
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
///
/// Frames sent to the session are written by a flusher (`flush.rs`), not by
/// this task; it writes only what a flusher could not (a full socket, which
/// it waits for), its close, tungstenite's replies (with whatever is queued
/// then), and frames queued while no flusher has the session listed.
async fn run(shared: Arc<Shared>, mut ws: Ws) {
    let config = &shared.engine.config;
    // A client that stops reading fills our socket buffer; once a write has
    // waited this long it would have missed a heartbeat anyway.
    let write_timeout = config.ping_interval + config.ping_timeout;
    ws.get_mut().attach(shared.clone());
    shared.engine.flushers.start();
    shared.lock().wire = Some(ws.get_ref().wire().clone());
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
        let captured = &mut ws.get_mut().captured;
        if !captured.is_empty() {
            shared.lock().raw.append(captured);
        }
        let wrote = match shared.write_queued() {
            Written::Nothing => false,
            Written::All => true,
            Written::Rest(rest) => {
                // Boxed, allocated only when the socket is full rather than
                // carried by every idle session's task.
                let write = ws.get_ref().wire().write_all(&rest);
                let sent = Box::pin(tokio::time::timeout(write_timeout, write)).await;
                shared.lock().stalled = false;
                match sent {
                    Ok(Ok(())) => true,
                    Ok(Err(_)) => {
                        shared.end(CloseReason::TransportClose);
                        continue;
                    }
                    Err(_) => {
                        shared.end(CloseReason::TransportError("write timed out"));
                        continue;
                    }
                }
            }
            Written::Failed => {
                shared.end(CloseReason::TransportClose);
                continue;
            }
        };
        if wrote {
            shared.after_flush();
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
    // No flusher writes after the close frame, or keeps the socket open.
    shared.lock().wire = None;
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
    // tungstenite only records the close frame (see `WireStream`); it goes
    // out here, with whatever reply it had not sent yet.
    let _ = (**ws).close(Some(frame)).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), write_captured(ws)).await;
}

/// Writes what tungstenite wrote (pongs, a close frame) to the socket, for
/// the times no session task writes for this socket (probe, close, echo).
async fn write_captured(ws: &mut Ws) -> std::io::Result<()> {
    let captured = std::mem::take(&mut ws.get_mut().captured);
    if captured.is_empty() {
        return Ok(());
    }
    ws.get_ref().wire().write_all(&captured).await
}

async fn websocket(io: hyper::upgrade::Upgraded, config: &EngineConfig) -> Ws {
    let stream = WireStream::new(Wire::new(io));
    Box::new(WebSocketStream::from_raw_socket(stream, Role::Server, Some(ws_config(config))).await)
}

/// Small buffers that grow on demand: an idle session should cost a few
/// kilobytes, not tungstenite's 128 KiB defaults (see
/// docs/decisions/0001-websocket-crate.md).
fn ws_config(config: &EngineConfig) -> WebSocketConfig {
    let max = config.max_payload;
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // tungstenite writes only its replies, into memory (`WireStream`).
        .write_buffer_size(0)
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
        let mut buf = Vec::new();
        while let Some(message) = ws.next().await {
            let reply = match message {
                Ok(WsMessage::Text(text)) => Frame::Text(to_str(text)),
                Ok(WsMessage::Binary(bytes)) => Frame::Binary(bytes),
                Ok(_) => {
                    if write_captured(&mut ws).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(error) => {
                    if let (_, Some(code)) = read_error(error) {
                        close(&mut ws, code).await;
                    }
                    return;
                }
            };
            buf.clear();
            buf.append(&mut ws.get_mut().captured);
            encode_frame(&mut buf, &reply);
            if ws.get_ref().wire().write_all(&buf).await.is_err() {
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
