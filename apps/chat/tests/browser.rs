//! The chat page in headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from `tests/browser`): two people join, see each other
//! online, exchange acknowledged messages, see each other typing, use a room,
//! and one reloads and sees the history. Screenshots of each step are kept
//! in `target/test-artifacts/chat-page/`.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::Path;

use switchboard_chat::Config;
use switchboard_testkit::{Node, skip, workspace_root};

const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        skip(
            "chromium not found at /usr/bin/chromium",
            "Install Debian's chromium (apt-get install chromium) to run the browser tests",
        );
        return;
    }
    let Some(node) = Node::package("tests/browser") else {
        return;
    };

    let listener = switchboard::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        database: "memory".to_owned(),
        ..Default::default()
    };
    let server = tokio::spawn(switchboard_chat::run(listener, config, async {
        let _ = stopped.await;
    }));

    let shots = workspace_root()
        .join("target")
        .join("test-artifacts")
        .join("chat-page");
    let run = node.run("chat.mjs", &[&url, shots.to_str().unwrap()]).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    run.assert_success();
    for shot in ["1-online", "2-typing", "3-room", "4-history-after-reload"] {
        assert!(
            shots.join(format!("{shot}.png")).is_file(),
            "screenshot {shot} was saved"
        );
    }
}
