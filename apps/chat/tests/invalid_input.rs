//! Invalid input on `/` (issue 5): wrong types for each event, empty and
//! blank text, text of 4,001 characters (4,000 accepted), names over 32
//! characters (32 accepted), room names over 64, a room message from a
//! non-member, bad history queries. Each is answered through the ack as
//! `{status: "error", error}`, or with a `chat:error` event without an ack,
//! and nothing is stored or broadcast (`tests/node/chat/invalid.mjs`).
//!
//! Needs Node.js and npm; without them a local run skips loudly, and with
//! `CI` set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use support::{Chat, memory, node, scenario};

async fn invalid(case: &str, mode: &str) {
    let Some(node) = node() else { return };
    let chat = Chat::start(memory()).await;
    scenario(node, "invalid.mjs", &[&chat.url, case, mode]).await;
    chat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_join_refuses_bad_names_and_accepts_32_characters() {
    invalid("user:join", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_message_refuses_bad_text_and_accepts_4000_characters() {
    invalid("chat:message", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_message_refuses_bad_text_over_polling() {
    invalid("chat:message", "polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_join_refuses_bad_room_names() {
    invalid("room:join", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_leave_refuses_bad_room_names() {
    invalid("room:leave", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_message_refuses_bad_input_and_non_members() {
    invalid("room:message", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_history_refuses_bad_queries() {
    invalid("chat:history", "websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ack_errors_come_as_chat_error_events() {
    invalid("no-ack", "websocket").await;
}
