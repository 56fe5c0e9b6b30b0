//! `fanout` and `polling`: clients connected to `/`, a few of them emitting
//! `chat:message` (no ack), which the chat broadcasts to every client.
//!
//! The fixed load is 100,000 deliveries/s (100 messages/s to 1,000 clients,
//! 10 to 10,000): p50/p99/max latency from send to delivery, and the
//! server's CPU seconds and CPU per delivery. Then a search for the highest
//! offered load that is sustained: at least 99.9 % delivered within the
//! drain time, p99 under 100 ms and no client disconnected; it doubles the
//! rate until a step fails, then bisects. The share delivered and the
//! latencies come from the timed tenth of the clients, matched by the
//! message's tag, so a late delivery from an earlier step never counts. `polling` is the fixed load with every fourth client on
//! long-polling.
//!
//! Clients do not `user:join`: 10,000 joins would send every client 10,000
//! `user:joined` notes first, which measures the join storm, not fanout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_client::Socket;

use super::Ctx;
use crate::Error;
use crate::latency::{Recorder, Summary, message_text};
use crate::load::{Fleet, sampled};
use crate::measure::CpuWindow;
use crate::report::{Row, count};
use crate::server::{Kind, Server, Store};
use crate::targets::{CPU_NS_PER_DELIVERY, DELIVERIES_PER_S, P99_MS, fixed, sustained};

/// Clients that send; the rest only receive.
const SENDERS: usize = 10;

/// The sustained-load criteria of the issue.
const DELIVERED_SUSTAINED: f64 = 0.999;
const P99_SUSTAINED_MS: f64 = 100.0;

/// One offered load, measured.
#[derive(Debug, Clone)]
struct Offer {
    rate: f64,
    /// Deliveries to every client.
    expected: u64,
    /// Deliveries to the timed clients; `latency.received` counts those
    /// that arrived (by tag, so a late one from an earlier step is not
    /// counted).
    expected_sampled: u64,
    /// Clients the server disconnected during this offer.
    disconnected: u64,
    latency: Summary,
    send_secs: f64,
    server_cpu: f64,
    load_share: f64,
    /// Other processes used the pinned cores.
    busy: Option<String>,
}

impl Offer {
    /// Share delivered, from the timed clients.
    fn delivered(&self) -> f64 {
        self.latency.received as f64 / self.expected_sampled.max(1) as f64
    }

    fn sustained(&self) -> bool {
        self.disconnected == 0
            && self.latency.received > 0
            && self.delivered() >= DELIVERED_SUSTAINED
            && self.latency.p99_ms < P99_SUSTAINED_MS
    }

    /// Deliveries to every client, estimated from the timed ones.
    fn deliveries(&self) -> f64 {
        self.delivered() * self.expected as f64
    }

    fn deliveries_per_s(&self) -> f64 {
        self.deliveries() / self.send_secs
    }

    fn cpu_per_delivery_ns(&self) -> f64 {
        1e9 * self.server_cpu / self.deliveries().max(1.0)
    }
}

/// Connected clients and the server they load.
struct Run<'a> {
    ctx: &'a Ctx,
    server: &'a Server,
    fleet: Fleet,
    recorder: Arc<Recorder>,
    sockets: Vec<Socket>,
    tag: u64,
}

