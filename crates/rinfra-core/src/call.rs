//! `OpCall`: one operation call recorded while evaluating a deploy file for one host.
//!
//! The deploy language layer produces, per host, the ordered list of calls; the engine merges
//! the lists of all hosts into one operation order (pyinfra's `get_op_order`) and runs them.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::events::HostOpStatus;
use crate::operation::{Callback, ExecHost, OpArgs, Operation};

/// What an `_if` condition tests about an earlier operation on the same host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionKind {
    /// `op.did_change` / `op.did_change()`.
    DidChange,
    /// `op.did_not_change`.
    DidNotChange,
    /// `op.did_succeed`.
    DidSucceed,
    /// `op.did_error`.
    DidError,
}

/// One `_if` condition, checked at execute time.
#[derive(Clone)]
pub enum Condition {
    /// A test on an earlier call of this host (its index in the host's call list).
    Op {
        /// Index of the earlier call in the same host's list.
        call_index: usize,
        /// What to test.
        kind: ConditionKind,
    },
    /// True when any of the inner conditions is (pyinfra's `any_changed`).
    Any(Vec<Condition>),
    /// True when all inner conditions are (pyinfra's `all_changed`).
    All(Vec<Condition>),
    /// A constant, e.g. `_if=False` or a condition decided at evaluation time.
    Constant(bool),
    /// Deploy code to call at execute time (`_if=lambda: a.did_change() and not b.did_error()`).
    Callable(Arc<dyn ConditionCallback>),
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Op { call_index, kind } => f
                .debug_struct("Op")
                .field("call_index", call_index)
                .field("kind", kind)
                .finish(),
            Condition::Any(c) => f.debug_tuple("Any").field(c).finish(),
            Condition::All(c) => f.debug_tuple("All").field(c).finish(),
            Condition::Constant(b) => f.debug_tuple("Constant").field(b).finish(),
            Condition::Callable(c) => f.debug_tuple("Callable").field(&c.describe()).finish(),
        }
    }
}

