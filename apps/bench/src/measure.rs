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

/// CPU use of the server and of the load generator over one measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuWindow {
    server_pid: u32,
    started: Instant,
    server: f64,
    load: f64,
}

/// What a [`CpuWindow`] saw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuUse {
    pub(crate) wall: f64,
    /// Server CPU seconds.
    pub(crate) server: f64,
    /// The load generator's share of its core, 0..1.
    pub(crate) load_share: f64,
}

impl CpuWindow {
    pub(crate) fn start(server_pid: u32) -> CpuWindow {
        CpuWindow {
            server_pid,
            started: Instant::now(),
            server: cpu_seconds(&server_pid.to_string()),
            load: cpu_seconds("self"),
        }
    }

    pub(crate) fn stop(&self) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        CpuUse {
            wall,
            server: cpu_seconds(&self.server_pid.to_string()) - self.server,
            load_share: (cpu_seconds("self") - self.load) / wall,
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
