//! Delays between reconnection attempts: exponential with jitter, as
//! socket.io-client's `Backoff` (factor 2, min 1 s, max 5 s, jitter 0.5).

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    /// 0..=1: how far each delay may move from the exponential one.
    pub(crate) jitter: f64,
}

impl Backoff {
    /// The delay before attempt `attempt` (0 for the first), given a
    /// uniform random number in 0..1.
    pub(crate) fn delay(&self, attempt: u32, random: f64) -> Duration {
        let min = self.min.as_secs_f64() * 1000.0;
        let max = self.max.as_secs_f64() * 1000.0;
        let mut ms = min * 2f64.powi(attempt.min(62) as i32);
        if self.jitter > 0.0 {
            let deviation = (random * self.jitter * ms).floor();
            // socket.io-client picks the direction from the same random
            // number's first decimal digit.
            if ((random * 10.0).floor() as u64) & 1 == 0 {
                ms -= deviation;
            } else {
                ms += deviation;
            }
        }
        Duration::from_secs_f64(ms.clamp(0.0, max.max(0.0)) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_maximum() {
        let b = Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(5),
            jitter: 0.5,
        };
        let none = Backoff { jitter: 0.0, ..b };
        assert_eq!(none.delay(0, 0.7), Duration::from_secs(1));
        assert_eq!(none.delay(1, 0.7), Duration::from_secs(2));
        assert_eq!(none.delay(3, 0.7), Duration::from_secs(5));
        assert_eq!(none.delay(1000, 0.7), Duration::from_secs(5));
        // 0.25: digit 2 is even, so down by floor(0.25 * 0.5 * 1000) ms.
        assert_eq!(b.delay(0, 0.25), Duration::from_millis(875));
        // 0.35: digit 3 is odd, so up by 175 ms.
        assert_eq!(b.delay(0, 0.35), Duration::from_millis(1175));
        for attempt in 0..10 {
            for r in [0.0, 0.19, 0.5, 0.99] {
                let d = b.delay(attempt, r);
                assert!(d <= Duration::from_secs(5) && d >= Duration::from_millis(500));
            }
        }
    }
}
