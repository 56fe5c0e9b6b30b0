//! The scenarios of issue 6, and what they share: sizes, progress bars,
//! starting a fresh server.

mod closed_loop;
mod fanout;
mod idle;

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

pub(crate) use closed_loop::{ack, history};
pub(crate) use fanout::{fanout, polling};
pub(crate) use idle::idle;

use crate::Error;
use crate::server::{Kind, Paths, Server, Store};

/// Counts and durations of a run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    /// Connection counts at which idle memory is read.
    pub(crate) idle_steps: Vec<usize>,
    /// Client counts of the fanout scenario.
    pub(crate) fanout_clients: Vec<usize>,
    /// The fixed load, in deliveries per second, whatever the client count.
    pub(crate) fixed_deliveries: f64,
    pub(crate) fixed_secs: f64,
    pub(crate) warmup_secs: f64,
    /// Steps of the sustained-load search, and each one's length.
    pub(crate) search_steps: usize,
    pub(crate) search_secs: f64,
    pub(crate) polling_clients: usize,
    pub(crate) loop_clients: usize,
    pub(crate) loop_secs: f64,
    /// How long deliveries may keep arriving after the last send.
    pub(crate) drain: Duration,
    /// Pause after opening connections, before memory is read.
    pub(crate) settle: Duration,
}

impl Sizes {
    pub(crate) fn full() -> Sizes {
        Sizes {
            idle_steps: vec![1_000, 10_000, 19_000],
            fanout_clients: vec![1_000, 10_000],
            fixed_deliveries: 100_000.0,
            fixed_secs: 10.0,
            warmup_secs: 2.0,
            search_steps: 7,
            search_secs: 4.0,
            polling_clients: 1_000,
            loop_clients: 50,
            loop_secs: 10.0,
            drain: Duration::from_secs(2),
            settle: Duration::from_secs(2),
        }
    }

    /// A few seconds in all: CI's check that every scenario still runs.
    pub(crate) fn smoke() -> Sizes {
        Sizes {
            idle_steps: vec![20, 50],
            fanout_clients: vec![20],
            fixed_deliveries: 2_000.0,
            fixed_secs: 0.5,
            warmup_secs: 0.2,
            search_steps: 2,
            search_secs: 0.5,
            polling_clients: 20,
            loop_clients: 4,
            loop_secs: 0.5,
            drain: Duration::from_millis(500),
            settle: Duration::from_millis(100),
        }
    }
}

/// What every scenario needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) paths: Paths,
    pub(crate) pin: bool,
    pub(crate) sizes: Sizes,
    pub(crate) progress: MultiProgress,
}

impl Ctx {
    pub(crate) fn start(&self, kind: Kind, store: Store, scenario: &str) -> Result<Server, Error> {
        Server::start(kind, store, &self.paths, self.pin, scenario)
    }

    /// A bar counting `len` things.
    pub(crate) fn bar(&self, len: u64, prefix: &str, message: &str) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix:>22.bold} {msg:<28} [{bar:30}] {pos}/{len} ({per_sec}, {elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = self.progress.add(ProgressBar::new(len));
        bar.set_style(style);
        bar.set_prefix(prefix.to_owned());
        bar.set_message(message.to_owned());
        bar
    }

    /// A bar over `secs` seconds of a timed phase, in milliseconds.
    pub(crate) fn timer(&self, secs: f64, prefix: &str, message: &str) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix:>22.bold} {msg:<28} [{bar:30}] {elapsed}/{duration}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = self.progress.add(ProgressBar::new((secs * 1_000.0) as u64));
        bar.set_style(style);
        bar.set_prefix(prefix.to_owned());
        bar.set_message(message.to_owned());
        bar
    }
}
