//! Results: one row per server and measured point; the table, the JSON
//! file, and `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::measure::LOAD_CPU_TRUSTED;
use crate::targets::Check;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Metric {
    pub(crate) name: String,
    pub(crate) value: f64,
}

/// One server at one point of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) server: String,
    pub(crate) point: String,
    pub(crate) metrics: Vec<Metric>,
    /// The load generator's share of its core during the measurement, %.
    pub(crate) load_cpu_pct: f64,
    /// False when the load generator was over 70 % of its core: it may have
    /// been what limited the result.
    pub(crate) trustworthy: bool,
    pub(crate) notes: Vec<String>,
}

impl Row {
    pub(crate) fn new(scenario: &str, server: &str, point: &str) -> Row {
        Row {
            scenario: scenario.to_owned(),
            server: server.to_owned(),
            point: point.to_owned(),
            metrics: Vec::new(),
            load_cpu_pct: 0.0,
            trustworthy: true,
            notes: Vec::new(),
        }
    }

    pub(crate) fn metric(mut self, name: &str, value: f64) -> Row {
        self.metrics.push(Metric {
            name: name.to_owned(),
            value,
        });
        self
    }

    /// Sets the load generator's share of its core (0..1) and the verdict.
    pub(crate) fn load(mut self, share: f64) -> Row {
        self.load_cpu_pct = 100.0 * share;
        self.trustworthy = share <= LOAD_CPU_TRUSTED;
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Row {
        self.notes.push(note.into());
        self
    }

    /// Adds a note when there is one.
    pub(crate) fn notes(mut self, note: Option<String>) -> Row {
        self.notes.extend(note);
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Results {
    /// UTC, RFC 3339.
    pub(crate) started: String,
    pub(crate) command: String,
    pub(crate) machine: String,
    /// Servers on CPU 0 and the load on CPU 1.
    pub(crate) pinned: bool,
    pub(crate) rows: Vec<Row>,
    pub(crate) targets: Vec<Check>,
}

impl Results {
    pub(crate) fn find(
        &self,
        scenario: &str,
        server: &str,
        point: &str,
        metric: &str,
    ) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.scenario == scenario && r.server == server && r.point == point)
            .and_then(|r| r.get(metric))
    }

    /// Scenarios in the order they ran.
    pub(crate) fn scenarios(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for row in &self.rows {
            if !names.contains(&row.scenario.as_str()) {
                names.push(&row.scenario);
            }
        }
        names
    }

    pub(crate) fn rows_of<'a>(&'a self, scenario: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.rows.iter().filter(move |r| r.scenario == scenario)
    }
}

/// `19,000`: a count with thousands separators.
pub(crate) fn count(n: usize) -> String {
    number(n as f64)
}

/// `12,345` for large numbers, fewer digits as they grow.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    if value.abs() >= 1_000.0 || (value.fract() == 0.0 && value.abs() < 1e15) {
        let digits = format!("{:.0}", value.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if value < 0.0 { format!("-{out}") } else { out };
    }
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The results of one scenario as a Markdown table.
pub(crate) fn scenario_table(results: &Results, scenario: &str) -> String {
    let rows: Vec<&Row> = results.rows_of(scenario).collect();
    let mut columns: Vec<&str> = Vec::new();
    for row in &rows {
        for m in &row.metrics {
            if !columns.contains(&m.name.as_str()) {
                columns.push(&m.name);
            }
        }
    }
    let mut out = String::new();
    let _ = write!(out, "| server | point |");
    for c in &columns {
        let _ = write!(out, " {c} |");
    }
    let _ = writeln!(out, " load CPU |");
    let _ = write!(out, "|---|---|");
    for _ in &columns {
        let _ = write!(out, "--:|");
    }
    let _ = writeln!(out, "--:|");
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.server, row.point);
        for c in &columns {
            let cell = row.get(c).map_or_else(|| "".to_owned(), number);
            let _ = write!(out, " {cell} |");
        }
        let flag = if row.trustworthy {
            ""
        } else {
            " (not trustworthy)"
        };
        let _ = writeln!(out, " {:.0} %{flag} |", row.load_cpu_pct);
    }
    let notes: Vec<String> = results
        .rows_of(scenario)
        .flat_map(|r| {
            r.notes
                .iter()
                .map(move |n| format!("- {} / {}: {n}", r.server, r.point))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", notes.join("\n"));
    }
    out
}

