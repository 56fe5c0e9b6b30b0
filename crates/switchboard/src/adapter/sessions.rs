//! The local adapter's recovery store: sessions that left for a recoverable
//! reason, and a bounded log of the packets they may have missed.
//!
//! A delivery token (a mutex of its own) is held while kept packets are
//! logged and delivered (`LocalAdapter::broadcast_kept`), so that:
//! - packets are kept in the order every socket receives them, which makes
//!   "everything after the client's last offset" well defined;
//! - a recovering socket is joined under the same token (`replay`): a
//!   packet kept before is in its replay, one kept after reaches it live,
//!   and nothing is both or neither.
//!
//! That serialises the kept broadcasts of one namespace, which is what
//! ordering them means, but no thread waits for another's delivery: a
//! broadcast is queued as a [`Job`] and whoever holds the token delivers
//! the queued jobs before letting go (flat combining). A worker thread
//! blocked on the lock during a storm of broadcasts could not run the
//! sessions' pings meanwhile (seen: 2,000 clients joining the chat at once
//! timed out). Delivery only pushes onto session queues: no `.await`, no
//! user code (outgoing listeners run after the token is released).
//!
//! The token is separate from the `state` mutex (sessions and log, held
//! for one short operation) because only a token holder drains the jobs: a
//! broadcast that found `state` held by the sweeper or a disconnecting
//! socket would otherwise be left in the queue until the next broadcast.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use switchboard_engine::Sid;
use switchboard_protocol::Str;
use tokio::time::Instant;

use super::{BroadcastOptions, PersistedSession, RecoveryStats, Room};
use crate::encode::EncodedPacket;
use crate::recovery::Recovery;

/// Length of the per-store prefix of every offset.
const EPOCH_LEN: usize = 8;
/// Offsets longer than this are not ours; checked before parsing.
const MAX_OFFSET_LEN: usize = EPOCH_LEN + 16;

#[derive(Debug)]
pub(crate) struct SessionStore {
    options: Recovery,
    /// Random per store, so an offset from another namespace, an earlier
    /// process or an application string never matches a kept packet.
    epoch: Str,
    /// Offsets are handed out before encoding, outside the lock; the log is
    /// ordered by when packets are kept, not by this number.
    next_seq: AtomicU64,
    state: Arc<Mutex<State>>,
    /// Kept broadcasts waiting for the token's holder. Held for one push or
    /// pop.
    jobs: Mutex<VecDeque<Job>>,
    /// Held while kept packets are logged and delivered, and while a
    /// recovering socket joins; see the module's comment.
    token: Mutex<()>,
}

/// A kept broadcast waiting to be logged and delivered.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) packet: EncodedPacket,
    pub(crate) offset: Str,
    pub(crate) opts: BroadcastOptions,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    log: VecDeque<Kept>,
    /// Bytes of `log`, as counted by `Kept::size`.
    bytes: usize,
    sessions: HashMap<Sid, Stored>,
    /// Whether the sweeper task runs; it stops when nothing is kept.
    sweeping: bool,
}

#[derive(Debug)]
struct Kept {
    seq: u64,
    packet: EncodedPacket,
    rooms: Vec<Room>,
    except: Vec<Room>,
    at: Instant,
}

impl Kept {
    fn size(&self) -> usize {
        let rooms: usize = self.rooms.iter().chain(&self.except).map(|r| r.len()).sum();
        self.packet.len() + rooms + std::mem::size_of::<Kept>()
    }

    /// Node's rule: a session gets a packet sent to any of its rooms (or to
    /// everyone) unless one of its rooms is excluded.
    fn targets(&self, rooms: &[Room]) -> bool {
        let included = self.rooms.is_empty() || rooms.iter().any(|r| self.rooms.contains(r));
        included && !rooms.iter().any(|r| self.except.contains(r))
    }
}

