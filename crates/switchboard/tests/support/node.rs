//! The official `socket.io-client` (Node) against the server under test:
//! the scripts in `tests/node/compat`, run by `switchboard-testkit` (which
//! installs `tests/node` once with `npm ci`, guards against hung scripts,
//! and skips loudly without Node, or fails with `CI` set).

use std::future::Future;

pub use switchboard_testkit::Run;

/// Node, ready to run the scripts in `tests/node/compat`.
#[derive(Debug, Clone, Copy)]
pub struct Node(&'static switchboard_testkit::Node);

/// Node with `tests/node` installed, or `None` when Node is not available
/// and this is not CI (the skip has been reported on stderr).
pub fn node() -> Option<Node> {
    switchboard_testkit::Node::package("tests/node").map(Node)
}

impl Node {
    /// Runs `tests/node/compat/<script>` with `args` (the server URL first)
    /// and returns how it ended. The script starts at once; the future
    /// borrows nothing, so it can be raced against the server's side.
    pub fn run(&self, script: &str, args: &[&str]) -> impl Future<Output = Run> + use<> {
        self.0.run(&format!("compat/{script}"), args)
    }
}
