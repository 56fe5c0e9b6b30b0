//! switchboard-bench: the switchboard chat against Node's socket.io 4.8 and
//! socketioxide 0.18, the same chat contract, measured the same way in one
//! run on one machine.
//!
//! ```text
//! cargo run --release -p switchboard-bench -- all
//! cargo run --release -p switchboard-bench -- fanout --servers switchboard,socketioxide
//! cargo run --release -p switchboard-bench -- all --write-benchmarks-md
//! ```
//!
//! Each server starts fresh for each scenario, pinned to CPU 0 with
//! `taskset`; this process, the load, pins itself to CPU 1 and runs every
//! client on one thread. Results: a table on stdout, `target/bench/latest.json`
//! (and a timestamped copy), an SVG chart per scenario, and with
//! `--write-benchmarks-md` the repository's `BENCHMARKS.md`.

mod floor;
mod latency;
mod load;
mod measure;
mod report;
mod scenario;
mod server;
mod svg;
mod targets;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use indicatif::MultiProgress;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::report::{Results, Row};
use crate::scenario::{Ctx, Sizes};
use crate::server::Kind;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Memory per idle WebSocket connection, connections per second.
    Idle,
    /// Broadcast latency at a fixed load, then the highest sustained load.
    Fanout,
    /// Closed-loop acknowledged messages: round trips per second, p50/p99.
    Ack,
    /// The fixed fanout load with a quarter of the clients on long-polling.
    Polling,
    /// Messages stored and delivered per second, SQLite and memory.
    History,
    /// Every scenario above.
    All,
    /// Every scenario with tiny counts, switchboard only: a few seconds.
    Smoke,
}

