//! `Parser::MsgPack` against both servers of the contract in
//! `tests/node/client/server.mjs`, each using socket.io-msgpack-parser's
//! format: Node's socket.io with the npm parser, switchboard with
//! `Parser::MsgPack`. Every packet type crosses in both directions on each
//! transport; a client whose parser is not the server's fails to connect
//! instead of hanging.
#![allow(clippy::unwrap_used, reason = "test code")]

#[macro_use]
mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_client::{
    Client, ClientBuilder, ClientError, Event, Parser, Socket, Transport, placeholder,
};
use tokio::sync::mpsc;

use support::{GUARD, Kind, Server, next, server_auth, until_transport, within};

/// A msgpack client for `url`; every event it gets but `question` (which
/// has its own handler) lands in the inbox as (name, arguments, binary).
fn msgpack_client(
    url: &str,
) -> (
    ClientBuilder,
    mpsc::UnboundedReceiver<(String, Value, Vec<Bytes>)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let builder = Client::builder(url)
        .parser(Parser::MsgPack)
        .reconnection(false)
        .on_any(move |_: &Socket, ev: &Event| {
            if ev.name() == "question" {
                return;
            }
            let args = serde_json::from_str(ev.args_json()).unwrap();
            let _ = tx.send((ev.name().to_owned(), args, ev.binary().to_vec()));
        });
    (builder, rx)
}

/// Events, acknowledgements both ways and binary both ways (inline in the
/// MessagePack, attachments in the client's API), then the transport the
/// server sees and one more round trip on it.
async fn round_trips(kind: Kind, transports: &[Transport], expected: &str) {
    let Some(server) = Server::start_msgpack(kind).await else {
        return;
    };
    let (builder, mut inbox) = msgpack_client(&server.url());
    let answer = Bytes::from_static(b"\x00answer\xff");
    let reply = answer.clone();
    let socket = builder
        .transports(transports)
        .on("question", move |_: &Socket, ev: &Event| {
            let (n,): (u64,) = ev.args().unwrap();
            ev.ack_binary(&json!([n * 2, placeholder(0)]), vec![reply.clone()])
                .unwrap();
        })
        .connect()
        .await
        .unwrap();
    // The server's first emit, on connection.
    let (name, args, _) = next("hello", &mut inbox).await;
    assert_eq!(
        (name.as_str(), &args[0]["id"]),
        ("hello", &json!(socket.id().unwrap()))
    );

    // JSON values of every MessagePack kind the conversion handles.
    let value = json!({"a": [1, -3, 2.5, "é", null, true], "b": {"c": ""}, "big": 9_007_199_254_740_991_u64});
    let echoed: Value = socket.emit_with_ack("echo", &value).await.unwrap();
    assert_eq!(echoed, value);

    // Binary out and back, a small value and one of 100 kB.
    let blob = Bytes::from_static(&[0, 1, 2, 0xfe, 0xff]);
    let big = Bytes::from(vec![7u8; 100_000]);
    let reply = socket
        .emit_with_ack_raw(
            "echo",
            &json!(["x", placeholder(0), {"nested": placeholder(1)}]),
            vec![blob.clone(), big.clone()],
            GUARD,
        )
        .await
        .unwrap();
    assert_eq!(reply.binary(), [blob.clone(), big]);
    assert_eq!(
        reply.args::<Value>().unwrap(),
        json!(["x", placeholder(0), {"nested": placeholder(1)}])
    );

    // A server emit carrying binary.
    socket
        .emit_binary("emit-back", &json!([placeholder(0), 9]), vec![blob.clone()])
        .unwrap();
    let back = next("back", &mut inbox).await;
    assert_eq!(
        back,
        ("back".to_owned(), json!([placeholder(0), 9]), vec![blob])
    );

    // The server asks; the handler above acknowledges with binary.
    socket.emit("ask", &21).unwrap();
    let got = next("answer", &mut inbox).await;
    assert_eq!(got, ("answer".to_owned(), json!([42]), Vec::new()));

    until_transport(&socket, expected).await;
    let n: u32 = socket.emit_with_ack("echo", &7).await.unwrap();
    assert_eq!(n, 7);
    socket.disconnect().await;
    server.stop().await;
}

both!(round_trips(&[Transport::WebSocket], "websocket"): msgpack_websocket_switchboard, msgpack_websocket_node);

both!(round_trips(&[Transport::Polling], "polling"): msgpack_polling_switchboard, msgpack_polling_node);

both!(round_trips(&[Transport::Polling, Transport::WebSocket], "websocket"): msgpack_polling_then_upgrade_switchboard, msgpack_polling_then_upgrade_node);

/// CONNECT with auth, CONNECT_ERROR with data, and DISCONNECT both ways.
async fn namespaces(kind: Kind) {
    let Some(server) = Server::start_msgpack(kind).await else {
        return;
    };
    let (builder, mut inbox) = msgpack_client(&server.url());
    let main = builder.namespace("/admin").connect().await.unwrap();
    let (name, args, _) = next("welcome", &mut inbox).await;
    assert_eq!((name.as_str(), args), ("welcome", json!(["admin"])));

    let refused = main.io().socket("/private").await;
    match refused {
        Err(ClientError::ConnectRefused { message, data }) => {
            assert_eq!(message, "unauthorized");
            assert_eq!(data, Some(json!({"code": "E_AUTH"})));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let private = main
        .io()
        .socket_with("/private", Some(json!({"token": "secret"})), |_| {})
        .await
        .unwrap();
    assert_eq!(server_auth(&private).await, json!({"token": "secret"}));

    // The client's DISCONNECT: the namespace goes, the connection stays.
    private.disconnect().await;
    assert!(main.io().is_open());
    // The server's DISCONNECT.
    let (tx, mut reasons) = mpsc::unbounded_channel();
    main.on_disconnect(move |_, reason| {
        let _ = tx.send(reason.to_owned());
    });
    main.emit("disconnect-me", &()).unwrap();
    assert_eq!(
        next("the server's disconnect", &mut reasons).await,
        "io server disconnect"
    );
    server.stop().await;
}
both!(namespaces: msgpack_namespaces_switchboard, msgpack_namespaces_node);

/// Parsers that do not match: the server closes the connection at the
/// first packet it cannot read, so `connect` fails at once, not at its
/// timeout.
async fn mismatch(kind: Kind) {
    let Some(msgpack_server) = Server::start_msgpack(kind).await else {
        return;
    };
    let Some(json_server) = Server::start(kind).await else {
        return;
    };
    for (server, parser) in [
        (&msgpack_server, Parser::Json),
        (&json_server, Parser::MsgPack),
    ] {
        for transport in [Transport::WebSocket, Transport::Polling] {
            let failed = within(
                "connect to fail",
                Client::builder(&server.url())
                    .parser(parser)
                    .transports(&[transport])
                    .reconnection(false)
                    .connect(),
            )
            .await;
            assert!(
                matches!(failed, Err(ref e) if !matches!(e, ClientError::Timeout)),
                "{parser:?} over {transport:?}: {failed:?}"
            );
        }
    }
    msgpack_server.stop().await;
    json_server.stop().await;
}
both!(mismatch: msgpack_mismatch_fails_switchboard, msgpack_mismatch_fails_node);
