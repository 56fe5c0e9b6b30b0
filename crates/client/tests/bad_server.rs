//! A server that breaks the protocol: the client closes that connection
//! with an error (`parse error`, `Client::last_error`) and never panics.
//! The fake servers here are hand-written on purpose: no real server sends
//! these bytes.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use switchboard_client::{Client, ClientBuilder, ClientError, Parser, Socket, Transport};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const GUARD: Duration = Duration::from_secs(30);

const OPEN: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    switchboard_testkit::within(GUARD, what, f).await
}

/// A WebSocket server for one client: sends `open`, answers the CONNECT of
/// `/` with `40{"sid":"a"}` when `answer` is set, then sends `then`.
async fn websocket_server(open: &'static str, answer: bool, then: Vec<Message>) -> String {
    let connect = (Message::text("40"), Message::text(r#"40{"sid":"a"}"#));
    websocket_server_with(open, answer.then_some(connect), then).await
}

/// [`websocket_server`] with the CONNECT it expects and its answer given.
async fn websocket_server_with(
    open: &'static str,
    connect: Option<(Message, Message)>,
    then: Vec<Message>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        ws.send(Message::text(open)).await.unwrap();
        if let Some((expected, answer)) = connect {
            let connect = ws.next().await.unwrap().unwrap();
            assert_eq!(connect, expected);
            ws.send(answer).await.unwrap();
        }
        for message in then {
            if ws.send(message).await.is_err() {
                return;
            }
        }
        // Hold the connection until the client closes it.
        while let Some(Ok(_)) = ws.next().await {}
    });
    url
}

/// Connects without reconnection; returns the socket and the reasons its
/// disconnect handler receives.
async fn connect(url: &str, transport: Transport) -> (Socket, mpsc::UnboundedReceiver<String>) {
    connect_with(Client::builder(url).transports(&[transport])).await
}

async fn connect_with(builder: ClientBuilder) -> (Socket, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let socket = builder
        .reconnection(false)
        .on_disconnect(move |_, reason| {
            let _ = tx.send(reason.to_owned());
        })
        .connect()
        .await
        .unwrap();
    (socket, rx)
}

