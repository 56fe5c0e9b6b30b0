//! The harness of `browser.rs`: the tools (node, the npm package
//! `tests/browser`, Debian's chromium), the two servers under test (this
//! crate in-process, and Node's socket.io as the reference) and the driver
//! that runs `tests/browser/run.mjs` against one of them, restarting the
//! server when the page asks.
//!
//! Both servers follow one contract, written out at the top of
//! `tests/browser/reference-server.mjs`; [`SwitchboardServer`] is its Rust
//! side (`servers.rs`, with the pages and the fake Engine.IO endpoint in
//! `pages.rs`).
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(unreachable_pub, reason = "test harness module, not a library")]

mod pages;
mod servers;

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use switchboard_testkit::{Node, skip, workspace_root};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

pub use servers::{NodeServer, Server, SwitchboardServer};

/// Where the browser is, as the brief for these tests fixes it.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Turns a hung run into a failure. Never a pass/fail threshold: run.mjs
/// guards each scenario itself (60 s), and a whole run takes well under a
/// minute.
const RUN_GUARD: Duration = Duration::from_secs(900);

// ---------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------

/// Node with `tests/browser` installed, and chromium present.
#[derive(Debug)]
pub struct Tools {
    pub(crate) node: PathBuf,
    /// `tests/browser`.
    pub(crate) package: PathBuf,
}

/// The tools; `tests/browser` is installed by the workspace's test kit (once
/// per process, once across processes). `None` when something is missing
/// and CI is not set: the skip has been reported loudly on stderr.
pub fn tools() -> Option<&'static Tools> {
    static TOOLS: OnceLock<Option<Tools>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            if !Path::new(CHROMIUM).is_file() {
                skip(
                    &format!("{CHROMIUM} not found"),
                    "Install Debian's chromium (apt-get install chromium) to run the browser tests",
                );
                return None;
            }
            let node = Node::package("tests/browser")?;
            Some(Tools {
                node: node.program().to_path_buf(),
                package: node.dir().to_path_buf(),
            })
        })
        .as_ref()
}

/// The workspace root.
pub(crate) fn repo_root() -> PathBuf {
    workspace_root()
}

// ---------------------------------------------------------------------
// Running the page
// ---------------------------------------------------------------------

/// How `run.mjs` ended.
#[derive(Debug)]
pub struct Run {
    server: String,
    status: ExitStatus,
    /// run.mjs's report (its stderr).
    report: String,
    pub restarts: usize,
}

impl Run {
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "the browser client failed against {} ({}):\n{}",
            self.server,
            self.status,
            self.report
        );
        // Kept for `--nocapture`: every scenario by name.
        eprintln!("against {}:\n{}", self.server, self.report);
    }
}

/// Runs `tests/browser/run.mjs` against `server`, restarting the server on
/// the same port each time the page asks.
pub async fn run_page(tools: &Tools, server: &mut Server, name: &str) -> Run {
    tokio::time::timeout(RUN_GUARD, drive(tools, server, name))
        .await
        .unwrap_or_else(|_| panic!("run.mjs against {name} still running after {RUN_GUARD:?}"))
}

async fn drive(tools: &Tools, server: &mut Server, name: &str) -> Run {
    let mut child = Command::new(&tools.node)
        .arg(tools.package.join("run.mjs"))
        .arg(server.url())
        .current_dir(&tools.package)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A test failing on this side must not leave a browser behind.
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start run.mjs: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let report = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut restarts = 0;
    let mut other = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line == "@@restart" {
            let reply = match server.restart().await {
                Ok(()) => "ok".to_owned(),
                Err(error) => error.replace('\n', " "),
            };
            restarts += 1;
            // A run.mjs that is gone cannot read it; its exit status tells.
            let _ = stdin.write_all(format!("{reply}\n").as_bytes()).await;
        } else {
            other.push_str(&line);
            other.push('\n');
        }
    }
    let status = child.wait().await.unwrap();
    let mut report = report.await.unwrap();
    if !other.is_empty() {
        report.push_str("--- stdout\n");
        report.push_str(&other);
    }
    Run {
        server: name.to_owned(),
        status,
        report,
        restarts,
    }
}
