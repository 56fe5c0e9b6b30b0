//! The connections to Redis one server shares between its namespaces: a
//! publisher (which also answers `PUBSUB NUMSUB`) and a subscriber, each
//! owned by a task that reconnects it by itself.
//!
//! - **Publishing** goes through a bounded queue to one task, so messages
//!   leave in the order they were sent and a burst becomes one pipeline.
//!   Nothing waits on Redis: while it is away, publishing fails at once
//!   (the caller's local delivery has already happened) and is counted.
//! - **Subscribing**: the task keeps the set of channels and patterns of
//!   every namespace, subscribes them all again after each reconnect, and
//!   PINGs the connection every `liveness_interval`, since a pub/sub
//!   connection can stop delivering without closing. Messages are handed
//!   to the namespace's adapter in order, on this task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink};
use redis::{AsyncConnectionConfig, Client};
use switchboard::AdapterError;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep, timeout};

use crate::adapter::Core;
use crate::config::RedisConfig;
use crate::error::ConnectError;

const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(50);
/// Publishes sent to Redis in one pipeline, at most.
const BATCH: u64 = 512;

/// Counters of what the adapter did, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStats {
    /// Messages published.
    pub published: u64,
    /// Messages not published: Redis was away, the queue was full, or the
    /// batch holding them failed.
    pub publish_dropped: u64,
    /// Messages received on the adapter's channels.
    pub received: u64,
    /// Received messages that were not the adapter's (malformed, wrong
    /// shape); ignored.
    pub garbage: u64,
    /// Times the subscriber connection was (re)established.
    pub subscriber_connects: u64,
    /// Times the publisher connection was (re)established.
    pub publisher_connects: u64,
    /// Liveness PINGs on the subscriber connection that failed or timed out.
    pub liveness_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    publish_dropped: AtomicU64,
    received: AtomicU64,
    garbage: AtomicU64,
    subscriber_connects: AtomicU64,
    publisher_connects: AtomicU64,
    liveness_failures: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What arrives on a subscribed channel, so the adapter knows what to
/// decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    Broadcast,
    Request,
    Response,
}

#[derive(Default)]
struct Registry {
    /// Broadcast patterns, one per namespace.
    patterns: HashMap<String, Weak<Core>>,
    /// Request and response channels.
    channels: HashMap<String, (Topic, Weak<Core>)>,
}

enum Control {
    /// Subscribe these (already in the registry); `upto` is the
    /// registration number they complete.
    Subscribe {
        channels: Vec<String>,
        patterns: Vec<String>,
        upto: u64,
    },
    Unsubscribe {
        channels: Vec<String>,
        patterns: Vec<String>,
    },
}

/// State shared with the two tasks.
struct State {
    config: RedisConfig,
    // Held for one map operation; dispatch copies the handle out.
    registry: Mutex<Registry>,
    /// The publisher's connection while it works, for other commands
    /// (`PUBSUB NUMSUB`); `MultiplexedConnection` is a cheap handle.
    commands: Mutex<Option<MultiplexedConnection>>,
    publishing: AtomicBool,
    subscribed: AtomicBool,
    counters: Counters,
    /// Registrations made, and how many of them are subscribed on the
    /// current subscriber connection.
    registered: AtomicU64,
    subscribed_upto: watch::Sender<u64>,
    started: Instant,
    /// When a refused publish was last logged, in ms since `started`.
    last_drop_warning: AtomicU64,
}

/// A handle on the connections; dropping the last one stops both tasks.
pub(crate) struct Link {
    state: Arc<State>,
    out: mpsc::Sender<(String, Vec<u8>)>,
    control: mpsc::UnboundedSender<Control>,
    tasks: [AbortHandle; 2],
}