#[derive(Debug)]
struct Stored {
    session: PersistedSession,
    at: Instant,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionStore {
    pub(crate) fn new(options: Recovery) -> Self {
        let epoch = Sid::random().as_str()[..EPOCH_LEN].to_owned();
        SessionStore {
            options,
            epoch: Str::from(epoch),
            next_seq: AtomicU64::new(1),
            state: Arc::default(),
            jobs: Mutex::default(),
            token: Mutex::new(()),
        }
    }

    pub(crate) fn new_offset(&self) -> Str {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        Str::from(format!("{}{seq:x}", self.epoch))
    }

    /// The sequence number of one of our offsets.
    fn parse(&self, offset: &str) -> Option<u64> {
        if offset.len() > MAX_OFFSET_LEN {
            return None;
        }
        let seq = offset.strip_prefix(self.epoch.as_str())?;
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(seq, 16).ok()
    }

    pub(crate) fn push(&self, job: Job) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(job);
    }

    pub(crate) fn pop(&self) -> Option<Job> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    pub(crate) fn has_jobs(&self) -> bool {
        !self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The delivery token, if no one holds it; its holder delivers the
    /// queued jobs.
    pub(crate) fn try_token(&self) -> Option<MutexGuard<'_, ()>> {
        match self.token.try_lock() {
            Ok(token) => Some(token),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Logs a job's packet; the caller, holding the token, delivers it
    /// before letting go, which keeps delivery in log order.
    pub(crate) fn keep(&self, job: &Job) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let Some(seq) = self.parse(&job.offset) else {
            // Not from `new_offset`: delivered, but nothing can refer to it.
            return;
        };
        let now = Instant::now();
        let kept = Kept {
            seq,
            packet: job.packet.clone(),
            rooms: job.opts.rooms.clone(),
            except: job.opts.except.clone(),
            at: now,
        };
        state.bytes += kept.size();
        state.log.push_back(kept);
        self.evict(state, now);
        self.ensure_sweeper(state);
    }

    /// Drops the oldest packets beyond the bounds and those older than the
    /// window (no session that could need them is still kept).
    fn evict(&self, state: &mut State, now: Instant) {
        let window = self.options.max_disconnection_duration;
        while let Some(front) = state.log.front() {
            let too_many =
                state.log.len() > self.options.max_packets || state.bytes > self.options.max_bytes;
            if !too_many && front.at + window > now {
                break;
            }
            let size = front.size();
            state.log.pop_front();
            state.bytes -= size;
        }
    }

    pub(crate) fn persist(&self, session: PersistedSession) {
        let Some(pid) = Sid::parse(&session.pid) else {
            return;
        };
        let mut state = lock(&self.state);
        state.sessions.insert(
            pid,
            Stored {
                session,
                at: Instant::now(),
            },
        );
        self.ensure_sweeper(&mut state);
    }

    /// Takes the session `pid` if it is in its window and every packet after
    /// `offset` is still kept.
    pub(crate) fn restore(&self, pid: &str, offset: &str) -> Option<PersistedSession> {
        let pid = Sid::parse(pid)?;
        let mut state = lock(&self.state);
        let stored = state.sessions.remove(&pid)?;
        if stored.at + self.options.max_disconnection_duration <= Instant::now() {
            return None;
        }
        let seq = self.parse(offset)?;
        position(&state.log, seq)?;
        Some(stored.session)
    }

    /// Calls `join` with the kept packets after `offset` that `rooms`
    /// select, under the lock; see [`Adapter::replay`](super::Adapter::replay).
    pub(crate) fn replay(
        &self,
        offset: &str,
        rooms: &[Room],
        join: &mut dyn FnMut(&[EncodedPacket]) -> bool,
    ) -> bool {
        let Some(seq) = self.parse(offset) else {
            return false;
        };
        // Waits for the holder's current batch at most (rare: recoveries).
        let _token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        let state = lock(&self.state);
        let Some(index) = position(&state.log, seq) else {
            return false;
        };
        let missed: Vec<EncodedPacket> = state
            .log
            .iter()
            .skip(index + 1)
            .filter(|kept| kept.targets(rooms))
            .map(|kept| kept.packet.clone())
            .collect();
        // `state` is released before `join`: it needs no more of it, and the
        // token keeps deliveries out until the socket has joined.
        drop(state);
        join(&missed)
    }

    pub(crate) fn stats(&self) -> RecoveryStats {
        let state = lock(&self.state);
        RecoveryStats {
            sessions: state.sessions.len(),
            packets: state.log.len(),
            bytes: state.bytes,
        }
    }

    /// Starts the task that drops expired sessions and packets, unless it
    /// runs. One task per namespace, only while something is kept: no
    /// timer per session.
    fn ensure_sweeper(&self, state: &mut State) {
        if state.sweeping {
            return;
        }
        // Outside a runtime (a broadcast from a plain thread) the next call
        // from inside one starts it; eviction on `keep` bounds the log
        // meanwhile.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        state.sweeping = true;
        let window = self.options.max_disconnection_duration;
        let period = (window / 8).max(Duration::from_millis(10));
        runtime.spawn(sweep(Arc::downgrade(&self.state), window, period));
    }
}

/// Where the packet `seq` is in the log, searching from the newest end,
/// where a reconnecting client's offset almost always is.
fn position(log: &VecDeque<Kept>, seq: u64) -> Option<usize> {
    log.iter().rposition(|kept| kept.seq == seq)
}

async fn sweep(state: Weak<Mutex<State>>, window: Duration, period: Duration) {
    loop {
        tokio::time::sleep(period).await;
        let Some(state) = state.upgrade() else { return };
        let mut state = lock(&state);
        let now = Instant::now();
        state.sessions.retain(|_, stored| stored.at + window > now);
        while state
            .log
            .front()
            .is_some_and(|kept| kept.at + window <= now)
        {
            if let Some(kept) = state.log.pop_front() {
                state.bytes -= kept.size();
            }
        }
        // Give the memory of a storm back once it has passed.
        if state.log.len() < state.log.capacity() / 4 {
            state.log.shrink_to_fit();
        }
        if state.sessions.len() < state.sessions.capacity() / 4 {
            state.sessions.shrink_to_fit();
        }
        if state.log.is_empty() && state.sessions.is_empty() {
            state.sweeping = false;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Parser;
    use switchboard_protocol::socket::PacketType;

    fn packet(n: usize) -> EncodedPacket {
        let json = format!(r#"["e",{n}]"#);
        EncodedPacket::new(
            Parser::Json,
            PacketType::Event,
            "/",
            None,
            vec![],
            Some(&json),
        )
    }

    /// Keeps packet `n` for `rooms` (everyone when empty) minus `except`.
    fn keep(store: &SessionStore, n: usize, rooms: &[&str], except: &[&str]) -> Str {
        let offset = store.new_offset();
        let opts = BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(r.to_string())).collect(),
            except: except.iter().map(|r| Room::from(r.to_string())).collect(),
            ..Default::default()
        };
        let job = Job {
            packet: packet(n),
            offset: offset.clone(),
            opts,
        };
        store.keep(&job);
        offset
    }

    fn persist(store: &SessionStore, rooms: &[&str]) -> (Sid, Str) {
        let sid = Sid::random();
        let pid = Str::from(Sid::random().as_str().to_owned());
        let rooms = rooms.iter().map(|r| Room::from(r.to_string())).collect();
        store.persist(PersistedSession::new(
            sid,
            pid.clone(),
            rooms,
            Default::default(),
        ));
        (sid, pid)
    }

    /// The packets `replay` hands over after `offset` for `rooms`.
    fn replayed(store: &SessionStore, offset: &str, rooms: &[&str]) -> Option<Vec<String>> {
        let rooms: Vec<Room> = rooms.iter().map(|r| Room::from(r.to_string())).collect();
        let mut got = None;
        let ok = store.replay(offset, &rooms, &mut |missed| {
            got = Some(
                missed
                    .iter()
                    .map(|p| p.event_and_args().unwrap().1)
                    .collect(),
            );
            true
        });
        assert_eq!(ok, got.is_some());
        got
    }

    #[tokio::test]
    async fn offsets_are_ours_only() {
        let store = SessionStore::new(Recovery::new());
        let other = SessionStore::new(Recovery::new());
        let offset = store.new_offset();
        assert!(store.parse(&offset).is_some());
        assert_eq!(other.parse(&offset), None, "another namespace's offset");
        assert_eq!(store.parse("hello"), None);
        assert_eq!(store.parse(&format!("{}zz", store.epoch)), None);
        assert_eq!(
            store.parse(&format!("{}{}", store.epoch, "f".repeat(40))),
            None
        );
    }

    #[tokio::test]
    async fn replay_follows_rooms_and_except_in_order() {
        let store = SessionStore::new(Recovery::new());
        let start = keep(&store, 0, &[], &[]);
        keep(&store, 1, &[], &[]);
        keep(&store, 2, &["a"], &[]);
        keep(&store, 3, &["b"], &[]);
        keep(&store, 4, &[], &["me"]);
        keep(&store, 5, &["a", "b"], &["x"]);
        assert_eq!(
            replayed(&store, &start, &["me", "a"]).unwrap(),
            ["[1]", "[2]", "[5]"]
        );
        assert_eq!(
            replayed(&store, &start, &["x", "b"]).unwrap(),
            ["[1]", "[3]", "[4]"]
        );
        assert_eq!(
            replayed(&store, &format!("{}ff", store.epoch), &["a"]),
            None
        );
    }

    #[tokio::test]
    async fn packet_bound_evicts_the_oldest() {
        let store = SessionStore::new(Recovery::new().max_packets(3));
        let first = keep(&store, 0, &[], &[]);
        let second = keep(&store, 1, &[], &[]);
        keep(&store, 2, &[], &[]);
        // At the bound: the first is still there.
        assert_eq!(replayed(&store, &first, &[]).unwrap(), ["[1]", "[2]"]);
        keep(&store, 3, &[], &[]);
        // One past it: gone, and no partial replay from it.
        assert_eq!(replayed(&store, &first, &[]), None);
        assert_eq!(replayed(&store, &second, &[]).unwrap(), ["[2]", "[3]"]);
        assert_eq!(store.stats().packets, 3);
    }

    #[tokio::test]
    async fn byte_bound_evicts_the_oldest() {
        let probe = SessionStore::new(Recovery::new());
        keep(&probe, 0, &[], &[]);
        let each = probe.stats().bytes;
        let store = SessionStore::new(Recovery::new().max_bytes(3 * each));
        let first = keep(&store, 0, &[], &[]);
        keep(&store, 1, &[], &[]);
        keep(&store, 2, &[], &[]);
        assert_eq!(store.stats().bytes, 3 * each, "at the bound");
        assert!(replayed(&store, &first, &[]).is_some());
        keep(&store, 3, &[], &[]);
        assert_eq!(store.stats().packets, 3, "one past it");
        assert_eq!(replayed(&store, &first, &[]), None);
    }

    #[tokio::test]
    async fn a_session_is_taken_once_and_only_in_its_window() {
        let store = SessionStore::new(Recovery::new());
        let offset = keep(&store, 0, &[], &[]);
        let (sid, pid) = persist(&store, &["r"]);
        assert!(store.restore(&pid, "not ours").is_none(), "unknown offset");
        // That attempt used the session up: it is not kept for a later one.
        assert!(store.restore(&pid, &offset).is_none());
        let (sid2, pid2) = persist(&store, &["r"]);
        assert_ne!(sid, sid2);
        let session = store.restore(&pid2, &offset).unwrap();
        assert_eq!(session.sid, sid2);
        assert!(store.restore(&pid2, &offset).is_none(), "taken once");
        assert!(store.restore("forged", &offset).is_none());
        assert_eq!(store.stats().sessions, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_sessions_and_packets_are_freed() {
        let window = Duration::from_secs(120);
        let store = SessionStore::new(Recovery::new().max_disconnection_duration(window));
        let offset = keep(&store, 0, &[], &[]);
        let (_, pid) = persist(&store, &[]);
        tokio::time::sleep(window + Duration::from_secs(1)).await;
        assert!(store.restore(&pid, &offset).is_none(), "past the window");
        let (_, pid) = persist(&store, &[]);
        // The sweeper runs every window / 8 while something is kept.
        tokio::time::sleep(window + window / 4).await;
        assert_eq!(store.stats(), RecoveryStats::default());
        assert!(!lock(&store.state).sweeping, "the sweeper stopped");
        assert!(store.restore(&pid, &offset).is_none());
    }
}
