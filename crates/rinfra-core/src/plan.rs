//! The prepare phase: per-host calls → one ordered plan, with change detection.
//!
//! Nothing here changes a host: operations only read facts.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use crate::arguments::GlobalArguments;
use crate::call::OpCall;
use crate::context::OpContext;
use crate::operation::{validate_op_args, Operation};
use crate::order::{merge_order, OpId, OrderError};
use crate::pyrepr::py_str;
use crate::state::State;

/// One host's part in a planned operation.
#[derive(Clone)]
pub struct HostPlan {
    /// The host's index in the state.
    pub host: usize,
    /// The index of the call in the host's call list (for `_if` references).
    pub call_index: usize,
    /// The call.
    pub call: OpCall,
    /// Its resolved global arguments.
    pub globals: GlobalArguments,
    /// Whether the prepare phase saw a change (`None`: not checked, with `-y`).
    pub will_change: Option<bool>,
}

/// One operation of the plan, across the hosts that run it.
#[derive(Clone)]
pub struct PlannedOp {
    /// Identity (ordering key).
    pub id: OpId,
    /// The operation, `files.put`.
    pub op: Arc<dyn Operation>,
    /// The label shown to the operator: `name=`, or `module.op (args...)`, with deploy prefixes.
    pub name: String,
    /// The hosts, in inventory order.
    pub hosts: Vec<HostPlan>,
    /// `_serial`.
    pub serial: bool,
    /// `_parallel`.
    pub parallel: Option<usize>,
}

impl HostPlan {
    /// The operation this host runs: the call's own ([`OpCall::operation`]), else the planned
    /// operation's.
    pub fn operation<'a>(&'a self, planned: &'a PlannedOp) -> &'a Arc<dyn Operation> {
        self.call.operation.as_ref().unwrap_or(&planned.op)
    }
}

impl PlannedOp {
    /// Host `host`'s part of this operation (empty when it does not run it). `hosts` is in
    /// inventory order, so this is a binary search, not a scan: with 1,000 hosts, scanning
    /// every operation's hosts for each host made loading facts ahead quadratic.
    pub fn host_plans(&self, host: usize) -> &[HostPlan] {
        let start = self.hosts.partition_point(|h| h.host < host);
        let len = self.hosts[start..].partition_point(|h| h.host == host);
        &self.hosts[start..start + len]
    }

    /// Hosts that will change, and hosts whose change depends on an `_if`.
    pub fn change_counts(&self) -> (usize, usize) {
        let mut change = 0;
        let mut conditional = 0;
        for h in &self.hosts {
            if h.will_change == Some(true) {
                if h.call.conditions.is_empty() {
                    change += 1;
                } else {
                    conditional += 1;
                }
            }
        }
        (change, conditional)
    }
}

/// The ordered plan of a run.
#[derive(Clone, Default)]
pub struct Plan {
    /// Operations in execution order.
    pub ops: Vec<PlannedOp>,
}

/// The plan as `--json` shows it.
#[derive(Serialize)]
pub struct PlanJson {
    /// Operations in order.
    pub plan: Vec<PlanOpJson>,
}

/// One planned operation in `--json`.
#[derive(Serialize)]
pub struct PlanOpJson {
    /// A stable id (the ordering key joined by dots).
    pub op_hash: String,
    /// The label.
    pub name: String,
    /// The operation, `module.name`.
    pub operation: String,
    /// The arguments, per distinct value, as in pyinfra (`key=value`).
    pub args: Vec<String>,
    /// Hosts that will change.
    pub hosts_with_change: Vec<String>,
    /// Hosts whose change depends on an `_if`.
    pub hosts_with_conditional_change: Vec<String>,
    /// Hosts that run it.
    pub hosts: Vec<String>,
}