/// Callables are equal only to themselves.
impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Condition::Op { call_index, kind },
                Condition::Op {
                    call_index: i,
                    kind: k,
                },
            ) => call_index == i && kind == k,
            (Condition::Any(a), Condition::Any(b)) | (Condition::All(a), Condition::All(b)) => {
                a == b
            }
            (Condition::Constant(a), Condition::Constant(b)) => a == b,
            (Condition::Callable(a), Condition::Callable(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Condition {}

/// The statuses of the operations that already ran on one host, by call index: what
/// `op.did_change()` answers inside execute-time deploy code.
#[derive(Clone, Debug, Default)]
pub struct EarlierOps {
    statuses: HashMap<usize, HostOpStatus>,
}

impl EarlierOps {
    /// From `(call index, status)` pairs.
    pub fn new(statuses: impl IntoIterator<Item = (usize, HostOpStatus)>) -> Self {
        Self {
            statuses: statuses.into_iter().collect(),
        }
    }

    /// The status of call `call_index`, if it ran.
    pub fn status(&self, call_index: usize) -> Option<&HostOpStatus> {
        self.statuses.get(&call_index)
    }

    /// Whether `kind` holds for call `call_index` (false when it did not run).
    pub fn holds(&self, call_index: usize, kind: ConditionKind) -> bool {
        kind.holds(self.status(call_index))
    }

    /// Whether a condition holds; a [`Condition::Callable`] cannot be called from here and is
    /// false.
    pub fn check(&self, cond: &Condition) -> bool {
        match cond {
            Condition::Constant(b) => *b,
            Condition::Any(c) => c.iter().any(|c| self.check(c)),
            Condition::All(c) => c.iter().all(|c| self.check(c)),
            Condition::Op { call_index, kind } => self.holds(*call_index, *kind),
            Condition::Callable(_) => false,
        }
    }
}

impl ConditionKind {
    /// Whether this holds for an operation's status (`None`: it did not run).
    pub fn holds(self, status: Option<&HostOpStatus>) -> bool {
        match self {
            ConditionKind::DidChange => {
                matches!(status, Some(HostOpStatus::Success { commands, .. }) if *commands > 0)
            }
            ConditionKind::DidNotChange => matches!(status, Some(HostOpStatus::NoChange)),
            ConditionKind::DidSucceed => matches!(
                status,
                Some(HostOpStatus::Success { .. } | HostOpStatus::NoChange)
            ),
            ConditionKind::DidError => matches!(status, Some(HostOpStatus::Error { .. })),
        }
    }
}

/// An `_if` callable: deploy code the engine calls right before the operation runs on a host.
#[async_trait]
pub trait ConditionCallback: Send + Sync {
    /// Where it is (`deploy.py:12`), for messages.
    fn describe(&self) -> String;
    /// Whether the operation runs. `earlier` has the statuses of this host's operations that
    /// already ran. An `Err` (with the deploy file:line) fails the operation on this host.
    async fn check(&self, host: &dyn ExecHost, earlier: EarlierOps) -> Result<bool, String>;
}

/// A `_retry_until` callable: called after each successful attempt while `_retries` allow
/// another, with the attempt's output; `true` means run the operation again.
#[async_trait]
pub trait RetryUntil: Send + Sync {
    /// Where it is (`deploy.py:12`), for messages.
    fn describe(&self) -> String;
    /// `output` is pyinfra's dict: `stdout_lines`, `stderr_lines`, `commands` (strings),
    /// `executed_commands`, `host` (name) and `operation` (name). An `Err` (with the deploy
    /// file:line) fails the operation on this host.
    async fn retry(
        &self,
        host: &dyn ExecHost,
        earlier: EarlierOps,
        output: Value,
    ) -> Result<bool, String>;
}

/// One operation call on one host.
#[derive(Clone)]
pub struct OpCall {
    /// The operation, `module.name` (`files.put`).
    pub op: String,
    /// Its own arguments (no global arguments).
    pub args: OpArgs,
    /// Global arguments given on the call itself.
    pub global_args: Map<String, Value>,
    /// Global arguments from enclosing `@deploy(...)` calls and `host.arguments(...)`.
    pub deploy_args: Map<String, Value>,
    /// Global arguments from the config at the time of the call (`config.py`, `config.SUDO =
    /// True` in deploy code): the lowest layer, under host data.
    pub config_args: Map<String, Value>,
    /// Names of the enclosing `@deploy`s, outermost first (for the `deploy | op` label).
    pub deploy_names: Vec<String>,
    /// Ordering key: the file index, then the line of every call frame from the deploy file
    /// down to this call, with loop counters (pyinfra's `op_order`).
    pub order: Vec<u64>,
    /// Where the call is, `deploy.py:12`, for messages.
    pub location: String,
    /// `_if` conditions (all must hold).
    pub conditions: Vec<Condition>,
    /// For `python.call`: the function to run at execute time.
    pub callback: Option<Arc<dyn Callback>>,
    /// An operation of this call alone, used instead of the registry's `op` (an `@operation()`
    /// function written in the deploy's Python, bound to this host's arguments).
    pub operation: Option<Arc<dyn Operation>>,
    /// `_retry_until`: asked after a successful attempt whether to retry (up to `_retries`).
    pub retry_until: Option<Arc<dyn RetryUntil>>,
}

impl std::fmt::Debug for OpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpCall")
            .field("op", &self.op)
            .field("args", &self.args)
            .field("global_args", &self.global_args)
            .field("order", &self.order)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl OpCall {
    /// A call of `op` with `args` at `location`, ordered by `order`.
    pub fn new(
        op: impl Into<String>,
        args: OpArgs,
        order: Vec<u64>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            op: op.into(),
            args,
            global_args: Map::new(),
            deploy_args: Map::new(),
            config_args: Map::new(),
            deploy_names: Vec::new(),
            order,
            location: location.into(),
            conditions: Vec::new(),
            callback: None,
            operation: None,
            retry_until: None,
        }
    }
}