/// Every scenario's table and the targets, in Markdown.
pub(crate) fn tables(results: &Results) -> String {
    let mut out = String::new();
    for scenario in results.scenarios() {
        let _ = writeln!(out, "### {scenario}\n");
        let _ = writeln!(out, "{}", scenario_table(results, scenario));
    }
    if !results.targets.is_empty() {
        let _ = writeln!(out, "### targets (issue 6)\n");
        let _ = writeln!(out, "| target | measured | met |");
        let _ = writeln!(out, "|---|---|:-:|");
        for check in &results.targets {
            let met = match check.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "n/a",
            };
            let _ = writeln!(out, "| {} | {} | {met} |", check.target, check.measured);
        }
        let _ = writeln!(out);
        let floor = crate::targets::floor(results);
        if !floor.is_empty() {
            let _ = writeln!(
                out,
                "The floor (a raw broadcaster: one `write` per delivery, no Socket.IO \
                 library, no queues; `apps/bench/src/floor.rs`), against the targets:\n"
            );
            for line in floor {
                let _ = writeln!(out, "- {line}");
            }
            let _ = writeln!(out);
        }
    }
    out
}

/// Writes `results-<time>.json` and `latest.json` under `dir`.
pub(crate) fn write_json(results: &Results, dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(results)?;
    let stamp: String = results
        .started
        .chars()
        .map(|c| if c == ':' { '-' } else { c })
        .collect();
    let file = dir.join(format!("results-{stamp}.json"));
    std::fs::write(&file, &json)?;
    std::fs::write(dir.join("latest.json"), &json)?;
    Ok(file)
}

pub(crate) fn read_json(file: &Path) -> Result<Results, Error> {
    Ok(serde_json::from_str(&std::fs::read_to_string(file)?)?)
}

const COMMANDS: &str = "\
```text
cargo run --release -p switchboard-bench -- all                      # every scenario, all three servers and the floor
cargo run --release -p switchboard-bench -- fanout --servers switchboard,socketioxide
cargo run --release -p switchboard-bench -- all --write-benchmarks-md  # and rewrite this file
```
";

/// `BENCHMARKS.md`: how the numbers were made, and the latest table.
pub(crate) fn benchmarks_md(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "switchboard's chat server (`switchboard-chat --database memory --recovery-window 0`: \
         the peers keep no connection-state-recovery store, so neither does it here) against \
         the same chat event contract on Node's socket.io 4.8.1 (`apps/bench/peers/node`) and on \
         socketioxide 0.18 (`apps/bench/peers/socketioxide`), measured by `apps/bench` in one \
         run on one machine. Each server starts fresh for each scenario, pinned to CPU 0; the \
         load generator (the `switchboard-client` crate, one thread) runs on CPU 1. A point \
         where the load generator used more than 70 % of its core is marked *not \
         trustworthy*: there the load, not the server, may have been the limit. What each \
         scenario does is described in `docs/ARCHITECTURE.md` (switchboard-bench).\n\n\
         `floor`, in the fanout table, is not a server: it is a raw broadcaster \
         (`apps/bench/src/floor.rs`) that speaks just enough Socket.IO for the same load \
         generator and writes each message to every connection with one `write` each, with no \
         queue. It measures the machine: the kernel's cost of one loopback TCP write per \
         delivery and the time to write and read every client, which no server that sends each \
         delivery as it arrives can beat. The machine's speed drifts between runs, so compare \
         rows within one run.\n"
    );
    let _ = writeln!(out, "Run it:\n\n{COMMANDS}");
    let _ = writeln!(
        out,
        "Results go to `target/bench/` (`latest.json`, `results-<time>.json`, one SVG chart \
         per scenario, server logs).\n"
    );
    let _ = writeln!(
        out,
        "## Latest run\n\n- started: {}\n- command: `{}`\n- machine: {}\n- pinned: {}\n",
        results.started,
        results.command,
        results.machine,
        if results.pinned {
            "servers on CPU 0, load on CPU 1"
        } else {
            "no (taskset missing or one core)"
        }
    );
    let busy = results
        .rows
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.starts_with("machine busy")))
        .count();
    if busy > 0 {
        let _ = writeln!(
            out,
            "**Caution:** {busy} of {} rows were measured while other processes used more \
             than 10 % of the pinned cores (see the notes under each table). Those numbers \
             measure a shared machine, not the servers; rerun on a quiet one.\n",
            results.rows.len()
        );
    }
    out.push_str(&tables(results));
    out
}
