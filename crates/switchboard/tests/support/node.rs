//! Running the official `socket.io-client` (Node) against the server under
//! test: finds `node` and `npm`, installs `tests/node` once with `npm ci`
//! (across test binaries and parallel test processes, under a lock
//! directory), and runs one scenario script.
//!
//! Without Node a local run skips loudly and passes; with `CI` set it fails,
//! so CI never goes green without having run these tests.

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The longest a scenario script may run before the test fails as hung.
/// Every script stops itself much sooner (its own timeout, 15 s by default);
/// this only guards against a script that cannot even do that.
const SCRIPT_GUARD: Duration = Duration::from_secs(120);

/// How long to wait for another process's `npm ci` to finish.
const LOCK_WAIT: Duration = Duration::from_secs(300);

/// A lock directory older than this was left by a process that died while
/// installing; no `npm ci` of two small packages takes this long.
const STALE_LOCK: Duration = Duration::from_secs(600);

/// Node, ready to run the scripts in `tests/node/compat`.
#[derive(Debug)]
pub struct Node {
    node: PathBuf,
    /// `tests/node`: the package with `node_modules` installed.
    package: PathBuf,
}

/// Node with `tests/node` installed, or `None` when Node is not available
/// and this is not CI (the skip has been reported on stderr). Installs at
/// most once per process; the first caller does the work.
pub fn node() -> Option<&'static Node> {
    static NODE: OnceLock<Option<Node>> = OnceLock::new();
    let found = NODE.get_or_init(setup).as_ref();
    if found.is_none() {
        // Straight to stderr: the test harness captures `eprintln!`, and a
        // skip must be seen in a passing run.
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: node not found; {test} did not run. Install Node.js >= 18 \
             and npm to run the socket.io-client compatibility tests (with CI set, \
             a missing node fails them). ***"
        );
    }
    found
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A missing tool: a failure in CI, a loud skip elsewhere.
fn missing(what: &str) -> Option<Node> {
    if in_ci() {
        panic!("{what} not found, and CI is set: the socket.io-client compatibility tests need it");
    }
    None
}

fn setup() -> Option<Node> {
    let package = repo_root().join("tests").join("node");
    assert!(
        package.join("package-lock.json").is_file(),
        "{} has no package-lock.json",
        package.display()
    );
    let node = PathBuf::from("node");
    if version(&node).is_none() {
        return missing("node");
    }
    if !installed(&package) {
        let npm = PathBuf::from("npm");
        if version(&npm).is_none() {
            return missing("npm (needed to install tests/node)");
        }
        install(&npm, &package);
    }
    Some(Node { node, package })
}

/// The workspace root: two levels above this crate's manifest.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or_else(|| panic!("no repository root above {}", manifest.display()))
        .to_path_buf()
}

/// `program --version`, or `None` when it cannot be run.
fn version(program: &Path) -> Option<String> {
    match std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => panic!(
            "`{} --version` failed ({}): {}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run `{} --version`: {e}", program.display()),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// `node_modules` is there and at least as new as the lock file: npm writes
/// `node_modules/.package-lock.json` last, on every install, so an older one
/// means `package-lock.json` changed since (a pull, a version bump).
fn installed(package: &Path) -> bool {
    let modules = package.join("node_modules");
    let (Some(lock), Some(done)) = (
        modified(&package.join("package-lock.json")),
        modified(&modules.join(".package-lock.json")),
    ) else {
        return false;
    };
    done >= lock
        && modules
            .join("socket.io-client")
            .join("package.json")
            .is_file()
}

/// Runs `npm ci` in `package` unless another process does: the lock is a
/// directory, whose creation is atomic, and whoever holds it installs while
/// the others wait for it to go away and then find the install done.
fn install(npm: &Path, package: &Path) {
    let lock = package.join(".npm-ci.lock");
    let started = std::time::Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => {
                let _held = LockDir(lock.clone());
                // Someone may have finished installing between our check and
                // taking the lock.
                if !installed(package) {
                    npm_ci(npm, package);
                }
                return;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let age = modified(&lock).and_then(|t| t.elapsed().ok());
                if age.is_some_and(|age| age > STALE_LOCK) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "removing a stale npm lock {}",
                        lock.display()
                    );
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                assert!(
                    started.elapsed() < LOCK_WAIT,
                    "waited {LOCK_WAIT:?} for another process's `npm ci` in {} (lock {}); \
                     remove the lock directory if no install is running",
                    package.display(),
                    lock.display()
                );
                // Polling for another process: there is nothing to await.
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
    let _ = writeln!(
        std::io::stderr(),
        "installing {} with `npm ci` (pid {})",
        package.display(),
        std::process::id()
    );
    let out = std::process::Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(package)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm: {e}"));
    assert!(
        out.status.success() && installed(package),
        "`npm ci` in {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        package.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Node {
    /// Runs `tests/node/compat/<script>` with `args` (the server URL first)
    /// and returns how it ended. The script starts at once; the future
    /// borrows nothing, so it can be raced against the server's side.
    pub fn run(&self, script: &str, args: &[&str]) -> impl Future<Output = Run> + 'static {
        let path = self.package.join("compat").join(script);
        assert!(path.is_file(), "no scenario script {}", path.display());
        let child = tokio::process::Command::new(&self.node)
            .arg(&path)
            .args(args.iter().map(OsStr::new))
            .current_dir(&self.package)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A test that fails on the Rust side must not leave clients behind.
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.node.display()));
        let script = format!("{script} {}", args.join(" "));
        async move {
            let output = tokio::time::timeout(SCRIPT_GUARD, child.wait_with_output())
                .await
                .unwrap_or_else(|_| panic!("{script} still running after {SCRIPT_GUARD:?}; killed"))
                .unwrap_or_else(|e| panic!("waiting for {script}: {e}"));
            Run { script, output }
        }
    }
}

/// How a scenario script ended.
#[derive(Debug)]
pub struct Run {
    script: String,
    output: Output,
}

impl Run {
    /// Fails the test, with the script's output, unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(self.output.status.success(), "{self}");
        // Kept for `--nocapture`: what the client did, step by step.
        eprintln!("{self}");
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} exited with {}\n--- stdout\n{}--- stderr\n{}",
            self.script,
            self.output.status,
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
}
