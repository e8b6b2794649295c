//! What the engine tells its front end while it runs (the CLI prints it).

use rinfra_connectors::CommandOutput;

use crate::operation::FileDiff;

/// The outcome of one operation on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostOpStatus {
    /// Commands ran and succeeded.
    Success {
        /// How many commands ran.
        commands: usize,
        /// The attempt that succeeded (0 = first).
        retry: u32,
    },
    /// Nothing to do.
    NoChange,
    /// Skipped: an `_if` condition was false, or `_run_once` ran elsewhere.
    Skipped,
    /// Failed; with `ignored` the host stays in the run.
    Error {
        /// How many commands ran (including the failing one).
        commands: usize,
        /// Whether `_ignore_errors` applies.
        ignored: bool,
        /// Why.
        message: String,
    },
}

/// Receives progress from the engine. Every method has a no-op default.
pub trait Events: Send + Sync {
    /// A host connected.
    fn host_connected(&self, _host: &str) {}
    /// A host could not connect; it is out of the run.
    fn host_connect_error(&self, _host: &str, _message: &str) {}
    /// A fact was loaded (`-v`).
    fn fact_loaded(&self, _host: &str, _fact: &str, _args: &str) {}
    /// An operation decided nothing needs doing (`-v`).
    fn noop(&self, _host: &str, _reason: &str) {}
    /// A file will change (`--diff`).
    fn diff(&self, _host: &str, _diff: &FileDiff) {}
    /// The prepare phase failed for a host (it is out of the run).
    fn host_prepare_error(&self, _host: &str, _op: &str, _message: &str) {}
    /// An operation starts executing.
    fn op_start(&self, _op: &str) {}
    /// An operation finished on a host. `output` is the failed command's output, if any.
    fn host_op_done(
        &self,
        _host: &str,
        _op: &str,
        _status: &HostOpStatus,
        _output: Option<&CommandOutput>,
    ) {
    }
    /// Progress of the execute phase: `done` of `total` host-operations finished.
    fn progress(&self, _done: usize, _total: usize) {}
    /// Hosts failed during the execute phase (`failed`, newly since the last ask): whether to
    /// go on with the others (pyinfra's prompt without `-y`). `None` (the default): not asked,
    /// `--fail-percent` decides. Called between operations, off the async workers.
    fn continue_after_failures(&self, _failed: &[String]) -> Option<bool> {
        None
    }
    /// Whether [`continue_after_failures`](Events::continue_after_failures) may ask the
    /// operator (then operations run one at a time, so the question comes right after the
    /// operation that failed).
    fn may_ask_after_failures(&self) -> bool {
        false
    }
}

/// Events that go nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl Events for NoEvents {}
