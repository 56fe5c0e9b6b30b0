//! `npm ci` of a package, at most once across test binaries and parallel
//! test processes: whoever creates the lock directory installs, the others
//! wait for it to go away and then find the install done.

use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// How long to wait for another process's `npm ci` to finish.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// A lock directory older than this was left by a process that died while
/// installing; no `npm ci` of the test packages takes this long.
const STALE_LOCK: Duration = Duration::from_secs(900);

/// The name of the lock directory inside the package (git-ignored).
pub(crate) const LOCK_DIR: &str = ".npm-ci.lock";

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The names `package.json` depends on (dependencies and devDependencies).
fn dependencies(package: &Path) -> Vec<String> {
    let manifest = package.join("package.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", manifest.display()));
    ["dependencies", "devDependencies"]
        .iter()
        .filter_map(|key| json.get(key).and_then(serde_json::Value::as_object))
        .flat_map(|deps| deps.keys().cloned())
        .collect()
}

/// `node_modules` is there, holds every dependency, and is at least as new
/// as the lock file: npm writes `node_modules/.package-lock.json` last, on
/// every install, so an older one means `package-lock.json` changed since
/// (a pull, a version bump).
pub(crate) fn installed(package: &Path) -> bool {
    let modules = package.join("node_modules");
    let (Some(lock), Some(done)) = (
        modified(&package.join("package-lock.json")),
        modified(&modules.join(".package-lock.json")),
    ) else {
        return false;
    };
    done >= lock
        && dependencies(package)
            .iter()
            .all(|name| modules.join(name).join("package.json").is_file())
}

/// Runs `npm ci` in `package` unless another process does (or did).
pub(crate) fn install(npm: &Path, package: &Path) {
    let lock = package.join(LOCK_DIR);
    let started = Instant::now();
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
                // Polling another process's lock: there is nothing to await.
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
