//! One Engine.IO connection seen from Socket.IO: the namespaces it joined,
//! and the routing of its packets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use serde_json::Value;
use switchboard_engine::{CloseReason, Session};
use switchboard_protocol::Str;
use switchboard_protocol::socket::{
    Assembly, Limits, Packet, PacketType, SocketDecodeError, decode_msgpack,
};
use tokio::task::JoinHandle;

use crate::encode::{EncodedPacket, Parser};
use crate::event::Payload;
use crate::io::IoShared;
use crate::middleware::{ConnectError, Middleware};
use crate::namespace::Namespace;
use crate::reason::DisconnectReason;
use crate::socket::Socket;

pub(crate) struct Client {
    io: Weak<IoShared>,
    pub(crate) session: Session,
    limits: Limits,
    parser: Parser,
    /// Most frames and bytes a recovery may queue at once: half the
    /// session's queue bounds, so that what arrives live while the client
    /// catches up still fits (a replay filling the queue would have the
    /// client disconnected as a slow reader by the next packet).
    replay_budget: (usize, usize),
    // Both maps change only on connect and disconnect; held for one map
    // operation at a time.
    namespaces: Mutex<Namespaces>,
    /// A binary packet waiting for its attachments. Only the session's
    /// transport task delivers messages, so this never contends.
    assembly: Mutex<Option<Assembly>>,
    /// Set once the client broke the protocol: its connection is closing and
    /// nothing more it sends is acted on.
    failed: AtomicBool,
    connect_timer: Mutex<Option<JoinHandle<()>>>,
}

/// The namespaces of one client. Vectors, not hash maps: a client joins one
/// to three namespaces, where a linear scan beats hashing and an empty or
/// one-entry vector costs a fraction of a map's smallest table (this is
/// memory every idle connection carries).
#[derive(Default)]
struct Namespaces {
    connected: Vec<(Str, Socket)>,
    /// Namespaces whose middleware is still deciding.
    connecting: Vec<Str>,
}

impl Namespaces {
    fn socket(&self, nsp: &str) -> Option<&Socket> {
        self.connected
            .iter()
            .find(|(name, _)| name.as_ref() == nsp)
            .map(|(_, socket)| socket)
    }

    fn is_connecting(&self, nsp: &str) -> bool {
        self.connecting.iter().any(|name| name.as_ref() == nsp)
    }

    fn done_connecting(&mut self, nsp: &str) {
        self.connecting.retain(|name| name.as_ref() != nsp);
        if self.connecting.is_empty() {
            // Give the memory back: connecting is a moment, idle is forever.
            self.connecting = Vec::new();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    pub(crate) fn new(io: &Arc<IoShared>, session: Session) -> Arc<Client> {
        let client = Arc::new(Client {
            io: Arc::downgrade(io),
            session,
            limits: Limits {
                max_attachments: io.config.max_attachments,
            },
            parser: io.config.parser,
            replay_budget: (
                io.config.engine.max_queued_packets() / 2,
                io.config.engine.max_queued_bytes() / 2,
            ),
            namespaces: Mutex::default(),
            assembly: Mutex::default(),
            failed: AtomicBool::new(false),
            connect_timer: Mutex::default(),
        });
        // A client must join a namespace within the connect timeout.
        let weak = Arc::downgrade(&client);
        let timeout = io.config.connect_timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(client) = weak.upgrade() {
                tracing::debug!(
                    sid = client.session.id(),
                    "no namespace joined within the connect timeout"
                );
                client.session.close();
            }
        });
        *lock(&client.connect_timer) = Some(timer);
        client
    }

