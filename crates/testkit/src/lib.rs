//! The harness the workspace's tests share (dev-only, never published).
//!
//! - [`Node`]: an npm package of the repository (`tests/node`, say) installed
//!   once with `npm ci`, and its scripts run with arguments, a hang guard and
//!   their output at hand.
//! - [`within`]: awaits an event with a guard that turns a hang into a
//!   failure.
//! - [`fresh_database`]: a throwaway PostgreSQL database on the machine's
//!   server, dropped when the test is done with it.
//!
//! A missing tool or service skips the test loudly on a developer's machine
//! and fails it when `CI` is set, so CI never goes green without having run
//! everything.

mod node;
mod npm;
mod postgres;
mod wait;

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use node::{Node, Run, SCRIPT_GUARD, Script};
pub use postgres::{Database, fresh_database};
pub use wait::within;

/// True when the `CI` environment variable is set to anything but empty,
/// `false` or `0`.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports that the current test did not run because `why`, where a passing
/// run shows it; panics instead when [`in_ci`].
#[track_caller]
pub fn skip(why: &str, how_to_fix: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        !in_ci(),
        "{why}, and CI is set: {test} needs it. {how_to_fix}"
    );
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of passing tests, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {test} did not run: {why}. {how_to_fix}; \
         with CI set this fails instead. ***"
    );
}

/// The workspace root: two levels above this crate's manifest.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or_else(|| panic!("no workspace root above {}", manifest.display()))
        .to_path_buf()
}
