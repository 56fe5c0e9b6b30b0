//! What the bench reads about processes: resident memory and CPU time from
//! `/proc`, and the machine setup (CPU pinning, the descriptor limit).
//!
//! Everything here is read from `/proc` or done through `taskset`, so the
//! bench needs no `unsafe` and no libc bindings of its own.

use std::process::{Command, Stdio};
use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`; 100
/// on every Linux the bench targets).
const CLOCK_TICKS: f64 = 100.0;

/// Over this share of its core, the load generator may have been the limit.
pub(crate) const LOAD_CPU_TRUSTED: f64 = 0.70;

/// Resident memory of a process, in bytes (`VmRSS`), 0 when it is gone.
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// User plus system CPU time of a process (`"self"` for this one), seconds,
/// all of its threads included.
pub(crate) fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name in parentheses may hold spaces; the fields after it
    // start with the state (field 3), so utime and stime (14 and 15) are the
    // 12th and 13th after the parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    (field(11).unwrap_or(0) + field(12).unwrap_or(0)) as f64 / CLOCK_TICKS
}

/// Over this share of CPU 0 or 1 used by other processes, the server and
/// the load were not alone on their cores.
pub(crate) const OTHERS_CPU_QUIET: f64 = 0.10;

/// Busy seconds (user, nice, system, irq, softirq) of CPUs 0 and 1: what
/// the server and the load used of them, plus whatever else ran there.
fn cores_busy() -> [f64; 2] {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut busy = [0.0; 2];
    for line in stat.lines() {
        for (core, name) in ["cpu0 ", "cpu1 "].into_iter().enumerate() {
            if let Some(times) = line.strip_prefix(name) {
                let fields: Vec<u64> = times
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq
                let ticks: u64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| fields.get(i)).sum();
                busy[core] = ticks as f64 / CLOCK_TICKS;
            }
        }
    }
    busy
}

/// CPU use of the server and of the load generator over one measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuWindow {
    server_pid: u32,
    started: Instant,
    server: f64,
    load: f64,
    cores: [f64; 2],
}

/// What a [`CpuWindow`] saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuUse {
    pub(crate) wall: f64,
    /// Server CPU seconds.
    pub(crate) server: f64,
    /// The load generator's share of its core, 0..1.
    pub(crate) load_share: f64,
    /// Share of CPU 0 and CPU 1 used by processes other than the server
    /// and the load (meaningful when pinned).
    pub(crate) others: [f64; 2],
}

impl CpuUse {
    /// A note when other processes used the measured cores.
    pub(crate) fn busy_note(&self) -> Option<String> {
        (self.others.iter().any(|&o| o > OTHERS_CPU_QUIET)).then(|| {
            format!(
                "machine busy: other processes used {:.0} % of CPU 0 and {:.0} % of CPU 1",
                100.0 * self.others[0],
                100.0 * self.others[1]
            )
        })
    }
}

impl CpuWindow {
    pub(crate) fn start(server_pid: u32) -> CpuWindow {
        CpuWindow {
            server_pid,
            started: Instant::now(),
            server: cpu_seconds(&server_pid.to_string()),
            load: cpu_seconds("self"),
            cores: cores_busy(),
        }
    }

    pub(crate) fn stop(&self) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        let server = cpu_seconds(&self.server_pid.to_string()) - self.server;
        let load = cpu_seconds("self") - self.load;
        let cores = cores_busy();
        CpuUse {
            wall,
            server,
            load_share: load / wall,
            others: [
                ((cores[0] - self.cores[0] - server) / wall).max(0.0),
                ((cores[1] - self.cores[1] - load) / wall).max(0.0),
            ],
        }
    }
}

/// Whether `taskset` can pin processes: it exists and there are two cores.
pub(crate) fn can_pin() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= 2
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Moves every thread of this process to CPU 1 (the servers go to CPU 0).
/// Called before the runtime starts, while the main thread is the only one.
pub(crate) fn pin_self_to_cpu1() -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Raises this process's open-file limit to its hard limit (the servers
/// inherit it); returns the new soft limit.
pub(crate) fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft),
    }
}
