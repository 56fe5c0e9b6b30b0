//! The event contract of `/` (issue 5), driven by the official
//! socket.io-client over each transport mode: WebSocket only, long-polling
//! only, and polling upgraded to WebSocket. Each scenario is a script in
//! `tests/node/chat`; its steps say what is checked.
//!
//! Needs Node.js and npm (installs `tests/node` on first run); without them
//! a local run skips loudly, and with `CI` set it fails.

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use switchboard_chat::Config;

use support::{Chat, memory, node, scenario, token, with_secret};

/// Serves `config` and runs `script` against it in `mode`, with `extra`
/// arguments after the mode.
async fn contract(script: &str, config: Config, mode: &str, extra: &[&str]) {
    let Some(node) = node() else { return };
    let chat = Chat::start(config).await;
    let mut args = vec![chat.url.as_str(), mode];
    args.extend_from_slice(extra);
    scenario(node, script, &args).await;
    chat.stop().await;
}

/// One test per transport mode, in a module named after the scenario.
macro_rules! over_each_transport {
    ($name:ident, $script:literal, $config:expr $(, $extra:expr)*) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                contract($script, $config, "websocket", &[$($extra),*]).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                contract($script, $config, "polling", &[$($extra),*]).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling_then_upgrade() {
                contract($script, $config, "upgrade", &[$($extra),*]).await;
            }
        }
    };
}

// user:join (history, user:joined, users:online, ack) and chat:message
// (stored, broadcast to everyone with its exact shape, then acked; from a
// socket that has not joined too).
over_each_transport!(join_and_message, "join_message.mjs", memory());

// chat:typing to everyone but the sender, once per second per socket.
over_each_transport!(typing_throttled, "typing.mjs", memory());

// room:join / room:leave notes and history, room:message from members only.
over_each_transport!(rooms, "rooms.mjs", memory());

// chat:history pages by `before`, limit up to 200.
over_each_transport!(history_pages, "history.mjs", memory());

// users:online on disconnect; user:left only with the user's last socket.
// The script probes through /admin, so this server has a secret.
over_each_transport!(
    disconnect_and_presence,
    "disconnect.mjs",
    with_secret(),
    &token("probe", Some("admin"))
);
