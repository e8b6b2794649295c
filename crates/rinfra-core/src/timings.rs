//! Where a host's time goes: connecting, gathering facts, executing operations; and how many
//! round trips its connection made. Shown by `-v` and `--json`, so that "why is this slow"
//! has an answer per host.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// A phase of a host's run.
#[derive(Clone, Copy, Debug)]
pub enum Phase {
    /// Opening the connection.
    Connect,
    /// Running fact commands (deploy code's `host.get_fact`, loading ahead).
    Facts,
    /// Running operations' commands and transfers.
    Execute,
}

/// Time spent per [`Phase`], in nanoseconds (summed over concurrent work on the host).
#[derive(Debug, Default)]
pub struct HostTimings {
    connect: AtomicU64,
    facts: AtomicU64,
    execute: AtomicU64,
}

impl HostTimings {
    fn slot(&self, phase: Phase) -> &AtomicU64 {
        match phase {
            Phase::Connect => &self.connect,
            Phase::Facts => &self.facts,
            Phase::Execute => &self.execute,
        }
    }

    /// Count `d` against `phase`.
    pub fn add(&self, phase: Phase, d: Duration) {
        self.slot(phase)
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Count the time since `start` against `phase`.
    pub fn since(&self, phase: Phase, start: Instant) {
        self.add(phase, start.elapsed());
    }

    /// Seconds spent in `phase`.
    pub fn seconds(&self, phase: Phase) -> f64 {
        self.slot(phase).load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// One host's figures in `--json` (`results.hosts`).
#[derive(Debug, Serialize)]
pub struct HostStatsJson {
    /// The host.
    pub name: String,
    /// Round trips of its connection (`null` when the connector does not count them).
    pub round_trips: Option<u64>,
    /// Seconds connecting.
    pub connect_s: f64,
    /// Seconds running fact commands.
    pub facts_s: f64,
    /// Seconds running operations.
    pub execute_s: f64,
}
