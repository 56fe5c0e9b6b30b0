//! A WebSocket session's socket, shared between the task that reads it and
//! whoever writes to it.
//!
//! tungstenite parses what the client sends, but it never writes to the
//! socket: the frames we send are plain server frames (no mask, no
//! fragments), so we frame them ourselves, and the few frames tungstenite
//! writes on its own (the pong to a WebSocket ping, the close reply) are
//! captured by [`WireStream`] and sent in order with ours. That is what lets
//! a session be written to by a flusher (`flush.rs`) that serves many
//! sessions from one task, without a wake-up of the session's own task per
//! frame, and without tungstenite's buffers between our frames and the
//! socket.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use hyper_util::rt::TokioIo;
use switchboard_protocol::engine::Frame;
use switchboard_protocol::websocket;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::session::Shared;

type Io = TokioIo<hyper::upgrade::Upgraded>;

/// The socket. Its lock is held for one read or one write call, never
/// across `.await`, and never while the session's state lock is wanted:
/// writers take the state lock first, the reader takes only this one.
pub(crate) struct Wire {
    io: Mutex<Io>,
}

/// How much of a buffer a write without waiting got onto the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// All of it.
    All,
    /// The first `n` bytes; the socket is full (or still flushing).
    Part(usize),
}

impl Wire {
    pub(crate) fn new(io: hyper::upgrade::Upgraded) -> Arc<Wire> {
        Arc::new(Wire {
            io: Mutex::new(TokioIo::new(io)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Io> {
        self.io.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes as much of `buf` as the socket takes now, without waiting.
    ///
    /// The no-op waker is safe here: whoever gets `Part` back hands the rest
    /// to the session's task, which polls again with its own waker before
    /// it waits, so no wake-up depends on this call.
    pub(crate) fn write_now(&self, buf: &[u8]) -> io::Result<Accepted> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut io = self.lock();
        let mut done = 0;
        while done < buf.len() {
            match Pin::new(&mut *io).poll_write(&mut cx, &buf[done..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => done += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(Accepted::Part(done)),
            }
        }
        // A no-op on TCP; an I/O type that buffers (TLS) must push it out.
        match Pin::new(&mut *io).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => Ok(Accepted::All),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Ok(Accepted::Part(done)),
        }
    }

    /// Writes all of `buf` (after `write_now` left some of it) and flushes,
    /// waiting for the socket as long as it takes; the caller bounds that.
    pub(crate) async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut done = 0;
        std::future::poll_fn(|cx| {
            let mut io = self.lock();
            while done < buf.len() {
                match Pin::new(&mut *io).poll_write(cx, &buf[done..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => done += n,
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Pin::new(&mut *io).poll_flush(cx)
        })
        .await
    }
}

/// Appends `frame` as one unmasked, unfragmented server frame (RFC 6455
/// §5.2): FIN and the opcode, the length in 7, 7+16 or 7+64 bits, the
/// payload.
pub(crate) fn encode_frame(out: &mut Vec<u8>, frame: &Frame) {
    let (opcode, payload): (u8, &[u8]) = match frame {
        Frame::Text(text) => (websocket::OP_TEXT, &text.as_bytes()[..]),
        Frame::Binary(bytes) => (websocket::OP_BINARY, &bytes[..]),
    };
    out.reserve(payload.len() + 10);
    websocket::push_head(out, opcode, payload.len(), None);
    out.extend_from_slice(payload);
}

/// The stream tungstenite reads from. Reads go to the socket; writes are
/// captured into `captured` for the session to send in order with its own
/// frames (tungstenite writes only whole frames, from its own buffer).
pub(crate) struct WireStream {
    wire: Arc<Wire>,
    pub(crate) captured: Vec<u8>,
    /// Once the session runs on this socket: woken when something was
    /// captured, so that a pong is not held until the next wake-up.
    session: Option<Arc<Shared>>,
}

impl WireStream {
    pub(crate) fn new(wire: Arc<Wire>) -> WireStream {
        WireStream {
            wire,
            captured: Vec::new(),
            session: None,
        }
    }

    pub(crate) fn wire(&self) -> &Arc<Wire> {
        &self.wire
    }

    pub(crate) fn attach(&mut self, session: Arc<Shared>) {
        self.session = Some(session);
    }
}

impl AsyncRead for WireStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut io = self.wire.lock();
        Pin::new(&mut *io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WireStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.captured.extend_from_slice(buf);
        if let Some(session) = &self.session {
            session.wake_writer();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    // The connection is shut down when the session drops its socket, after
    // the close frame went out.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use switchboard_protocol::Str;

    #[test]
    fn frames_have_the_three_length_forms() {
        let mut out = Vec::new();
        encode_frame(&mut out, &Frame::Text(Str::from_static("4hi")));
        assert_eq!(out, b"\x81\x034hi");

        let mut out = Vec::new();
        encode_frame(&mut out, &Frame::Binary(Bytes::from(vec![7; 126])));
        assert_eq!(&out[..4], &[0x82, 126, 0, 126]);
        assert_eq!(out.len(), 4 + 126);

        let mut out = Vec::new();
        encode_frame(&mut out, &Frame::Binary(Bytes::from(vec![7; 0x1_0000])));
        assert_eq!(&out[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(out.len(), 10 + 0x1_0000);
    }
}
