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

use std::io::ErrorKind;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

pub use servers::{NodeServer, Server, SwitchboardServer};

/// Where the browser is, as the brief for these tests fixes it.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Turns a hung run into a failure. Never a pass/fail threshold: run.mjs
/// guards each scenario itself (60 s), and a whole run takes well under a
/// minute.
const RUN_GUARD: Duration = Duration::from_secs(900);

/// How long to wait for another process's `npm ci` of `tests/browser`.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// A lock directory older than this was left by a process that died
/// while installing.
const STALE_LOCK: Duration = Duration::from_secs(900);

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

/// The tools, installing the npm package once per process (and once across
/// processes, under a lock directory). `None` when something is missing
/// and CI is not set: the skip has been reported loudly on stderr.
pub fn tools() -> Option<&'static Tools> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    match TOOLS.get_or_init(setup) {
        Ok(tools) => Some(tools),
        Err(missing) => {
            assert!(
                !in_ci(),
                "{missing}, and CI is set: the browser tests need it"
            );
            // Straight to the process's stderr: the test harness captures
            // `eprintln!` of passing tests, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n************************************************************\n\
                 SKIPPED: browser client tests did not run: {missing}.\n\
                 They need node and npm (for tests/browser: playwright-core,\n\
                 socket.io) and Debian's chromium at {CHROMIUM}\n\
                 (apt-get install chromium). With CI set this fails instead.\n\
                 ************************************************************"
            );
            None
        }
    }
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn setup() -> Result<Tools, String> {
    let package = repo_root().join("tests").join("browser");
    assert!(
        package.join("package-lock.json").is_file(),
        "{} has no package-lock.json",
        package.display()
    );
    let node = PathBuf::from("node");
    if !runs(&node) {
        return Err("node not found".into());
    }
    if !Path::new(CHROMIUM).is_file() {
        return Err(format!("{CHROMIUM} not found"));
    }
    if !installed(&package) {
        let npm = PathBuf::from("npm");
        if !runs(&npm) {
            return Err("npm not found (needed to install tests/browser)".into());
        }
        install(&npm, &package);
    }
    Ok(Tools { node, package })
}

/// The workspace root: two levels above this crate's manifest.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Whether `program --version` runs; a program that exists but fails is a
/// broken installation, reported as such.
fn runs(program: &Path) -> bool {
    match std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "`{} --version` failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            true
        }
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => panic!("cannot run {}: {e}", program.display()),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// npm writes `node_modules/.package-lock.json` last on every install: one
/// older than `package-lock.json` means the lock file changed since.
fn installed(package: &Path) -> bool {
    let modules = package.join("node_modules");
    let (Some(lock), Some(done)) = (
        modified(&package.join("package-lock.json")),
        modified(&modules.join(".package-lock.json")),
    ) else {
        return false;
    };
    done >= lock
        && ["playwright-core", "socket.io"]
            .iter()
            .all(|name| modules.join(name).join("package.json").is_file())
}

/// `npm ci` by whichever process creates the lock directory first (creating
/// a directory is atomic); the others wait for it to go, then find the
/// install done.
fn install(npm: &Path, package: &Path) {
    let lock = package.join(".npm-ci.lock");
    let started = std::time::Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => {
                let _held = LockDir(lock.clone());
                if !installed(package) {
                    npm_ci(npm, package);
                }
                return;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let age = modified(&lock).and_then(|t| t.elapsed().ok());
                if age.is_some_and(|age| age > STALE_LOCK) {
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                assert!(
                    started.elapsed() < LOCK_WAIT,
                    "waited {LOCK_WAIT:?} for another `npm ci` in {} (remove {} if none runs)",
                    package.display(),
                    lock.display()
                );
                // Another process holds the lock: there is nothing to await.
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("cannot create {}: {e}", lock.display()),
        }
    }
}

/// Removes the lock directory when the install ends, panics included.
struct LockDir(PathBuf);

impl Drop for LockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn npm_ci(npm: &Path, package: &Path) {
    eprintln!("installing {} with `npm ci`", package.display());
    let out = std::process::Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(package)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm: {e}"));
    assert!(
        out.status.success() && installed(package),
        "`npm ci` in {} failed ({}):\n{}\n{}",
        package.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
