//! The connection's outgoing queue: sockets push from any thread, the
//! connection's task drains it into the transport.
//!
//! A `Mutex<VecDeque>` plus a `Notify` rather than a channel: an empty
//! `VecDeque` holds no memory, where a tokio channel allocates a block of
//! slots per connection up front, and an idle load-generator connection
//! should cost as little as the server's.
//!
//! Emits and acks are bounded (`Bounds`): a server that reads slowly, or
//! one that is down while the application keeps emitting, must not grow
//! the client's memory without end. The same bounds apply to a socket's
//! `Buffer` while it is disconnected.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::ClientError;
use crate::encode::{OutFrame, Outgoing};

/// Most Engine.IO messages and bytes one queue may hold: the client's
/// `max_queued_packets` and `max_queued_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) packets: usize,
    pub(crate) bytes: usize,
}

/// What a queue holds, counted as the bounds count it.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    packets: usize,
    bytes: usize,
}

impl Tally {
    /// Counts `packet` in if it fits `bounds`; a packet with attachments
    /// counts one message per attachment too, as each is a message.
    fn admit(&mut self, packet: &Outgoing, bounds: Bounds) -> Result<(), ClientError> {
        let packets = self.packets + 1 + packet.binary.len();
        let bytes = self.bytes + packet.bytes();
        if packets > bounds.packets || bytes > bounds.bytes {
            return Err(ClientError::QueueFull);
        }
        *self = Tally { packets, bytes };
        Ok(())
    }

    /// Counts `packet` in whatever the bounds: control packets, and a
    /// buffer already counted when it was filled.
    fn add(&mut self, packet: &Outgoing) {
        self.packets += 1 + packet.binary.len();
        self.bytes += packet.bytes();
    }

    fn remove(&mut self, frame: &OutFrame) {
        self.packets = self.packets.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(frame.len());
    }
}

/// A socket's packets emitted while it is disconnected, sent after the
/// next CONNECT answer; bounded as the outbox is, with its own tally.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    packets: Vec<Outgoing>,
    tally: Tally,
}

impl Buffer {
    pub(crate) fn push(&mut self, packet: Outgoing, bounds: Bounds) -> Result<(), ClientError> {
        self.tally.admit(&packet, bounds)?;
        self.packets.push(packet);
        Ok(())
    }

    /// Every buffered packet, in order, leaving the buffer empty (and
    /// holding no memory).
    pub(crate) fn take(&mut self) -> Vec<Outgoing> {
        std::mem::take(self).packets
    }
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<OutFrame>,
    tally: Tally,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    // Held for a push or a drain, never across `.await`: cannot contend
    // for long.
    queue: Mutex<Queue>,
    /// Wakes the connection's task: frames to send, or a close requested.
    pub(crate) wake: Notify,
}

impl Outbox {
    /// Queues an emit or an ack, unless it would take the queue past
    /// `bounds` ([`ClientError::QueueFull`]).
    pub(crate) fn try_push(&self, packet: Outgoing, bounds: Bounds) -> Result<(), ClientError> {
        let mut queue = self.lock();
        queue.tally.admit(&packet, bounds)?;
        self.append(queue, packet);
        Ok(())
    }

    /// Queues a volatile emit only if nothing is waiting to be written
    /// (socket.io-client drops one while its transport is busy); returns
    /// whether it was queued.
    pub(crate) fn try_push_if_idle(
        &self,
        packet: Outgoing,
        bounds: Bounds,
    ) -> Result<bool, ClientError> {
        let mut queue = self.lock();
        if !queue.frames.is_empty() {
            return Ok(false);
        }
        queue.tally.admit(&packet, bounds)?;
        self.append(queue, packet);
        Ok(true)
    }

    /// Queues a packet the protocol needs (CONNECT, DISCONNECT, a pong) or
    /// a socket's buffer, which was bounded as it filled. Not bounded: at
    /// most a few are pending, and refusing one would break the session
    /// instead of telling the application to slow down.
    pub(crate) fn push(&self, packet: Outgoing) {
        let mut queue = self.lock();
        queue.tally.add(&packet);
        self.append(queue, packet);
    }

