//! The WebSocket transport: the opening handshake (directly, or to upgrade
//! a polling session), the probe exchange of the upgrade, and RFC 6455
//! framing for a client.
//!
//! Written here rather than taken from tokio-tungstenite because this is
//! the load generator's receive path: tungstenite's stream adapter
//! registers a waker of its own on every poll and wakes through it, and
//! its reader zero-fills the read buffer before each read. Only what a
//! Socket.IO client needs is supported: no extensions (compression), text,
//! binary and control frames, fragmentation.
//!
//! Reads go into one scratch buffer per thread, not a buffer per
//! connection: with a thousand connections on a thread, each one's own
//! buffer is cold in the cache on every read (for the kernel's copy and
//! then for parsing), where the thread's is always warm. A read holding
//! exactly one whole message (a broadcast arriving alone, the usual case)
//! is copied out of it into the message's own allocation; anything else
//! (several frames, part of one) is appended to the connection's buffer,
//! which holds memory only while it holds bytes.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::ClientError;
use crate::client::Shared;
use crate::encode::OutFrame;
use crate::net::{self, Conn};
use crate::url::request_target;

/// Bytes kept free for a read into a connection's own buffer (while it
/// holds part of a frame).
const READ_BUFFER: usize = 1024;

/// Bytes of the thread's scratch buffer: the most one read takes.
const SCRATCH: usize = 8 * 1024;

