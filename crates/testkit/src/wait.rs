//! Waiting on an event in a test without letting a hang pass unnoticed.

use std::future::Future;
use std::time::Duration;

/// Awaits `future`, failing the test if it has not finished after `guard`.
/// The guard only turns a hang into a failure: every wait is meant to end on
/// the event it awaits long before, so it is never a timing threshold.
pub async fn within<F: Future>(guard: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(guard, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
