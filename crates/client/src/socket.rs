//! [`Socket`]: one namespace on a connection — emits, acknowledgements,
//! handlers, and the namespace's connection state (ids, recovery offset).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_protocol::Str;
use tokio::sync::oneshot;

use crate::client::Shared;
use crate::config::Auth;
use crate::encode::{self, Args, Outgoing};
use crate::handlers::{EventHandler, HandlerCell, Handlers};
use crate::outbox::Buffer;
use crate::{AckError, AckReply, Client, ClientError, Event, Parser};

/// A namespace on a connection. Cheap to clone; clones are the same socket.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

struct Inner {
    nsp: Str,
    client: Arc<Shared>,
    auth: Auth,
    handlers: HandlerCell,
    state: Mutex<State>,
}

type AckSender = oneshot::Sender<Result<AckReply, AckError>>;

#[derive(Default)]
struct State {
    /// The Socket.IO id from the last CONNECT answer.
    id: Option<Str>,
    /// Connection state recovery: the private id from the server's CONNECT
    /// answer, and the offset of the last broadcast event received.
    pid: Option<String>,
    offset: Option<String>,
    connected: bool,
    recovered: bool,
    /// False once the server or the user disconnected the namespace, or it
    /// was refused: no reconnection brings it back.
    active: bool,
    next_ack: u64,
    acks: HashMap<u64, AckSender>,
    /// Packets emitted while disconnected, sent on the next CONNECT answer
    /// (socket.io-client's `sendBuffer`, but bounded as the queue is).
    buffer: Buffer,
    /// Callers of `connect`/`socket` waiting for the CONNECT answer.
    waiters: Vec<oneshot::Sender<Result<(), ClientError>>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Socket")
            .field("nsp", &self.inner.nsp)
            .field("id", &state.id)
            .field("connected", &state.connected)
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(client: Arc<Shared>, nsp: &str, auth: Auth, handlers: Handlers) -> Self {
        Socket {
            inner: Arc::new(Inner {
                nsp: Str::from(nsp.to_owned()),
                client,
                auth,
                handlers: HandlerCell::new(handlers),
                state: Mutex::new(State {
                    active: true,
                    ..State::default()
                }),
            }),
        }
    }

    /// The connection's parser: every packet of its namespaces uses it.
    fn parser(&self) -> Parser {
        self.inner.client.config.parser
    }

    /// An EVENT of this namespace, `id` set when an ack is awaited.
    fn event_packet<T: Serialize + ?Sized>(
        &self,
        id: Option<u64>,
        event: &str,
        value: &T,
        args: Args,
        binary: Vec<Bytes>,
    ) -> Result<Outgoing, ClientError> {
        encode::event(
            self.parser(),
            &self.inner.nsp,
            id,
            event,
            value,
            args,
            binary,
        )
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Short sections only (flags, maps, pushes); never held across
        // `.await` nor while a user callback runs.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The namespace, e.g. `/` or `/admin`.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// The Socket.IO id the server gave this namespace, while connected.
    pub fn id(&self) -> Option<String> {
        let state = self.state();
        state
            .id
            .as_ref()
            .filter(|_| state.connected)
            .map(|id| id.to_string())
    }

    pub fn connected(&self) -> bool {
        self.state().connected
    }

    /// Whether the last (re)connection recovered the previous session:
    /// the server answered with the same private id, so the events missed
    /// while disconnected were replayed and the id and rooms kept.
    pub fn recovered(&self) -> bool {
        self.state().recovered
    }

    /// The connection this namespace is on; opens more namespaces.
    pub fn io(&self) -> Client {
        Client {
            shared: self.inner.client.clone(),
        }
    }

    /// Calls `handler` for every `event` on this namespace, inline on the
    /// connection's task.
    pub fn on(&self, event: &str, handler: impl Fn(&Socket, &Event) + Send + Sync + 'static) {
        self.update_handlers(|h| h.add(event, Arc::new(handler)));
    }

    /// Replaces the handler set, then tells the connection's task, which
    /// keeps a snapshot of it (see `receive::Route`).
    fn update_handlers(&self, change: impl FnOnce(&mut Handlers)) {
        self.inner.handlers.update(change);
        self.inner.client.changed();
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: &str) {
        self.update_handlers(|h| h.remove(event));
    }

    /// Calls `handler` for every event, after the handlers of its name.
    pub fn on_any(&self, handler: impl Fn(&Socket, &Event) + Send + Sync + 'static) {
        self.update_handlers(|h| h.any.push(Arc::new(handler)));
    }

    /// Calls `handler` after each (re)connection; [`recovered`](Self::recovered)
    /// tells whether it was a recovery.
    pub fn on_connect(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.update_handlers(|h| h.connect.push(Arc::new(handler)));
    }

    /// Calls `handler` with the reason when the namespace disconnects:
    /// `transport close`, `transport error`, `ping timeout`, `parse error`,
    /// `io server disconnect`, `io client disconnect`.
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        self.update_handlers(|h| h.disconnect.push(Arc::new(handler)));
    }

