//! The official `socket.io-client` against switchboard: connecting to
//! namespaces (static, dynamic, refused) and leaving them, and connect
//! middleware. Each test serves an `Io` on a free port and runs one script
//! from `tests/node/compat`; what the server saw comes back over channels.
#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{ConnectError, DisconnectReason, Event, Io, Socket};
use tokio::sync::mpsc;

use support::{Server, drain, next, node::node};

/// Acknowledges `echo` with its argument.
fn echo(socket: &Socket) {
    socket.on("echo", |_: Socket, event: Event<(Value,)>| async move {
        if let Some(ack) = event.ack {
            ack.send(&event.data.0).unwrap();
        }
    });
}

#[derive(Debug)]
enum Seen {
    Connect {
        nsp: String,
        id: String,
        session: String,
    },
    Kick {
        id: String,
    },
    Disconnect {
        id: String,
        reason: DisconnectReason,
    },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_on_main_and_custom_namespace() {
    let Some(node) = node() else { return };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = Io::new();
    for nsp in ["/", "/custom"] {
        let tx = tx.clone();
        io.of(nsp).on_connect(move |socket| {
            tx.send(Seen::Connect {
                nsp: socket.namespace_name().to_owned(),
                id: socket.id().to_owned(),
                session: socket.session().id().to_owned(),
            })
            .unwrap();
            socket.emit("server-id", socket.id()).unwrap();
            echo(&socket);
            let kicks = tx.clone();
            socket.on("kick-me", move |socket: Socket, _: Event<Vec<Value>>| {
                kicks
                    .send(Seen::Kick {
                        id: socket.id().to_owned(),
                    })
                    .unwrap();
                socket.disconnect();
                async {}
            });
            let gone = tx.clone();
            socket.on_disconnect(move |socket, reason| async move {
                let id = socket.id().to_owned();
                gone.send(Seen::Disconnect { id, reason }).unwrap();
            });
        });
    }
    let server = Server::start(&io).await;
    node.run("connect_disconnect.mjs", &[&server.url])
        .await
        .assert_success();

    // The client is done; its last DISCONNECT may still be on its way.
    let mut seen = drain(&mut rx);
    while seen
        .iter()
        .filter(|s| matches!(s, Seen::Disconnect { .. }))
        .count()
        < 4
    {
        seen.push(next("four disconnects", &mut rx).await);
    }
    let mut sessions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut connected = BTreeSet::new();
    let mut kicked = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    for s in seen {
        match s {
            Seen::Connect { nsp, id, session } => {
                sessions.entry(session).or_default().insert(nsp);
                assert!(connected.insert(id), "one connect per socket");
            }
            Seen::Kick { id } => {
                kicked.insert(id);
            }
            Seen::Disconnect { id, reason } => {
                assert!(
                    reasons.insert(id, reason).is_none(),
                    "one disconnect per socket"
                );
            }
        }
    }
    let both: BTreeSet<String> = ["/", "/custom"].map(String::from).into();
    assert_eq!(
        sessions.values().collect::<Vec<_>>(),
        vec![&both, &both],
        "two connections, each multiplexing / and /custom"
    );
    assert_eq!(kicked.len(), 2);
    assert_eq!(reasons.keys().cloned().collect::<BTreeSet<_>>(), connected);
    for (id, reason) in reasons {
        let expected = if kicked.contains(&id) {
            DisconnectReason::ServerNamespaceDisconnect
        } else {
            DisconnectReason::ClientNamespaceDisconnect
        };
        assert_eq!(reason, expected, "socket {id}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_namespaces_and_invalid_namespace() {
    let Some(node) = node() else { return };
    let (created, mut created_rx) = mpsc::unbounded_channel();
    let io = Io::new();
    io.on_connect(|socket| echo(&socket));
    io.dynamic_namespace("/team-{id}", move |ns| {
        created.send(ns.name().to_owned()).unwrap();
        ns.on_connect(|socket| {
            socket
                .emit_args("welcome", &(socket.namespace_name(), socket.id()))
                .unwrap();
            socket.on("members", |socket: Socket, event: Event<()>| async move {
                let ids: Vec<String> = socket
                    .namespace()
                    .sockets()
                    .iter()
                    .map(|s| s.id().to_owned())
                    .collect();
                event.ack.unwrap().send(&ids).unwrap();
            });
        });
    });
    let server = Server::start(&io).await;
    node.run("dynamic_namespace.mjs", &[&server.url])
        .await
        .assert_success();
    let mut created: Vec<String> = drain(&mut created_rx);
    created.sort();
    assert_eq!(
        created,
        ["/team-42", "/team-7"],
        "setup ran once per namespace"
    );
    server.stop().await;
}

#[derive(Debug, Clone)]
struct User(String);

#[derive(Deserialize)]
struct Auth {
    user: Option<String>,
    role: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_refusal_reaches_the_client() {
    let Some(node) = node() else { return };
    let io = Io::new();
    // Async: the refusal travels through the spawned middleware path.
    io.use_middleware(|socket: Socket| async move {
        tokio::task::yield_now().await;
        let auth: Auth = serde_json::from_value(socket.auth().clone())
            .map_err(|e| ConnectError::new(e.to_string()))?;
        let Some(user) = auth.user else {
            return Err(ConnectError::new("unauthorized").with_data(json!({
                "code": "E_AUTH",
                "retry": false,
                "hint": ["send", "auth.user"],
            })));
        };
        socket.set_data(User(user));
        Ok(())
    });
    io.use_middleware(|socket: Socket| async move {
        match socket.data::<User>() {
            Some(User(name)) if name == "mallory" => Err(ConnectError::new("banned")),
            _ => Ok(()),
        }
    });
    io.on_connect(|socket| {
        let User(user) = socket.data::<User>().unwrap();
        socket
            .emit("hello", &json!({ "user": user, "auth": socket.auth() }))
            .unwrap();
        echo(&socket);
    });
    let admin = io.of("/admin");
    admin.use_middleware(|socket: Socket| async move {
        let auth: Auth = serde_json::from_value(socket.auth().clone())
            .map_err(|e| ConnectError::new(e.to_string()))?;
        match (auth.user, auth.role.as_deref()) {
            (Some(user), Some("admin")) => {
                socket.set_data(User(user));
                Ok(())
            }
            _ => Err(ConnectError::new("admins only").with_data(json!({"need": "role admin"}))),
        }
    });
    admin.on_connect(|socket| {
        socket.on("whoami", |socket: Socket, event: Event<()>| async move {
            let User(user) = socket.data::<User>().unwrap();
            event.ack.unwrap().send(&user).unwrap();
        });
    });
    let server = Server::start(&io).await;
    node.run("middleware.mjs", &[&server.url])
        .await
        .assert_success();
    server.stop().await;
}