    pub(crate) fn on_text(self: &Arc<Self>, text: Str) {
        if self.failed.load(Ordering::Acquire) {
            return;
        }
        if self.parser == Parser::MsgPack {
            return self.fail("text message to a server using the msgpack parser");
        }
        if lock(&self.assembly).is_some() {
            return self.fail(SocketDecodeError::UnexpectedText);
        }
        let packet = match Packet::decode(text, &self.limits) {
            Ok(packet) => packet,
            Err(error) => return self.fail(error),
        };
        if !packet.kind.is_binary() {
            return self.handle(packet, Vec::new());
        }
        match Assembly::new(packet) {
            Ok(assembly) if assembly.is_complete() => {
                let (packet, binary) = assembly.into_parts();
                self.handle(packet, binary);
            }
            Ok(assembly) => *lock(&self.assembly) = Some(assembly),
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn on_binary(self: &Arc<Self>, bytes: Bytes) {
        if self.failed.load(Ordering::Acquire) {
            return;
        }
        if self.parser == Parser::MsgPack {
            return match decode_msgpack(&bytes, self.limits.max_attachments) {
                Ok((packet, binary)) => self.handle(packet, binary),
                Err(error) => self.fail(error),
            };
        }
        let mut pending = lock(&self.assembly);
        let Some(assembly) = pending.as_mut() else {
            drop(pending);
            return self.fail(SocketDecodeError::UnexpectedBinary);
        };
        if let Err(error) = assembly.push(bytes) {
            drop(pending);
            return self.fail(error);
        }
        if assembly.is_complete() {
            let complete = pending.take();
            drop(pending);
            if let Some(assembly) = complete {
                let (packet, binary) = assembly.into_parts();
                self.handle(packet, binary);
            }
        }
    }

    fn handle(self: &Arc<Self>, packet: Packet, binary: Vec<Bytes>) {
        if packet.kind == PacketType::Connect {
            return self.connect(packet);
        }
        if packet.kind == PacketType::ConnectError {
            return self.fail("client sent CONNECT_ERROR");
        }
        let Some(socket) = lock(&self.namespaces).socket(&packet.nsp).cloned() else {
            // Node closes the connection for a packet to a namespace the
            // client has not joined.
            return self.fail("packet for a namespace the client has not joined");
        };
        match packet.kind {
            PacketType::Disconnect => {
                socket.disconnected(DisconnectReason::ClientNamespaceDisconnect)
            }
            PacketType::Event | PacketType::BinaryEvent => {
                let (Some(event), Some(data)) = (packet.event, packet.data) else {
                    return;
                };
                socket.receive_event(&event, Payload::event(data, binary), packet.id);
            }
            PacketType::Ack | PacketType::BinaryAck => {
                if let (Some(id), Some(data)) = (packet.id, packet.data) {
                    socket.receive_ack(id, Payload::ack(data, binary));
                }
            }
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    fn connect(self: &Arc<Self>, packet: Packet) {
        let nsp = packet.nsp;
        {
            let mut namespaces = lock(&self.namespaces);
            if namespaces.socket(&nsp).is_some() || namespaces.is_connecting(&nsp) {
                drop(namespaces);
                return self.fail("duplicate CONNECT");
            }
            namespaces.connecting.push(nsp.clone());
        }
        let ns = self.io.upgrade().and_then(|io| io.namespace_for(&nsp));
        let Some(ns) = ns else {
            lock(&self.namespaces).done_connecting(&nsp);
            return self.send_connect_error(&nsp, &ConnectError::new("Invalid namespace"));
        };
        let auth = match packet.data {
            Some(json) => {
                serde_json::from_str(&json).unwrap_or_else(|_| Value::Object(Default::default()))
            }
            None => Value::Object(Default::default()),
        };
        let resume = ns.0.recovery().and_then(|recovery| {
            let (pid, offset) = recovery_request(&auth)?;
            Some((recovery.skip_middlewares, pid, offset))
        });
        let middlewares = ns.middlewares();
        if resume.is_none() && middlewares.is_empty() {
            let socket = Socket::new(ns.0.clone(), self, auth, None);
            self.finish_connect(&ns, socket, None);
            return;
        }
        let client = self.clone();
        tokio::spawn(async move { client.admit(ns, auth, resume, middlewares).await });
    }

    /// The asynchronous part of a CONNECT: recovering a session (when the
    /// client asks for one), then the middleware.
    async fn admit(
        self: Arc<Self>,
        ns: Namespace,
        auth: Value,
        resume: Option<(bool, String, String)>,
        middlewares: Vec<Arc<dyn Middleware>>,
    ) {
        let mut skip_middlewares = false;
        let mut restored = None;
        if let Some((skip, pid, offset)) = resume {
            skip_middlewares = skip;
            // The client is back on a new connection while its old one
            // looks alive here (a network change leaves a half-open TCP
            // connection that only the ping timeout would end): it is dead,
            // so end that socket now, which keeps its session, and close
            // the old connection.
            if let Some(old) = ns.0.socket_by_pid(&pid) {
                tracing::debug!(
                    sid = old.id(),
                    "taking over a session from a stale connection"
                );
                old.disconnected(DisconnectReason::TransportClose);
                old.close_connection();
            }
            match ns.adapter().restore_session(&pid, &offset).await {
                Ok(Some(session)) => restored = Some((session, offset)),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "restoring a session failed"),
            }
        }
        // At most twice: a recovery whose replay turns out impossible once
        // the middleware has run starts again as a fresh session.
        loop {
            let (session, resume) = match restored.take() {
                Some((session, offset)) => {
                    let rooms = session.rooms.clone();
                    (Some(session), Some((offset, rooms)))
                }
                None => (None, None),
            };
            let socket = Socket::new(ns.0.clone(), &self, auth.clone(), session);
            if !(socket.recovered() && skip_middlewares) {
                for middleware in &middlewares {
                    if let Err(refusal) = middleware.check(&socket).await {
                        lock(&self.namespaces).done_connecting(ns.name());
                        self.send_connect_error(&Str::from(ns.name().to_owned()), &refusal);
                        return;
                    }
                }
            }
            if self.finish_connect(&ns, socket, resume) {
                return;
            }
            tracing::debug!(
                nsp = ns.name(),
                "missed packets gone or too many to queue: a fresh session"
            );
        }
    }

    /// Connects `socket`: tells the client, makes the socket reachable, runs
    /// the connect handler. For a recovered socket (`resume` holds the
    /// client's offset and the session's rooms) the missed packets are
    /// queued right after the CONNECT reply, atomically with respect to
    /// broadcasts. `false` when they could not be: nothing was done.
    fn finish_connect(
        self: &Arc<Self>,
        ns: &Namespace,
        socket: Socket,
        resume: Option<(String, Vec<crate::adapter::Room>)>,
    ) -> bool {
        if self.session.is_closed() || self.failed.load(Ordering::Acquire) {
            lock(&self.namespaces).done_connecting(ns.name());
            return true;
        }
        // Events from the client wait on this until the connect handler has
        // registered the socket's handlers.
        let gate = socket.0.gate.lock().unwrap_or_else(|e| e.into_inner());
        let reply = match socket.pid() {
            Some(pid) => format!(r#"{{"sid":"{}","pid":"{pid}"}}"#, socket.id()),
            None => format!(r#"{{"sid":"{}"}}"#, socket.id()),
        };
        let reply = EncodedPacket::new(
            ns.0.parser(),
            PacketType::Connect,
            ns.name(),
            None,
            vec![],
            Some(&reply),
        );
        match resume {
            None => {
                self.join(ns, &socket);
                let _ = self.session.send(reply.text);
            }
            Some((offset, rooms)) => {
                let joined = ns.adapter().replay(&offset, &rooms, &mut |missed| {
                    let frames: Vec<_> = std::iter::once(reply.text.clone())
                        .chain(missed.iter().flat_map(EncodedPacket::frames))
                        .collect();
                    let bytes: usize = frames.iter().map(|f| f.len()).sum();
                    let (max_frames, max_bytes) = self.replay_budget;
                    if frames.len() > max_frames || bytes > max_bytes {
                        return false;
                    }
                    if self.session.send_all(frames).is_err() {
                        return false;
                    }
                    self.join(ns, &socket);
                    let own = socket.id();
                    let rooms: Vec<_> = rooms.iter().filter(|r| &***r != own).cloned().collect();
                    ns.adapter().add_all(socket.sid(), &rooms);
                    true
                });
                if !joined {
                    return false;
                }
            }
        }
        if let Some(timer) = lock(&self.connect_timer).take() {
            timer.abort();
        }
        tracing::debug!(
            sid = socket.id(),
            nsp = ns.name(),
            recovered = socket.recovered(),
            "socket connected"
        );
        if let Some(handler) = ns.connect_handler() {
            handler(socket.clone());
        }
        drop(gate);
        true
    }

    /// Makes a socket reachable: by this client's packets, and by broadcasts.
    fn join(&self, ns: &Namespace, socket: &Socket) {
        {
            let mut namespaces = lock(&self.namespaces);
            namespaces.done_connecting(ns.name());
            let name = ns.name();
            namespaces.connected.retain(|(nsp, _)| nsp.as_ref() != name);
            namespaces
                .connected
                .push((Str::from(name.to_owned()), socket.clone()));
        }
        socket.set_connected();
        ns.insert_socket(socket);
        if let Some(pid) = socket.pid() {
            ns.0.track_pid(pid, socket.sid());
        }
    }

    fn send_connect_error(&self, nsp: &Str, error: &ConnectError) {
        let json = error.to_json();
        let packet = EncodedPacket::new(
            self.parser,
            PacketType::ConnectError,
            nsp,
            None,
            vec![],
            Some(&json),
        );
        let _ = self.session.send(packet.text);
    }

    /// The client broke the protocol: close its connection, as Node does.
    fn fail(&self, why: impl std::fmt::Display) {
        if !self.failed.swap(true, Ordering::AcqRel) {
            tracing::debug!(sid = self.session.id(), %why, "closing a client that broke the protocol");
            *lock(&self.assembly) = None;
            self.session.close();
        }
    }

    pub(crate) fn forget_socket(&self, socket: &Socket) {
        lock(&self.namespaces)
            .connected
            .retain(|(_, s)| s != socket);
    }

    pub(crate) fn on_close(&self, reason: &CloseReason) {
        if let Some(timer) = lock(&self.connect_timer).take() {
            timer.abort();
        }
        let sockets: Vec<Socket> = lock(&self.namespaces)
            .connected
            .drain(..)
            .map(|(_, s)| s)
            .collect();
        let reason = DisconnectReason::from_engine(reason);
        for socket in sockets {
            socket.disconnected(reason.clone());
        }
    }
}

/// The `pid` and `offset` a client sends back in its CONNECT auth to
/// recover its session; both must be strings, as Node requires.
fn recovery_request(auth: &Value) -> Option<(String, String)> {
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    Some((pid.to_owned(), offset.to_owned()))
}
