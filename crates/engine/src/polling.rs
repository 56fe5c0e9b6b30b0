//! HTTP long-polling: the GET that waits for frames, the POST that carries
//! the client's packets, and the task that keeps a polling session's timers.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use switchboard_protocol::engine::{Packet, decode_payload, encode_payload_into};

use crate::engine::BoxError;
use crate::error::RequestError;
use crate::handler::CloseReason;
use crate::session::{Phase, Shared, Tick, TransportKind, Upgrade};

/// A finished polling response body.
type Reply = Result<Response<Full<Bytes>>, RequestError>;

/// Answers a long-poll GET with every queued frame, waiting for one if none is.
pub(crate) async fn get(shared: Arc<Shared>) -> Reply {
    {
        let mut state = shared.lock();
        if state.transport != TransportKind::Polling {
            // Upgraded: this sid lives on a WebSocket now.
            return Err(RequestError::BadRequest);
        }
        if matches!(state.phase, Phase::Closed(_)) {
            return Err(RequestError::UnknownSid);
        }
        if state.get_active {
            drop(state);
            // The pending GET is answered with a close packet.
            shared.end(CloseReason::TransportError("overlapping long-poll GET"));
            return Err(RequestError::BadRequest);
        }
        state.get_active = true;
    }
    let mut guard = AbortGuard {
        shared: &shared,
        what: Active::Get,
        finished: false,
    };
    let mut body = Vec::new();
    loop {
        let mut notified = std::pin::pin!(shared.writer.notified());
        notified.as_mut().enable();
        {
            let mut state = shared.lock();
            if let Phase::Closed(reason) = &state.phase {
                // A client that sent a close packet gets its poll released
                // with a noop; any other end is announced with a close packet.
                body.push(if *reason == CloseReason::TransportClose {
                    b'6'
                } else {
                    b'1'
                });
                break;
            }
            if state.transport != TransportKind::Polling {
                body.push(b'6');
                break;
            }
            if !state.outbox.is_empty() {
                let mut frames = state.outbox.take_all();
                // A closing session's close packet waits for the next poll
                // when other frames go before it, as in Node's engine.io: the
                // official Socket.IO client handles a payload's messages a
                // tick later but its close at once, so in one payload an ack
                // or event before the close was lost (acks rejected with
                // "socket has been disconnected").
                let close = Packet::Close.encode();
                if matches!(state.phase, Phase::Closing { .. })
                    && frames.len() > 1
                    && frames.back() == Some(&close)
                {
                    frames.pop_back();
                    state.outbox.push_control(close);
                }
                drop(state);
                encode_payload_into(&frames, &mut body);
                break;
            }
            if state.upgrade == Upgrade::Probing {
                // The client is switching to a WebSocket and waits for its
                // pending poll to return before it completes the upgrade.
                body.push(b'6');
                break;
            }
        }
        notified.await;
    }
    guard.finished = true;
    drop(guard);
    shared.after_flush();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    Ok(response)
}

/// Reads a POST body of packets, no more than `max_payload` bytes of it, and
/// passes the packets on.
pub(crate) async fn post<B>(shared: Arc<Shared>, request: Request<B>) -> Reply
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let max_payload = shared.engine.config.max_payload;
    {
        let mut state = shared.lock();
        if state.transport != TransportKind::Polling {
            return Err(RequestError::BadRequest);
        }
        if matches!(state.phase, Phase::Closed(_)) {
            return Err(RequestError::UnknownSid);
        }
        if state.post_active {
            drop(state);
            shared.end(CloseReason::TransportError("overlapping POST"));
            return Err(RequestError::BadRequest);
        }
        state.post_active = true;
    }
    // Unlike an aborted GET, a POST dropped part-way loses only its own
    // packets: the session lives on, and a body that fails to arrive is
    // handled below. So the guard only clears the flag.
    let _guard = AbortGuard {
        shared: &shared,
        what: Active::Post,
        finished: true,
    };
    let fail = |reason: &'static str, error: RequestError| {
        shared.end(CloseReason::TransportError(reason));
        Err(error)
    };
    // Engine.IO v4 sends binary as base64 text on polling; a binary body is
    // a client of another protocol revision or a confused one.
    if request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .eq_ignore_ascii_case(b"application/octet-stream")
        })
    {
        return fail("binary polling body", RequestError::BadRequest);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_payload as u64) {
        return fail(
            "polling body over max payload",
            RequestError::PayloadTooLarge,
        );
    }
    // Limited stops reading at the limit whatever Content-Length claimed, so
    // a chunked or lying body is never buffered past it.
    let body = match Limited::new(request.into_body(), max_payload)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return fail(
                "polling body over max payload",
                RequestError::PayloadTooLarge,
            );
        }
        Err(_) => return fail("polling body aborted", RequestError::BadRequest),
    };
    let Ok(packets) = decode_payload(body) else {
        return fail("parse error", RequestError::BadRequest);
    };
    for packet in packets {
        let Ok(packet) = packet else {
            return fail("parse error", RequestError::BadRequest);
        };
        if let Err(reason) = shared.receive(packet) {
            let clean = reason == CloseReason::TransportClose;
            shared.end(reason);
            if clean {
                break;
            }
            return Err(RequestError::BadRequest);
        }
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    Ok(response)
}

#[derive(Clone, Copy)]
enum Active {
    Get,
    Post,
}

/// Clears the "request in progress" flag however the request ends. A GET
/// dropped before it answered means the client aborted its long-poll, which
/// ends the session: the frames it was waiting for have nowhere to go.
struct AbortGuard<'a> {
    shared: &'a Shared,
    what: Active,
    finished: bool,
}

impl Drop for AbortGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        match self.what {
            Active::Get => state.get_active = false,
            Active::Post => state.post_active = false,
        }
        drop(state);
        if !self.finished {
            self.shared
                .end(CloseReason::TransportError("long-poll aborted"));
        }
    }
}

/// Keeps a polling session's heartbeat and delivers its end to the handler.
/// Hands over to the WebSocket task when the session upgrades.
pub(crate) async fn drive(shared: Arc<Shared>) {
    loop {
        let mut notified = std::pin::pin!(shared.owner.notified());
        notified.as_mut().enable();
        match shared.tick(TransportKind::Polling) {
            Tick::NotOwner => return,
            Tick::Ended(reason) => {
                shared.dispatch_close(reason);
                return;
            }
            Tick::WakeAt(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = notified => {}
                }
            }
        }
    }
}