impl Plan {
    /// The plan as JSON data.
    pub fn to_json(&self, state: &State) -> PlanJson {
        PlanJson {
            plan: self
                .ops
                .iter()
                .map(|op| {
                    let names = |pred: &dyn Fn(&HostPlan) -> bool| {
                        op.hosts
                            .iter()
                            .filter(|h| pred(h))
                            .map(|h| state.hosts[h.host].name.clone())
                            .collect()
                    };
                    PlanOpJson {
                        op_hash: op
                            .id
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join("."),
                        name: op.name.clone(),
                        operation: op.op.name().to_string(),
                        args: op_args_display(op),
                        hosts_with_change: names(&|h| {
                            h.will_change == Some(true) && h.call.conditions.is_empty()
                        }),
                        hosts_with_conditional_change: names(&|h| {
                            h.will_change == Some(true) && !h.call.conditions.is_empty()
                        }),
                        hosts: names(&|_| true),
                    }
                })
                .collect(),
        }
    }
}

/// Why a plan could not be built. Nothing has run on any host.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A call names an operation that does not exist.
    #[error("{location}: unknown operation `{op}`")]
    UnknownOperation {
        /// The operation name.
        op: String,
        /// Where it was called.
        location: String,
    },
    /// Bad arguments (checked before any host runs anything).
    #[error("{location}: {message}")]
    InvalidCall {
        /// What is wrong.
        message: String,
        /// Where.
        location: String,
    },
    /// The operation order has a cycle.
    #[error(transparent)]
    Order(#[from] OrderError),
}

fn op_args_display(op: &PlannedOp) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for h in &op.hosts {
        for (k, v) in &h.call.args {
            let s = format!("{k}={}", py_str(&crate::shown_argument(k, v)));
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    }
    out
}

/// Build the plan from each host's calls (`calls[i]` belongs to host `i`; failed hosts' lists
/// are ignored): resolve operations and global arguments, merge the order, apply `_run_once`.
pub fn build_plan(state: &State, calls: Vec<Vec<OpCall>>) -> Result<Plan, PlanError> {
    let active: Vec<usize> = state.active_hosts();
    let keys: Vec<Vec<Vec<u64>>> = active
        .iter()
        .map(|i| calls[*i].iter().map(|c| c.order.clone()).collect())
        .collect();
    let order = merge_order(&keys, |id| {
        active
            .iter()
            .enumerate()
            .find_map(|(h, i)| {
                let pos = &keys[h].iter().position(|k| id.starts_with(k))?;
                Some(calls[*i][*pos].location.clone())
            })
            .unwrap_or_else(|| format!("{id:?}"))
    })?;

    let mut ops: Vec<PlannedOp> = Vec::with_capacity(order.ops.len());
    let index: std::collections::HashMap<&OpId, usize> = order
        .ops
        .iter()
        .enumerate()
        .map(|(n, id)| (id, n))
        .collect();
    let mut slots: Vec<Vec<HostPlan>> = vec![Vec::new(); order.ops.len()];

    for (h, &i) in active.iter().enumerate() {
        for (call_index, (call, id)) in calls[i].iter().zip(&order.host_ids[h]).enumerate() {
            let globals = GlobalArguments::for_host(
                &[&call.global_args, &call.deploy_args],
                &state.hosts[i].data,
                &state.config.global_defaults,
                &call.config_args,
            )
            .map_err(|e| PlanError::InvalidCall {
                message: e.to_string(),
                location: call.location.clone(),
            })?;
            slots[index[id]].push(HostPlan {
                host: i,
                call_index,
                call: call.clone(),
                globals,
                will_change: None,
            });
        }
    }

    for (n, mut hosts) in slots.into_iter().enumerate() {
        let first = &hosts[0];
        let op = first
            .call
            .operation
            .clone()
            .or_else(|| state.ops.get(&first.call.op).cloned())
            .ok_or_else(|| PlanError::UnknownOperation {
                op: first.call.op.clone(),
                location: first.call.location.clone(),
            })?;
        for h in &hosts {
            let own = h.call.operation.as_ref().unwrap_or(&op);
            validate_op_args(own.as_ref(), &h.call.args).map_err(|e| PlanError::InvalidCall {
                message: e.to_string(),
                location: h.call.location.clone(),
            })?;
            let g = &h.globals;
            let f = &first.globals;
            for (name, same) in [
                ("_serial", g.serial == f.serial),
                ("_run_once", g.run_once == f.run_once),
                ("_parallel", g.parallel == f.parallel),
            ] {
                if !same {
                    return Err(PlanError::InvalidCall {
                        message: format!(
                            "cannot have different values for `{name}` on different hosts"
                        ),
                        location: h.call.location.clone(),
                    });
                }
            }
        }
        let base = first
            .globals
            .name
            .clone()
            .unwrap_or_else(|| first.call.op.clone());
        let mut name = first
            .call
            .deploy_names
            .iter()
            .fold(String::new(), |acc, d| acc + d + " | ")
            + &base;
        let (serial, parallel, run_once) = (
            first.globals.serial,
            first.globals.parallel,
            first.globals.run_once,
        );
        if run_once {
            hosts.truncate(1);
        }
        let mut planned = PlannedOp {
            id: order.ops[n].clone(),
            op,
            name: String::new(),
            hosts,
            serial,
            parallel,
        };
        if first_is_unnamed(&planned) {
            let args = op_args_display(&planned);
            if !args.is_empty() {
                name = format!("{name} ({})", args.join(", "));
            }
        }
        planned.name = name;
        ops.push(planned);
    }
    Ok(Plan { ops })
}