impl Drop for Link {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Link {
    /// Connects the publisher now, or fails with why when `wait` is true;
    /// otherwise starts disconnected and joins Redis whenever it answers.
    pub(crate) async fn start(config: RedisConfig, wait: bool) -> Result<Link, ConnectError> {
        let client = Client::open(config.url.as_str()).map_err(|e| ConnectError::InvalidUrl {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
        let first = if wait {
            let mut conn =
                connect(&client, &config)
                    .await
                    .map_err(|reason| ConnectError::Unreachable {
                        url: config.url.clone(),
                        reason,
                    })?;
            let ping = redis::cmd("PING");
            match timeout(
                config.command_timeout,
                ping.query_async::<String>(&mut conn),
            )
            .await
            {
                Ok(Ok(_)) => Some(conn),
                Ok(Err(e)) => {
                    return Err(ConnectError::Unreachable {
                        url: config.url.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(_) => {
                    return Err(ConnectError::Unreachable {
                        url: config.url.clone(),
                        reason: "no answer to PING".to_owned(),
                    });
                }
            }
        } else {
            None
        };
        let (out, out_rx) = mpsc::channel(config.publish_queue);
        let (control, control_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            config,
            registry: Mutex::default(),
            commands: Mutex::default(),
            publishing: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            counters: Counters::default(),
            registered: AtomicU64::new(0),
            subscribed_upto: watch::Sender::new(0),
            started: Instant::now(),
            last_drop_warning: AtomicU64::new(0),
        });
        let publisher = tokio::spawn(publish(client.clone(), first, out_rx, state.clone()));
        let subscriber = tokio::spawn(subscribe(client, control_rx, state.clone()));
        Ok(Link {
            state,
            out,
            control,
            tasks: [publisher.abort_handle(), subscriber.abort_handle()],
        })
    }

    pub(crate) fn config(&self) -> &RedisConfig {
        &self.state.config
    }

    /// Both connections work, as far as we know.
    pub(crate) fn available(&self) -> bool {
        self.state.publishing.load(Ordering::Acquire)
            && self.state.subscribed.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> RedisStats {
        let c = &self.state.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RedisStats {
            published: get(&c.published),
            publish_dropped: get(&c.publish_dropped),
            received: get(&c.received),
            garbage: get(&c.garbage),
            subscriber_connects: get(&c.subscriber_connects),
            publisher_connects: get(&c.publisher_connects),
            liveness_failures: get(&c.liveness_failures),
        }
    }

    /// Queues a message for `channel`; fails at once when Redis is away or
    /// the queue is full.
    pub(crate) fn publish(&self, channel: String, message: Vec<u8>) -> Result<(), AdapterError> {
        let refused = |why: &str| {
            self.dropped(why);
            Err(AdapterError::Transport(why.to_owned()))
        };
        if !self.available() {
            return refused("redis unavailable");
        }
        match self.out.try_send((channel, message)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => refused("redis publish queue full"),
            Err(mpsc::error::TrySendError::Closed(_)) => refused("redis adapter stopped"),
        }
    }

    /// Counts a message not published, and logs it at most once a second:
    /// during an outage every broadcast is refused, and one line says it.
    pub(crate) fn dropped(&self, why: &str) {
        bump(&self.state.counters.publish_dropped, 1);
        let now = u64::try_from(self.state.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.state.last_drop_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 1000
            && self
                .state
                .last_drop_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let dropped = self.state.counters.publish_dropped.load(Ordering::Relaxed);
            tracing::warn!(
                why,
                dropped,
                "not telling the other servers (local delivery goes on)"
            );
        }
    }

    /// Subscribers of `channel`, from `PUBSUB NUMSUB`.
    pub(crate) async fn numsub(&self, channel: &str) -> Result<usize, AdapterError> {
        let conn = self
            .state
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(mut conn) = conn else {
            return Err(AdapterError::Transport("redis unavailable".to_owned()));
        };
        let mut query = redis::cmd("PUBSUB");
        query.arg("NUMSUB").arg(channel);
        let answer = query.query_async::<Vec<(String, usize)>>(&mut conn);
        match timeout(self.state.config.command_timeout, answer).await {
            Ok(Ok(counts)) => Ok(counts.first().map_or(0, |(_, n)| *n)),
            Ok(Err(e)) => Err(AdapterError::Transport(e.to_string())),
            Err(_) => Err(AdapterError::Timeout),
        }
    }

    /// Adds a namespace's channels and pattern; they are subscribed now
    /// and after every reconnect, until [`Link::unregister`].
    pub(crate) fn register(&self, core: &Arc<Core>, channels: &[(String, Topic)], pattern: &str) {
        let upto = {
            let mut registry = self
                .state
                .registry
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for (channel, topic) in channels {
                registry
                    .channels
                    .insert(channel.clone(), (*topic, Arc::downgrade(core)));
            }
            registry
                .patterns
                .insert(pattern.to_owned(), Arc::downgrade(core));
            // Numbered under the lock, so a reconnect's snapshot holding
            // registration N holds every earlier one too.
            self.state.registered.fetch_add(1, Ordering::AcqRel) + 1
        };
        let _ = self.control.send(Control::Subscribe {
            channels: channels.iter().map(|(c, _)| c.clone()).collect(),
            patterns: vec![pattern.to_owned()],
            upto,
        });
    }

    pub(crate) fn unregister(&self, channels: Vec<String>, pattern: String) {
        {
            let mut registry = self
                .state
                .registry
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for channel in &channels {
                registry.channels.remove(channel);
            }
            registry.patterns.remove(&pattern);
        }
        let _ = self.control.send(Control::Unsubscribe {
            channels,
            patterns: vec![pattern],
        });
    }

    /// Resolves once every channel registered so far is subscribed on a
    /// working connection and the publisher is connected too.
    pub(crate) async fn subscribed(&self) {
        let wanted = self.state.registered.load(Ordering::Acquire);
        let mut upto = self.state.subscribed_upto.subscribe();
        let _ = upto
            .wait_for(|done| *done >= wanted && self.available())
            .await;
    }
}

async fn connect(client: &Client, config: &RedisConfig) -> Result<MultiplexedConnection, String> {
    let settings = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.command_timeout))
        .set_response_timeout(Some(config.command_timeout));
    client
        .get_multiplexed_async_connection_with_config(&settings)
        .await
        .map_err(|e| e.to_string())
}

/// Waits before reconnect attempt `attempt` (0 = first retry).
async fn back_off(attempt: u32, max: Duration) {
    let delay = MIN_RECONNECT_DELAY
        .saturating_mul(1 << attempt.min(16))
        .min(max);
    sleep(delay).await;
}

/// The publisher task: one connection, reconnected as needed; each batch
/// of queued messages is one pipeline.
async fn publish(
    client: Client,
    mut first: Option<MultiplexedConnection>,
    mut queue: mpsc::Receiver<(String, Vec<u8>)>,
    state: Arc<State>,
) {
    let config = state.config.clone();
    let mut attempt = 0;
    loop {
        let mut conn = match first.take() {
            Some(conn) => conn,
            None => match connect(&client, &config).await {
                Ok(conn) => conn,
                Err(error) => {
                    if attempt == 0 {
                        tracing::warn!(%error, "redis publisher cannot connect; retrying");
                    }
                    back_off(attempt, config.max_reconnect_delay).await;
                    attempt += 1;
                    continue;
                }
            },
        };
        attempt = 0;
        bump(&state.counters.publisher_connects, 1);
        *state.commands.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
        state.publishing.store(true, Ordering::Release);
        // Wakes `subscribed()`, which also waits for the publisher.
        state.subscribed_upto.send_modify(|_| {});
        tracing::info!("redis publisher connected");
        let mut next_ping = Instant::now() + config.liveness_interval;
        loop {
            // While idle, a PING now and then: a publisher that only learns
            // of a dead connection from a failed publish loses that message.
            let next = tokio::select! {
                next = queue.recv() => next,
                () = tokio::time::sleep_until(next_ping) => {
                    next_ping = Instant::now() + config.liveness_interval;
                    let ping = redis::cmd("PING");
                    match timeout(config.command_timeout, ping.query_async::<String>(&mut conn)).await {
                        Ok(Ok(_)) => continue,
                        _ => {
                            state.publishing.store(false, Ordering::Release);
                            *state.commands.lock().unwrap_or_else(|e| e.into_inner()) = None;
                            tracing::warn!("redis publisher connection lost; reconnecting");
                            break;
                        }
                    }
                }
            };
            let Some((channel, message)) = next else {
                return;
            };
            next_ping = Instant::now() + config.liveness_interval;
            let mut pipe = redis::pipe();
            pipe.cmd("PUBLISH").arg(channel).arg(message).ignore();
            let mut count: u64 = 1;
            while count < BATCH {
                let Ok((channel, message)) = queue.try_recv() else {
                    break;
                };
                pipe.cmd("PUBLISH").arg(channel).arg(message).ignore();
                count += 1;
            }
            match timeout(config.command_timeout, pipe.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => bump(&state.counters.published, count),
                failed => {
                    bump(&state.counters.publish_dropped, count);
                    state.publishing.store(false, Ordering::Release);
                    *state.commands.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::warn!(%error, "redis publish failed; reconnecting");
                    break;
                }
            }
        }
    }
}

/// The subscriber task: connect, subscribe everything registered, then
/// deliver messages, take new subscriptions and check liveness until the
/// connection fails; then again.
async fn subscribe(
    client: Client,
    mut control: mpsc::UnboundedReceiver<Control>,
    state: Arc<State>,
) {
    let config = state.config.clone();
    let mut attempt = 0;
    loop {
        let pubsub = match timeout(config.command_timeout, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            failed => {
                if attempt == 0 {
                    let error = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    tracing::warn!(%error, "redis subscriber cannot connect; retrying");
                }
                back_off(attempt, config.max_reconnect_delay).await;
                attempt += 1;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        // Everything registered up to now; later registrations arrive as
        // control messages, and subscribing twice is harmless.
        let (channels, patterns, upto) = {
            let registry = state.registry.lock().unwrap_or_else(|e| e.into_inner());
            (
                registry.channels.keys().cloned().collect::<Vec<_>>(),
                registry.patterns.keys().cloned().collect::<Vec<_>>(),
                state.registered.load(Ordering::Acquire),
            )
        };
        if let Err(error) = subscribe_all(&mut sink, &channels, &patterns, &config).await {
            tracing::warn!(%error, "redis subscribe failed; reconnecting");
            back_off(attempt, config.max_reconnect_delay).await;
            attempt += 1;
            continue;
        }
        attempt = 0;
        bump(&state.counters.subscriber_connects, 1);
        state.subscribed.store(true, Ordering::Release);
        state
            .subscribed_upto
            .send_modify(|done| *done = (*done).max(upto));
        tracing::info!(channels = channels.len(), "redis subscriber connected");
        let mut next_ping = Instant::now() + config.liveness_interval;
        let broken = loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break "connection closed".to_owned() };
                    bump(&state.counters.received, 1);
                    dispatch(&state, &message).await;
                }
                command = control.recv() => match command {
                    None => return,
                    Some(Control::Subscribe { channels, patterns, upto }) => {
                        if let Err(error) = subscribe_all(&mut sink, &channels, &patterns, &config).await {
                            break error;
                        }
                        state.subscribed_upto.send_modify(|done| *done = (*done).max(upto));
                    }
                    Some(Control::Unsubscribe { channels, patterns }) => {
                        // Best effort: a failure shows up at the next PING.
                        for channel in channels {
                            let _ = timeout(config.command_timeout, sink.unsubscribe(channel)).await;
                        }
                        for pattern in patterns {
                            let _ = timeout(config.command_timeout, sink.punsubscribe(pattern)).await;
                        }
                    }
                },
                () = tokio::time::sleep_until(next_ping) => {
                    next_ping = Instant::now() + config.liveness_interval;
                    match timeout(config.command_timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => {
                            bump(&state.counters.liveness_failures, 1);
                            break format!("PING failed: {e}");
                        }
                        Err(_) => {
                            bump(&state.counters.liveness_failures, 1);
                            break "PING not answered".to_owned();
                        }
                    }
                }
            }
        };
        state.subscribed.store(false, Ordering::Release);
        tracing::warn!(error = %broken, "redis subscriber lost; reconnecting");
    }
}

/// One channel per command: the pub/sub connection pairs each reply with
/// the oldest command waiting, and SUBSCRIBE sends one reply per channel.
async fn subscribe_all(
    sink: &mut PubSubSink,
    channels: &[String],
    patterns: &[String],
    config: &RedisConfig,
) -> Result<(), String> {
    for channel in channels {
        match timeout(config.command_timeout, sink.subscribe(channel)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("SUBSCRIBE not answered".to_owned()),
        }
    }
    for pattern in patterns {
        match timeout(config.command_timeout, sink.psubscribe(pattern)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("PSUBSCRIBE not answered".to_owned()),
        }
    }
    Ok(())
}

/// Hands a message to the namespace it belongs to.
async fn dispatch(state: &State, message: &redis::Msg) {
    let channel = message.get_channel_name();
    let target = {
        let registry = state.registry.lock().unwrap_or_else(|e| e.into_inner());
        match message.get_pattern::<Option<String>>() {
            Ok(Some(pattern)) => registry
                .patterns
                .get(&pattern)
                .map(|core| (Topic::Broadcast, core.clone())),
            _ => registry.channels.get(channel).cloned(),
        }
    };
    let Some((topic, core)) = target else { return };
    let Some(core) = core.upgrade() else { return };
    let bytes = message.get_payload_bytes();
    if !core.receive(topic, channel, bytes).await {
        bump(&state.counters.garbage, 1);
    }
}
