//! The floor: the least any server can spend on the fanout scenario on this
//! machine, run by the bench beside the real servers (`floor-server`).
//!
//! It speaks just enough Engine.IO and Socket.IO over WebSocket for the
//! same load generator to connect, and nothing else: no HTTP server, no
//! polling, no rooms, no queues, no limits. A `chat:message` event is
//! framed once and written to every connection with one `write` each,
//! straight from the task that read it. What it costs per delivery is the
//! kernel's loopback TCP path plus a few nanoseconds; its latency is the
//! time one core needs to write every client and the load core to read
//! them. A target below the floor cannot be met by any server that sends
//! each client its message when the message arrives.
//!
//! Not a server to use: a client whose socket is full gets nothing more,
//! since the floor keeps no queue. At the fixed load no socket
//! fills; the bench runs it only there.

use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

use switchboard_protocol::websocket::{OP_CLOSE, OP_TEXT, push_head, read_head};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::Error;

/// The hidden argument that runs this instead of the bench.
pub(crate) const SUBCOMMAND: &str = "floor-server";

/// As the real servers: clients answer a ping every 25 s.
const PING_INTERVAL: Duration = Duration::from_secs(25);

/// Larger requests or frames close the connection.
const MAX_REQUEST: usize = 8 * 1024;
const MAX_FRAME: usize = 1024 * 1024;

/// Every open connection, by connection number, for writing.
#[derive(Default)]
struct Hub {
    writers: RefCell<Vec<(u64, Rc<TcpStream>)>>,
    next: Cell<u64>,
}

impl Hub {
    /// Writes `frame` to every connection, one `write` each; one that
    /// cannot take it whole gets nothing more (see [`write_whole`]).
    fn broadcast(&self, frame: &[u8]) {
        self.writers
            .borrow_mut()
            .retain(|(id, writer)| write_whole(*id, writer, frame));
    }

    fn send(&self, id: u64, frame: &[u8]) {
        let mut writers = self.writers.borrow_mut();
        writers.retain(|(i, writer)| *i != id || write_whole(*i, writer, frame));
    }

    fn remove(&self, id: u64) {
        self.writers.borrow_mut().retain(|(i, _)| *i != id);
    }
}

/// One `write` of the whole frame. The floor keeps no queue, so a client
/// whose socket is full is dropped from the broadcast and said so in the
/// log; its missing deliveries show in the row's share delivered.
fn write_whole(id: u64, writer: &TcpStream, frame: &[u8]) -> bool {
    match writer.try_write(frame) {
        Ok(n) if n == frame.len() => true,
        _ => {
            eprintln!("floor{id}: socket full, no more deliveries to it");
            false
        }
    }
}

/// Runs the floor server: prints `PORT <n>`, serves until killed.
pub(crate) fn serve() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        announce(listener.local_addr()?.port());
        let hub = Rc::new(Hub::default());
        let pinger = hub.clone();
        tokio::task::spawn_local(async move {
            let mut tick = tokio::time::interval(PING_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                pinger.broadcast(&frame(b"2"));
            }
        });
        loop {
            let (stream, _) = listener.accept().await?;
            let hub = hub.clone();
            tokio::task::spawn_local(async move {
                let id = hub.next.get();
                hub.next.set(id + 1);
                let _ = connection(stream, id, &hub).await;
                hub.remove(id);
            });
        }
    })
}

#[allow(clippy::print_stdout, reason = "the bench reads the port from stdout")]
fn announce(port: u16) {
    println!("PORT {port}");
    let _ = std::io::stdout().flush();
}

/// One client: the WebSocket upgrade, the Engine.IO open packet, then its
/// frames until it closes.
async fn connection(mut stream: TcpStream, id: u64, hub: &Hub) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_REQUEST || stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    };
    let request = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    let key = request
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })
        .ok_or("not a WebSocket upgrade")?;
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    )
    .into_bytes();
    let open = format!(
        r#"0{{"sid":"floor{id}","upgrades":[],"pingInterval":{},"pingTimeout":20000,"maxPayload":{MAX_FRAME}}}"#,
        PING_INTERVAL.as_millis()
    );
    reply.extend(frame(open.as_bytes()));
    stream.write_all(&reply).await?;
    // The hub writes with `try_write`: one `write` per client, behind
    // nothing but tokio's readiness flag. Not a second descriptor: 10,000
    // clients would need 20,000, the limit of a process here.
    let stream = Rc::new(stream);
    hub.writers.borrow_mut().push((id, stream.clone()));
    loop {
        while let Some((opcode, payload, used)) = client_frame(&buf)? {
            buf.drain(..used);
            match opcode {
                OP_TEXT => packet(&payload, id, hub),
                OP_CLOSE => return Ok(()),
                _ => {}
            }
        }
        stream.readable().await?;
        match stream.try_read_buf(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// One Engine.IO packet from a client: a namespace CONNECT is answered, a
/// `chat:message` event is broadcast as the chat would (the text inside
/// the message object); pongs and the rest are ignored.
fn packet(payload: &[u8], id: u64, hub: &Hub) {
    const EVENT: &[u8] = br#"42["chat:message","#;
    if payload.starts_with(b"40") {
        hub.send(id, &frame(format!(r#"40{{"sid":"floor{id}"}}"#).as_bytes()));
    } else if let Some(rest) = payload.strip_prefix(EVENT) {
        let text = rest.strip_suffix(b"]").unwrap_or(rest);
        let mut out = br#"42["chat:message",{"text":"#.to_vec();
        out.extend_from_slice(text);
        out.extend_from_slice(b"}]");
        hub.broadcast(&frame(&out));
    }
}

/// An unmasked text frame.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    push_head(&mut out, OP_TEXT, payload.len(), None);
    out.extend_from_slice(payload);
    out
}

/// A whole masked client frame at the start of `buf`: its opcode, its
/// unmasked payload and the bytes it used; `None` until it has arrived.
fn client_frame(buf: &[u8]) -> Result<Option<(u8, Vec<u8>, usize)>, Error> {
    let Some(head) = read_head(buf) else {
        return Ok(None);
    };
    let Some(mask) = head.mask else {
        return Err("unmasked client frame".into());
    };
    let len = usize::try_from(head.payload_len).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Err("frame too large".into());
    }
    let Some(data) = buf.get(head.head_len..head.head_len + len) else {
        return Ok(None);
    };
    let payload = data
        .iter()
        .zip(mask.iter().cycle())
        .map(|(b, m)| b ^ m)
        .collect();
    Ok(Some((head.opcode, payload, head.head_len + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut out = vec![0x81, 0x80 | payload.len() as u8];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        out
    }

    #[test]
    fn a_client_frame_is_read_whole_or_not_at_all() {
        let bytes = masked(b"40");
        for cut in 0..bytes.len() {
            assert!(client_frame(&bytes[..cut]).unwrap().is_none());
        }
        let (opcode, payload, used) = client_frame(&bytes).unwrap().unwrap();
        assert_eq!(
            (opcode, payload.as_slice(), used),
            (1, &b"40"[..], bytes.len())
        );
    }

    #[test]
    fn an_unmasked_client_frame_is_refused() {
        assert!(client_frame(&frame(b"40")).is_err());
    }

    #[test]
    fn server_frames_carry_their_length() {
        assert_eq!(frame(b"2"), vec![0x81, 1, b'2']);
        let long = frame(&[b'x'; 300]);
        assert_eq!(&long[..4], &[0x81, 126, 1, 44]);
        assert_eq!(long.len(), 304);
    }
}
