//! A session's bounded queue of frames waiting for its transport.

use std::collections::VecDeque;

use switchboard_protocol::engine::Frame;

/// Frames queued for one session, bounded by count and by bytes.
///
/// Control frames (ping, close, noop) skip the bounds: at most a handful are
/// ever pending, and refusing a ping would turn a slow reader into a ping
/// timeout instead of the queue-full error the sender can act on.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    frames: VecDeque<Frame>,
    bytes: usize,
}

impl Outbox {
    pub(crate) fn push(&mut self, frame: Frame, max_packets: usize, max_bytes: usize) -> bool {
        if self.frames.len() >= max_packets || self.bytes + frame.len() > max_bytes {
            return false;
        }
        self.push_control(frame);
        true
    }

    /// Whether `count` more frames of `bytes` in all fit the bounds.
    pub(crate) fn fits(
        &self,
        count: usize,
        bytes: usize,
        max_packets: usize,
        max_bytes: usize,
    ) -> bool {
        self.frames.len() + count <= max_packets && self.bytes + bytes <= max_bytes
    }

    pub(crate) fn push_control(&mut self, frame: Frame) {
        self.bytes += frame.len();
        self.frames.push_back(frame);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Moves every queued frame to the back of `out`. Both queues keep their
    /// memory while frames keep coming, so a session under steady traffic
    /// stops allocating; past [`KEEP`] slots the queue is given back, so that
    /// one burst does not leave a session holding a large buffer.
    pub(crate) fn drain_into(&mut self, out: &mut VecDeque<Frame>) {
        self.bytes = 0;
        out.append(&mut self.frames);
        shrink(&mut self.frames);
    }

    /// Takes every queued frame, oldest first, and gives the queue's memory
    /// back. WebSocket sessions are written by flushers, and no task of
    /// theirs goes idle to free it later; most are sent to now and then
    /// (a broadcast, a reply) and should hold nothing in between. The cost
    /// is an allocation per write, against a syscall of several µs.
    pub(crate) fn drain_each(&mut self, f: impl FnMut(Frame)) {
        self.bytes = 0;
        std::mem::take(&mut self.frames).into_iter().for_each(f);
    }

    /// Takes every queued frame into a new queue.
    pub(crate) fn take_all(&mut self) -> VecDeque<Frame> {
        let mut out = VecDeque::new();
        self.drain_into(&mut out);
        out
    }
}

/// Queue slots a session keeps between bursts (a few hundred bytes).
pub(crate) const KEEP: usize = 16;

/// Gives back the memory of an empty queue that grew past [`KEEP`] slots.
pub(crate) fn shrink(queue: &mut VecDeque<Frame>) {
    if queue.is_empty() && queue.capacity() > KEEP {
        queue.shrink_to(KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::Str;

    #[test]
    fn bounds_count_and_bytes() {
        let mut outbox = Outbox::default();
        let f = || Frame::Text(Str::from_static("4abc"));
        assert!(outbox.push(f(), 2, 100));
        assert!(outbox.push(f(), 2, 100));
        assert!(!outbox.push(f(), 2, 100), "third packet is over the count");
        let mut outbox = Outbox::default();
        assert!(outbox.push(f(), 10, 8));
        assert!(outbox.push(f(), 10, 8));
        assert!(!outbox.push(f(), 10, 8), "9th byte is over");
        outbox.push_control(f());
        assert_eq!(outbox.take_all().len(), 3);
        assert!(outbox.is_empty());
    }
}
