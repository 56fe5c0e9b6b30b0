//! The targets, checked against one run's rows, and the names of
//! the points they compare (scenarios build their rows with the same names).

use serde::{Deserialize, Serialize};

use crate::report::{Results, count, number};

pub(crate) fn conns(n: usize) -> String {
    format!("{} connections", count(n))
}

pub(crate) fn fixed(clients: usize) -> String {
    format!("{} clients, fixed load", count(clients))
}

pub(crate) fn sustained(clients: usize) -> String {
    format!("{} clients, max sustained", count(clients))
}

pub(crate) const BYTES_PER_CONN: &str = "bytes/conn";
pub(crate) const CONNS_PER_S: &str = "conns/s";
pub(crate) const P99_MS: &str = "p99 ms";
pub(crate) const DELIVERIES_PER_S: &str = "deliveries/s";
pub(crate) const CPU_NS_PER_DELIVERY: &str = "server CPU ns/delivery";

/// One target: what it asks, what was measured, and whether it was met
/// (`None` when a server or point it needs was not run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Check {
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: Option<bool>,
}

/// `ours` compared with `theirs` by `ratio` (ours / theirs).
fn ratio_check(
    target: &str,
    ours: Option<f64>,
    theirs: Option<f64>,
    unit: &str,
    met: impl Fn(f64) -> bool,
) -> Check {
    match (ours, theirs) {
        (Some(o), Some(t)) if t > 0.0 => {
            let ratio = o / t;
            Check {
                target: target.to_owned(),
                measured: format!("{} vs {} {unit}: {ratio:.2}×", number(o), number(t)),
                met: Some(met(ratio)),
            }
        }
        _ => Check {
            target: target.to_owned(),
            measured: "not measured in this run".to_owned(),
            met: None,
        },
    }
}

pub(crate) fn check(results: &Results) -> Vec<Check> {
    let sb = "switchboard";
    let f = |scenario: &str, server: &str, point: &str, metric: &str| {
        results.find(scenario, server, point, metric)
    };
    let idle = conns(10_000);
    let fixed_1k = fixed(1_000);
    let sustained_1k = sustained(1_000);
    let mut checks = vec![
        ratio_check(
            "idle memory per connection (10,000) ≤ 1/3 of Node's",
            f("idle", sb, &idle, BYTES_PER_CONN),
            f("idle", "node", &idle, BYTES_PER_CONN),
            "bytes",
            |r| r <= 1.0 / 3.0,
        ),
        ratio_check(
            "idle memory per connection (10,000) ≤ 1/6 of socketioxide's",
            f("idle", sb, &idle, BYTES_PER_CONN),
            f("idle", "socketioxide", &idle, BYTES_PER_CONN),
            "bytes",
            |r| r <= 1.0 / 6.0,
        ),
        ratio_check(
            "connections/s at 10,000 ≥ 2× Node's",
            f("idle", sb, &idle, CONNS_PER_S),
            f("idle", "node", &idle, CONNS_PER_S),
            "conns/s",
            |r| r >= 2.0,
        ),
        ratio_check(
            "fixed fanout load (1,000 clients) p99 ≤ 1/3 of socketioxide's",
            f("fanout", sb, &fixed_1k, P99_MS),
            f("fanout", "socketioxide", &fixed_1k, P99_MS),
            "ms",
            |r| r <= 1.0 / 3.0,
        ),
        ratio_check(
            "sustained deliveries/s (1,000 clients) ≥ 1.5× socketioxide's",
            f("fanout", sb, &sustained_1k, DELIVERIES_PER_S),
            f("fanout", "socketioxide", &sustained_1k, DELIVERIES_PER_S),
            "deliveries/s",
            |r| r >= 1.5,
        ),
    ];
    let small = f("fanout", sb, &fixed_1k, CPU_NS_PER_DELIVERY);
    let large = f("fanout", sb, &fixed(10_000), CPU_NS_PER_DELIVERY);
    let mut falling = ratio_check(
        "switchboard's CPU per delivery falls from 1,000 to 10,000 clients",
        large,
        small,
        "ns",
        |r| r <= 1.0,
    );
    if let (Some(s), Some(l)) = (small, large) {
        falling.measured = format!(
            "{} ns at 1,000 → {} ns at 10,000 clients",
            number(s),
            number(l)
        );
    }
    checks.push(falling);
    checks
}

/// What the floor (`floor.rs`, the least any server can spend) measured at
/// the points the fanout targets compare, set against those targets: a
/// target below the floor is out of reach for every server on this machine.
pub(crate) fn floor(results: &Results) -> Vec<String> {
    let f = |server: &str, clients: usize, metric: &str| {
        results.find("fanout", server, &fixed(clients), metric)
    };
    let mut lines = Vec::new();
    if let (Some(floor), Some(theirs)) =
        (f("floor", 1_000, P99_MS), f("socketioxide", 1_000, P99_MS))
    {
        let target = theirs / 3.0;
        let verdict = if target < floor {
            "below the floor: no server can meet it in this run"
        } else {
            "above the floor"
        };
        lines.push(format!(
            "fixed fanout load (1,000 clients): the floor's p99 is {} ms; a third of \
             socketioxide's is {} ms, {verdict}",
            number(floor),
            number(target)
        ));
    }
    if let (Some(small), Some(large)) = (
        f("floor", 1_000, CPU_NS_PER_DELIVERY),
        f("floor", 10_000, CPU_NS_PER_DELIVERY),
    ) {
        let verdict = if large > small {
            "rises: one write per delivery costs the kernel more with more sockets"
        } else {
            "does not rise"
        };
        lines.push(format!(
            "CPU per delivery at the fixed load: the floor's goes {} ns at 1,000 → {} ns at \
             10,000 clients, {verdict}",
            number(small),
            number(large)
        ));
    }
    lines
}
