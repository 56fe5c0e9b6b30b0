//! The `/admin` namespace: only tokens with `role: admin` get in.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::{ConnectError, Event, Io, Socket};

use crate::auth::Secret;
use crate::chat::Chat;
use crate::validate;

type Args = Event<Vec<Value>>;

pub fn install(io: &Io, chat: Arc<Chat>, secret: Secret) {
    let admin = io.of("/admin");
    admin.use_middleware(move |socket: Socket| {
        let token = socket
            .auth()
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let admitted = token
            .and_then(|t| secret.verify(&t))
            .is_some_and(|claims| claims.role.as_deref() == Some("admin"));
        async move {
            if admitted {
                Ok(())
            } else {
                Err(ConnectError::new("unauthorized"))
            }
        }
    });
    let io = io.clone();
    admin.on_connect(move |socket| {
        let (stats_chat, io_) = (chat.clone(), io.clone());
        socket.on("admin:stats", move |_: Socket, event: Args| {
            let (chat, io) = (stats_chat.clone(), io_.clone());
            async move {
                let Some(ack) = event.ack else { return };
                let main = io.of("/");
                let messages = chat.store.count().await.unwrap_or(0);
                let _ = ack.send(&json!({
                    "connections": main.sockets().len(),
                    "users": chat.presence.count(),
                    "rooms": main.adapter().local_rooms().len(),
                    "messages": messages,
                    "uptime": chat.started.elapsed().as_secs(),
                }));
            }
        });
        let io_ = io.clone();
        socket.on("admin:kick", move |_: Socket, event: Args| {
            let io = io_.clone();
            async move {
                let target = event
                    .data
                    .first()
                    .and_then(|v| v.get("user"))
                    .and_then(Value::as_str);
                let Some(target) = target else {
                    if let Some(ack) = event.ack {
                        let _ = ack.send(&json!({ "status": "error", "error": "expected {user}" }));
                    }
                    return;
                };
                let sockets = io.of("/").sockets();
                let mut kicked = 0;
                for socket in sockets {
                    if socket
                        .data::<crate::chat::UserName>()
                        .is_some_and(|u| u.0 == target)
                    {
                        socket.disconnect();
                        kicked += 1;
                    }
                }
                if let Some(ack) = event.ack {
                    let _ = ack.send(&kicked);
                }
            }
        });
        let (announce_chat, io_) = (chat.clone(), io.clone());
        socket.on("admin:announce", move |_: Socket, event: Args| {
            let (chat, io) = (announce_chat.clone(), io_.clone());
            async move {
                let reply = match validate::message(event.data.first(), chat.max_message) {
                    Ok(text) => {
                        let _ = io.of("/").emit("system", &text);
                        json!({ "status": "ok" })
                    }
                    Err(error) => json!({ "status": "error", "error": error }),
                };
                if let Some(ack) = event.ack {
                    let _ = ack.send(&reply);
                }
            }
        });
    });
}
