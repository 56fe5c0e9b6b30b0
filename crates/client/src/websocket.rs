//! The WebSocket transport: opening it (directly, or to upgrade a polling
//! session) and the probe exchange of the upgrade.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::client::Shared;
use crate::url::request_target;
use crate::{ClientError, net};

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Bytes tungstenite reads per syscall; it zero-fills this much per
/// connection on the first read, so it is resident for every connection.
/// Grows only while a larger message arrives (the engine uses the same).
const READ_BUFFER: usize = 1024;

/// Frames gathered before a write; not preallocated.
const WRITE_BATCH: usize = 8 * 1024;

/// Opens a WebSocket; with `sid`, to upgrade that polling session.
pub(crate) async fn open(shared: &Shared, sid: Option<&str>) -> Result<Ws, ClientError> {
    let stream = net::connect(shared).await?;
    let target = request_target(
        &shared.config.path,
        "websocket",
        sid,
        &shared.target.query,
        &shared.config.query,
    );
    let uri = format!("ws://{}{}", shared.target.host_header(), target);
    let max = shared.config.max_message_size;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let (ws, _) = tokio_tungstenite::client_async_with_config(uri, stream, Some(config))
        .await
        .map_err(|e| match e {
            WsError::Io(e) => ClientError::from(e),
            WsError::Http(response) => {
                ClientError::Handshake(format!("WebSocket refused with {}", response.status()))
            }
            e => ClientError::Handshake(e.to_string()),
        })?;
    Ok(ws)
}

/// Opens the WebSocket for polling session `sid` and completes the probe
/// (`2probe` answered by `3probe`); the caller then pauses polling and
/// sends the upgrade packet.
pub(crate) async fn probe(shared: &Shared, sid: &str) -> Result<Ws, ClientError> {
    let mut ws = open(shared, Some(sid)).await?;
    ws.send(Message::text("2probe"))
        .await
        .map_err(write_error)?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "3probe" => return Ok(ws),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => {
                return Err(ClientError::Protocol(format!(
                    "upgrade probe answered with {other:?}"
                )));
            }
            Some(Err(e)) => return Err(read_error(e)),
            None => {
                return Err(ClientError::Handshake(
                    "closed during the upgrade probe".into(),
                ));
            }
        }
    }
}

pub(crate) fn read_error(e: WsError) -> ClientError {
    match e {
        WsError::Io(e) => ClientError::from(e),
        WsError::Capacity(e) => ClientError::Protocol(format!("message too large: {e}")),
        WsError::Utf8(_) => ClientError::Protocol("invalid UTF-8 in a text frame".into()),
        e => ClientError::Protocol(e.to_string()),
    }
}

pub(crate) fn write_error(e: WsError) -> ClientError {
    match e {
        WsError::Io(e) => ClientError::from(e),
        e => ClientError::Protocol(e.to_string()),
    }
}
