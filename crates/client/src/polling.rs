//! The HTTP long-polling transport: one HTTP/1.1 connection for the pending
//! GET and one for POSTs, as a browser keeps them, each reused while the
//! server keeps it alive.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use crate::client::Shared;
use crate::url::request_target;
use crate::{ClientError, net};

/// One keep-alive HTTP/1.1 connection, opened on first use.
pub(crate) type Conn = Option<SendRequest<Full<Bytes>>>;

/// A request in flight; gives its connection back with the answer.
pub(crate) type InFlight = Pin<Box<dyn Future<Output = (Conn, Result<Bytes, ClientError>)> + Send>>;

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
