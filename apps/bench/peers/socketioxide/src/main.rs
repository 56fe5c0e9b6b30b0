//! The chat event contract of `apps/chat` (see `apps/chat/src/chat.rs`) on
//! socketioxide 0.18, as its documentation shows it: axum, a `State`, socket
//! extensions for per-socket data. History lives in memory.
//!
//! `switchboard-bench-socketioxide [--port N]` (0 by default) prints
//! `PORT <n>` on stdout once it listens; the bench reads that line.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use serde::Serialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

const MAX_NAME: usize = 32;
const MAX_ROOM: usize = 64;
const MAX_MESSAGE: usize = 4000;
const MAX_PAGE: u64 = 200;
const DEFAULT_PAGE: usize = 50;
const TYPING_EVERY: Duration = Duration::from_secs(1);
const ANNOUNCE_EVERY: Duration = Duration::from_millis(200);
/// Packets a socket may have queued; the switchboard chat allows the same
/// (socketioxide's default of 128 disconnects readers during a join storm
/// or a burst of broadcasts, which would not compare like with like).
const MAX_QUEUED: usize = 16_384;

#[derive(Clone, Serialize)]
struct Stored {
    id: i64,
    user: Option<String>,
    text: String,
    timestamp: String,
    room: Option<String>,
}

#[derive(Default)]
struct Chat {
    messages: Mutex<Vec<Stored>>,
    users: Mutex<BTreeMap<String, usize>>,
    changed: Notify,
}

type Shared = State<Arc<Chat>>;

#[derive(Clone)]
struct UserName(String);

#[derive(Clone, Copy)]
struct TypedAt(Instant);

/// Whether the client asked for an acknowledgement: errors go through the
/// ack when it did, as a `chat:error` event when it did not.
struct AckWanted(bool);

impl<A: Adapter> FromMessageParts<A> for AckWanted {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(AckWanted(ack_id.is_some()))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Chat {
    fn insert(&self, user: Option<String>, text: String, room: Option<String>) -> Stored {
        let mut messages = lock(&self.messages);
        let id = messages.last().map_or(1, |m| m.id + 1);
        let stored = Stored {
            id,
            user,
            text,
            timestamp: OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
            room,
        };
        messages.push(stored.clone());
        stored
    }

    fn history(&self, room: Option<&str>, before: Option<i64>, limit: usize) -> Vec<Stored> {
        let messages = lock(&self.messages);
        let mut page: Vec<Stored> = messages
            .iter()
            .rev()
            .filter(|m| m.room.as_deref() == room && before.is_none_or(|b| m.id < b))
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        page
    }

    fn add(&self, name: &str) {
        *lock(&self.users).entry(name.to_owned()).or_default() += 1;
        self.changed.notify_one();
    }

