//! The HTTP long-polling transport: one HTTP/1.1 connection for the pending
//! GET and one for POSTs, as a browser keeps them, each reused while the
//! server keeps it alive.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use switchboard_protocol::Str;
use switchboard_protocol::engine::{Frame, encode_payload_into};

use crate::client::Shared;
use crate::encode::OutFrame;
use crate::url::request_target;
use crate::{ClientError, net};

/// One keep-alive HTTP/1.1 connection, opened on first use.
pub(crate) type Conn = Option<SendRequest<Full<Bytes>>>;

/// A request in flight; gives its connection back with the answer.
pub(crate) type InFlight = Pin<Box<dyn Future<Output = (Conn, Result<Bytes, ClientError>)> + Send>>;

/// The sending side of a polling session: what the outbox holds goes out in
/// POSTs of at most the server's `maxPayload`, one at a time, as the
/// protocol allows.
pub(crate) struct Poster {
    conn: Conn,
    in_flight: Option<InFlight>,
    /// Reused between POSTs.
    batch: Vec<OutFrame>,
    target: String,
    budget: usize,
    max_body: usize,
}

impl Poster {
    pub(crate) fn new(target: String, budget: usize, max_body: usize) -> Poster {
        Poster {
            conn: None,
            in_flight: None,
            batch: Vec::new(),
            target,
            budget,
            max_body,
        }
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_none()
    }

    /// The connection for a last request of the caller's own (the close).
    pub(crate) fn take_conn(&mut self) -> Conn {
        self.conn.take()
    }

    /// Starts a POST of what the outbox holds, if none is in flight;
    /// `false` when there was nothing to send.
    pub(crate) fn start(&mut self, shared: &Arc<Shared>) -> bool {
        self.in_flight.is_some() || self.post(shared) > 0
    }

    /// Starts a POST of the oldest frames, within the budget; how many.
    fn post(&mut self, shared: &Arc<Shared>) -> usize {
        shared
            .outbox
            .take_within(&mut self.batch, self.budget, polling_len);
        let count = self.batch.len();
        if count == 0 {
            return 0;
        }
        let frames: Vec<_> = self.batch.drain(..).map(to_frame).collect();
        let mut body = Vec::new();
        encode_payload_into(&frames, &mut body);
        let payload = Bytes::from(body);
        let (shared, conn) = (shared.clone(), self.conn.take());
        let (target, max_body) = (self.target.clone(), self.max_body);
        self.in_flight = Some(Box::pin(async move {
            request(&shared, conn, Method::POST, target, payload, max_body).await
        }));
        count
    }

    /// The answer to the POST in flight; never comes when there is none.
    pub(crate) async fn answered(&mut self) -> Result<(), ClientError> {
        let Some(in_flight) = self.in_flight.as_mut() else {
            return std::future::pending().await;
        };
        let (conn, answer) = in_flight.await;
        self.in_flight = None;
        self.conn = conn;
        answer.map(drop)
    }

    /// Sends what the outbox holds now, and waits until the server has
    /// taken it. Frames queued meanwhile (by other tasks) wait for the
    /// session loop: a drain that chased them could run for ever while no
    /// GET, and so no ping, was read.
    pub(crate) async fn drain(&mut self, shared: &Arc<Shared>) -> Result<(), ClientError> {
        if self.in_flight.is_some() {
            self.answered().await?;
        }
        let mut left = shared.outbox.len();
        while left > 0 {
            let posted = self.post(shared);
            if posted == 0 {
                break;
            }
            left = left.saturating_sub(posted);
            self.answered().await?;
        }
        Ok(())
    }
}

fn to_frame(frame: OutFrame) -> Frame {
    match frame {
        OutFrame::Text(text) => Frame::Text(Str::from(text)),
        OutFrame::Binary(bytes) => Frame::Binary(bytes),
    }
}

/// Bytes a frame takes in a polling payload.
fn polling_len(frame: &OutFrame) -> usize {
    match frame {
        OutFrame::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
        text => text.len(),
    }
}

/// The target of a polling request for session `sid` (none: the handshake).
pub(crate) fn target(shared: &Shared, sid: Option<&str>) -> String {
    request_target(
        &shared.config.path,
        "polling",
        sid,
        &shared.target.query,
        &shared.config.query,
    )
}

/// Sends one request on `conn` (opening it if needed) and reads the whole
/// body, at most `max_body` bytes.
pub(crate) async fn request(
    shared: &Shared,
    conn: Conn,
    method: Method,
    target: String,
    body: Bytes,
    max_body: usize,
) -> (Conn, Result<Bytes, ClientError>) {
    let mut sender = match conn {
        Some(sender) if !sender.is_closed() => sender,
        _ => match open(shared).await {
            Ok(sender) => sender,
            Err(e) => return (None, Err(e)),
        },
    };
    let result = send(shared, &mut sender, method, target, body, max_body).await;
    // A connection that failed is not reused.
    let keep = result.is_ok().then_some(sender);
    (keep, result)
}

async fn send(
    shared: &Shared,
    sender: &mut SendRequest<Full<Bytes>>,
    method: Method,
    target: String,
    body: Bytes,
    max_body: usize,
) -> Result<Bytes, ClientError> {
    let is_post = method == Method::POST;
    let mut request = Request::builder()
        .method(method)
        .uri(target)
        .header(header::HOST, shared.target.host_header());
    for (name, value) in &shared.config.extra_headers {
        request = request.header(name, value);
    }
    if is_post {
        request = request.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
    sender.ready().await.map_err(http_error)?;
    let response = sender.send_request(request).await.map_err(http_error)?;
    let status = response.status();
    let body = Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| ClientError::Protocol(format!("polling response: {e}")))?
        .to_bytes();
    if status != StatusCode::OK {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(ClientError::Handshake(format!("HTTP {status}: {text}")));
    }
    Ok(body)
}

async fn open(shared: &Shared) -> Result<SendRequest<Full<Bytes>>, ClientError> {
    let stream = net::connect(shared).await?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http_error)?;
    // hyper's connection future does the I/O; it ends when the sender is
    // dropped or the server closes the connection.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "polling connection ended");
        }
    });
    Ok(sender)
}

fn http_error(e: hyper::Error) -> ClientError {
    ClientError::Io(std::sync::Arc::new(std::io::Error::other(e)))
}
