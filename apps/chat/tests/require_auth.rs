//! `--require-auth` (`Config::require_auth`, issue 5): `/` refuses a
//! connection without a valid token with connect_error "unauthorized", and
//! a user's name is its token's subject (`tests/node/chat/require_auth.mjs`).
//!
//! The scenarios need Node.js and npm (a local run without them skips
//! loudly; with `CI` set it fails).

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use switchboard_chat::Config;
use tokio::net::TcpListener;

use support::{
    Chat, expired_token, foreign_token, memory, node, scenario, token, unsigned_token, with_secret,
};

fn require_auth() -> Config {
    Config {
        require_auth: true,
        ..with_secret()
    }
}

async fn require_auth_scenario(args: &[&str]) {
    let Some(node) = node() else { return };
    let chat = Chat::start(require_auth()).await;
    let mut all = vec![chat.url.as_str()];
    all.extend_from_slice(args);
    scenario(node, "require_auth.mjs", &all).await;
    chat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_connections_without_a_valid_token() {
    let pairs = [
        ("no auth at all", String::new()),
        ("expired", expired_token("ada", None)),
        ("signed with another secret", foreign_token("ada", None)),
        ("alg none", unsigned_token("ada")),
        ("not a token", "garbage".to_owned()),
    ]
    .map(|(label, token)| format!("{label}={token}"));
    let mut args = vec!["refused"];
    args.extend(pairs.iter().map(String::as_str));
    require_auth_scenario(&args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_name_is_the_token_subject() {
    // Any valid token will do on `/`; the admin role is not needed.
    require_auth_scenario(&["subject", &token("ada", None), &token("bob", Some("user"))]).await;
}

#[tokio::test]
async fn require_auth_without_a_secret_does_not_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        require_auth: true,
        ..memory()
    };
    let error = switchboard_chat::run(listener, config, std::future::pending())
        .await
        .expect_err("--require-auth without a secret must not serve");
    assert!(
        error.to_string().contains("SWITCHBOARD_JWT_SECRET"),
        "says how to give a secret: {error}"
    );
}