fn first_is_unnamed(op: &PlannedOp) -> bool {
    op.hosts.first().is_some_and(|h| h.globals.name.is_none())
}

/// Detect changes: run every operation's generator once per host against current facts.
///
/// Hosts whose operation fails here (a fact that cannot load, a bad argument value) are out of
/// the run, with the reason reported. With `-y` this does nothing (pyinfra skips detection).
pub async fn detect_changes(state: &Arc<State>, plan: &mut Plan) {
    if state.config.skip_change_detection {
        return;
    }
    let mut per_host: Vec<Vec<(usize, usize)>> = vec![Vec::new(); state.hosts.len()];
    for (o, op) in plan.ops.iter().enumerate() {
        for (h, hp) in op.hosts.iter().enumerate() {
            per_host[hp.host].push((o, h));
        }
    }
    let shared = Arc::new(plan.clone());
    let limit = Arc::new(tokio::sync::Semaphore::new(state.parallel()));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, items) in per_host.into_iter().enumerate() {
        if items.is_empty() || !state.is_active(i) {
            continue;
        }
        let (state, plan, limit) = (Arc::clone(state), Arc::clone(&shared), Arc::clone(&limit));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            crate::prefetch::prefetch_host(&state, &plan, i, 0).await;
            let mut results = Vec::with_capacity(items.len());
            for (o, h) in items {
                let op = &plan.ops[o];
                let hp = &op.hosts[h];
                let ctx = OpContext {
                    state: &state,
                    index: i,
                    args: &hp.globals.connector,
                    location: &hp.call.location,
                };
                match hp.operation(op).generate(&hp.call.args, &ctx).await {
                    Ok(outcome) => {
                        if let Some(reason) =
                            outcome.noop.as_deref().filter(|_| !outcome.will_change())
                        {
                            state.events.noop(&state.hosts[i].name, reason);
                        }
                        for d in &outcome.diffs {
                            state.events.diff(&state.hosts[i].name, d);
                        }
                        results.push((o, h, outcome.will_change()));
                    }
                    Err(e) if hp.globals.ignore_errors => {
                        state.events.host_prepare_error(
                            &state.hosts[i].name,
                            &op.name,
                            &format!("{e} (ignored)"),
                        );
                        results.push((o, h, false));
                    }
                    Err(e) => {
                        let message = format!("{}: {e}", hp.call.location);
                        state
                            .events
                            .host_prepare_error(&state.hosts[i].name, &op.name, &message);
                        state.fail_host(i, message);
                        break;
                    }
                }
            }
            results
        });
    }
    while let Some(done) = tasks.join_next().await {
        for (o, h, change) in done.unwrap_or_default() {
            plan.ops[o].hosts[h].will_change = Some(change);
        }
    }
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.ops.iter().map(|o| &o.name))
            .finish()
    }
}
