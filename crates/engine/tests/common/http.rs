//! A hand-written HTTP/1.1 client: the tests need to send what a well-behaved
//! client never would (lying lengths, slow bodies, aborted requests), so no
//! client library stands between them and the socket.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::within;

/// One HTTP response as read off the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("response body is not UTF-8")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("response body is not JSON")
    }

    /// Asserts an Engine.IO error answer: the status, and exactly
    /// `{"code":code,"message":message}` as the body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: u8, message: &str) {
        assert_eq!(self.status, status, "status of {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "content type of {self:?}"
        );
        assert_eq!(
            self.json(),
            serde_json::json!({ "code": code, "message": message }),
            "body of {self:?}"
        );
        let keys = self.json().as_object().map(serde_json::Map::len);
        assert_eq!(keys, Some(2), "error body has exactly code and message");
    }

    /// Asserts a 200 and returns the body as text.
    #[track_caller]
    pub fn ok_text(&self) -> &str {
        assert_eq!(self.status, 200, "status of {self:?}");
        self.text()
    }
}

/// The bytes of one request. `Host` is added; `Content-Length` too when a
/// body is given, unless the caller set its own framing headers.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed && (!body.is_empty() || method == "POST") {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A client connection with its read buffer.
#[derive(Debug)]
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Conn {
        let stream = within("TCP connect", TcpStream::connect(addr))
            .await
            .expect("connect to the test server");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        within("a write", self.stream.write_all(bytes))
            .await
            .expect("write to the test server");
    }

    /// Reads more bytes into the buffer; false at end of stream (or when the
    /// peer reset the connection, which for these tests means the same).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match within("bytes from the server", self.stream.read(&mut chunk)).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Takes exactly `n` buffered-or-read bytes; None if the stream ends first.
    pub async fn read_exact(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Reads until the server closes the connection; returns what came.
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }

    /// Reads one response; None when the connection ends before a full head.
    pub async fn read_response(&mut self) -> Option<Reply> {
        let head_end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end + 4).collect();
        let head = String::from_utf8(head).expect("response head is not UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').expect("header line without colon");
                (n.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if status == 101 || status == 204 || status == 304 || (100..200).contains(&status) {
            return Some(reply);
        }
        if let Some(len) = reply.header("content-length") {
            let len: usize = len.parse().expect("bad content-length");
            reply.body = self.read_exact(len).await?;
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            reply.body = self.read_chunked().await?;
        } else {
            reply.body = self.read_to_end().await;
        }
        Some(reply)
    }

    async fn read_chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break at;
                }
                if !self.fill().await {
                    return None;
                }
            };
            let line: Vec<u8> = self.buf.drain(..line_end + 2).collect();
            let size = std::str::from_utf8(&line[..line_end]).ok()?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            let chunk = self.read_exact(size + 2).await?;
            if size == 0 {
                return Some(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

/// Sends one request on a new connection and reads the response.
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut conn = Conn::connect(addr).await;
    conn.send(bytes).await;
    conn.read_response()
        .await
        .expect("the server closed the connection without a response")
}