    /// Emits `event` with one argument. Never waits: the packet is queued
    /// (or buffered until the namespace is connected again), or refused
    /// with [`ClientError::QueueFull`] past the client's
    /// [`max_queued_packets`](crate::ClientBuilder::max_queued_packets) or
    /// [`max_queued_bytes`](crate::ClientBuilder::max_queued_bytes).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), ClientError> {
        self.send(self.event_packet(None, event, data, Args::One, Vec::new())?)
    }

    /// Emits `event` with the elements of `args` (a tuple, a Vec, a JSON
    /// array) as its arguments; `&()` sends none.
    pub fn emit_args<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), ClientError> {
        self.send(self.event_packet(None, event, args, Args::Many, Vec::new())?)
    }

    /// Emits `event` with one argument, volatile (socket.io-client's
    /// `socket.volatile.emit`): dropped instead of buffered while the
    /// namespace is not connected (its CONNECT unanswered included), and
    /// dropped while earlier packets wait in the queue behind the write in
    /// progress (the server or the network is slow). For data a newer
    /// emit replaces, such as positions or live readings. Returns whether
    /// it was queued.
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<bool, ClientError> {
        let packet = self.event_packet(None, event, data, Args::One, Vec::new())?;
        self.route(&mut self.state(), packet, true)
    }

    /// Emits `event` with the elements of `args` as arguments, where
    /// [`placeholder(n)`](crate::placeholder) stands for `binary[n]`.
    pub fn emit_binary<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        binary: Vec<Bytes>,
    ) -> Result<(), ClientError> {
        self.send(self.event_packet(None, event, args, Args::Many, binary)?)
    }

    /// Emits `event` with one argument and waits for the acknowledgement,
    /// at most the client's `ack_timeout`; resolves with its first argument.
    pub async fn emit_with_ack<R: DeserializeOwned, T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<R, AckError> {
        let timeout = self.inner.client.config.ack_timeout;
        self.emit_with_ack_timeout(event, data, timeout).await
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with its own timeout.
    pub async fn emit_with_ack_timeout<R: DeserializeOwned, T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<R, AckError> {
        let waiting = self.ack_request(event, data, Args::One, Vec::new(), timeout);
        waiting.await?.first().map_err(AckError::Decode)
    }

    /// The general form: `args` as an argument list (placeholders for
    /// `binary`), and the whole answer, binary attachments included.
    pub async fn emit_with_ack_raw<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        binary: Vec<Bytes>,
        timeout: Duration,
    ) -> Result<AckReply, AckError> {
        self.ack_request(event, args, Args::Many, binary, timeout)
            .await
    }

    /// Queues the packet now and returns the wait for its answer, so the
    /// future holds no borrow of the arguments.
    fn ack_request<T: Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
        args: Args,
        binary: Vec<Bytes>,
        timeout: Duration,
    ) -> impl Future<Output = Result<AckReply, AckError>> + Send + 'static + use<T> {
        let (tx, rx) = oneshot::channel();
        let queued = {
            let mut state = self.state();
            let id = state.next_ack;
            state.next_ack += 1;
            self.event_packet(Some(id), event, value, args, binary)
                .and_then(|packet| self.send_locked(&mut state, packet))
                .map(|()| {
                    state.acks.insert(id, tx);
                    id
                })
        };
        let socket = self.clone();
        async move {
            let id = queued?;
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    socket.state().acks.remove(&id);
                    Err(AckError::Timeout)
                }
            }
        }
    }

    /// Disconnects the namespace (a DISCONNECT to the server), without
    /// reconnecting it; when it was the connection's last namespace, closes
    /// the connection and returns once it is closed.
    pub async fn disconnect(&self) {
        let was_connected = {
            let mut state = self.state();
            let was = state.connected;
            if was {
                self.inner
                    .client
                    .outbox
                    .push(encode::disconnect(self.parser(), &self.inner.nsp));
            }
            self.deactivate(&mut state);
            was
        };
        if was_connected {
            self.call_disconnect("io client disconnect");
        }
        self.inner.client.detach(&self.inner.nsp);
        if self.inner.client.is_closing() {
            self.inner.client.wait_done().await;
        }
    }

    fn send(&self, packet: Outgoing) -> Result<(), ClientError> {
        let mut state = self.state();
        self.send_locked(&mut state, packet)
    }

    fn send_locked(&self, state: &mut State, packet: Outgoing) -> Result<(), ClientError> {
        self.route(state, packet, false).map(drop)
    }

    /// Where an emit goes: the outbox while connected, the buffer while
    /// reconnecting (a volatile one nowhere), an error once inactive; both
    /// queues bounded. Returns whether it was queued.
    fn route(
        &self,
        state: &mut State,
        packet: Outgoing,
        volatile: bool,
    ) -> Result<bool, ClientError> {
        let bounds = self.inner.client.config.queue;
        let outbox = &self.inner.client.outbox;
        match (state.connected, state.active, volatile) {
            (true, _, true) => outbox.try_push_if_idle(packet, bounds),
            (true, _, false) => outbox.try_push(packet, bounds).map(|()| true),
            (false, true, true) => Ok(false),
            (false, true, false) => state.buffer.push(packet, bounds).map(|()| true),
            (false, false, _) => Err(ClientError::Disconnected),
        }
    }

    /// Sends an acknowledgement, bounded as emits are; dropped when
    /// disconnected, since the server forgets its pending acks with the
    /// connection.
    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        id: u64,
        value: &T,
        binary: Vec<Bytes>,
        many: bool,
    ) -> Result<(), ClientError> {
        let args = if many { Args::Many } else { Args::One };
        let packet = encode::ack(self.parser(), &self.inner.nsp, id, value, args, binary)?;
        let state = self.state();
        if state.connected {
            let bounds = self.inner.client.config.queue;
            self.inner.client.outbox.try_push(packet, bounds)?;
        }
        Ok(())
    }

    /// A future for the next CONNECT answer, registered now (before the
    /// packet that could answer it is even sent).
    pub(crate) fn wait_connected(
        &self,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static + use<> {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state();
            if state.connected {
                let _ = tx.send(Ok(()));
            } else if !state.active {
                let _ = tx.send(Err(ClientError::Disconnected));
            } else {
                state.waiters.push(tx);
            }
        }
        async move { rx.await.unwrap_or(Err(ClientError::Disconnected)) }
    }

    /// Removes this socket from its connection without a DISCONNECT (a
    /// CONNECT that never got an answer).
    pub(crate) fn detach(&self) {
        self.deactivate(&mut self.state());
        self.inner.client.detach(&self.inner.nsp);
    }

    /// The CONNECT packet: the auth payload, plus `pid` and `offset` when
    /// the server offered connection state recovery.
    pub(crate) fn connect_packet(&self) -> Outgoing {
        // Asked before the state's lock is taken: a provider is the
        // application's code.
        let auth = self.inner.auth.value();
        let state = self.state();
        let auth = match &state.pid {
            Some(pid) => {
                let mut auth = match auth {
                    Some(Value::Object(map)) => map,
                    _ => serde_json::Map::new(),
                };
                auth.insert("pid".to_owned(), Value::String(pid.clone()));
                if let Some(offset) = &state.offset {
                    auth.insert("offset".to_owned(), Value::String(offset.clone()));
                }
                Some(Value::Object(auth))
            }
            None => auth,
        };
        encode::connect(self.parser(), &self.inner.nsp, auth.as_ref())
    }

    /// The server accepted the namespace.
    pub(crate) fn connected_as(&self, sid: String, pid: Option<String>) {
        let waiters = {
            let mut state = self.state();
            state.recovered = pid.is_some() && pid == state.pid;
            if !state.recovered {
                state.offset = None;
            }
            state.pid = pid;
            // Whether events carry an offset is part of the connection
            // task's snapshot.
            self.inner.client.changed();
            state.id = Some(Str::from(sid));
            state.connected = true;
            self.inner.client.mark_connected();
            // Buffered packets go out after the CONNECT answer and before
            // anything emitted from now on: both push under this lock.
            for packet in state.buffer.take() {
                self.inner.client.outbox.push(packet);
            }
            std::mem::take(&mut state.waiters)
        };
        for waiter in waiters {
            let _ = waiter.send(Ok(()));
        }
        let handlers = self.inner.handlers.get();
        for handler in &handlers.connect {
            guard("connect", || handler(self));
        }
    }

    /// The server refused the namespace (CONNECT_ERROR).
    pub(crate) fn refused(&self, message: String, data: Option<Value>) {
        let waiters = {
            let mut state = self.state();
            let waiters = std::mem::take(&mut state.waiters);
            self.deactivate(&mut state);
            waiters
        };
        for waiter in waiters {
            let _ = waiter.send(Err(ClientError::ConnectRefused {
                message: message.clone(),
                data: data.clone(),
            }));
        }
        self.inner.client.detach(&self.inner.nsp);
    }

    /// The server disconnected the namespace (DISCONNECT).
    pub(crate) fn server_disconnected(&self) {
        let was_connected = {
            let mut state = self.state();
            let was = state.connected;
            self.deactivate(&mut state);
            was
        };
        if was_connected {
            self.call_disconnect("io server disconnect");
        }
        self.inner.client.detach(&self.inner.nsp);
    }

    /// The connection ended; with `final_` no reconnection will follow.
    pub(crate) fn transport_closed(&self, reason: &str, final_: bool) {
        let was_connected = {
            let mut state = self.state();
            let was = state.connected;
            state.connected = false;
            fail_acks(&mut state);
            if final_ {
                self.deactivate(&mut state);
            }
            was
        };
        if was_connected {
            self.call_disconnect(reason);
        }
    }

    /// Marks the socket inactive and answers everything still waiting.
    fn deactivate(&self, state: &mut State) {
        Self::deactivate_with(state, &ClientError::Disconnected);
    }

    fn deactivate_with(state: &mut State, error: &ClientError) {
        state.connected = false;
        state.active = false;
        state.buffer = Buffer::default();
        fail_acks(state);
        for waiter in state.waiters.drain(..) {
            let _ = waiter.send(Err(error.clone()));
        }
    }

    /// The connection ended for good: whoever still waits gets `error`.
    pub(crate) fn abandon(&self, error: &ClientError) {
        Self::deactivate_with(&mut self.state(), error);
    }

    fn call_disconnect(&self, reason: &str) {
        let handlers = self.inner.handlers.get();
        for handler in &handlers.disconnect {
            guard("disconnect", || handler(self, reason));
        }
    }

    /// What the connection's task keeps to deliver events to this socket:
    /// whether events carry a recovery offset, and the handler set.
    pub(crate) fn snapshot(&self) -> (bool, Arc<Handlers>) {
        // The offset is only ever sent in a reconnection's CONNECT: without
        // reconnection (the bench's clients) keeping it would cost every
        // event a second parse for nothing.
        let recovering = self.state().pid.is_some() && self.inner.client.config.reconnection;
        (recovering, self.inner.handlers.get())
    }

    /// An event from the server, for `handlers` (a snapshot of this
    /// socket's); `recovering` when the server offered state recovery, so
    /// the event's offset must be kept.
    pub(crate) fn receive_event(
        &self,
        handlers: &Handlers,
        recovering: bool,
        name: String,
        data: Str,
        binary: Vec<Bytes>,
        id: Option<u64>,
    ) {
        if recovering {
            if let Some(offset) = last_string_arg(&data) {
                self.state().offset = Some(offset);
            }
        }
        let ack = id.map(|id| (self.clone(), id));
        let event = Event::new(name, data, binary, ack);
        for handler in handlers.of(event.name()) {
            guard(event.name(), || handler(self, &event));
        }
        for handler in &handlers.any {
            guard(event.name(), || handler(self, &event));
        }
    }

    /// An event for exactly one handler (no catch-all, no recovery).
    pub(crate) fn receive_event_by(
        &self,
        handler: &EventHandler,
        name: String,
        data: Str,
        binary: Vec<Bytes>,
        id: Option<u64>,
    ) {
        let ack = id.map(|id| (self.clone(), id));
        let event = Event::new(name, data, binary, ack);
        guard(event.name(), || handler(self, &event));
    }

    /// An acknowledgement from the server.
    pub(crate) fn receive_ack(&self, id: u64, data: Str, binary: Vec<Bytes>) {
        let waiter = self.state().acks.remove(&id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(Ok(AckReply { data, binary }));
        }
    }
}

