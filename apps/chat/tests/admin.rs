//! The `/admin` namespace (issue 5): an HS256 token with `role: admin` gets
//! in and can ask for stats, kick a user and announce; anything else is
//! refused with connect_error "unauthorized"; without a secret `/admin`
//! does not exist. And the `token` subcommand that prints such tokens.
//!
//! The scenarios are `tests/node/chat/admin.mjs`, with the official
//! socket.io-client; they need Node.js and npm (a local run without them
//! skips loudly; with `CI` set it fails).

#![allow(clippy::unwrap_used, reason = "test code")]

mod support;

use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_chat::auth::Secret;

use support::{
    Chat, SECRET, TempDir, expired_token, foreign_token, memory, node, scenario, tampered_token,
    token, unsigned_token, with_secret,
};

/// Serves a chat with the test secret and runs `admin.mjs` with `args`.
async fn admin(args: &[&str]) {
    let Some(node) = node() else { return };
    let chat = Chat::start(with_secret()).await;
    let mut all = vec![chat.url.as_str()];
    all.extend_from_slice(args);
    scenario(node, "admin.mjs", &all).await;
    chat.stop().await;
}

/// Each `label=token` is refused on `/admin` with "unauthorized".
async fn refused(tokens: &[(&str, String)]) {
    let pairs: Vec<String> = tokens
        .iter()
        .map(|(label, token)| format!("{label}={token}"))
        .collect();
    let mut args = vec!["refused"];
    args.extend(pairs.iter().map(String::as_str));
    admin(&args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_gets_stats_announces_and_kicks() {
    admin(&["admin", &token("root", Some("admin"))]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_connection_without_token() {
    refused(&[("no auth at all", String::new())]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_token_without_the_admin_role() {
    refused(&[
        ("role user", token("ann", Some("user"))),
        ("no role", token("ann", None)),
        ("role Admin", token("ann", Some("Admin"))),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_expired_token() {
    let expired = expired_token("root", Some("admin"));
    // Everything but the expiry is right: the same claims in date verify.
    let secret = Secret::new(SECRET);
    assert!(secret.verify(&token("root", Some("admin"))).is_some());
    assert!(secret.verify(&expired).is_none());
    refused(&[("expired", expired)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_bad_signature() {
    refused(&[
        (
            "signed with another secret",
            foreign_token("root", Some("admin")),
        ),
        ("claims rewritten to admin", tampered_token("ann")),
        ("signature removed", {
            let good = token("root", Some("admin"));
            good[..=good.rfind('.').unwrap()].to_owned()
        }),
        ("not a token", "not.a.token".to_owned()),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_an_alg_none_token() {
    refused(&[("alg none", unsigned_token("root"))]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_admin_is_disabled() {
    let Some(node) = node() else { return };
    let chat = Chat::start(memory()).await;
    scenario(node, "admin.mjs", &[&chat.url, "disabled"]).await;
    chat.stop().await;
}

// ---------------------------------------------------------------------
// `switchboard-chat token`
// ---------------------------------------------------------------------

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs the binary with `args` and `SWITCHBOARD_JWT_SECRET` set to
/// `secret` (or unset); returns (success, stdout, stderr).
fn chat_cli(args: &[&str], secret: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard-chat"));
    command
        .args(args)
        .env_remove("SWITCHBOARD_JWT_SECRET")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if let Some(secret) = secret {
        command.env("SWITCHBOARD_JWT_SECRET", secret);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one line the command printed.
fn printed_token(stdout: &str) -> &str {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line, the token: {stdout:?}");
    lines[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_subcommand_prints_a_token_the_server_accepts() {
    let before = now();
    let (ok, stdout, stderr) =
        chat_cli(&["token", "--sub", "ada", "--role", "admin"], Some(SECRET));
    let after = now();
    assert!(ok, "token failed:\n{stdout}\n{stderr}");
    let token = printed_token(&stdout);
    let claims = Secret::new(SECRET)
        .verify(token)
        .expect("the printed token verifies with the same secret");
    assert_eq!(claims.sub, "ada");
    assert_eq!(claims.role.as_deref(), Some("admin"));
    assert!(
        (before + 3600..=after + 3600).contains(&claims.exp),
        "valid for an hour by default: exp {} (now {before}..{after})",
        claims.exp
    );
    assert!(
        Secret::new("another secret").verify(token).is_none(),
        "signed with the secret from the environment"
    );
    // And it opens /admin on a server with that secret.
    admin(&["stats", token]).await;
}

#[test]
fn token_subcommand_takes_ttl_role_and_secret_file() {
    let before = now();
    let (ok, stdout, stderr) = chat_cli(&["token", "--sub", "bob", "--ttl", "120"], Some(SECRET));
    let after = now();
    assert!(ok, "token failed:\n{stdout}\n{stderr}");
    let claims = Secret::new(SECRET).verify(printed_token(&stdout)).unwrap();
    assert_eq!((claims.sub.as_str(), claims.role), ("bob", None));
    assert!((before + 120..=after + 120).contains(&claims.exp));

    let dir = TempDir::new();
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) = chat_cli(
        &[
            "token",
            "--sub",
            "cy",
            "--role",
            "admin",
            "--jwt-secret-file",
            path,
        ],
        Some(SECRET),
    );
    assert!(ok, "token failed:\n{stdout}\n{stderr}");
    let claims = Secret::new("from-a-file")
        .verify(printed_token(&stdout))
        .expect("signed with the file's secret (trailing newline trimmed), not the environment's");
    assert_eq!(claims.role.as_deref(), Some("admin"));
}

#[test]
fn token_subcommand_without_a_secret_fails() {
    let (ok, stdout, stderr) = chat_cli(&["token", "--sub", "ada"], None);
    assert!(!ok, "no secret, yet it succeeded:\n{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("SWITCHBOARD_JWT_SECRET"),
        "says where the secret comes from:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.lines().any(|l| l.starts_with("eyJ")),
        "printed no token"
    );
}
