//! `idle`: memory per idle WebSocket connection, and connections per second
//! while opening them.
//!
//! Clients connect to `/` over WebSocket and stay idle (answering pings).
//! At each step (1,000, 10,000, 19,000) the server's resident memory is read
//! after a short settle; memory per connection is its growth since before
//! the first connection divided by the connections open. Connections per
//! second is the count so far over the time spent opening them, 256 at once.

use std::time::{Duration, Instant};

use super::Ctx;
use crate::Error;
use crate::load::Fleet;
use crate::measure::{CpuWindow, rss_bytes};
use crate::report::Row;
use crate::server::{Kind, Store};
use crate::targets::{BYTES_PER_CONN, CONNS_PER_S, conns};

pub(crate) async fn idle(ctx: &Ctx, kind: Kind) -> Result<Vec<Row>, Error> {
    let server = ctx.start(kind, Store::Memory, "idle")?;
    // The server's own start (Node's JIT, runtime threads) is not per
    // connection: the baseline is read once it has settled.
    tokio::time::sleep(ctx.sizes.settle.max(Duration::from_millis(500))).await;
    let baseline = rss_bytes(server.pid);
    let fleet = Fleet::new(server.url(), None);
    let mut sockets = Vec::new();
    let mut opening = Duration::ZERO;
    let mut load_cpu = 0.0;
    let mut server_cpu = 0.0;
    let mut rows = Vec::new();
    let last = ctx.sizes.idle_steps.last().copied().unwrap_or(0);
    let bar = ctx.bar(last as u64, kind.name(), "idle: opening connections");
    for &n in &ctx.sizes.idle_steps {
        let cpu = CpuWindow::start(server.pid);
        let started = Instant::now();
        let more = fleet.open_many(sockets.len()..n, |_| false, &bar).await;
        opening += started.elapsed();
        let used = cpu.stop();
        let busy = if ctx.pin { used.busy_note() } else { None };
        // Seconds of the load's CPU, summed over every opening phase.
        load_cpu += used.load_share * used.wall;
        server_cpu += used.server;
        let more = match more {
            Ok(more) => more,
            Err(error) => {
                rows.push(
                    Row::new("idle", kind.name(), &conns(n)).note(format!("failed: {error}")),
                );
                break;
            }
        };
        sockets.extend(more);
        tokio::time::sleep(ctx.sizes.settle).await;
        let rss = rss_bytes(server.pid);
        let mut row = Row::new("idle", kind.name(), &conns(n))
            .metric(
                BYTES_PER_CONN,
                rss.saturating_sub(baseline) as f64 / n as f64,
            )
            .metric(CONNS_PER_S, n as f64 / opening.as_secs_f64())
            .metric("server RSS MiB", rss as f64 / (1024.0 * 1024.0))
            .metric("server CPU µs/conn", 1e6 * server_cpu / n as f64)
            .load(load_cpu / opening.as_secs_f64())
            .notes(busy);
        if fleet.disconnected() > 0 {
            row = row.note(format!("{} clients disconnected", fleet.disconnected()));
        }
        rows.push(row);
    }
    bar.finish_and_clear();
    drop(sockets);
    drop(server);
    Ok(rows)
}