thread_local! {
    /// The scratch buffer reads go into; borrowed only inside one poll.
    static SCRATCH_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// Most bytes of the server's HTTP answer to the upgrade.
const MAX_HEAD: usize = 16 * 1024;

use switchboard_protocol::websocket::{
    OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, push_head, read_head,
};

/// An open WebSocket, client side.
#[derive(Debug)]
pub(crate) struct Ws {
    stream: Conn,
    /// Bytes read and not yet taken as frames; empty (no memory) between
    /// reads that each held whole messages.
    read: BytesMut,
    /// A fragmented message being gathered: whether it is text, and its
    /// payload so far.
    partial: Option<(bool, BytesMut)>,
    /// Largest message (and frame) accepted.
    max: usize,
}

/// A message from the server.
#[derive(Debug)]
pub(crate) enum Incoming {
    Text(Bytes),
    Binary(Bytes),
    /// A ping, to be answered with [`Ws::pong`].
    Ping(Bytes),
    /// A close frame, or the end of the stream.
    Close,
}

/// Opens a WebSocket; with `sid`, to upgrade that polling session.
pub(crate) async fn open(shared: &Shared, sid: Option<&str>) -> Result<Ws, ClientError> {
    let mut stream = net::connect(shared).await?;
    let target = request_target(
        &shared.config.path,
        "websocket",
        sid,
        &shared.target.query,
        &shared.config.query,
    );
    let key = generate_key();
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n",
        shared.target.host_header(),
    )
    .into_bytes();
    // Values are bytes (not always UTF-8); `HeaderValue` holds no CR or LF.
    for (name, value) in &shared.config.extra_headers {
        request.extend_from_slice(name.as_str().as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await?;
    stream.flush().await?;
    let mut read = BytesMut::with_capacity(READ_BUFFER);
    let head_len = loop {
        if let Some(end) = find(&read, b"\r\n\r\n") {
            break end + 4;
        }
        if read.len() > MAX_HEAD {
            return Err(handshake("the upgrade answer's head is too large"));
        }
        read.reserve(READ_BUFFER);
        if stream.read_buf(&mut read).await? == 0 {
            return Err(handshake("closed during the WebSocket handshake"));
        }
    };
    check_answer(&read[..head_len], &key)?;
    // Whatever followed the head (the open packet, often) is frames.
    read.advance(head_len);
    if read.is_empty() {
        read = BytesMut::new();
    }
    Ok(Ws {
        stream,
        read,
        partial: None,
        max: shared.config.max_message_size,
    })
}

/// Checks the server's answer to the upgrade: 101, and the accept key
/// derived from ours.
fn check_answer(head: &[u8], key: &str) -> Result<(), ClientError> {
    let head =
        std::str::from_utf8(head).map_err(|_| handshake("the upgrade answer is not text"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let mut parts = status.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") {
        return Err(handshake("the upgrade answer is not HTTP/1.x"));
    }
    if code != "101" {
        let reason = parts.next().unwrap_or("").trim();
        return Err(handshake(&format!(
            "WebSocket refused with {code} {reason}"
        )));
    }
    let mut upgrade = false;
    let mut accepted = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accepted = value == derive_accept_key(key.as_bytes());
        }
    }
    if !upgrade {
        return Err(handshake("the upgrade answer is not to websocket"));
    }
    if !accepted {
        return Err(handshake(
            "the upgrade answer has a wrong Sec-WebSocket-Accept",
        ));
    }
    Ok(())
}

/// Opens the WebSocket for polling session `sid` and completes the probe
/// (`2probe` answered by `3probe`); the caller then pauses polling and
/// sends the upgrade packet.
pub(crate) async fn probe(shared: &Shared, sid: &str) -> Result<Ws, ClientError> {
    let mut ws = open(shared, Some(sid)).await?;
    ws.send_text("2probe").await?;
    loop {
        match ws.next().await? {
            Incoming::Text(text) if &text[..] == b"3probe" => return Ok(ws),
            Incoming::Ping(data) => ws.pong(&data).await?,
            Incoming::Close => {
                return Err(handshake("closed during the upgrade probe"));
            }
            other => {
                return Err(ClientError::Protocol(format!(
                    "upgrade probe answered with {other:?}"
                )));
            }
        }
    }
}

impl Ws {
    /// The next message. Cancel-safe: what was read is kept (or already
    /// returned) before a poll returns, so this can race other events.
    pub(crate) async fn next(&mut self) -> Result<Incoming, ClientError> {
        loop {
            if let Some(message) = self.take_frame()? {
                return Ok(message);
            }
            if self.read.is_empty() {
                if let Some(message) = std::future::poll_fn(|cx| self.poll_scratch(cx)).await? {
                    return Ok(message);
                }
                continue;
            }
            // Part of a frame is here: read the rest straight after it.
            if self.read.capacity() - self.read.len() < READ_BUFFER {
                self.read.reserve(READ_BUFFER);
            }
            // The end of the stream without a close frame (a killed
            // server) ends the transport as a close does; it is not the
            // server sending anything malformed.
            if self.stream.read_buf(&mut self.read).await? == 0 {
                return Ok(Incoming::Close);
            }
        }
    }

    /// One read into the thread's scratch buffer: a whole message alone in
    /// it is returned; anything else goes to `read` (`Ok(None)`).
    fn poll_scratch(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Incoming>, ClientError>> {
        SCRATCH_BUFFER.with_borrow_mut(|scratch| {
            let mut buf = ReadBuf::new(scratch);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Ready(Ok(())) => {}
            }
            let data = buf.filled();
            if data.is_empty() {
                return Poll::Ready(Ok(Some(Incoming::Close)));
            }
            if self.partial.is_none() {
                if let Some((true, opcode @ (OP_TEXT | OP_BINARY), head, len)) =
                    frame_head(data, self.max)?
                {
                    if head + len == data.len() {
                        let payload = Bytes::copy_from_slice(&data[head..]);
                        return Poll::Ready(Ok(Some(if opcode == OP_TEXT {
                            Incoming::Text(payload)
                        } else {
                            Incoming::Binary(payload)
                        })));
                    }
                }
            }
            self.read.extend_from_slice(data);
            Poll::Ready(Ok(None))
        })
    }

    /// Takes one whole frame from the buffer and returns the message it
    /// completes, if any.
    fn take_frame(&mut self) -> Result<Option<Incoming>, ClientError> {
        loop {
            let Some((fin, opcode, head, len)) = frame_head(&self.read, self.max)? else {
                return Ok(None);
            };
            if self.read.len() - head < len {
                // Room for the rest of this frame, so the reads that
                // complete it need not grow the buffer step by step.
                self.read.reserve(head + len - self.read.len());
                return Ok(None);
            }
            self.read.advance(head);
            let payload = self.read.split_to(len);
            if self.read.is_empty() {
                // Between messages a connection holds no read buffer; the
                // payload keeps the bytes it needs.
                self.read = BytesMut::new();
            }
            let message = match opcode {
                OP_TEXT | OP_BINARY if fin => {
                    if self.partial.is_some() {
                        return Err(protocol("a new message inside a fragmented one"));
                    }
                    let payload = payload.freeze();
                    if opcode == OP_TEXT {
                        Incoming::Text(payload)
                    } else {
                        Incoming::Binary(payload)
                    }
                }
                OP_TEXT | OP_BINARY => {
                    if self.partial.is_some() {
                        return Err(protocol("a new message inside a fragmented one"));
                    }
                    self.partial = Some((opcode == OP_TEXT, payload));
                    continue;
                }
                OP_CONTINUATION => {
                    let Some((_, gathered)) = self.partial.as_mut() else {
                        return Err(protocol("a continuation frame without a message"));
                    };
                    if gathered.len() + payload.len() > self.max {
                        return Err(protocol("message too large"));
                    }
                    gathered.extend_from_slice(&payload);
                    if !fin {
                        continue;
                    }
                    let Some((text, gathered)) = self.partial.take() else {
                        continue;
                    };
                    if text {
                        Incoming::Text(gathered.freeze())
                    } else {
                        Incoming::Binary(gathered.freeze())
                    }
                }
                OP_CLOSE => Incoming::Close,
                OP_PING => Incoming::Ping(payload.freeze()),
                OP_PONG => continue,
                _ => return Err(protocol("an unknown WebSocket opcode")),
            };
            return Ok(Some(message));
        }
    }
}

/// The head of the frame at the start of `buf`: FIN, opcode, the head's
/// length and the payload's; `None` until the head is all there.
fn frame_head(buf: &[u8], max: usize) -> Result<Option<(bool, u8, usize, usize)>, ClientError> {
    let Some(head) = read_head(buf) else {
        return Ok(None);
    };
    if head.reserved != 0 {
        // No extension was negotiated, so no reserved bit may be set.
        return Err(protocol("reserved bits set in a WebSocket frame"));
    }
    if head.mask.is_some() {
        return Err(protocol("a masked frame from the server"));
    }
    if head.opcode >= OP_CLOSE && (!head.fin || head.payload_len > 125) {
        return Err(protocol("a fragmented or long control frame"));
    }
    let len = usize::try_from(head.payload_len).unwrap_or(usize::MAX);
    if len > max {
        return Err(protocol("message too large"));
    }
    Ok(Some((head.fin, head.opcode, head.head_len, len)))
}

impl Ws {
    /// Sends one text message.
    pub(crate) async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        let mut out = Vec::with_capacity(text.len() + 14);
        frame_into(&mut out, OP_TEXT, text.as_bytes());
        self.write(&out).await
    }

    /// Sends `frames` in one write.
    pub(crate) async fn send_all(
        &mut self,
        frames: impl IntoIterator<Item = OutFrame>,
    ) -> Result<(), ClientError> {
        let mut out = Vec::new();
        for frame in frames {
            match frame {
                OutFrame::Text(text) => frame_into(&mut out, OP_TEXT, text.as_bytes()),
                OutFrame::Binary(bytes) => frame_into(&mut out, OP_BINARY, &bytes),
            }
        }
        self.write(&out).await
    }

    /// Answers a ping.
    pub(crate) async fn pong(&mut self, data: &[u8]) -> Result<(), ClientError> {
        let mut out = Vec::with_capacity(data.len() + 6);
        frame_into(&mut out, OP_PONG, data);
        self.write(&out).await
    }

    /// Sends a close frame. Does not wait for the server's: the
    /// connection is dropped next.
    pub(crate) async fn close(&mut self) {
        let mut out = Vec::with_capacity(6);
        frame_into(&mut out, OP_CLOSE, &[]);
        let _ = self.write(&out).await;
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(bytes).await?;
        // TLS keeps records it could not write yet until a flush; on TCP
        // this is free.
        self.stream.flush().await?;
        Ok(())
    }
}

