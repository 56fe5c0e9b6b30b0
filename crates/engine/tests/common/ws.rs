//! WebSocket clients: tungstenite's for well-formed traffic, and a raw one
//! that writes frames byte by byte for the malformed cases.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::http::{Conn, request};
use super::{Open, within};

pub type Ws = WebSocketStream<TcpStream>;

/// Opens a WebSocket to the engine with this query (no `?`).
pub async fn connect(addr: SocketAddr, query: &str) -> Ws {
    let stream = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("connect to the test server");
    let url = format!("ws://{addr}/engine.io/?{query}");
    let (ws, response) = within(
        "the WebSocket handshake",
        tokio_tungstenite::client_async(url, stream),
    )
    .await
    .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    ws
}

/// Opens a session directly over WebSocket and reads its open packet.
pub async fn open(addr: SocketAddr) -> (Ws, Open) {
    let mut ws = connect(addr, "EIO=4&transport=websocket").await;
    let first = recv_text(&mut ws).await;
    (ws, Open::parse(&first))
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    within("a WebSocket write", ws.send(WsMessage::text(text)))
        .await
        .expect("WebSocket write");
}

pub async fn send_binary(ws: &mut Ws, bytes: &[u8]) {
    within(
        "a WebSocket write",
        ws.send(WsMessage::binary(bytes.to_vec())),
    )
    .await
    .expect("WebSocket write");
}

/// The next data message (text or binary); WebSocket-level pings and pongs
/// are skipped, anything else fails the test.
pub async fn recv(ws: &mut Ws) -> WsMessage {
    loop {
        match within("a WebSocket message", ws.next()).await {
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => return message,
            other => panic!("expected a WebSocket message, got {other:?}"),
        }
    }
}

pub async fn recv_text(ws: &mut Ws) -> String {
    match recv(ws).await {
        WsMessage::Text(text) => text.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Reads until the server closes: Some(code) if it sent a close frame, None
/// if the connection just ended. Data messages before it fail the test.
pub async fn closed(ws: &mut Ws) -> Option<u16> {
    loop {
        match within("the WebSocket to close", ws.next()).await {
            Some(Ok(WsMessage::Close(frame))) => {
                return Some(frame.map_or(1005, |f| u16::from(f.code)));
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            Some(Ok(other)) => panic!("expected the WebSocket to close, got {other:?}"),
            None | Some(Err(_)) => return None,
        }
    }
}

/// Sends a text message and expects it echoed back.
pub async fn assert_echo(ws: &mut Ws, text: &str) {
    send_text(ws, &format!("4{text}")).await;
    assert_eq!(recv_text(ws).await, format!("4{text}"));
}

/// A frame as the raw client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CONTINUATION: u8 = 0x0;
pub const CLOSE: u8 = 0x8;

/// A WebSocket client with no opinions: it frames what it is given.
#[derive(Debug)]
pub struct RawWs {
    conn: Conn,
}

impl RawWs {
    /// Performs the opening handshake by hand.
    pub async fn connect(addr: SocketAddr, query: &str) -> RawWs {
        RawWs::connect_sending(addr, query, b"").await
    }

    /// Performs the opening handshake by hand, with `early` (frames, say)
    /// sent in the same write as the request, before the 101 is read.
    pub async fn connect_sending(addr: SocketAddr, query: &str, early: &[u8]) -> RawWs {
        let mut conn = Conn::connect(addr).await;
        let target = format!("/engine.io/?{query}");
        let mut bytes = request(
            addr,
            "GET",
            &target,
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
            b"",
        );
        bytes.extend_from_slice(early);
        conn.send(&bytes).await;
        let reply = conn.read_response().await.expect("handshake response");
        assert_eq!(reply.status, 101, "{reply:?}");
        assert_eq!(
            reply.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        RawWs { conn }
    }

    /// Opens a session directly over WebSocket and reads its open packet.
    pub async fn open(addr: SocketAddr) -> (RawWs, Open) {
        let mut ws = RawWs::connect(addr, "EIO=4&transport=websocket").await;
        let frame = ws.read_frame().await.expect("open packet");
        assert_eq!(frame.opcode, TEXT);
        let text = String::from_utf8(frame.payload).expect("UTF-8 open packet");
        (ws, Open::parse(&text))
    }

    /// Writes one masked frame with exactly this payload.
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.conn.send(&masked_frame(fin, opcode, payload)).await;
    }

    /// Writes bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.conn.send(bytes).await;
    }

    /// Reads one frame; None at end of stream. Server frames are unmasked.
    pub async fn read_frame(&mut self) -> Option<RawFrame> {
        let head = self.conn.read_exact(2).await?;
        assert_eq!(head[1] & 0x80, 0, "server frames must not be masked");
        let len = match head[1] & 0x7f {
            126 => {
                let b = self.conn.read_exact(2).await?;
                u64::from(u16::from_be_bytes([b[0], b[1]]))
            }
            127 => {
                let b = self.conn.read_exact(8).await?;
                u64::from_be_bytes(b.try_into().ok()?)
            }
            n => u64::from(n),
        };
        let payload = self
            .conn
            .read_exact(usize::try_from(len).expect("frame length"))
            .await?;
        Some(RawFrame {
            fin: head[0] & 0x80 != 0,
            opcode: head[0] & 0x0f,
            payload,
        })
    }

    /// Reads until a close frame and returns its code (1005 if it has none);
    /// None if the connection ended without one. Data frames before it fail
    /// the test.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let frame = self.read_frame().await?;
            match frame.opcode {
                CLOSE => {
                    return Some(match frame.payload.as_slice() {
                        [a, b, ..] => u16::from_be_bytes([*a, *b]),
                        _ => 1005,
                    });
                }
                // Control frames the server may interleave.
                0x9 | 0xa => {}
                _ => panic!("expected a close frame, got {frame:?}"),
            }
        }
    }

    /// After the close frame: the server ends the TCP connection.
    pub async fn assert_eof(&mut self) {
        let rest = self.conn.read_to_end().await;
        assert!(rest.is_empty(), "bytes after the close frame: {rest:?}");
    }
}

/// One masked client frame with exactly this payload.
pub fn masked_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x12, 0x34, 0x56, 0x78];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}
