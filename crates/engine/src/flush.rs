//! Flushers: a few tasks that write queued frames to WebSocket sessions, so
//! that a broadcast does not wake one task per recipient.
//!
//! A broadcast to 1,000 sessions used to queue a frame in each and wake each
//! session's task, which then wrote its one frame: a wake-up, a poll of the
//! task's select and timers, and a syscall per delivery. Now a send queues
//! the frame and puts the session on a flusher's list (once, until it is
//! flushed); the flusher writes every listed session's queue with one
//! syscall each, without waiting for any socket. Under light load that is
//! one syscall per delivery and nothing else, right after the broadcast.
//! Under heavy load frames pile up while the flusher works through its list,
//! so each syscall carries more of them: the cost per delivery falls as the
//! load rises. A session whose socket is full is handed to its own task,
//! which waits for the socket (see `Shared::flush`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::session::Shared;

/// Sessions a flusher writes before it lets other tasks run: long enough to
/// batch, short enough that reads and timers are not held up for long.
const BETWEEN_YIELDS: usize = 256;

/// A flusher's write buffer is given back once it grew past this.
const KEEP_BUFFER: usize = 64 * 1024;

/// How often, and for how long, a flusher yields again before a pass while
/// frames keep being queued. The count keeps a flusher on an idle worker
/// from spinning while other workers send without pause (each of its yields
/// is then one poll of the I/O driver); the time bounds what a busy server
/// adds to a frame's wait when each yield lets many tasks run.
const SETTLE_YIELDS: usize = 8;
const SETTLE_AT_MOST: Duration = Duration::from_micros(500);

pub(crate) struct Flushers {
    shards: Box<[Arc<Shard>]>,
}

struct Shard {
    listed: Mutex<Vec<Arc<Shared>>>,
    /// Set when a session of this shard is listed, or gets another frame
    /// while listed; the flusher clears it to learn whether more came while
    /// it yielded (from the tasks it let run, or from other workers).
    more: AtomicBool,
    wake: Notify,
    started: AtomicBool,
    stopped: AtomicBool,
}

impl Flushers {
    /// One flusher per CPU the process may run on: each is one task, so one
    /// would put every socket write of the server on one core.
    pub(crate) fn new() -> Flushers {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        Flushers {
            shards: (0..count)
                .map(|_| {
                    Arc::new(Shard {
                        listed: Mutex::new(Vec::new()),
                        more: AtomicBool::new(false),
                        wake: Notify::new(),
                        started: AtomicBool::new(false),
                        stopped: AtomicBool::new(false),
                    })
                })
                .collect(),
        }
    }

    /// Starts the flusher tasks if they are not running; called from a task
    /// that opens a WebSocket session, so there is a runtime to spawn on.
    pub(crate) fn start(&self) {
        for shard in &self.shards {
            if !shard.started.swap(true, Ordering::AcqRel) {
                // Unconstrained: tokio's cooperative budget would make every
                // socket past the 128th of a run look full (its poll_write
                // returns Pending once the task's budget is spent), handing
                // those sessions to their own tasks for nothing. The flusher
                // yields on its own instead, every `BETWEEN_YIELDS` sessions.
                tokio::spawn(tokio::task::unconstrained(shard.clone().run()));
            }
        }
    }

    /// Lists a session to be flushed; its caller set its `listed` flag, so a
    /// session is on at most one list once.
    pub(crate) fn list(&self, session: Arc<Shared>) {
        let shard = &self.shards[session.sid.shard(self.shards.len())];
        let first = {
            let mut listed = shard.lock();
            listed.push(session);
            listed.len() == 1
        };
        shard.mark_more();
        // A flusher that is busy takes the whole list when it comes back;
        // only an empty list needs to call it. `notify_one` keeps a permit
        // if it is not waiting yet, so this is never lost.
        if first {
            shard.wake.notify_one();
        }
    }

    /// Tells the session's flusher that a frame was queued for a session
    /// already on its list.
    pub(crate) fn more(&self, session: &Shared) {
        self.shards[session.sid.shard(self.shards.len())].mark_more();
    }
}

impl Drop for Flushers {
    fn drop(&mut self) {
        for shard in &self.shards {
            shard.stopped.store(true, Ordering::Release);
            shard.wake.notify_one();
        }
    }
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Shared>>> {
        self.listed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_more(&self) {
        // A load first: once set, the flag's cache line stays shared instead
        // of being written again by every delivery of a broadcast.
        if !self.more.load(Ordering::Relaxed) {
            self.more.store(true, Ordering::Relaxed);
        }
    }

    /// Lets every task that is ready run before a pass, and again while
    /// frames keep being queued (up to `SETTLE_YIELDS` more times, and not
    /// after `SETTLE_AT_MOST`), so that the pass carries all they sent in
    /// one syscall per session.
    ///
    /// tokio runs a task woken by the running one next, so a flusher woken by
    /// a broadcast would run right after it and write one frame per syscall
    /// while other connections' messages waited to be read. One yield lets
    /// the tasks that were ready run; under a steady load (clients each
    /// waiting for an ack) the I/O driver then finds more senders, and a
    /// pass that did not wait for them split their frames over several
    /// syscalls (see ADR 0006's addendum). With nothing else ready (light
    /// load) this is a single yield: one poll of the I/O driver.
    async fn settle(&self) {
        let started = Instant::now();
        self.more.store(false, Ordering::Relaxed);
        tokio::task::yield_now().await;
        for _ in 0..SETTLE_YIELDS {
            if !self.more.swap(false, Ordering::Relaxed) || started.elapsed() >= SETTLE_AT_MOST {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    async fn run(self: Arc<Self>) {
        let mut batch = Vec::new();
        let mut buf = Vec::new();
        loop {
            self.settle().await;
            std::mem::swap(&mut *self.lock(), &mut batch);
            if batch.is_empty() {
                if self.stopped.load(Ordering::Acquire) {
                    return;
                }
                self.wake.notified().await;
                continue;
            }
            for (i, session) in batch.drain(..).enumerate() {
                session.flush(&mut buf);
                if i % BETWEEN_YIELDS == BETWEEN_YIELDS - 1 {
                    tokio::task::yield_now().await;
                }
            }
            if buf.capacity() > KEEP_BUFFER {
                buf = Vec::new();
            }
        }
    }
}