fn fail_acks(state: &mut State) {
    for (_, waiter) in state.acks.drain() {
        let _ = waiter.send(Err(AckError::Disconnected));
    }
    state.acks.shrink_to_fit();
}

/// Runs a user callback; a panic in it is logged and does not take the
/// connection down with it.
pub(crate) fn guard(what: &str, callback: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)).is_err() {
        tracing::error!(handler = what, "a handler panicked");
    }
}

/// The last argument of an event when it is a string: the server's offset
/// for connection state recovery.
fn last_string_arg(data: &str) -> Option<String> {
    // Cheap test first: only an array ending in a string can have one.
    if !data.trim_end().strip_suffix(']')?.trim_end().ends_with('"') {
        return None;
    }
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(data).ok()?;
    if items.len() < 2 {
        return None;
    }
    serde_json::from_str(items.last()?.get()).ok()
}

/// The JSON that stands for `binary[num]` in an emit's arguments.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({"_placeholder": true, "num": num})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_a_trailing_string_argument() {
        assert_eq!(
            last_string_arg(r#"["m",1,"off-1"]"#).as_deref(),
            Some("off-1")
        );
        assert_eq!(last_string_arg(r#"["m",1]"#), None);
        assert_eq!(last_string_arg(r#"["m"]"#), None);
        assert_eq!(last_string_arg(r#"["m",{"a":"b"}]"#), None);
    }
}
