//! Delivery latency: a message carries its send time (nanoseconds since the
//! load process's epoch) in its text, and the receiving client, in the same
//! process, subtracts it from the time of arrival.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The text of a timed message: the measurement's tag, the send time, and
/// some words so the message is chat-sized.
pub(crate) fn message_text(tag: u64, sent_nanos: u64) -> String {
    format!("{tag} {sent_nanos} hello from the bench")
}

/// Tag and send time of a `chat:message` event's arguments
/// (`[{"id":..,"user":..,"text":"TAG NANOS ...",...}]`), found without
/// parsing the whole JSON: this runs once per delivery.
pub(crate) fn parse_delivery(args_json: &str) -> Option<(u64, u64)> {
    const KEY: &str = "\"text\":\"";
    let start = args_json.find(KEY)? + KEY.len();
    let mut words = args_json[start..].split(' ');
    let tag = words.next()?.parse().ok()?;
    let sent = words.next()?.parse().ok()?;
    Some((tag, sent))
}

/// Latencies and counts of one measurement window.
#[derive(Debug, Default)]
struct Window {
    tag: u64,
    /// Microseconds; a sorted copy gives the percentiles.
    latencies_us: Vec<u32>,
    received: u64,
}

/// Shared by every client's handler: they run on the load's one thread, so
/// the lock is never contended.
#[derive(Debug)]
pub(crate) struct Recorder {
    epoch: Instant,
    window: Mutex<Window>,
}

/// Percentiles of one window, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) received: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            epoch: Instant::now(),
            window: Mutex::new(Window::default()),
        }
    }

    pub(crate) fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts counting messages tagged `tag`; others are ignored.
    pub(crate) fn begin(&self, tag: u64, expected: usize) {
        let mut window = self.window();
        *window = Window {
            tag,
            latencies_us: Vec::with_capacity(expected.min(50_000_000)),
            received: 0,
        };
    }

    /// Records a delivery sent at `sent_nanos` (from [`Recorder::now_nanos`]).
    pub(crate) fn record(&self, tag: u64, sent_nanos: u64) {
        let now = self.now_nanos();
        let mut window = self.window();
        if window.tag != tag {
            return;
        }
        window.received += 1;
        let us = now.saturating_sub(sent_nanos) / 1_000;
        window
            .latencies_us
            .push(u32::try_from(us).unwrap_or(u32::MAX));
    }

    /// Records a `chat:message` delivery from its argument text.
    pub(crate) fn record_delivery(&self, args_json: &str) {
        if let Some((tag, sent)) = parse_delivery(args_json) {
            self.record(tag, sent);
        }
    }

    /// Deliveries of the current tag recorded so far.
    pub(crate) fn received(&self) -> u64 {
        self.window().received
    }

    /// Ends the window: its count and percentiles.
    pub(crate) fn finish(&self) -> Summary {
        let mut window = std::mem::take(&mut *self.window());
        summarize(&mut window.latencies_us, window.received)
    }
}

/// Percentiles of `latencies_us` (sorted in place).
pub(crate) fn summarize(latencies_us: &mut [u32], received: u64) -> Summary {
    latencies_us.sort_unstable();
    let at = |q: f64| -> f64 {
        if latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(latencies_us[i]) / 1_000.0
    };
    Summary {
        received,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_from_each_server_shape() {
        let text = message_text(7, 123_456_789);
        let args = format!(
            r#"[{{"id":12,"user":null,"text":"{text}","timestamp":"2026-01-01T00:00:00Z","room":null}}]"#
        );
        assert_eq!(parse_delivery(&args), Some((7, 123_456_789)));
        assert_eq!(parse_delivery(r#"[{"id":1,"text":"hello"}]"#), None);
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let s = summarize(&mut v, 100);
        assert_eq!(s.p50_ms, 51.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
    }

    #[test]
    fn other_tags_are_ignored() {
        let r = Recorder::new();
        r.begin(2, 10);
        r.record(1, 0);
        r.record(2, r.now_nanos());
        assert_eq!(r.finish().received, 1);
    }
}