/// Appends one frame from a client: FIN set, the payload masked with a
/// fresh random key (RFC 6455 §5.3).
fn frame_into(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    let mask: [u8; 4] = rand::random();
    push_head(out, opcode, payload.len(), Some(mask));
    out.extend(
        payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn handshake(why: &str) -> ClientError {
    ClientError::Handshake(why.to_owned())
}

fn protocol(why: &str) -> ClientError {
    ClientError::Protocol(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8], head: usize) -> Vec<u8> {
        let mask = &frame[head - 4..head];
        frame[head..]
            .iter()
            .zip(mask.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect()
    }

    #[test]
    fn client_frames_are_masked_with_their_length() {
        let mut out = Vec::new();
        frame_into(&mut out, OP_TEXT, b"hello");
        assert_eq!(&out[..2], &[0x81, 0x80 | 5]);
        assert_eq!(unmask(&out, 6), b"hello");
        let long = vec![7u8; 300];
        let mut out = Vec::new();
        frame_into(&mut out, OP_BINARY, &long);
        assert_eq!(&out[..4], &[0x82, 0x80 | 126, 1, 44]);
        assert_eq!(unmask(&out, 8), long);
        let huge = vec![1u8; 70_000];
        let mut out = Vec::new();
        frame_into(&mut out, OP_BINARY, &huge);
        assert_eq!(
            &out[..10],
            &[0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
        assert_eq!(unmask(&out, 14).len(), 70_000);
    }

    #[test]
    fn the_answer_must_accept_our_key() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert!(check_answer(ok.as_bytes(), key).is_ok());
        let wrong = ok.replace("s3pP", "xxxx");
        assert!(check_answer(wrong.as_bytes(), key).is_err());
        let refused = "HTTP/1.1 400 Bad Request\r\n\r\n";
        let Err(ClientError::Handshake(why)) = check_answer(refused.as_bytes(), key) else {
            panic!("a 400 is a refusal");
        };
        assert_eq!(why, "WebSocket refused with 400 Bad Request");
    }
}
