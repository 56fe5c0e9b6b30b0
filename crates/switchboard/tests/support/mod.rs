//! The harness the compatibility tests share: an [`Io`] served on
//! 127.0.0.1, stopped through a oneshot, and the Node side in [`node`].
#![allow(clippy::unwrap_used, reason = "test code")]
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]
#![allow(unreachable_pub, reason = "test harness module, not a library")]

pub mod node;
pub mod recovery_lab;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use switchboard::Io;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long the Rust side waits for something the server should already
/// have seen. Never a pass/fail threshold: every wait ends on an event long
/// before this; it only turns a hang into a failure.
pub const GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test if it hangs.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The next value from `rx`, failing the test if none comes.
pub async fn next<T>(what: &str, rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    within(what, rx.recv())
        .await
        .unwrap_or_else(|| panic!("channel closed while waiting for {what}"))
}

/// Everything `rx` holds now, without waiting.
pub fn drain<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut all = Vec::new();
    while let Ok(value) = rx.try_recv() {
        all.push(value);
    }
    all
}

/// An `Io` serving on a local port until stopped (or dropped).
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, what the scripts take as their first argument.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serves `io` on a free port.
    pub async fn start(io: &Io) -> Server {
        Server::start_on(io, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `io` on `addr` (port 0 for a free one).
    pub async fn start_on(io: &Io, addr: SocketAddr) -> Server {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let io = io.clone();
        let task = tokio::spawn(async move {
            io.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        });
        Server {
            addr,
            url: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Shuts down gracefully and waits until the listener is closed and
    /// every session has ended.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            within("the server to shut down", task)
                .await
                .unwrap()
                .unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
