//! When to ping and when to give up waiting for the pong.
//!
//! Engine.IO v4: the server pings every `ping_interval`; the client answers
//! with a pong; with no pong `ping_timeout` after the ping was queued, the
//! session is dead. The next ping is due `ping_interval` after the pong.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Heartbeat {
    next_ping: Instant,
    /// Set while a ping is unanswered.
    pong_deadline: Option<Instant>,
}

/// What the owner of a session's timers must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    SendPing,
    TimedOut,
}

impl Heartbeat {
    pub(crate) fn new(now: Instant, interval: Duration) -> Self {
        Heartbeat {
            next_ping: now + interval,
            pong_deadline: None,
        }
    }

    /// The next instant at which [`Heartbeat::poll`] has something to do.
    pub(crate) fn wake_at(&self) -> Instant {
        self.pong_deadline.unwrap_or(self.next_ping)
    }

    pub(crate) fn poll(&mut self, now: Instant, timeout: Duration) -> Due {
        match self.pong_deadline {
            Some(deadline) if now >= deadline => Due::TimedOut,
            Some(_) => Due::Nothing,
            None if now >= self.next_ping => {
                // The clock starts when the ping is queued, not when a
                // transport gets around to writing it.
                self.pong_deadline = Some(now + timeout);
                Due::SendPing
            }
            None => Due::Nothing,
        }
    }

    pub(crate) fn pong(&mut self, now: Instant, interval: Duration) {
        if self.pong_deadline.take().is_some() {
            self.next_ping = now + interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_then_timeout_without_pong() {
        let t0 = Instant::now();
        let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(200));
        let mut hb = Heartbeat::new(t0, interval);
        assert_eq!(hb.poll(t0, timeout), Due::Nothing);
        assert_eq!(hb.wake_at(), t0 + interval);
        assert_eq!(hb.poll(t0 + interval, timeout), Due::SendPing);
        assert_eq!(hb.wake_at(), t0 + interval + timeout);
        assert_eq!(hb.poll(t0 + interval + timeout / 2, timeout), Due::Nothing);
        assert_eq!(hb.poll(t0 + interval + timeout, timeout), Due::TimedOut);
    }

    #[test]
    fn pong_schedules_next_ping() {
        let t0 = Instant::now();
        let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(200));
        let mut hb = Heartbeat::new(t0, interval);
        assert_eq!(hb.poll(t0 + interval, timeout), Due::SendPing);
        let t1 = t0 + interval + Duration::from_millis(10);
        hb.pong(t1, interval);
        assert_eq!(hb.wake_at(), t1 + interval);
        // An unsolicited pong does not move the schedule.
        hb.pong(t1 + Duration::from_millis(5), interval);
        assert_eq!(hb.wake_at(), t1 + interval);
    }
}
