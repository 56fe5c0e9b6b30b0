//! Node and the npm packages of the repository: find `node` (and `npm` when
//! a package needs installing), install once, run scripts.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use crate::{npm, skip, workspace_root};

/// The longest a script may run before the test fails as hung (see
/// [`Script::guard`] to change it for one script). Scripts stop themselves
/// much sooner (`tests/node/compat/lib.mjs`: 15 s by default); this only
/// turns a script that cannot even do that into a failure.
pub const SCRIPT_GUARD: Duration = Duration::from_secs(120);

/// Node, with one npm package of the repository installed.
#[derive(Debug)]
pub struct Node {
    node: PathBuf,
    /// The package's directory; scripts run from here.
    package: PathBuf,
}

/// One `OnceLock` per package directory, leaked so that callers get a
/// `&'static Node`. The map's lock is held only to find the cell, never
/// while installing, so packages install independently.
type Packages = Mutex<BTreeMap<PathBuf, &'static OnceLock<Result<Node, String>>>>;

impl Node {
    /// Node with the npm package at `dir` (relative to the workspace root,
    /// e.g. `"tests/node"`) installed with `npm ci`, at most once per process
    /// and once across processes.
    ///
    /// `None` when `node` (or `npm`, for a package not yet installed) is
    /// missing: the skip has then been reported loudly on stderr, or, with
    /// `CI` set, this panics.
    pub fn package(dir: &str) -> Option<&'static Node> {
        static PACKAGES: Packages = Mutex::new(BTreeMap::new());
        let package = workspace_root().join(dir);
        let cell = *PACKAGES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(package.clone())
            .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
        match cell.get_or_init(|| setup(package)) {
            Ok(node) => Some(node),
            Err(missing) => {
                skip(
                    missing,
                    &format!(
                        "Install Node.js >= 18 and npm to run the tests that drive {dir} \
                         (installed with `npm ci` on first run)"
                    ),
                );
                None
            }
        }
    }

    /// The package's directory.
    pub fn dir(&self) -> &Path {
        &self.package
    }

    /// The `node` program, for harnesses that drive a script themselves
    /// (the browser tests talk to theirs over stdin).
    pub fn program(&self) -> &Path {
        &self.node
    }

    /// Runs `<package>/<script>` with `args` and returns how it ended. The
    /// script starts at once; the future borrows nothing, so it can be raced
    /// against the server's side of a test.
    pub fn run(&self, script: &str, args: &[&str]) -> impl Future<Output = Run> + use<> {
        let running = self.start(script, args);
        running.finish()
    }

    /// Starts `<package>/<script>` with `args`, for a test that reads its
    /// output line by line while it runs ([`Script::line`]).
    pub fn start(&self, script: &str, args: &[&str]) -> Script {
        let path = self.package.join(script);
        assert!(path.is_file(), "no script {}", path.display());
        let mut child = tokio::process::Command::new(&self.node)
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
        // Both pipes are read from the start: a script that writes more than
        // a pipe holds must never block on a test that is not reading yet.
        let (lines_tx, lines) = mpsc::unbounded_channel();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(async move {
                let mut reader = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if lines_tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = child.stderr.take().map(|mut stderr| {
            tokio::spawn(async move {
                let mut all = Vec::new();
                let _ = stderr.read_to_end(&mut all).await;
                all
            })
        });
        Script {
            name: format!("{script} {}", args.join(" ")),
            child,
            lines,
            stdout: String::new(),
            stderr,
            deadline: Instant::now() + SCRIPT_GUARD,
        }
    }
}

fn setup(package: PathBuf) -> Result<Node, String> {
    assert!(
        package.join("package-lock.json").is_file(),
        "{} has no package-lock.json",
        package.display()
    );
    let node = PathBuf::from("node");
    if version(&node).is_none() {
        return Err("node not found".to_owned());
    }
    if !npm::installed(&package) {
        let npm = PathBuf::from("npm");
        if version(&npm).is_none() {
            return Err(format!(
                "npm not found (needed to install {})",
                package.display()
            ));
        }
        npm::install(&npm, &package);
    }
    Ok(Node { node, package })
}

/// `program --version`, or `None` when it cannot be found.
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

/// A script that is running. Dropping it kills the script.
#[derive(Debug)]
pub struct Script {
    name: String,
    child: tokio::process::Child,
    /// Lines of stdout not yet taken by [`Script::line`].
    lines: mpsc::UnboundedReceiver<String>,
    /// Lines of stdout taken so far, for the report.
    stdout: String,
    stderr: Option<JoinHandle<Vec<u8>>>,
    deadline: Instant,
}

impl Script {
    /// Lets the script run for `guard` from its start before it counts as
    /// hung (instead of [`SCRIPT_GUARD`]).
    pub fn guard(mut self, guard: Duration) -> Self {
        self.deadline = self.deadline - SCRIPT_GUARD + guard;
        self
    }

    /// The next line the script prints on stdout; `None` once stdout is
    /// closed (the script ended).
    pub async fn line(&mut self) -> Option<String> {
        match timeout_at(self.deadline, self.lines.recv()).await {
            Ok(Some(line)) => {
                self.stdout.push_str(&line);
                self.stdout.push('\n');
                Some(line)
            }
            Ok(None) => None,
            Err(_) => panic!(
                "node {} still running after its guard; killed. stdout so far:\n{}",
                self.name, self.stdout
            ),
        }
    }

    /// The rest of the next line that starts with `prefix`, skipping others.
    /// Fails the test, with the script's output, if it ends without one.
    pub async fn line_starting(&mut self, prefix: &str) -> String {
        while let Some(line) = self.line().await {
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
        let run = self.collect().await;
        panic!("expected a line starting with {prefix:?}\n{run}");
    }

    /// Waits for the script to end and returns how it did.
    pub async fn finish(mut self) -> Run {
        self.collect().await
    }

    async fn collect(&mut self) -> Run {
        let status = match timeout_at(self.deadline, self.child.wait()).await {
            Ok(status) => status.unwrap_or_else(|e| panic!("waiting for {}: {e}", self.name)),
            Err(_) => panic!(
                "node {} still running after its guard; killed. stdout so far:\n{}",
                self.name, self.stdout
            ),
        };
        // A process the script left behind could hold the pipes open; the
        // deadline bounds the wait for them.
        while let Ok(Some(line)) = timeout_at(self.deadline, self.lines.recv()).await {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        let stderr = match self.stderr.take() {
            Some(task) => match timeout_at(self.deadline, task).await {
                Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                _ => String::new(),
            },
            None => String::new(),
        };
        Run {
            script: self.name.clone(),
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

/// How a script ended.
#[derive(Debug)]
pub struct Run {
    script: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Fails the test, with the script's output, unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(self.success(), "{self}");
        // Kept for `--nocapture`: what the client did, step by step.
        eprintln!("{self}");
    }

    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// The rest of the first stdout line starting with `prefix`.
    pub fn line(&self, prefix: &str) -> Option<&str> {
        self.stdout.lines().find_map(|l| l.strip_prefix(prefix))
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} exited with {}\n--- stdout\n{}--- stderr\n{}",
            self.script, self.status, self.stdout, self.stderr
        )
    }
}