const EVERY: [Scenario; 5] = [
    Scenario::Idle,
    Scenario::Fanout,
    Scenario::Ack,
    Scenario::Polling,
    Scenario::History,
];

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Fanout => "fanout",
            Scenario::Ack => "ack",
            Scenario::Polling => "polling",
            Scenario::History => "history",
            Scenario::All => "all",
            Scenario::Smoke => "smoke",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-bench",
    about = "switchboard against Node socket.io and socketioxide"
)]
struct Args {
    scenario: Scenario,
    /// Servers to compare (smoke: switchboard only unless given). `floor`
    /// is the least any server can do, for the fanout scenario only.
    #[arg(long, value_delimiter = ',')]
    servers: Vec<Kind>,
    /// Rewrite BENCHMARKS.md at the repository root with this run.
    #[arg(long)]
    write_benchmarks_md: bool,
    /// Where results, charts and logs go (default: target/bench).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Make the table, charts and BENCHMARKS.md from a results file instead
    /// of running anything.
    #[arg(long, value_name = "JSON")]
    from: Option<PathBuf>,
    /// Do not pin the servers and the load to CPUs 0 and 1.
    #[arg(long)]
    no_pin: bool,
    /// Only these fanout client counts (for profiling one point).
    #[arg(long, value_delimiter = ',', hide = true)]
    fanout_clients: Vec<usize>,
    /// Steps of the sustained-load search (0: fixed load only).
    #[arg(long, hide = true)]
    search_steps: Option<usize>,
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(floor::SUBCOMMAND) {
        return match floor::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("floor-server: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Error> {
    if let Some(file) = &args.from {
        let results = report::read_json(file)?;
        return finish(&args, &results, None);
    }
    let smoke = args.scenario == Scenario::Smoke;
    let kinds: BTreeSet<Kind> = if args.servers.is_empty() {
        if smoke {
            BTreeSet::from([Kind::Switchboard])
        } else {
            BTreeSet::from([
                Kind::Switchboard,
                Kind::Node,
                Kind::Socketioxide,
                Kind::Floor,
            ])
        }
    } else {
        args.servers.iter().copied().collect()
    };
    let scenarios: Vec<Scenario> = match args.scenario {
        Scenario::All | Scenario::Smoke => EVERY.to_vec(),
        one => vec![one],
    };
    let fds = measure::raise_fd_limit();
    eprintln!("preparing {kinds:?} (building what is out of date)...");
    let mut paths = server::prepare(&kinds)?;
    if let Some(out) = &args.out {
        paths.out.clone_from(out);
        std::fs::create_dir_all(out.join("logs"))?;
    }
    // Pinned after building, so the builds had both cores; before the
    // runtime starts, so its thread runs on CPU 1 too.
    let pin = !args.no_pin && measure::can_pin() && measure::pin_self_to_cpu1();
    if !pin {
        eprintln!("not pinned: servers and load share the CPUs");
    }
    let ctx = Ctx {
        paths,
        pin,
        sizes: {
            let mut sizes = if smoke { Sizes::smoke() } else { Sizes::full() };
            if !args.fanout_clients.is_empty() {
                sizes.fanout_clients = args.fanout_clients.clone();
            }
            if let Some(steps) = args.search_steps {
                sizes.search_steps = steps;
            }
            sizes
        },
        progress: MultiProgress::new(),
    };
    let needed = ctx.sizes.idle_steps.iter().max().copied().unwrap_or(0) + 100;
    if (fds as usize) < needed {
        return Err(format!(
            "{needed} file descriptors needed per process, the limit is {fds} (ulimit -Hn)"
        )
        .into());
    }
    let started = OffsetDateTime::now_utc().format(&Rfc3339)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(async {
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                server::kill_all();
                eprintln!("interrupted: servers stopped");
                std::process::exit(130);
            }
        });
        let mut rows: Vec<Row> = Vec::new();
        for &scenario in &scenarios {
            for &kind in &kinds {
                // The floor only speaks enough for the fanout scenario.
                if kind == Kind::Floor && scenario != Scenario::Fanout {
                    continue;
                }
                let done = match scenario {
                    Scenario::Idle => scenario::idle(&ctx, kind).await,
                    Scenario::Fanout => scenario::fanout(&ctx, kind).await,
                    Scenario::Ack => scenario::ack(&ctx, kind).await,
                    Scenario::Polling => scenario::polling(&ctx, kind).await,
                    Scenario::History => scenario::history(&ctx, kind).await,
                    Scenario::All | Scenario::Smoke => Ok(Vec::new()),
                };
                match done {
                    Ok(done) => rows.extend(done),
                    Err(error) => rows.push(
                        Row::new(scenario.name(), kind.name(), "-")
                            .note(format!("failed: {error}")),
                    ),
                }
            }
            let partial = Results {
                started: String::new(),
                command: String::new(),
                machine: String::new(),
                pinned: pin,
                rows: rows.clone(),
                targets: Vec::new(),
            };
            let table = format!(
                "### {}\n\n{}",
                scenario.name(),
                report::scenario_table(&partial, scenario.name())
            );
            if ctx.progress.is_hidden() {
                eprintln!("{table}");
            } else {
                let _ = ctx.progress.println(table);
            }
        }
        rows
    });
    // Ends the client connections left before the runtime goes.
    drop(runtime);
    let mut results = Results {
        started,
        command: command_line(),
        machine: machine(),
        pinned: pin,
        rows,
        targets: Vec::new(),
    };
    results.targets = targets::check(&results);
    finish(&args, &results, Some(&ctx.paths.out))
}

/// Prints the tables and writes the JSON, the charts and BENCHMARKS.md.
fn finish(args: &Args, results: &Results, out: Option<&PathBuf>) -> Result<(), Error> {
    let out = match (out, &args.out) {
        (Some(out), _) => out.clone(),
        (None, Some(out)) => out.clone(),
        (None, None) => server::repo_root().join("target/bench"),
    };
    std::fs::create_dir_all(&out)?;
    if args.from.is_none() {
        let file = report::write_json(results, &out)?;
        eprintln!("results: {}", file.display());
    }
    for scenario in results.scenarios() {
        if let Some(svg) = svg::chart(results, scenario) {
            let file = out.join(format!("{scenario}.svg"));
            std::fs::write(&file, svg)?;
            eprintln!("chart: {}", file.display());
        }
    }
    print_tables(results);
    if args.write_benchmarks_md {
        let file = server::repo_root().join("BENCHMARKS.md");
        std::fs::write(&file, report::benchmarks_md(results))?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the table is the program's output")]
fn print_tables(results: &Results) {
    println!("{}", report::tables(results));
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!(
        "cargo run --release -p switchboard-bench -- {}",
        args.join(" ")
    )
}

/// CPU model and count, from /proc/cpuinfo.
fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    // Not available_parallelism: this process is pinned to one CPU by now.
    let cores = info.lines().filter(|l| l.starts_with("processor")).count();
    format!("{model}, {cores} CPUs, Linux")
}
