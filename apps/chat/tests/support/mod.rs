//! The harness of the chat server's acceptance tests: the chat served by
//! `switchboard_chat::run` on 127.0.0.1:0 and stopped through its shutdown
//! future, the official socket.io-client scripts in `tests/node/chat`, and
//! tokens, good and bad.
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]
#![allow(unreachable_pub, reason = "test harness module, not a library")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use switchboard_chat::auth::{Claims, Secret};
use switchboard_chat::{Config, Failure};
use switchboard_testkit::{Node, Run};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The secret of every test server that has one.
pub const SECRET: &str = "test-secret";

/// Turns a hang into a failure; never a pass/fail threshold.
pub const GUARD: Duration = Duration::from_secs(60);

/// A chat server on a free port, until stopped (or dropped).
#[derive(Debug)]
pub struct Chat {
    /// `http://127.0.0.1:PORT`, the scripts' first argument.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Failure>>>,
}

impl Chat {
    pub async fn start(config: Config) -> Chat {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(switchboard_chat::run(listener, config, async {
            let _ = stopped.await;
        }));
        Chat {
            url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Resolves the shutdown future and waits until `run` returned: every
    /// session closed and the store flushed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        let result = tokio::time::timeout(GUARD, task)
            .await
            .expect("the chat server to shut down")
            .expect("the server task not to panic");
        if let Err(e) = result {
            panic!("run returned an error: {e}");
        }
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// History in memory, no secret.
pub fn memory() -> Config {
    Config {
        database: "memory".to_owned(),
        ..Config::default()
    }
}

/// History in memory, `/admin` enabled with [`SECRET`].
pub fn with_secret() -> Config {
    Config {
        secret: Some(Secret::new(SECRET)),
        ..memory()
    }
}

/// Node with `tests/node` installed; `None` (after a loud skip) without it.
pub fn node() -> Option<&'static Node> {
    Node::package("tests/node")
}

/// Runs `tests/node/chat/<script>` with `args` and fails the test unless it
/// passed.
pub async fn scenario(node: &Node, script: &str, args: &[&str]) -> Run {
    let run = node.run(&format!("chat/{script}"), args).await;
    run.assert_success();
    run
}

/// The JSON a script printed as `RESULT {...}`.
pub fn result(run: &Run) -> serde_json::Value {
    let line = run
        .line("RESULT ")
        .unwrap_or_else(|| panic!("no RESULT line\n{run}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("RESULT is not JSON ({e})\n{run}"))
}

/// The three transport modes of the official client, as the scripts name
/// them: WebSocket only, long-polling only, polling then the upgrade.
pub const MODES: [&str; 3] = ["websocket", "polling", "upgrade"];

// ---------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A valid token from the test secret, as the server issues them.
pub fn token(sub: &str, role: Option<&str>) -> String {
    Secret::new(SECRET).issue(sub, role, 3600).unwrap()
}

/// Signed with the test secret, but expired a minute ago.
pub fn expired_token(sub: &str, role: Option<&str>) -> String {
    let claims = Claims {
        sub: sub.to_owned(),
        role: role.map(str::to_owned),
        exp: now() - 60,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Well formed and unexpired, signed with another secret.
pub fn foreign_token(sub: &str, role: Option<&str>) -> String {
    Secret::new("not-the-test-secret")
        .issue(sub, role, 3600)
        .unwrap()
}

/// A valid token for `role: user` whose claims are rewritten to say
/// `role: admin`, keeping the original signature.
pub fn tampered_token(sub: &str) -> String {
    let good = token(sub, Some("user"));
    let mut parts = good.split('.');
    let (header, _, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let claims = serde_json::json!({ "sub": sub, "role": "admin", "exp": now() + 3600 });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{signature}")
}

/// An unsigned token (`alg: none`, empty signature) with admin claims.
pub fn unsigned_token(sub: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims = serde_json::json!({ "sub": sub, "role": "admin", "exp": now() + 3600 });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.")
}

// ---------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------

/// A directory of its own under the system's temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "switchboard-chat-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `sqlite://<dir>/chat.db`.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.0.join("chat.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
