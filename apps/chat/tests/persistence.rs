//! History survives a restart (issue 5), on SQLite (a file in a temp dir)
//! and on PostgreSQL (a fresh database on the machine's server), and a
//! graceful shutdown loses no acknowledged message: the server is stopped
//! through the future `switchboard_chat::run` takes, then started again on
//! the same store (`tests/node/chat/persist.mjs`).
//!
//! Needs Node.js and npm, and PostgreSQL on 127.0.0.1:5432 for the
//! PostgreSQL tests; without them a local run skips loudly, and with `CI`
//! set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use switchboard_chat::Config;
use switchboard_testkit::fresh_database;

use support::{Chat, TempDir, memory, node, result, scenario};

fn on(database: &str) -> Config {
    Config {
        database: database.to_owned(),
        ..memory()
    }
}

/// Writes messages, restarts the server on the same store, and checks that
/// both joins (main chat and room) bring them back exactly.
async fn survives_a_restart(database: &str) {
    let Some(node) = node() else { return };
    let chat = Chat::start(on(database)).await;
    let written = result(&scenario(node, "persist.mjs", &[&chat.url, "write"]).await);
    chat.stop().await;

    let chat = Chat::start(on(database)).await;
    let read = result(&scenario(node, "persist.mjs", &[&chat.url, "read"]).await);
    chat.stop().await;

    assert_eq!(written["main"].as_array().map(Vec::len), Some(10));
    assert_eq!(written["room"].as_array().map(Vec::len), Some(3));
    assert_eq!(read["main"], written["main"], "the main chat's history");
    assert_eq!(read["room"], written["room"], "room r's history");
}

/// Sends a burst of messages and shuts the server down as soon as the
/// first is acknowledged, with the rest in flight; after a restart every
/// acknowledged message is there, and nothing is there twice.
async fn shutdown_flushes(database: &str) {
    const MESSAGES: usize = 500;
    let Some(node) = node() else { return };
    let chat = Chat::start(on(database)).await;
    let count = MESSAGES.to_string();
    let mut flood = node.start("chat/persist.mjs", &[&chat.url, "flood", &count]);
    flood.line_starting("FIRST ACK").await;
    chat.stop().await;
    let run = flood.finish().await;
    run.assert_success();
    let flooded = result(&run);

    let chat = Chat::start(on(database)).await;
    let stored = result(&scenario(node, "persist.mjs", &[&chat.url, "read-all"]).await);
    chat.stop().await;

    let stored: Vec<(i64, String)> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let acked: Vec<(i64, String)> = flooded["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let stored_set: BTreeSet<&(i64, String)> = stored.iter().collect();
    assert!(!acked.is_empty(), "the shutdown waited for a first ack");
    for message in &acked {
        assert!(
            stored_set.contains(message),
            "acked {message:?} is not in the store after the restart ({} stored, {} acked)",
            stored.len(),
            acked.len()
        );
    }
    let texts: BTreeSet<&str> = stored.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts.len(), stored.len(), "no message stored twice");
    assert!(
        texts.iter().all(|t| {
            t.strip_prefix("flood ")
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| (1..=MESSAGES).contains(&n))
        }),
        "only the flood's messages"
    );
    eprintln!(
        "{database}: {} of {MESSAGES} acked before the shutdown, {} stored",
        acked.len(),
        stored.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_history_survives_a_restart() {
    let dir = TempDir::new();
    // A directory that does not exist yet: the store creates it.
    let url = format!(
        "sqlite://{}",
        dir.path().join("data").join("chat.db").display()
    );
    survives_a_restart(&url).await;
    assert!(dir.path().join("data").join("chat.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_history_survives_a_restart() {
    if node().is_none() {
        return;
    }
    let Some(database) = fresh_database().await else {
        return;
    };
    survives_a_restart(database.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_graceful_shutdown_keeps_every_acked_message() {
    let dir = TempDir::new();
    shutdown_flushes(&dir.sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_graceful_shutdown_keeps_every_acked_message() {
    if node().is_none() {
        return;
    }
    let Some(database) = fresh_database().await else {
        return;
    };
    shutdown_flushes(database.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_history_does_not_survive_a_restart() {
    let Some(node) = node() else { return };
    let chat = Chat::start(memory()).await;
    scenario(node, "persist.mjs", &[&chat.url, "write"]).await;
    chat.stop().await;
    let chat = Chat::start(memory()).await;
    let read = result(&scenario(node, "persist.mjs", &[&chat.url, "read"]).await);
    chat.stop().await;
    assert_eq!(read["main"], Value::Array(vec![]), "memory is memory");
}