    /// Queues a packet and its attachments back to back, so no other
    /// packet can come between them.
    fn append(&self, mut queue: MutexGuard<'_, Queue>, packet: Outgoing) {
        let was_empty = queue.frames.is_empty();
        queue.frames.push_back(packet.first);
        queue
            .frames
            .extend(packet.binary.into_iter().map(OutFrame::Binary));
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

    /// Frames queued (an attachment is a frame of its own).
    pub(crate) fn len(&self) -> usize {
        self.lock().frames.len()
    }

    /// Everything queued, in order, with the queue's memory: most
    /// connections send rarely, and an idle one should hold no buffer.
    pub(crate) fn take_all(&self) -> VecDeque<OutFrame> {
        std::mem::take(&mut *self.lock()).frames
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
        while let Some(frame) = queue.frames.front() {
            let len = size(frame) + 1;
            if !into.is_empty() && used + len > budget {
                break;
            }
            used += len;
            if let Some(frame) = queue.frames.pop_front() {
                queue.tally.remove(&frame);
                into.push(frame);
            }
        }
        if queue.frames.is_empty() {
            *queue = Queue::default();
        }
    }

    pub(crate) fn clear(&self) {
        *self.lock() = Queue::default();
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use bytes::Bytes;

    use super::*;

    fn packet(text: &str, binary: &[usize]) -> Outgoing {
        Outgoing {
            first: OutFrame::Text(text.to_owned()),
            binary: binary.iter().map(|&n| Bytes::from(vec![0; n])).collect(),
        }
    }

    #[test]
    fn emits_are_bounded_by_messages_with_attachments_counted() {
        let outbox = Outbox::default();
        let bounds = Bounds {
            packets: 4,
            bytes: 1 << 20,
        };
        outbox.try_push(packet("42[]", &[1, 1]), bounds).unwrap();
        outbox.try_push(packet("42[]", &[]), bounds).unwrap();
        // Fifth message: refused, and nothing of it queued.
        assert!(matches!(
            outbox.try_push(packet("42[]", &[1]), bounds),
            Err(ClientError::QueueFull)
        ));
        assert_eq!(outbox.take_all().len(), 4);
        // Drained: room again.
        outbox.try_push(packet("42[]", &[1, 1, 1]), bounds).unwrap();
    }

    #[test]
    fn emits_are_bounded_by_bytes() {
        let outbox = Outbox::default();
        let bounds = Bounds {
            packets: 100,
            bytes: 10,
        };
        // 4 + 6 = 10 bytes: exactly the bound.
        outbox.try_push(packet("42[]", &[6]), bounds).unwrap();
        assert!(matches!(
            outbox.try_push(packet("4", &[]), bounds),
            Err(ClientError::QueueFull)
        ));
        // A packet larger than the bound never fits.
        outbox.clear();
        assert!(matches!(
            outbox.try_push(packet("42[\"eleven\"]", &[]), bounds),
            Err(ClientError::QueueFull)
        ));
    }

    #[test]
    fn control_packets_pass_a_full_queue_and_count() {
        let outbox = Outbox::default();
        let bounds = Bounds {
            packets: 1,
            bytes: 1 << 20,
        };
        outbox.try_push(packet("42[]", &[]), bounds).unwrap();
        outbox.push_text("3".to_owned());
        assert_eq!(outbox.lock().frames.len(), 2);
        // Polling takes one frame: the pong still holds the one slot.
        let mut batch = Vec::new();
        outbox.take_within(&mut batch, 4, |f| f.len());
        assert_eq!(batch.len(), 1);
        assert!(outbox.try_push(packet("42[]", &[]), bounds).is_err());
        batch.clear();
        outbox.take_within(&mut batch, 4, |f| f.len());
        outbox.try_push(packet("42[]", &[]), bounds).unwrap();
    }
}