/// The connection ended with `parse error` and the client kept the
/// protocol error that caused it.
async fn closed_by_protocol_error(socket: &Socket, reasons: &mut mpsc::UnboundedReceiver<String>) {
    let reason = within("the disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, "parse error");
    let error = socket.io().last_error();
    assert!(matches!(error, Some(ClientError::Protocol(_))), "{error:?}");
}

async fn closes_with_parse_error(then: Vec<Message>) -> ClientError {
    let url = websocket_server(OPEN, true, then).await;
    let (socket, mut reasons) = connect(&url, Transport::WebSocket).await;
    let reason = within("the disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, "parse error");
    assert!(!socket.connected());
    let client = socket.io();
    within("the client to end", client.close_and_wait()).await;
    client.last_error().unwrap()
}

#[tokio::test]
async fn malformed_packets_close_the_connection() {
    let cases: [(&str, Vec<Message>); 8] = [
        ("unknown engine type", vec![Message::text("9")]),
        ("unknown socket type", vec![Message::text("49")]),
        (
            "event that is not an array",
            vec![Message::text(r#"42{"a":1}"#)],
        ),
        ("event without a name", vec![Message::text("42[]")]),
        ("ack without an id", vec![Message::text("43[1]")]),
        ("unannounced binary", vec![Message::binary(vec![1u8, 2])]),
        (
            "text while attachments are pending",
            vec![
                Message::text(r#"451-["a",{"_placeholder":true,"num":0}]"#),
                Message::text(r#"42["a"]"#),
            ],
        ),
        (
            "placeholder without attachment",
            vec![Message::text(r#"451-["a",{"_placeholder":true,"num":1}]"#)],
        ),
    ];
    for (what, then) in cases {
        let error = closes_with_parse_error(then).await;
        assert!(
            matches!(error, ClientError::Protocol(_)),
            "{what}: {error:?}"
        );
    }
}

#[tokio::test]
async fn connect_answer_without_sid_is_a_protocol_error() {
    let url = websocket_server(OPEN, false, vec![Message::text("40{}")]).await;
    let refused = Client::builder(&url)
        .transports(&[Transport::WebSocket])
        .connect()
        .await;
    // The first connection fails with the reason it ended.
    assert!(
        matches!(refused, Err(ClientError::Disconnected)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn no_open_packet_fails_the_handshake() {
    for open in ["4hello", "0{\"sid\":1}", "x"] {
        let url = websocket_server(open, false, vec![]).await;
        let result = Client::builder(&url)
            .transports(&[Transport::WebSocket])
            .connect()
            .await;
        assert!(
            matches!(result, Err(ClientError::Handshake(_))),
            "{open}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_silent_server_is_detected_by_the_heartbeat() {
    let open =
        r#"0{"sid":"s1","upgrades":[],"pingInterval":50,"pingTimeout":50,"maxPayload":1000000}"#;
    let url = websocket_server(open, true, vec![]).await;
    let (_socket, mut reasons) = connect(&url, Transport::WebSocket).await;
    let reason = within("the ping timeout", reasons.recv()).await.unwrap();
    assert_eq!(reason, "ping timeout");
}

#[tokio::test]
async fn pings_are_answered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        ws.send(Message::text(OPEN)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap().to_text().unwrap(), "40");
        ws.send(Message::text(r#"40{"sid":"a"}"#)).await.unwrap();
        ws.send(Message::text("2")).await.unwrap();
        ws.next()
            .await
            .unwrap()
            .unwrap()
            .to_text()
            .unwrap()
            .to_owned()
    });
    let (_socket, _) = connect(&url, Transport::WebSocket).await;
    assert_eq!(within("the pong", server).await.unwrap(), "3");
}

/// An HTTP long-polling server for one client: answers the handshake, the
/// CONNECT (POST), the first poll with the CONNECT answer and the second
/// poll with `body`.
async fn polling_server(body: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut polls = 0;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            polls = serve_http(stream, polls, body).await;
        }
    });
    url
}

/// Serves requests on one keep-alive connection; returns the GET count.
async fn serve_http(stream: TcpStream, mut polls: usize, bad: &'static [u8]) -> usize {
    let mut stream = BufReader::new(stream);
    loop {
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return polls;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.unwrap();
        let answer: &[u8] = if head.starts_with("POST") {
            b"ok"
        } else if !head.contains("sid=") {
            OPEN.as_bytes()
        } else {
            polls += 1;
            match polls {
                1 => br#"40{"sid":"a"}"#,
                2 => bad,
                // Further polls hang until the client goes.
                _ => std::future::pending().await,
            }
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        let stream = stream.get_mut();
        stream.write_all(response.as_bytes()).await.unwrap();
        stream.write_all(answer).await.unwrap();
    }
}

#[tokio::test]
async fn malformed_polling_payloads_close_the_connection() {
    let bodies: [&'static [u8]; 4] = [b"b!!!", b"4\xff", b"4a\x1e", b"42[\"a\"]\x1e42{}"];
    for body in bodies {
        let url = polling_server(body).await;
        let (socket, mut reasons) = connect(&url, Transport::Polling).await;
        let reason = within("the disconnect", reasons.recv()).await.unwrap();
        assert_eq!(reason, "parse error", "{body:?}");
        let error = socket.io().last_error();
        assert!(matches!(error, Some(ClientError::Protocol(_))), "{error:?}");
    }
}

/// `max_message_size` (default 64 MiB): a message of exactly the limit is
/// taken, one byte more closes the connection.
#[tokio::test]
async fn message_size_limit() {
    let limit = 200;
    let event = |len: usize| {
        let prefix = r#"42["e",""#;
        let text = "x".repeat(len - prefix.len() - 2);
        Message::text(format!("{prefix}{text}\"]"))
    };
    assert_eq!(event(limit).len(), limit);
    let url = websocket_server(OPEN, true, vec![event(limit), event(limit + 1)]).await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let builder = Client::builder(&url)
        .transports(&[Transport::WebSocket])
        .max_message_size(limit)
        .on("e", move |_, ev| {
            let _ = tx.send(ev.args_json().len());
        });
    let (socket, mut reasons) = connect_with(builder).await;
    assert_eq!(
        within("the event at the limit", events.recv()).await,
        Some(limit - 6)
    );
    closed_by_protocol_error(&socket, &mut reasons).await;
}

/// `max_attachments` (default 10): a packet announcing the limit is taken,
/// one more closes the connection.
#[tokio::test]
async fn attachment_limit() {
    let announce = |n: usize| {
        let placeholders: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
            .collect();
        let mut messages = vec![Message::text(format!(
            r#"45{n}-["e",{}]"#,
            placeholders.join(",")
        ))];
        messages.extend((0..n).map(|i| Message::binary(vec![i as u8])));
        messages
    };
    let mut then = announce(3);
    then.extend(announce(4));
    let url = websocket_server(OPEN, true, then).await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let builder = Client::builder(&url)
        .transports(&[Transport::WebSocket])
        .max_attachments(3)
        .on("e", move |_, ev| {
            let _ = tx.send(ev.binary().len());
        });
    let (socket, mut reasons) = connect_with(builder).await;
    assert_eq!(
        within("the event at the limit", events.recv()).await,
        Some(3)
    );
    closed_by_protocol_error(&socket, &mut reasons).await;
}

/// With `Parser::MsgPack`: a text message, bytes that are not MessagePack,
/// a packet of unknown type, an event that is not an array, and more
/// binary values than `max_attachments` (default 10) each close the
/// connection with a protocol error; ten binary values are taken.
#[tokio::test]
async fn malformed_msgpack_packets_close_the_connection() {
    // Written by hand: {type, data?, nsp} maps in the parser's order.
    let packet = |kind: u8, data: &[u8]| {
        let mut bytes = vec![0x82 + u8::from(!data.is_empty()), 0xa4];
        bytes.extend_from_slice(b"type");
        bytes.push(kind);
        if !data.is_empty() {
            bytes.push(0xa4);
            bytes.extend_from_slice(b"data");
            bytes.extend_from_slice(data);
        }
        bytes.extend_from_slice(b"\xa3nsp\xa1/");
        Message::binary(bytes)
    };
    // ["e", then `n` one-byte binary values].
    let event = |n: u8| {
        let mut data = vec![0x90 + 1 + n, 0xa1, b'e'];
        for i in 0..n {
            data.extend_from_slice(&[0xc4, 1, i]);
        }
        packet(2, &data)
    };
    let connect = (packet(0, b""), packet(0, b"\x81\xa3sid\xa1a"));
    let cases: [(&str, Message); 5] = [
        ("text", Message::text(r#"42["e"]"#)),
        ("not MessagePack", Message::binary(vec![0xc1])),
        ("unknown type", packet(9, b"")),
        ("event that is not an array", packet(2, b"\x81\xa1a\x01")),
        ("11 binary values", event(11)),
    ];
    for (what, bad) in cases {
        let url = websocket_server_with(OPEN, Some(connect.clone()), vec![event(10), bad]).await;
        let (tx, mut events) = mpsc::unbounded_channel();
        let builder = Client::builder(&url)
            .parser(Parser::MsgPack)
            .transports(&[Transport::WebSocket])
            .on("e", move |_, ev| {
                let _ = tx.send(ev.binary().to_vec());
            });
        let (socket, mut reasons) = connect_with(builder).await;
        let taken = within("the event at the limit", events.recv())
            .await
            .unwrap();
        assert_eq!(
            taken,
            (0..10).map(|i| vec![i]).collect::<Vec<_>>(),
            "{what}"
        );
        let reason = within("the disconnect", reasons.recv()).await.unwrap();
        assert_eq!(reason, "parse error", "{what}");
        let error = socket.io().last_error();
        assert!(
            matches!(error, Some(ClientError::Protocol(_))),
            "{what}: {error:?}"
        );
    }
}

/// The client's own WebSocket framing: a message in fragments with a ping
/// between them, and two messages in one write, are taken whole; a frame
/// with a reserved bit set (no extension was agreed) closes the connection.
#[tokio::test]
async fn websocket_fragments_pings_and_reserved_bits() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let text = |data: &'static str, op: Data, fin: bool| {
        Message::Frame(Frame::message(data, OpCode::Data(op), fin))
    };
    let mut reserved = Frame::message(r#"42["e","late"]"#, OpCode::Data(Data::Text), true);
    reserved.header_mut().rsv1 = true;
    let url = websocket_server(
        OPEN,
        true,
        vec![
            text(r#"42["e","#, Data::Text, false),
            Message::Frame(Frame::ping(&b"p"[..])),
            text(r#""whole"#, Data::Continue, false),
            text(r#""]"#, Data::Continue, true),
            Message::text(r#"42["e","second"]"#),
            Message::Frame(reserved),
        ],
    )
    .await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let builder = Client::builder(&url)
        .transports(&[Transport::WebSocket])
        .on("e", move |_, ev| {
            let _ = tx.send(ev.args_json().to_owned());
        });
    let (socket, mut reasons) = connect_with(builder).await;
    assert_eq!(
        within("the fragmented event", events.recv()).await.unwrap(),
        r#"["whole"]"#
    );
    assert_eq!(
        within("the next event", events.recv()).await.unwrap(),
        r#"["second"]"#
    );
    closed_by_protocol_error(&socket, &mut reasons).await;
    assert!(
        events.try_recv().is_err(),
        "the bad frame was not delivered"
    );
}
