//! One Engine.IO session: its state, its outgoing queue, and the handle that
//! upper layers hold to send from any task.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{Frame, Packet};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::engine::EngineShared;
use crate::handler::{CloseReason, Message};
use crate::heartbeat::{Due, Heartbeat};
use crate::outbox::Outbox;
use crate::sid::Sid;
use crate::wire::{Accepted, Wire, encode_frame};

/// Moves `raw` to the end of `buf` and frees its memory: it is used rarely
/// (a full socket, a pong), and most sessions should hold nothing.
fn take_raw(raw: &mut Vec<u8>, buf: &mut Vec<u8>) {
    if raw.capacity() > 0 {
        buf.append(raw);
        *raw = Vec::new();
    }
}

/// The transport a session currently sends and receives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// What the client sent when it opened the session.
///
/// Headers are copied out of the request: hyper's parsed headers point into
/// the connection's read buffer, and keeping them would pin that whole
/// buffer for the life of the session.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub headers: HeaderMap,
    /// The raw query string of the handshake request, without `?`.
    pub query: Box<str>,
    /// The peer address, when the server put a [`RemoteAddr`](crate::RemoteAddr)
    /// in the request's extensions.
    pub remote_addr: Option<SocketAddr>,
    pub issued: SystemTime,
}

/// Why [`Session::send`] did not queue a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session has ended.
    Closed,
    /// The session's outgoing queue is at its packet or byte bound: the
    /// client reads more slowly than it is sent to.
    QueueFull,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "session closed",
            SendError::QueueFull => "outgoing queue full",
        })
    }
}

impl std::error::Error for SendError {}

/// Where a session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    /// The server closed it and a close packet waits to be flushed; the
    /// session ends when it is, or at `deadline`.
    Closing {
        reason: CloseReason,
        deadline: Instant,
    },
    /// Ended; `on_close` is due from the owning task (or was called).
    Closed(CloseReason),
}

/// Upgrade of a polling session to WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upgrade {
    None,
    /// A WebSocket for this session was accepted and has not probed yet.
    Connecting,
    /// The WebSocket answered the probe; polling is being wound down.
    Probing,
}

pub(crate) struct State {
    pub(crate) outbox: Outbox,
    pub(crate) transport: TransportKind,
    pub(crate) upgrade: Upgrade,
    /// A long-poll GET is waiting; a second one is an error.
    pub(crate) get_active: bool,
    /// A POST is being read; a second one is an error.
    pub(crate) post_active: bool,
    pub(crate) heartbeat: Heartbeat,
    pub(crate) phase: Phase,
    /// The socket, while the session runs on a WebSocket: a send then lists
    /// the session with a flusher instead of waking the session's task.
    pub(crate) wire: Option<Arc<Wire>>,
    /// Bytes that go out before the outbox: the rest of a write the socket
    /// did not take, and the frames tungstenite wrote (pongs, close).
    pub(crate) raw: Vec<u8>,
    /// The session is on a flusher's list.
    pub(crate) listed: bool,
    /// The socket is full: the session's task is writing and waiting for
    /// it, and flushers leave the session alone until it is done.
    pub(crate) stalled: bool,
}

impl State {
    /// Writes what waits for the WebSocket (a write's unwritten rest and
    /// tungstenite's replies, then the queue, framed into `buf`) as far as
    /// the socket takes it now. `None` without a socket or with nothing to
    /// write. Called under the lock, so writes never interleave.
    fn write_pending(&mut self, buf: &mut Vec<u8>) -> Option<std::io::Result<Accepted>> {
        let wire = self.wire.as_ref()?;
        take_raw(&mut self.raw, buf);
        self.outbox.drain_each(|frame| encode_frame(buf, &frame));
        if buf.is_empty() {
            return None;
        }
        Some(wire.write_now(buf))
    }
}

/// What [`Shared::write_queued`] did.
pub(crate) enum Written {
    /// Nothing was queued.
    Nothing,
    /// Everything queued is on the socket.
    All,
    /// The socket is full; these bytes are still to be written, and the
    /// session is `stalled` until they are.
    Rest(Vec<u8>),
    /// The socket failed.
    Failed,
}

