//! The servers under test: building them, starting one fresh per scenario
//! on CPU 0, reading its port, and making sure it dies with the bench.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use crate::Error;

/// How long a server may take to report its port.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Kind {
    Switchboard,
    Node,
    Socketioxide,
    /// Not a server: a raw broadcaster, the floor under every server
    /// (`floor.rs`).
    Floor,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Switchboard => "switchboard",
            Kind::Node => "node",
            Kind::Socketioxide => "socketioxide",
            Kind::Floor => "floor",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the built servers are.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) chat: PathBuf,
    pub(crate) socketioxide: PathBuf,
    pub(crate) node_dir: PathBuf,
    /// `target/bench`: results, logs, scratch databases.
    pub(crate) out: PathBuf,
}

/// The repository root (this crate is `apps/bench`).
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cargo target directory this bench was built into.
fn target_dir() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe()?;
    // target/<profile>/switchboard-bench
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    Ok(dir.to_path_buf())
}

fn run(command: &mut Command, what: &str) -> Result<(), Error> {
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!("{what} failed:\n{}", tail.join("\n")).into())
}

/// Builds (or finds up to date) every server in `kinds`: the chat binary
/// in this bench's own profile, the socketioxide peer in release, and the
/// Node peer's packages (`npm ci`, only when `node_modules` is missing).
pub(crate) fn prepare(kinds: &BTreeSet<Kind>) -> Result<Paths, Error> {
    let root = repo_root();
    let target = target_dir()?;
    let release = !cfg!(debug_assertions);
    let profile = if release { "release" } else { "debug" };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let paths = Paths {
        chat: target.join(profile).join("switchboard-chat"),
        socketioxide: target.join("peers/release/switchboard-bench-socketioxide"),
        node_dir: root.join("apps/bench/peers/node"),
        out: target.join("bench"),
    };
    std::fs::create_dir_all(paths.out.join("logs"))?;
    if kinds.contains(&Kind::Switchboard) {
        let mut build = Command::new(&cargo);
        build
            .arg("build")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .args(["-p", "switchboard-chat"]);
        if release {
            build.arg("--release");
        }
        run(&mut build, "building switchboard-chat")?;
    }
    if kinds.contains(&Kind::Socketioxide) {
        run(
            Command::new(&cargo)
                .args(["build", "--release", "--manifest-path"])
                .arg(root.join("apps/bench/peers/socketioxide/Cargo.toml"))
                .arg("--target-dir")
                .arg(target.join("peers")),
            "building the socketioxide peer",
        )?;
    }
    if kinds.contains(&Kind::Node) && !paths.node_dir.join("node_modules").exists() {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&paths.node_dir),
            "npm ci in apps/bench/peers/node",
        )?;
    }
    Ok(paths)
}

/// Pids of the servers alive now, killed by [`kill_all`] on Ctrl-C.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every server still running (the Ctrl-C path; a normal end or a
/// panic drops each [`Server`], which kills it).
pub(crate) fn kill_all() {
    for pid in running().drain(..) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// A server process, killed when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) kind: Kind,
    /// The server and its history store: `switchboard (sqlite)`.
    pub(crate) label: String,
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
    child: Child,
    database: Option<PathBuf>,
}

/// Which history store the switchboard chat uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Memory,
    Sqlite,
}

impl Server {
    /// Starts `kind` on an ephemeral port, pinned to CPU 0 when `pin`.
    /// Its output goes to `target/bench/logs/<scenario>-<label>.log`.
    pub(crate) fn start(
        kind: Kind,
        store: Store,
        paths: &Paths,
        pin: bool,
        scenario: &str,
    ) -> Result<Server, Error> {
        let mut database = None;
        let (program, args, dir): (PathBuf, Vec<String>, Option<&Path>) = match kind {
            Kind::Switchboard => {
                let db = match store {
                    Store::Memory => "memory".to_owned(),
                    Store::Sqlite => {
                        let file = paths.out.join(format!("chat-{}.db", std::process::id()));
                        remove_database(&file);
                        let url = format!("sqlite://{}", file.display());
                        database = Some(file);
                        url
                    }
                };
                // Recovery off: the peers do not keep broadcasts for
                // returning clients, so the comparison is of like with like.
                let args = [
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--database",
                    &db,
                    "--recovery-window",
                    "0",
                ];
                (paths.chat.clone(), args.map(str::to_owned).to_vec(), None)
            }
            Kind::Node => (
                PathBuf::from("node"),
                vec!["server.mjs".into(), "--port".into(), "0".into()],
                Some(&paths.node_dir),
            ),
            Kind::Socketioxide => (
                paths.socketioxide.clone(),
                vec!["--port".into(), "0".into()],
                None,
            ),
            Kind::Floor => (
                std::env::current_exe()?,
                vec![crate::floor::SUBCOMMAND.into()],
                None,
            ),
        };
        // The peers keep history in memory whatever is asked.
        let label = match (kind, store) {
            (Kind::Switchboard, Store::Sqlite) => "switchboard (sqlite)".to_owned(),
            (Kind::Floor, _) => "floor (raw writes)".to_owned(),
            (kind, _) => format!("{kind} (memory)"),
        };
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command.args(&args);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let log_name = format!("{scenario}-{}.log", kind.name());
        let log = std::fs::File::create(paths.out.join("logs").join(log_name))?;
        let mut child = command
            // Plain text in the log; the port line is found by its shape.
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone()?)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        // taskset execs the server, so the child's pid is the server's.
        let pid = child.id();
        running().push(pid);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (port_tx, port_rx) = mpsc::channel();
        // Keeps reading the server's stdout for its whole life: a full pipe
        // would block the server on its next log line.
        std::thread::spawn(move || {
            let mut log = log;
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if let Some(port) = port_tx.as_ref().and_then(|_| port_of(&line)) {
                    let _ = port_tx.take().map(|tx| tx.send(port));
                }
            }
        });
        let mut server = Server {
            kind,
            label,
            pid,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            child,
            database,
        };
        match port_rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => server.addr.set_port(port),
            Err(_) => {
                return Err(format!(
                    "{} did not report its port; see target/bench/logs/",
                    server.label
                )
                .into());
            }
        }
        Ok(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The port in a peer's `PORT <n>` line, or in the chat's
/// `chat server on http://127.0.0.1:<n>` log line.
fn port_of(line: &str) -> Option<u16> {
    if let Some(port) = line.trim().strip_prefix("PORT ") {
        return port.trim().parse().ok();
    }
    let rest = &line[line.find("chat server on http://")?..];
    let digits: String = rest
        .rsplit(':')
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn remove_database(file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        running().retain(|&p| p != self.pid);
        if let Some(file) = &self.database {
            remove_database(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn ports_from_each_server() {
        assert_eq!(port_of("PORT 4321"), Some(4321));
        assert_eq!(
            port_of(
                "2026-01-01T00:00:00Z  INFO switchboard_chat: chat server on http://127.0.0.1:38123"
            ),
            Some(38123)
        );
        assert_eq!(port_of("INFO history store open"), None);
    }
}
