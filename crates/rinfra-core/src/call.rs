//! `OpCall`: one operation call recorded while evaluating a deploy file for one host.
//!
//! The deploy language layer produces, per host, the ordered list of calls; the engine merges
//! the lists of all hosts into one operation order (pyinfra's `get_op_order`) and runs them.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::operation::{Callback, OpArgs};

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
#[derive(Clone, Debug, PartialEq, Eq)]
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
        }
    }
}
