//! Connection state recovery in the chat, on by default: with the official
//! socket.io-client a dropped user gets every missed message (general and
//! room) in order and once, keeps her name and room and is online again;
//! past the window she gets a fresh session and the gap through
//! `chat:history` (`tests/node/chat/recovery.mjs`). The page does the same
//! in Chromium (`tests/browser/chat_recovery.mjs`).
//!
//! Needs Node.js and npm (and Chromium for the page); without them a local
//! run skips loudly, and with `CI` set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::path::Path;
use std::time::Duration;

use switchboard_chat::Config;
use switchboard_testkit::{Node, skip};

use support::{Chat, memory, node, scenario};

/// A window that has always passed: any absence is a longer one.
fn expired() -> Config {
    Config {
        recovery: Some(Duration::ZERO),
        ..memory()
    }
}

async fn chat_recovery(mode: &str, config: Config, extra: &[&str]) {
    let Some(node) = node() else { return };
    let chat = Chat::start(config).await;
    let mut args = vec![chat.url.as_str(), mode];
    args.extend_from_slice(extra);
    scenario(node, "recovery.mjs", &args).await;
    chat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_drop_over_websocket_loses_nothing() {
    chat_recovery("websocket", memory(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_drop_over_polling_loses_nothing() {
    chat_recovery("polling", memory(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longer_absence_fetches_the_gap_through_history() {
    chat_recovery("websocket", expired(), &["expired"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_recovers_in_chromium() {
    const CHROMIUM: &str = "/usr/bin/chromium";
    if !Path::new(CHROMIUM).exists() {
        skip(
            "chromium not found at /usr/bin/chromium",
            "Install Debian's chromium (apt-get install chromium) to run the browser tests",
        );
        return;
    }
    let Some(browser) = Node::package("tests/browser") else {
        return;
    };
    let short = Chat::start(memory()).await;
    let long = Chat::start(expired()).await;
    let run = browser
        .run("chat_recovery.mjs", &[&short.url, &long.url])
        .await;
    short.stop().await;
    long.stop().await;
    run.assert_success();
}
