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
    frames: Queue,
    bytes: usize,
}

/// The frames themselves. Almost every write finds exactly one frame queued
/// (a broadcast reaches each session once per flusher pass), so one is kept
/// inline: a heap queue there cost an allocation and a free per delivery,
/// and with ten thousand sessions listed at once those missed the
/// allocator's cache and took its slow path. A second frame moves both to a
/// heap queue.
#[derive(Debug, Default)]
enum Queue {
    #[default]
    Empty,
    One(Frame),
    Many(VecDeque<Frame>),
}

impl Outbox {
    pub(crate) fn push(&mut self, frame: Frame, max_packets: usize, max_bytes: usize) -> bool {
        if self.len() >= max_packets || self.bytes + frame.len() > max_bytes {
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
        self.len() + count <= max_packets && self.bytes + bytes <= max_bytes
    }

    pub(crate) fn push_control(&mut self, frame: Frame) {
        self.bytes += frame.len();
        self.frames = match std::mem::take(&mut self.frames) {
            Queue::Empty => Queue::One(frame),
            Queue::One(first) => Queue::Many(VecDeque::from([first, frame])),
            Queue::Many(mut frames) => {
                frames.push_back(frame);
                Queue::Many(frames)
            }
        };
    }

    fn len(&self) -> usize {
        match &self.frames {
            Queue::Empty => 0,
            Queue::One(_) => 1,
            Queue::Many(frames) => frames.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every queued frame, oldest first, and gives the queue's memory
    /// back. WebSocket sessions are written by flushers, and no task of
    /// theirs goes idle to free it later; most are sent to now and then
    /// (a broadcast, a reply) and should hold nothing in between.
    pub(crate) fn drain_each(&mut self, mut f: impl FnMut(Frame)) {
        self.bytes = 0;
        match std::mem::take(&mut self.frames) {
            Queue::Empty => {}
            Queue::One(frame) => f(frame),
            Queue::Many(frames) => frames.into_iter().for_each(f),
        }
    }

    /// Takes every queued frame, oldest first.
    pub(crate) fn take_all(&mut self) -> VecDeque<Frame> {
        self.bytes = 0;
        match std::mem::take(&mut self.frames) {
            Queue::Empty => VecDeque::new(),
            Queue::One(frame) => VecDeque::from([frame]),
            Queue::Many(frames) => frames,
        }
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

    #[test]
    fn order_kept_from_inline_to_heap_and_back() {
        let frame = |n: usize| Frame::Text(Str::from(n.to_string()));
        let text = |frame: Frame| match frame {
            Frame::Text(text) => text.to_string(),
            Frame::Binary(_) => unreachable!(),
        };
        let mut outbox = Outbox::default();
        for count in [1, 2, 5, 1] {
            for n in 0..count {
                assert!(outbox.push(frame(n), 10, 1000));
            }
            assert!(outbox.fits(10 - count, 0, 10, 1000));
            assert!(!outbox.fits(11 - count, 0, 10, 1000));
            let mut drained = Vec::new();
            outbox.drain_each(|f| drained.push(text(f)));
            let expected: Vec<String> = (0..count).map(|n| n.to_string()).collect();
            assert_eq!(drained, expected);
            assert!(outbox.is_empty());
            assert!(outbox.fits(0, 1000, 10, 1000), "bytes reset");
        }
        outbox.push_control(frame(7));
        let taken: Vec<String> = outbox.take_all().into_iter().map(text).collect();
        assert_eq!(taken, ["7"]);
    }
}
