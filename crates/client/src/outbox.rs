//! The connection's outgoing queue: sockets push from any thread, the
//! connection's task drains it into the transport.
//!
//! A `Mutex<VecDeque>` plus a `Notify` rather than a channel: an empty
//! `VecDeque` holds no memory, where a tokio channel allocates a block of
//! slots per connection up front, and an idle load-generator connection
//! should cost as little as the server's.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::encode::{OutFrame, Outgoing};

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    // Held for a push or a drain, never across `.await`: cannot contend
    // for long.
    queue: Mutex<VecDeque<OutFrame>>,
    /// Wakes the connection's task: frames to send, or a close requested.
    pub(crate) wake: Notify,
}

impl Outbox {
    /// Queues a packet and its attachments back to back, so no other
    /// packet can come between them.
    pub(crate) fn push(&self, packet: Outgoing) {
        let mut queue = self.lock();
        let was_empty = queue.is_empty();
        queue.push_back(packet.first);
        queue.extend(packet.binary.into_iter().map(OutFrame::Binary));
        drop(queue);
        // The task drains everything each time it wakes, so only the push
        // that makes the queue non-empty needs to wake it.
        if was_empty {
            self.wake.notify_one();
        }
    }

    pub(crate) fn push_text(&self, text: String) {
        self.push(Outgoing::text(text));
    }

    /// Everything queued, in order, with the queue's memory: most
    /// connections send rarely, and an idle one should hold no buffer.
    pub(crate) fn take_all(&self) -> VecDeque<OutFrame> {
        std::mem::take(&mut *self.lock())
    }

    /// Takes frames, oldest first, while their polling size stays within
    /// `budget` bytes (at least one frame).
    pub(crate) fn take_within(
        &self,
        into: &mut Vec<OutFrame>,
        budget: usize,
        size: impl Fn(&OutFrame) -> usize,
    ) {
        let mut queue = self.lock();
        let mut used = 0;
        while let Some(frame) = queue.front() {
            let len = size(frame) + 1;
            if !into.is_empty() && used + len > budget {
                break;
            }
            used += len;
            if let Some(frame) = queue.pop_front() {
                into.push(frame);
            }
        }
        if queue.is_empty() {
            *queue = VecDeque::new();
        }
    }

    pub(crate) fn clear(&self) {
        let mut queue = self.lock();
        queue.clear();
        queue.shrink_to(0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutFrame>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}