impl Run<'_> {
    fn senders(&self) -> &[Socket] {
        &self.sockets[..SENDERS.min(self.sockets.len())]
    }

    /// Offers `rate` messages/s for `secs`, then waits for the deliveries.
    async fn offer(&mut self, rate: f64, secs: f64, label: &str) -> Offer {
        self.tag += 1;
        let tag = self.tag;
        let clients = self.sockets.len() as u64;
        let planned = (rate * secs).ceil() as u64;
        self.recorder.begin(
            tag,
            usize::try_from(planned * clients).unwrap_or(usize::MAX),
        );
        let bar = self.ctx.timer(secs, self.server.kind.name(), label);
        let cpu = CpuWindow::start(self.server.pid);
        let disconnected = self.fleet.disconnected();
        let started = Instant::now();
        let mut sent = 0u64;
        // Every millisecond, sends what is due by then: the timer's 1 ms
        // resolution would otherwise cap the rate at 1,000 messages/s.
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let elapsed = started.elapsed().as_secs_f64();
            let due = ((elapsed.min(secs) * rate) as u64).min(planned);
            while sent < due {
                let senders = self.senders();
                let socket = &senders[(sent as usize) % senders.len()];
                let text = message_text(tag, self.recorder.now_nanos());
                let _ = socket.emit("chat:message", &text);
                sent += 1;
            }
            bar.set_position((elapsed * 1_000.0) as u64);
            if elapsed >= secs {
                break;
            }
        }
        let send_secs = started.elapsed().as_secs_f64();
        let load_share = cpu.stop().load_share;
        bar.finish_and_clear();
        let expected = sent * clients;
        let expected_sampled = sent * sampled(self.sockets.len()) as u64;
        let drain_until = Instant::now() + self.ctx.sizes.drain;
        while self.recorder.received() < expected_sampled && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let latency = self.recorder.finish();
        let used = cpu.stop();
        let server_cpu = used.server;
        let busy = if self.ctx.pin { used.busy_note() } else { None };
        Offer {
            rate,
            expected,
            expected_sampled,
            disconnected: self.fleet.disconnected() - disconnected,
            latency,
            send_secs,
            server_cpu,
            load_share,
            busy,
        }
    }

    /// Waits until deliveries stop arriving (a failed step leaves queues
    /// behind), at most a few seconds.
    async fn quiet(&self) {
        let until = Instant::now() + Duration::from_secs(5);
        let mut last = self.fleet.delivered();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self
                .fleet
                .delivered
                .load(std::sync::atomic::Ordering::Relaxed);
            if now == last {
                return;
            }
            last = now;
        }
    }
}

fn fixed_row(scenario: &str, server: &str, point: &str, o: &Offer) -> Row {
    Row::new(scenario, server, point)
        .notes(o.busy.clone())
        .metric("offered msg/s", o.rate)
        .metric(DELIVERIES_PER_S, o.deliveries_per_s())
        .metric("delivered %", 100.0 * o.delivered())
        .metric("p50 ms", o.latency.p50_ms)
        .metric(P99_MS, o.latency.p99_ms)
        .metric("max ms", o.latency.max_ms)
        .metric("server CPU s", o.server_cpu)
        .metric(CPU_NS_PER_DELIVERY, o.cpu_per_delivery_ns())
        .load(o.load_share)
}

/// Starts a server and connects `clients`, every fourth on polling when
/// `polling` is set.
async fn connect<'a>(
    ctx: &'a Ctx,
    server: &'a Server,
    clients: usize,
    polling: bool,
) -> Result<Run<'a>, Error> {
    let recorder = Arc::new(Recorder::new());
    let fleet = Fleet::new(server.url(), Some(recorder.clone()));
    let what = format!("connecting {clients}");
    let bar = ctx.bar(clients as u64, server.kind.name(), &what);
    // Senders (the first ten) stay on WebSocket.
    let sockets = fleet
        .open_many(0..clients, |i| polling && i % 4 == 3, &bar)
        .await;
    bar.finish_and_clear();
    Ok(Run {
        ctx,
        server,
        fleet,
        recorder,
        sockets: sockets?,
        tag: 0,
    })
}

