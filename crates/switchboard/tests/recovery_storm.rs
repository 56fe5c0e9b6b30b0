//! A recovery storm with the official `socket.io-client`: 1,000 clients
//! dropped at once while a numbered stream is broadcast; all reconnect and
//! recover with no gap and no duplicate (`tests/node/compat/recovery_storm.mjs`
//! checks every client's sequence). Then they leave for good, and the
//! recovery store returns to empty once the window has passed. RSS is
//! printed, not asserted: allocators keep freed pages.
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(clippy::print_stderr, reason = "test output")]

mod support;

use std::time::Duration;

use switchboard::{Io, Recovery, RecoveryStats};

use support::recovery_lab::lab;
use support::{Server, within};

const CLIENTS: usize = 1_000;
/// Long enough for 1,000 clients to come back on a busy two-core machine;
/// the test waits it out once at the end.
const WINDOW: Duration = Duration::from_secs(15);

/// This process's resident memory, from /proc (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn stats_until(io: &Io, what: &str, done: impl Fn(RecoveryStats) -> bool) -> RecoveryStats {
    within(what, async {
        loop {
            let stats = io.recovery_stats();
            if done(stats) {
                return stats;
            }
            // The store changes as sessions end and expire; nothing to await.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_dropped_at_once_all_recover() {
    let Some(node) = switchboard_testkit::Node::package("tests/node") else {
        return;
    };
    let io = lab(Recovery::new().max_disconnection_duration(WINDOW));
    let server = Server::start(&io).await;
    let before = rss_kib();
    let clients = CLIENTS.to_string();
    let run = node
        .start("compat/recovery_storm.mjs", &[&server.url, &clients])
        .guard(Duration::from_secs(300))
        .finish()
        .await;
    run.assert_success();
    let peak = rss_kib();

    // The clients closed their transports: their sessions are kept...
    let kept = stats_until(&io, "every session to be kept", |s| s.sessions >= CLIENTS).await;
    assert_eq!(kept.sessions, CLIENTS);
    assert!(kept.packets > 0);
    // ...until the window passes, then the store is empty again.
    let empty = stats_until(&io, "the store to empty", |s| s == RecoveryStats::default()).await;
    assert_eq!(empty, RecoveryStats::default());
    let after = rss_kib();
    eprintln!(
        "recovery storm: {} | kept {} sessions, {} packets, {} bytes | RSS KiB before {:?}, after the storm {:?}, after expiry {:?}",
        run.line("streamed ").unwrap_or("?"),
        kept.sessions,
        kept.packets,
        kept.bytes,
        before,
        peak,
        after
    );
    server.stop().await;
}