pub(crate) struct Shared {
    pub(crate) sid: Sid,
    pub(crate) engine: Arc<EngineShared>,
    pub(crate) handshake: Handshake,
    // Held only for a few field updates, never across `.await`; the session's
    // transport task and the tasks that send to it are the only contenders.
    pub(crate) state: Mutex<State>,
    /// Wakes whichever transport sends for the session (the pending GET or
    /// the WebSocket task): frames were queued or the phase changed.
    pub(crate) writer: Notify,
    /// Wakes the task that owns the session's timers and its end.
    pub(crate) owner: Notify,
    // Handler calls for one session must not overlap, but on polling they
    // come from request tasks and from the owner task. Held only while a
    // synchronous handler runs; never across `.await`.
    dispatch: Mutex<()>,
}

/// What the task that owns a session must do next; see [`Shared::tick`].
#[derive(Debug)]
pub(crate) enum Tick {
    /// The session moved to another transport, whose task owns it now.
    NotOwner,
    /// The session ended: call `on_close` and stop.
    Ended(CloseReason),
    /// Nothing to do before this instant (or a wake-up).
    WakeAt(Instant),
}

/// The ping frame; static, so a heartbeat never allocates.
const PING: Frame = Frame::Text(Str::from_static("2"));

/// A cloneable handle to a session; send from any task.
#[derive(Clone)]
pub struct Session(pub(crate) Arc<Shared>);

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.0.sid)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Session {}

impl Session {
    pub(crate) fn new(
        engine: Arc<EngineShared>,
        handshake: Handshake,
        transport: TransportKind,
    ) -> Session {
        let heartbeat = Heartbeat::new(Instant::now(), engine.config.ping_interval);
        Session(Arc::new(Shared {
            sid: Sid::random(),
            engine,
            handshake,
            state: Mutex::new(State {
                outbox: Outbox::default(),
                transport,
                upgrade: Upgrade::None,
                get_active: false,
                post_active: false,
                heartbeat,
                phase: Phase::Open,
                wire: None,
                raw: Vec::new(),
                listed: false,
                stalled: false,
            }),
            writer: Notify::new(),
            owner: Notify::new(),
            dispatch: Mutex::new(()),
        }))
    }

    /// The session id the client knows this session by.
    pub fn id(&self) -> &str {
        self.0.sid.as_str()
    }

    pub fn sid(&self) -> Sid {
        self.0.sid
    }

    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    pub fn transport(&self) -> TransportKind {
        self.0.lock().transport
    }

    pub fn is_closed(&self) -> bool {
        !matches!(self.0.lock().phase, Phase::Open)
    }