pub(crate) async fn fanout(ctx: &Ctx, kind: Kind) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for &clients in &ctx.sizes.fanout_clients {
        let server = ctx.start(kind, Store::Memory, "fanout")?;
        let mut run = match connect(ctx, &server, clients, false).await {
            Ok(run) => run,
            Err(error) => {
                rows.push(
                    Row::new("fanout", kind.name(), &fixed(clients))
                        .note(format!("failed: {error}")),
                );
                continue;
            }
        };
        let rate = ctx.sizes.fixed_deliveries / clients as f64;
        run.offer(rate, ctx.sizes.warmup_secs, "warm-up").await;
        run.quiet().await;
        let offer = run.offer(rate, ctx.sizes.fixed_secs, "fixed load").await;
        let mut row = fixed_row("fanout", kind.name(), &fixed(clients), &offer);
        if run.fleet.disconnected() > 0 {
            row = row.note(format!(
                "{} clients disconnected by the server",
                run.fleet.disconnected()
            ));
        }
        rows.push(row);
        if kind == Kind::Floor {
            // It keeps no queue: a load that fills a socket closes it.
            continue;
        }
        rows.push(search(&mut run, offer).await);
    }
    Ok(rows)
}

/// The highest offered load that is sustained, starting from `first`.
async fn search(run: &mut Run<'_>, first: Offer) -> Row {
    let clients = run.sockets.len();
    let first_rate = first.rate;
    let mut failed: Option<f64> = (!first.sustained()).then_some(first_rate);
    let mut best = first.sustained().then_some(first);
    let mut rate = next_rate(best.as_ref(), failed, first_rate);
    let mut note = None;
    for _ in 0..run.ctx.sizes.search_steps {
        run.quiet().await;
        if run.fleet.disconnected() > 0 {
            note = Some(format!(
                "search stopped: {} clients disconnected by the server",
                run.fleet.disconnected()
            ));
            break;
        }
        let label = format!("search {rate:.0} msg/s");
        let offer = run.offer(rate, run.ctx.sizes.search_secs, &label).await;
        if offer.sustained() {
            best = Some(offer);
        } else {
            failed = Some(failed.map_or(rate, |f: f64| f.min(rate)));
        }
        rate = next_rate(best.as_ref(), failed, rate);
    }
    let name = run.server.kind.name();
    let mut row = match best {
        Some(o) => Row::new("fanout", name, &sustained(clients))
            .notes(o.busy.clone())
            .metric("offered msg/s", o.rate)
            .metric(DELIVERIES_PER_S, o.deliveries_per_s())
            .metric("delivered %", 100.0 * o.delivered())
            .metric(P99_MS, o.latency.p99_ms)
            .metric(CPU_NS_PER_DELIVERY, o.cpu_per_delivery_ns())
            .load(o.load_share),
        None => Row::new("fanout", name, &sustained(clients)).note("no offered load was sustained"),
    };
    if let Some(note) = note {
        row = row.note(note);
    }
    row
}

/// Doubles while every step was sustained, else bisects between the best
/// sustained rate and the lowest failed one.
fn next_rate(best: Option<&Offer>, failed: Option<f64>, last: f64) -> f64 {
    match (best.map(|o| o.rate), failed) {
        (Some(good), None) => good * 2.0,
        (Some(good), Some(bad)) => (good + bad) / 2.0,
        (None, _) => last / 2.0,
    }
}

pub(crate) async fn polling(ctx: &Ctx, kind: Kind) -> Result<Vec<Row>, Error> {
    let clients = ctx.sizes.polling_clients;
    let point = format!("{} clients (¼ polling), fixed load", count(clients));
    let server = ctx.start(kind, Store::Memory, "polling")?;
    let mut run = match connect(ctx, &server, clients, true).await {
        Ok(run) => run,
        Err(error) => {
            return Ok(vec![
                Row::new("polling", kind.name(), &point).note(format!("failed: {error}")),
            ]);
        }
    };
    let rate = ctx.sizes.fixed_deliveries / clients as f64;
    run.offer(rate, ctx.sizes.warmup_secs, "warm-up").await;
    run.quiet().await;
    let offer = run.offer(rate, ctx.sizes.fixed_secs, "fixed load").await;
    let mut row = fixed_row("polling", kind.name(), &point, &offer);
    if run.fleet.disconnected() > 0 {
        row = row.note(format!(
            "{} clients disconnected by the server",
            run.fleet.disconnected()
        ));
    }
    Ok(vec![row])
}
