//! `ack` and `history`: clients each sending `chat:message` in a closed
//! loop (the next one once the ack of the last came back), every message
//! broadcast to every client.
//!
//! `ack` reports round trips per second and their p50/p99. `history` runs
//! the same loop after each client joined (`user:join`), against the chat
//! with SQLite and with memory (the peers keep history in memory), and
//! reports messages stored (acknowledged: the chat acks after the commit)
//! and delivered per second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_client::Socket;

use super::Ctx;
use crate::Error;
use crate::latency::{Summary, message_text, summarize};
use crate::load::Fleet;
use crate::measure::CpuWindow;
use crate::report::{Row, count};
use crate::server::{Kind, Store};

/// Round trips that ended inside the measured window.
#[derive(Debug, Default)]
struct Trips {
    latencies_us: Vec<u32>,
    failed: u64,
}

struct Measured {
    latency: Summary,
    failed: u64,
    delivered: u64,
    secs: f64,
    load_share: f64,
    server_cpu: f64,
    busy: Option<String>,
}

/// One client's loop until `end`; records the round trips that finished
/// inside `[start, end]`.
async fn client_loop(socket: &Socket, start: Instant, end: Instant, trips: &Mutex<Trips>) {
    let epoch = Instant::now();
    while Instant::now() < end {
        let sent = Instant::now();
        let nanos = u64::try_from(sent.duration_since(epoch).as_nanos()).unwrap_or(0);
        let reply = socket
            .emit_with_ack::<Value, _>("chat:message", &message_text(0, nanos))
            .await;
        let done = Instant::now();
        let failed = if done < start || done > end {
            reply.is_err()
        } else {
            let mut trips = trips.lock().unwrap_or_else(|e| e.into_inner());
            match reply {
                Ok(_) => {
                    let us = done.duration_since(sent).as_micros();
                    trips
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                    false
                }
                Err(_) => {
                    trips.failed += 1;
                    true
                }
            }
        };
        if failed {
            // A failed ack (timeout, disconnect) must not spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn measure(
    ctx: &Ctx,
    kind: Kind,
    store: Store,
    scenario: &str,
    join: bool,
) -> Result<(String, Measured), Error> {
    let server = ctx.start(kind, store, scenario)?;
    let fleet = Fleet::new(server.url(), None);
    let clients = ctx.sizes.loop_clients;
    let bar = ctx.bar(
        clients as u64,
        kind.name(),
        &format!("connecting {clients}"),
    );
    let sockets = fleet.open_many(0..clients, |_| false, &bar).await?;
    bar.finish_and_clear();
    if join {
        for (i, socket) in sockets.iter().enumerate() {
            socket
                .emit_with_ack::<Value, _>("user:join", &format!("bench{i}"))
                .await
                .map_err(|e| format!("user:join: {e}"))?;
        }
    }
    let warmup = Duration::from_secs_f64(ctx.sizes.warmup_secs);
    let length = Duration::from_secs_f64(ctx.sizes.loop_secs);
    let start = Instant::now() + warmup;
    let end = start + length;
    let trips = Mutex::new(Trips::default());
    let bar = ctx.timer(
        ctx.sizes.warmup_secs + ctx.sizes.loop_secs,
        kind.name(),
        &format!("{scenario}: {clients} closed loops"),
    );
    let loops = futures_util::future::join_all(
        sockets
            .iter()
            .map(|socket| client_loop(socket, start, end, &trips)),
    );
    // Reads the CPU counters at the window's edges while the loops run.
    let window = async {
        tokio::time::sleep_until(start.into()).await;
        let cpu = CpuWindow::start(server.pid);
        let delivered = fleet.delivered();
        let began = Instant::now();
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(100)).await;
            bar.set_position((warmup + began.elapsed()).as_millis() as u64);
        }
        let used = cpu.stop();
        (used, fleet.delivered() - delivered)
    };
    let ((), (used, delivered)) = tokio::join!(
        async {
            loops.await;
        },
        window
    );
    bar.finish_and_clear();
    let mut trips = trips.into_inner().unwrap_or_else(|e| e.into_inner());
    let count = trips.latencies_us.len() as u64;
    let measured = Measured {
        latency: summarize(&mut trips.latencies_us, count),
        failed: trips.failed,
        delivered,
        secs: used.wall,
        load_share: used.load_share,
        server_cpu: used.server,
        busy: if ctx.pin { used.busy_note() } else { None },
    };
    let label = server.label.clone();
    drop(sockets);
    Ok((label, measured))
}

fn failed_note(row: Row, m: &Measured) -> Row {
    let row = row.notes(m.busy.clone());
    if m.failed > 0 {
        row.note(format!("{} acks failed (timeout or disconnect)", m.failed))
    } else {
        row
    }
}

pub(crate) async fn ack(ctx: &Ctx, kind: Kind) -> Result<Vec<Row>, Error> {
    let clients = ctx.sizes.loop_clients;
    let point = format!("{} clients, closed loop", count(clients));
    let (_, m) = match measure(ctx, kind, Store::Memory, "ack", false).await {
        Ok(done) => done,
        Err(error) => {
            return Ok(vec![
                Row::new("ack", kind.name(), &point).note(format!("failed: {error}")),
            ]);
        }
    };
    let row = Row::new("ack", kind.name(), &point)
        .metric("round trips/s", m.latency.received as f64 / m.secs)
        .metric("p50 ms", m.latency.p50_ms)
        .metric("p99 ms", m.latency.p99_ms)
        .metric("max ms", m.latency.max_ms)
        .metric("deliveries/s", m.delivered as f64 / m.secs)
        .metric(
            "server CPU µs/round trip",
            1e6 * m.server_cpu / m.latency.received.max(1) as f64,
        )
        .load(m.load_share);
    Ok(vec![failed_note(row, &m)])
}

pub(crate) async fn history(ctx: &Ctx, kind: Kind) -> Result<Vec<Row>, Error> {
    let clients = ctx.sizes.loop_clients;
    let point = format!("{} users, closed loop", count(clients));
    // The switchboard chat with its durable store and with memory; the
    // peers keep their history in memory only.
    let stores: &[Store] = match kind {
        Kind::Switchboard => &[Store::Sqlite, Store::Memory],
        _ => &[Store::Memory],
    };
    let mut rows = Vec::new();
    for &store in stores {
        let (label, m) = match measure(ctx, kind, store, "history", true).await {
            Ok(done) => done,
            Err(error) => {
                rows.push(
                    Row::new("history", kind.name(), &point).note(format!("failed: {error}")),
                );
                continue;
            }
        };
        let row = Row::new("history", &label, &point)
            .metric("stored/s", m.latency.received as f64 / m.secs)
            .metric("delivered/s", m.delivered as f64 / m.secs)
            .metric("p50 ms", m.latency.p50_ms)
            .metric("p99 ms", m.latency.p99_ms)
            // The rate is the load generator's limit as often as the
            // server's (both run near a full core here); this is the
            // server's own cost, comparable whichever limit was hit.
            .metric(
                "server CPU µs/message",
                1e6 * m.server_cpu / m.latency.received.max(1) as f64,
            )
            .load(m.load_share);
        rows.push(failed_note(row, &m));
    }
    Ok(rows)
}