    /// Queues an encoded packet. Encode a broadcast once and clone the
    /// `Frame` to each session: clones share the bytes.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        let config = &self.0.engine.config;
        let mut state = self.0.lock();
        if !matches!(state.phase, Phase::Open) {
            return Err(SendError::Closed);
        }
        let was_empty = state.outbox.is_empty();
        if !state
            .outbox
            .push(frame, config.max_queued_packets, config.max_queued_bytes)
        {
            return Err(SendError::QueueFull);
        }
        self.0.queued(state, was_empty);
        Ok(())
    }

    /// Queues several frames, all or none: a message made of several frames
    /// (a Socket.IO packet and its binary attachments) is never cut in half
    /// by a full queue.
    pub fn send_all(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        let frames: Vec<Frame> = frames.into_iter().collect();
        let bytes = frames.iter().map(Frame::len).sum();
        let config = &self.0.engine.config;
        let mut state = self.0.lock();
        if !matches!(state.phase, Phase::Open) {
            return Err(SendError::Closed);
        }
        if !state.outbox.fits(
            frames.len(),
            bytes,
            config.max_queued_packets,
            config.max_queued_bytes,
        ) {
            return Err(SendError::QueueFull);
        }
        let was_empty = state.outbox.is_empty();
        for frame in frames {
            state.outbox.push_control(frame);
        }
        self.0.queued(state, was_empty);
        Ok(())
    }

    /// Queues a text message.
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send(Frame::message(text))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, bytes: Bytes) -> Result<(), SendError> {
        self.send(Frame::Binary(bytes))
    }

    /// Closes the session: queued frames and a close packet are flushed to
    /// the client first. Does nothing if it is already closing.
    pub fn close(&self) {
        self.0.close_gracefully(CloseReason::ServerClose);
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind
        // that is still consistent enough to close the session with.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gets frames just queued on their way: on a WebSocket, the session is
    /// listed with a flusher (once until it is flushed, and not while its
    /// task is writing, which drains the queue before it stops); otherwise
    /// the transport's writer is woken.
    fn queued(self: &Arc<Self>, mut state: MutexGuard<'_, State>, was_empty: bool) {
        if state.wire.is_some() {
            let already = state.listed;
            let list = !already && !state.stalled;
            state.listed |= list;
            drop(state);
            if list {
                self.engine.flushers.list(self.clone());
            } else if already {
                // More for the same pass: the flusher waits for it.
                self.engine.flushers.more(self);
            }
        } else {
            drop(state);
            // The writer takes the whole queue whenever it runs, so only the
            // first frame of a batch needs to wake it.
            if was_empty {
                self.wake_writer();
            }
        }
    }

    /// Called by a flusher: writes what is queued, as far as the socket
    /// takes it without waiting. A full socket makes the session `stalled`
    /// and hands the rest to its task, which can wait. Frames are encoded
    /// and written under the state lock, so a write never interleaves with
    /// another and frames stay in the order they were queued.
    pub(crate) fn flush(self: &Arc<Self>, buf: &mut Vec<u8>) {
        let mut state = self.lock();
        state.listed = false;
        // A closing session is flushed by its task, which ends it after.
        if state.stalled || !matches!(state.phase, Phase::Open) {
            return;
        }
        buf.clear();
        match state.write_pending(buf) {
            None | Some(Ok(Accepted::All)) => {}
            Some(Ok(Accepted::Part(n))) => {
                state.raw.extend_from_slice(&buf[n..]);
                state.stalled = true;
                drop(state);
                self.wake_writer();
            }
            Some(Err(_)) => {
                drop(state);
                self.end(CloseReason::TransportClose);
            }
        }
    }

    /// Called by the session's WebSocket task: writes what is queued (and
    /// what a flusher left), as far as the socket takes it now; nothing if
    /// a flusher has the session listed and the task has no bytes of its
    /// own to send (tungstenite's replies) or close to make.
    pub(crate) fn write_queued(&self) -> Written {
        let mut state = self.lock();
        // The flusher writes it soon, with the frames queued meanwhile: one
        // syscall instead of one now (a client's ack, after its message was
        // read) and another in the pass.
        if state.listed && state.raw.is_empty() && matches!(state.phase, Phase::Open) {
            return Written::Nothing;
        }
        // Allocated per batch: an idle session holds no write buffer.
        let mut buf = Vec::new();
        match state.write_pending(&mut buf) {
            None => {
                state.stalled = false;
                Written::Nothing
            }
            Some(Ok(Accepted::All)) => {
                state.stalled = false;
                Written::All
            }
            Some(Ok(Accepted::Part(n))) => {
                state.stalled = true;
                buf.drain(..n);
                Written::Rest(buf)
            }
            Some(Err(_)) => Written::Failed,
        }
    }

    /// Wakes the transport that sends for the session. Every waiter
    /// registers (`Notified::enable`) before it checks the state, so waking
    /// all registered waiters loses nothing; during an upgrade there can be
    /// two (a pending GET and the WebSocket task), which `notify_one` would
    /// not both reach.
    pub(crate) fn wake_writer(&self) {
        self.writer.notify_waiters();
    }

    /// Wakes the tasks that watch the session's phase: its owner, and an
    /// upgrade probe if one is running.
    pub(crate) fn wake_owner(&self) {
        self.owner.notify_waiters();
    }

    /// Ends the session at once: nothing more is sent or received. The
    /// owning task calls `on_close` when it next wakes.
    pub(crate) fn end(&self, reason: CloseReason) {
        let mut state = self.lock();
        if matches!(state.phase, Phase::Closed(_)) {
            return;
        }
        state.phase = Phase::Closed(reason);
        drop(state);
        self.engine.remove(self.sid);
        self.wake_writer();
        self.wake_owner();
    }

    /// Server-side close: flush what is queued plus a close packet, then end.
    pub(crate) fn close_gracefully(&self, reason: CloseReason) {
        let config = &self.engine.config;
        // Long enough for a polling client to come back for the close packet.
        let deadline = Instant::now() + config.ping_interval + config.ping_timeout;
        self.close_gracefully_by(reason, deadline);
    }

    pub(crate) fn close_gracefully_by(&self, reason: CloseReason, deadline: Instant) {
        let mut state = self.lock();
        if !matches!(state.phase, Phase::Open) {
            return;
        }
        state.phase = Phase::Closing { reason, deadline };
        state.outbox.push_control(Packet::Close.encode());
        drop(state);
        self.wake_writer();
        self.wake_owner();
    }

    /// After a transport flushed its frames: a closing session whose close
    /// packet went out is now ended.
    pub(crate) fn after_flush(&self) {
        let state = self.lock();
        if let Phase::Closing { reason, .. } = &state.phase {
            if state.outbox.is_empty() && state.raw.is_empty() && !state.stalled {
                let reason = reason.clone();
                drop(state);
                self.end(reason);
            }
        }
    }

    /// Passes one received packet on. An error is the reason to end the
    /// session with.
    pub(crate) fn receive(self: &Arc<Self>, packet: Packet) -> Result<(), CloseReason> {
        match packet {
            Packet::Message(text) => self.dispatch_message(Message::Text(text)),
            Packet::Binary(bytes) => self.dispatch_message(Message::Binary(bytes)),
            Packet::Pong(_) => {
                self.lock()
                    .heartbeat
                    .pong(Instant::now(), self.engine.config.ping_interval);
                // The owner sleeps until the pong deadline it last saw; on
                // polling nothing else wakes it, so without this the next
                // ping went out at that deadline instead of `ping_interval`
                // after the pong.
                self.wake_owner();
            }
            Packet::Close => return Err(CloseReason::TransportClose),
            Packet::Noop => {}
            // Engine.IO v4 reversed the heartbeat: only the server pings.
            Packet::Ping(_) => return Err(CloseReason::TransportError("client sent a ping")),
            Packet::Open(_) | Packet::Upgrade => {
                return Err(CloseReason::TransportError("unexpected packet type"));
            }
        }
        Ok(())
    }

    fn dispatch_message(self: &Arc<Self>, message: Message) {
        let _serial = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
        // A message that raced with the end of the session is dropped: the
        // handler has been, or is about to be, told the session closed.
        if matches!(self.lock().phase, Phase::Closed(_)) {
            return;
        }
        self.guard("on_message", || {
            self.engine
                .handler
                .on_message(&Session(self.clone()), message);
        });
    }

    pub(crate) fn dispatch_open(self: &Arc<Self>) {
        let _serial = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
        self.guard("on_open", || {
            self.engine.handler.on_open(&Session(self.clone()))
        });
    }

    /// Called once, by the task that owns the session, after it ended.
    pub(crate) fn dispatch_close(self: &Arc<Self>, reason: CloseReason) {
        let _serial = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
        tracing::debug!(sid = %self.sid, %reason, "session closed");
        self.guard("on_close", || {
            self.engine.handler.on_close(&Session(self.clone()), reason)
        });
        self.engine.closed();
    }

    /// Runs a handler call so that a panic in it ends this session, logged,
    /// instead of unwinding through the transport task: that task owns the
    /// session's timers and its end, and losing it would leave the session
    /// behind.
    fn guard(&self, call: &str, f: impl FnOnce()) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
            tracing::error!(sid = %self.sid, call, "the handler panicked; closing its session");
            self.end(CloseReason::TransportError("handler panicked"));
        }
    }

    /// Runs the session's timers for the task that owns it while it is on
    /// `transport`: queues a due ping, ends a session whose pong or close
    /// flush is overdue, and says when to come back.
    pub(crate) fn tick(&self, transport: TransportKind) -> Tick {
        let config = &self.engine.config;
        loop {
            let now = Instant::now();
            let mut state = self.lock();
            // Checked under the same lock as the phase, so that exactly one
            // task, the owner, sees the end and reports it.
            if state.transport != transport {
                return Tick::NotOwner;
            }
            let mut wake = match &state.phase {
                Phase::Closed(reason) => return Tick::Ended(reason.clone()),
                Phase::Closing { reason, deadline } if now >= *deadline => {
                    let reason = reason.clone();
                    drop(state);
                    self.end(reason);
                    continue;
                }
                Phase::Closing { deadline, .. } => Some(*deadline),
                Phase::Open => None,
            };
            match state.heartbeat.poll(now, config.ping_timeout) {
                Due::Nothing => {}
                Due::SendPing => {
                    state.outbox.push_control(PING);
                    self.wake_writer();
                }
                Due::TimedOut => {
                    drop(state);
                    self.end(CloseReason::PingTimeout);
                    continue;
                }
            }
            let beat = state.heartbeat.wake_at();
            wake = Some(wake.map_or(beat, |w| w.min(beat)));
            return Tick::WakeAt(wake.unwrap_or(beat));
        }
    }
}