    /// True when it was the user's last socket.
    fn remove(&self, name: &str) -> bool {
        let mut users = lock(&self.users);
        let Some(count) = users.get_mut(name) else {
            return false;
        };
        *count -= 1;
        let gone = *count == 0;
        if gone {
            users.remove(name);
        }
        drop(users);
        self.changed.notify_one();
        gone
    }
}

fn text_field(value: Option<&Value>, what: &str, max: usize) -> Result<String, String> {
    let Some(Value::String(text)) = value else {
        return Err(format!("{what} must be a string"));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    Ok(text.to_owned())
}

/// The first argument, or nothing when there was none or it did not parse.
fn first(data: TryData<Value>) -> Option<Value> {
    data.0.ok()
}

fn refuse(socket: &SocketRef, event: &str, ack: AckSender, wanted: bool, error: &str) {
    let _ = if wanted {
        ack.send(&json!({ "status": "error", "error": error }))
    } else {
        socket.emit("chat:error", &json!({ "event": event, "error": error }))
    };
}

fn user(socket: &SocketRef) -> Option<String> {
    socket.extensions.get::<UserName>().map(|u| u.0)
}

fn display_name(socket: &SocketRef) -> String {
    user(socket).unwrap_or_else(|| "anonymous".to_owned())
}

async fn join(
    socket: SocketRef,
    io: SocketIo,
    State(chat): Shared,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    let name = match text_field(first(data).as_ref(), "name", MAX_NAME) {
        Ok(name) => name,
        Err(error) => return refuse(&socket, "user:join", ack, wanted, &error),
    };
    if let Some(previous) = user(&socket) {
        if previous == name {
            let _ = ack.send(&json!({ "status": "ok", "user": name }));
            return;
        }
        if chat.remove(&previous) {
            let _ = io
                .emit("user:left", &format!("{previous} left the chat"))
                .await;
        }
    }
    socket.extensions.insert(UserName(name.clone()));
    chat.add(&name);
    let _ = socket
        .broadcast()
        .emit("user:joined", &format!("{name} joined the chat"))
        .await;
    let messages = chat.history(None, None, DEFAULT_PAGE);
    let _ = socket.emit(
        "chat:history",
        &json!({ "room": null, "messages": messages }),
    );
    let _ = ack.send(&json!({ "status": "ok", "user": name }));
}

async fn message(
    socket: SocketRef,
    io: SocketIo,
    State(chat): Shared,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    let text = match text_field(first(data).as_ref(), "message", MAX_MESSAGE) {
        Ok(text) => text,
        Err(error) => return refuse(&socket, "chat:message", ack, wanted, &error),
    };
    let stored = chat.insert(user(&socket), text, None);
    let _ = io.emit("chat:message", &stored).await;
    let _ = ack.send(&json!({ "status": "ok", "id": stored.id }));
}

async fn typing(socket: SocketRef) {
    let Some(name) = user(&socket) else { return };
    let now = Instant::now();
    if socket
        .extensions
        .get::<TypedAt>()
        .is_some_and(|t| now.duration_since(t.0) < TYPING_EVERY)
    {
        return;
    }
    socket.extensions.insert(TypedAt(now));
    let _ = socket.broadcast().emit("chat:typing", &name).await;
}

async fn room_join(
    socket: SocketRef,
    State(chat): Shared,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    let room = match text_field(first(data).as_ref(), "room", MAX_ROOM) {
        Ok(room) => room,
        Err(error) => return refuse(&socket, "room:join", ack, wanted, &error),
    };
    socket.join(room.clone());
    let note = format!("{} joined {room}", display_name(&socket));
    let _ = socket.within(room.clone()).emit("system", &note).await;
    let messages = chat.history(Some(&room), None, DEFAULT_PAGE);
    let _ = socket.emit(
        "chat:history",
        &json!({ "room": room, "messages": messages }),
    );
    let _ = ack.send(&json!({ "status": "ok", "room": room }));
}

async fn room_leave(
    socket: SocketRef,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    let room = match text_field(first(data).as_ref(), "room", MAX_ROOM) {
        Ok(room) => room,
        Err(error) => return refuse(&socket, "room:leave", ack, wanted, &error),
    };
    socket.leave(room.clone());
    let note = format!("{} left {room}", display_name(&socket));
    let _ = socket.within(room.clone()).emit("system", &note).await;
    let _ = ack.send(&json!({ "status": "ok", "room": room }));
}

async fn room_message(
    socket: SocketRef,
    State(chat): Shared,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    let fields = match first(data) {
        Some(Value::Object(fields)) => fields,
        _ => {
            return refuse(
                &socket,
                "room:message",
                ack,
                wanted,
                "expected {room, message}",
            );
        }
    };
    let checked = text_field(fields.get("room"), "room", MAX_ROOM).and_then(|room| {
        text_field(fields.get("message"), "message", MAX_MESSAGE).map(|text| (room, text))
    });
    let (room, text) = match checked {
        Ok(pair) => pair,
        Err(error) => return refuse(&socket, "room:message", ack, wanted, &error),
    };
    if !socket.rooms().iter().any(|r| **r == *room) {
        let error = format!("not a member of {room}");
        return refuse(&socket, "room:message", ack, wanted, &error);
    }
    let stored = chat.insert(user(&socket), text, Some(room.clone()));
    let _ = socket.within(room).emit("chat:message", &stored).await;
    let _ = ack.send(&json!({ "status": "ok", "id": stored.id }));
}

type Query = (Option<String>, Option<i64>, usize);

fn history_query(value: Option<Value>) -> Result<Query, String> {
    let fields = match value {
        None | Some(Value::Null) => return Ok((None, None, DEFAULT_PAGE)),
        Some(Value::Object(fields)) => fields,
        Some(_) => return Err("expected {room?, before?, limit?}".to_owned()),
    };
    let room = match fields.get("room") {
        None | Some(Value::Null) => None,
        other => Some(text_field(other, "room", MAX_ROOM)?),
    };
    let before = match fields.get("before") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|b| *b > 0)
                .ok_or("before must be a message id")?,
        ),
    };
    let limit = match fields.get("limit") {
        None | Some(Value::Null) => DEFAULT_PAGE,
        Some(v) => v
            .as_u64()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or(format!("limit must be a whole number from 1 to {MAX_PAGE}"))?
            as usize,
    };
    Ok((room, before, limit))
}

async fn history(
    socket: SocketRef,
    State(chat): Shared,
    AckWanted(wanted): AckWanted,
    data: TryData<Value>,
    ack: AckSender,
) {
    if !wanted {
        let error = "chat:history needs an acknowledgement";
        return refuse(&socket, "chat:history", ack, false, error);
    }
    match history_query(first(data)) {
        Ok((room, before, limit)) => {
            let messages = chat.history(room.as_deref(), before, limit);
            let _ = ack.send(&json!({ "messages": messages }));
        }
        Err(error) => refuse(&socket, "chat:history", ack, true, &error),
    }
}

async fn left(socket: SocketRef, State(chat): Shared) {
    if let Some(name) = user(&socket)
        && chat.remove(&name)
    {
        let note = format!("{name} left the chat");
        let _ = socket.broadcast().emit("user:left", &note).await;
    }
}

/// Announces the online list after each change, at most once per
/// [`ANNOUNCE_EVERY`], as the switchboard chat does.
async fn announce(io: SocketIo, chat: Arc<Chat>) {
    loop {
        chat.changed.notified().await;
        let names: Vec<String> = lock(&chat.users).keys().cloned().collect();
        let _ = io.emit("users:online", &names).await;
        tokio::time::sleep(ANNOUNCE_EVERY).await;
    }
}

fn port() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            return args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        }
    }
    0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chat = Arc::new(Chat::default());
    let (layer, io) = SocketIo::builder()
        .max_buffer_size(MAX_QUEUED)
        .with_state(chat.clone())
        .build_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on("user:join", join);
        socket.on("chat:message", message);
        socket.on("chat:typing", typing);
        socket.on("room:join", room_join);
        socket.on("room:leave", room_leave);
        socket.on("room:message", room_message);
        socket.on("chat:history", history);
        socket.on_disconnect(left);
    });
    tokio::spawn(announce(io.clone(), chat));
    let app = axum::Router::new().layer(layer);
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port()).into())?;
    // The same backlog as the switchboard chat and the Node peer: a storm of
    // connections is not turned into SYN retries by a short queue.
    let listener = socket.listen(4096)?;
    println!("PORT {}", listener.local_addr()?.port());
    // Small replies (acks, messages) must not wait on Nagle's algorithm;
    // switchboard and Node set TCP_NODELAY too.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
