//! The event contract of the main namespace `/`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::{AckSender, ConnectError, Event, Io, Socket};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Secret;
use crate::presence::Presence;
use crate::store::{NewMessage, Store};
use crate::validate::{self, DEFAULT_PAGE};

/// `chat:typing` is relayed at most this often per socket.
const TYPING_EVERY: Duration = Duration::from_secs(1);

/// Everything the handlers share.
pub struct Chat {
    pub store: Box<dyn Store>,
    pub presence: Presence,
    /// Longest message, in characters.
    pub max_message: usize,
    pub started: Instant,
    /// With `--require-auth`: the secret every connection's token must verify.
    pub require_auth: Option<Secret>,
}

/// The name a socket joined with.
#[derive(Debug, Clone)]
pub struct UserName(pub String);

/// With `--require-auth`: the token's subject, which is the user name.
#[derive(Debug, Clone)]
struct Subject(String);

/// When the socket last had its typing relayed.
#[derive(Debug, Clone, Copy)]
struct TypedAt(Instant);

type Args = Event<Vec<Value>>;

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("max_message", &self.max_message)
            .finish_non_exhaustive()
    }
}

fn user(socket: &Socket) -> Option<String> {
    socket.data::<UserName>().map(|u| u.0)
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Answers through the ack, or with `chat:error` when none was asked for.
fn refuse(socket: &Socket, event: &str, ack: Option<AckSender>, error: &str) {
    let _ = match ack {
        Some(ack) => ack.send(&json!({ "status": "error", "error": error })),
        None => socket.emit("chat:error", &json!({ "event": event, "error": error })),
    };
}

fn ok(ack: Option<AckSender>, mut body: Value) {
    if let (Some(ack), Some(fields)) = (ack, body.as_object_mut()) {
        fields.insert("status".to_owned(), json!("ok"));
        let _ = ack.send(&body);
    }
}

/// Installs the contract on `/` and starts the presence announcer, which
/// runs until the returned handle aborts it.
pub fn install(io: &Io, chat: Arc<Chat>) -> tokio::task::JoinHandle<()> {
    let main = io.of("/");
    if let Some(secret) = chat.require_auth.clone() {
        main.use_middleware(move |socket: Socket| {
            let claims = socket
                .auth()
                .get("token")
                .and_then(Value::as_str)
                .and_then(|t| secret.verify(t));
            async move {
                let claims = claims.ok_or_else(|| ConnectError::new("unauthorized"))?;
                socket.set_data(Subject(claims.sub));
                Ok(())
            }
        });
    }
    // The event handlers are the namespace's, shared by every socket: per
    // socket they would cost each connection a table and seven closures.
    let c = chat.clone();
    main.on("user:join", move |socket: Socket, event: Args| {
        let chat = c.clone();
        async move { join(&chat, socket, event).await }
    });
    let c = chat.clone();
    main.on("chat:message", move |socket: Socket, event: Args| {
        let chat = c.clone();
        async move { message(&chat, socket, event).await }
    });
    main.on("chat:typing", |socket: Socket, _: Args| async move {
        typing(&socket)
    });
    let c = chat.clone();
    main.on("room:join", move |socket: Socket, event: Args| {
        let chat = c.clone();
        async move { room_join(&chat, socket, event).await }
    });
    main.on("room:leave", |socket: Socket, event: Args| async move {
        room_leave(&socket, event)
    });
    let c = chat.clone();
    main.on("room:message", move |socket: Socket, event: Args| {
        let chat = c.clone();
        async move { room_message(&chat, socket, event).await }
    });
    let c = chat.clone();
    main.on("chat:history", move |socket: Socket, event: Args| {
        let chat = c.clone();
        async move { history(&chat, socket, event).await }
    });
    let handlers = chat.clone();
    main.on_connect(move |socket| register(&socket, &handlers));
    let announcer = chat.clone();
    let ns = main.clone();
    tokio::spawn(async move { announcer.presence.announce(ns).await })
}

fn register(socket: &Socket, chat: &Arc<Chat>) {
    // A recovered socket has its name back (its data) but left presence
    // when its connection dropped: it is online again.
    if socket.recovered() {
        if let Some(name) = user(socket) {
            let back = !chat.presence.names().contains(&name);
            chat.presence.add(&name);
            if back {
                let _ = socket
                    .broadcast()
                    .emit("user:joined", &format!("{name} joined the chat"));
            }
        }
    }
    let c = chat.clone();
    socket.on_disconnect(move |socket, _reason| async move {
        if let Some(name) = user(&socket) {
            if c.presence.remove(&name) {
                let _ = socket
                    .namespace()
                    .emit("user:left", &format!("{name} left the chat"));
            }
        }
    });
}

async fn join(chat: &Chat, socket: Socket, event: Args) {
    let name = match socket.data::<Subject>() {
        Some(subject) => Ok(subject.0),
        None => validate::name(event.data.first()),
    };
    let name = match name {
        Ok(name) => name,
        Err(error) => return refuse(&socket, "user:join", event.ack, &error),
    };
    // Joining again under another name moves this socket's presence.
    if let Some(previous) = user(&socket) {
        if previous == name {
            return ok(event.ack, json!({ "user": name }));
        }
        if chat.presence.remove(&previous) {
            let _ = socket
                .namespace()
                .emit("user:left", &format!("{previous} left the chat"));
        }
    }
    socket.set_data(UserName(name.clone()));
    chat.presence.add(&name);
    let _ = socket
        .broadcast()
        .emit("user:joined", &format!("{name} joined the chat"));
    match chat.store.history(None, None, DEFAULT_PAGE).await {
        Ok(messages) => {
            let _ = socket.emit(
                "chat:history",
                &json!({ "room": null, "messages": messages }),
            );
        }
        Err(error) => tracing::error!(%error, "history for a joining user"),
    }
    ok(event.ack, json!({ "user": name }));
}

async fn message(chat: &Chat, socket: Socket, event: Args) {
    let text = match validate::message(event.data.first(), chat.max_message) {
        Ok(text) => text,
        Err(error) => return refuse(&socket, "chat:message", event.ack, &error),
    };
    let new = NewMessage {
        user: user(&socket),
        text,
        room: None,
        timestamp: now(),
    };
    // Stored first: what is broadcast and acknowledged survives a restart.
    match chat.store.insert(new).await {
        Ok(stored) => {
            let _ = socket.namespace().emit("chat:message", &stored);
            ok(event.ack, json!({ "id": stored.id }));
        }
        Err(error) => {
            tracing::error!(%error, "storing a message");
            refuse(
                &socket,
                "chat:message",
                event.ack,
                "the message could not be stored",
            );
        }
    }
}

fn typing(socket: &Socket) {
    let Some(name) = user(socket) else { return };
    let now = Instant::now();
    if socket
        .data::<TypedAt>()
        .is_some_and(|t| now.duration_since(t.0) < TYPING_EVERY)
    {
        return;
    }
    socket.set_data(TypedAt(now));
    let _ = socket.broadcast().emit("chat:typing", &name);
}

fn display_name(socket: &Socket) -> String {
    user(socket).unwrap_or_else(|| "anonymous".to_owned())
}

async fn room_join(chat: &Chat, socket: Socket, event: Args) {
    let room = match validate::room(event.data.first()) {
        Ok(room) => room,
        Err(error) => return refuse(&socket, "room:join", event.ack, &error),
    };
    socket.join(room.clone());
    let note = format!("{} joined {room}", display_name(&socket));
    let _ = socket.namespace().to(room.clone()).emit("system", &note);
    match chat
        .store
        .history(Some(room.clone()), None, DEFAULT_PAGE)
        .await
    {
        Ok(messages) => {
            let _ = socket.emit(
                "chat:history",
                &json!({ "room": room, "messages": messages }),
            );
        }
        Err(error) => tracing::error!(%error, "history for a room join"),
    }
    ok(event.ack, json!({ "room": room }));
}

fn room_leave(socket: &Socket, event: Args) {
    let room = match validate::room(event.data.first()) {
        Ok(room) => room,
        Err(error) => return refuse(socket, "room:leave", event.ack, &error),
    };
    socket.leave(&room);
    let note = format!("{} left {room}", display_name(socket));
    let _ = socket.namespace().to(room.clone()).emit("system", &note);
    ok(event.ack, json!({ "room": room }));
}

fn is_member(socket: &Socket, room: &str) -> bool {
    socket.rooms().iter().skip(1).any(|r| &**r == room)
}

async fn room_message(chat: &Chat, socket: Socket, event: Args) {
    let (room, text) = match validate::room_message(event.data.first(), chat.max_message) {
        Ok(fields) => fields,
        Err(error) => return refuse(&socket, "room:message", event.ack, &error),
    };
    if !is_member(&socket, &room) {
        return refuse(
            &socket,
            "room:message",
            event.ack,
            &format!("not a member of {room}"),
        );
    }
    let new = NewMessage {
        user: user(&socket),
        text,
        room: Some(room.clone()),
        timestamp: now(),
    };
    match chat.store.insert(new).await {
        Ok(stored) => {
            let _ = socket.namespace().to(room).emit("chat:message", &stored);
            ok(event.ack, json!({ "id": stored.id }));
        }
        Err(error) => {
            tracing::error!(%error, "storing a room message");
            refuse(
                &socket,
                "room:message",
                event.ack,
                "the message could not be stored",
            );
        }
    }
}

async fn history(chat: &Chat, socket: Socket, event: Args) {
    let Some(ack) = event.ack else {
        return refuse(
            &socket,
            "chat:history",
            None,
            "chat:history needs an acknowledgement",
        );
    };
    let (room, before, limit) = match validate::history(event.data.first()) {
        Ok(query) => query,
        Err(error) => return refuse(&socket, "chat:history", Some(ack), &error),
    };
    match chat.store.history(room, before, limit).await {
        Ok(messages) => {
            let _ = ack.send(&json!({ "messages": messages }));
        }
        Err(error) => {
            tracing::error!(%error, "history page");
            refuse(&socket, "chat:history", Some(ack), "history is unavailable");
        }
    }
}
