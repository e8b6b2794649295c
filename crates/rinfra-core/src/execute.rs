//! The execute phase: operation by operation across hosts (or host by host with `--serial`,
//! or each host on its own with `--no-wait`), regenerating each operation's commands from fresh
//! facts right before running them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rinfra_connectors::{CommandOutput, GetFile, PutFile};
use serde::Serialize;

use crate::arguments::apply_overrides;
use crate::call::{Condition, EarlierOps};
use crate::context::{ExecContext, OpContext};
use crate::events::HostOpStatus;
use crate::operation::OpCommand;
use crate::plan::{HostPlan, Plan, PlannedOp};
use crate::state::State;

/// Why the run stopped before the end.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RunStop {
    /// Every host failed.
    #[error("No hosts remaining!")]
    NoHostsRemaining,
    /// More hosts failed than `--fail-percent` allows.
    #[error("Over {0}% of hosts failed")]
    FailPercent(f64),
    /// Hosts failed and the operator chose not to go on.
    #[error("Stopped: hosts failed and the run was not continued")]
    NotContinued,
}

/// What happened: per operation, per host.
#[derive(Debug, Default)]
pub struct Results {
    /// `(operation label, [(host index, status)])` in execution order.
    pub ops: Vec<(String, Vec<(usize, HostOpStatus)>)>,
    /// Set when the run stopped early.
    pub stopped: Option<RunStop>,
}

/// Results as `--json` shows them.
#[derive(Serialize)]
pub struct ResultsJson {
    /// Per operation.
    pub operations: Vec<OpResultJson>,
    /// Counts over every operation and host.
    pub totals: TotalsJson,
    /// `[host, reason]` for hosts out of the run.
    pub failed_hosts: Vec<(String, String)>,
    /// Per host: round trips and where the time went.
    pub hosts: Vec<crate::timings::HostStatsJson>,
}

/// One operation's results in `--json`.
#[derive(Serialize)]
pub struct OpResultJson {
    /// The label.
    pub name: String,
    /// Hosts that ran it.
    pub hosts: usize,
    /// Hosts where it changed something and succeeded.
    pub success: Vec<String>,
    /// Hosts where it failed.
    pub error: Vec<String>,
    /// Hosts where nothing needed doing (or an `_if` was false).
    pub no_change: Vec<String>,
}

/// Totals in `--json`.
#[derive(Serialize, Default)]
pub struct TotalsJson {
    /// Host-operations that changed something.
    pub success: usize,
    /// Host-operations that failed.
    pub error: usize,
    /// Host-operations with nothing to do.
    pub no_change: usize,
}

impl Results {
    /// The results as JSON data.
    pub fn to_json(&self, state: &State) -> ResultsJson {
        let mut totals = TotalsJson::default();
        let operations = self
            .ops
            .iter()
            .map(|(name, hosts)| {
                let mut r = OpResultJson {
                    name: name.clone(),
                    hosts: hosts.len(),
                    success: vec![],
                    error: vec![],
                    no_change: vec![],
                };
                for (i, s) in hosts {
                    let n = state.hosts[*i].name.clone();
                    match s {
                        HostOpStatus::Success { .. } => (r.success.push(n), totals.success += 1),
                        HostOpStatus::Error { .. } => (r.error.push(n), totals.error += 1),
                        HostOpStatus::NoChange | HostOpStatus::Skipped => {
                            (r.no_change.push(n), totals.no_change += 1)
                        }
                    };
                }
                r
            })
            .collect();
        ResultsJson {
            operations,
            totals,
            failed_hosts: state.failed_hosts(),
            hosts: state.host_stats(),
        }
    }
}

type Statuses = Arc<Mutex<HashMap<(usize, usize), HostOpStatus>>>;
/// Per planned operation, the statuses of the hosts that ran it.
type Collected = Arc<Mutex<Vec<Vec<(usize, HostOpStatus)>>>>;

/// The statuses of host `host`'s operations that already ran.
fn earlier_ops(host: usize, statuses: &Statuses) -> EarlierOps {
    let s = statuses.lock().expect("not poisoned");
    EarlierOps::new(
        s.iter()
            .filter(|((h, _), _)| *h == host)
            .map(|((_, call_index), status)| (*call_index, status.clone())),
    )
}

/// Whether all `_if` conditions of an operation hold on host `i`; callables (deploy code) are
/// called in order, after the others, and only while the others hold. `Err` is a callable's
/// error.
async fn conditions_hold(
    state: &Arc<State>,
    i: usize,
    hp: &HostPlan,
    statuses: &Statuses,
) -> Result<bool, String> {
    if hp.call.conditions.is_empty() {
        // The common case, and `earlier_ops` looks at every host's statuses.
        return Ok(true);
    }
    let earlier = earlier_ops(i, statuses);
    let (callables, plain): (Vec<&Condition>, Vec<&Condition>) = hp
        .call
        .conditions
        .iter()
        .partition(|c| matches!(c, Condition::Callable(_)));
    if !plain.iter().all(|c| earlier.check(c)) {
        return Ok(false);
    }
    for c in callables {
        if let Condition::Callable(cb) = c {
            let ctx = ExecContext {
                state,
                index: i,
                args: &hp.globals.connector,
            };
            if !cb.check(&ctx, earlier.clone()).await? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Marks, on stderr, which of several joined commands failed (see [`join_shell_commands`]).
const JOIN_FAIL_MARKER: &str = "@@RINFRA-JOINED-FAILED";

/// Whether an operation's arguments let its commands run joined with others in one command:
/// none gives each command its own stdin, timeout, success codes, pty or no shell.
pub(crate) fn joinable(args: &rinfra_connectors::ConnectorArguments) -> bool {
    args.stdin.is_none()
        && args.timeout.is_none()
        && args.success_exit_codes.is_none()
        && !args.get_pty
        && args.shell_executable.is_some()
}

/// Append `command` in its own subshell (`:;` keeps it valid when it is only a comment); on
/// failure the joined command prints `marker index` on stderr and exits with its code.
pub(crate) fn push_stopping_at_failure(
    bits: &mut Vec<rinfra_connectors::Bit>,
    command: &rinfra_connectors::StringCommand,
    marker: &str,
    index: usize,
) {
    bits.push("( :;".into());
    bits.push(command.clone().into());
    bits.push(
        format!("\n) || {{ rinfra_rc=$?; echo '{marker} {index}' >&2; exit $rinfra_rc; }};").into(),
    );
}

/// Join an operation's consecutive shell commands into one command, each in its own subshell
/// (so a `cd` or variable does not leak into the next, as with pyinfra's one `sh -c` each),
/// stopping at the first failure, which reports its index. One round trip instead of one per
/// command. Commands with per-command overrides, and operations whose arguments give each
/// command its own stdin, timeout, success codes, pty or no shell, are left as they are.
/// Returns each command to run with how many operation commands it stands for.
fn join_shell_commands(
    commands: &[OpCommand],
    args: &rinfra_connectors::ConnectorArguments,
) -> Vec<(OpCommand, usize)> {
    let joinable_args = joinable(args);
    let mut out: Vec<(OpCommand, usize)> = Vec::new();
    let mut run: Vec<&rinfra_connectors::StringCommand> = Vec::new();
    let flush = |run: &mut Vec<&rinfra_connectors::StringCommand>,
                 out: &mut Vec<(OpCommand, usize)>| {
        match run.len() {
            0 => {}
            1 => out.push((OpCommand::shell(run[0].clone()), 1)),
            n => {
                let mut bits: Vec<rinfra_connectors::Bit> = Vec::new();
                for (k, c) in run.iter().enumerate() {
                    push_stopping_at_failure(&mut bits, c, JOIN_FAIL_MARKER, k);
                }
                out.push((
                    OpCommand::shell(rinfra_connectors::StringCommand::new(bits)),
                    n,
                ));
            }
        }
        run.clear();
    };
    for c in commands {
        match c {
            OpCommand::Shell { command, overrides } if joinable_args && overrides.is_empty() => {
                run.push(command)
            }
            other => {
                flush(&mut run, &mut out);
                out.push((other.clone(), 1));
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// For a failed joined command: how many of its commands succeeded before the failing one, and
/// the output without the marker line.
fn split_join_failure(out: Option<CommandOutput>) -> (usize, Option<CommandOutput>) {
    let Some(mut out) = out else { return (0, None) };
    let mut done = 0;
    out.combined_lines
        .retain(|l| match l.line.strip_prefix(JOIN_FAIL_MARKER) {
            Some(k) => {
                done = k.trim().parse().unwrap_or(0);
                false
            }
            None => true,
        });
    (done, Some(out))
}

/// Run one command; `Err` carries the reason and the failed command's output.
async fn run_command(
    state: &Arc<State>,
    i: usize,
    hp: &HostPlan,
    command: &OpCommand,
) -> Result<Option<CommandOutput>, (String, Option<CommandOutput>)> {
    let start = std::time::Instant::now();
    let result = run_command_untimed(state, i, hp, command).await;
    state.hosts[i]
        .timings
        .since(crate::timings::Phase::Execute, start);
    result
}

async fn run_command_untimed(
    state: &Arc<State>,
    i: usize,
    hp: &HostPlan,
    command: &OpCommand,
) -> Result<Option<CommandOutput>, (String, Option<CommandOutput>)> {
    let host = &state.hosts[i];
    let cfg = &state.config;
    let args = &hp.globals.connector;
    match command {
        OpCommand::Shell { command, overrides } => {
            let args = apply_overrides(args, overrides).map_err(|e| (e.to_string(), None))?;
            match host
                .connector
                .run_shell_command(command, cfg.print_output, cfg.print_input, &args)
                .await
            {
                Ok((true, out)) => Ok(Some(out)),
                Ok((false, out)) => {
                    let code = out.exit_code.map_or("none".into(), |c| c.to_string());
                    Err((format!("command failed (exit code {code})"), Some(out)))
                }
                Err(e) => Err((e.to_string(), None)),
            }
        }
        OpCommand::Upload {
            src,
            dest,
            remote_temp,
        } => host
            .connector
            .put_file(PutFile {
                remote_temp: remote_temp.as_deref(),
                print_output: cfg.print_output,
                print_input: cfg.print_input,
                ..PutFile::new(src, dest, args)
            })
            .await
            .map_err(|e| (e.to_string(), None))
            .and_then(|ok| {
                if ok {
                    Ok(None)
                } else {
                    Err((format!("upload to {dest} failed"), None))
                }
            }),
        OpCommand::Download { src, dest } => host
            .connector
            .get_file(GetFile {
                print_output: cfg.print_output,
                print_input: cfg.print_input,
                ..GetFile::new(src, dest, args)
            })
            .await
            .map_err(|e| (e.to_string(), None))
            .and_then(|ok| {
                if ok {
                    Ok(None)
                } else {
                    Err((format!("download of {src} failed"), None))
                }
            }),
        OpCommand::Callback(cb) => {
            let ctx = ExecContext {
                state,
                index: i,
                args,
            };
            cb.call(&ctx).await.map(|()| None).map_err(|e| (e, None))
        }
    }
}

/// What running an operation's commands on a host gave.
pub(crate) struct Ran {
    pub(crate) status: HostOpStatus,
    /// The failed command's output.
    pub(crate) output: Option<CommandOutput>,
    /// Commands that ran (the failed one included).
    pub(crate) executed: usize,
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: Vec<String>,
}

/// Run an operation's generated commands on host `i`, stopping at the first failure (unless
/// `_ignore_errors` with `_continue_on_error`), then drop the facts they made stale.
pub(crate) async fn run_outcome(
    state: &Arc<State>,
    i: usize,
    hp: &HostPlan,
    op: &PlannedOp,
    commands: &[OpCommand],
    attempt: u32,
) -> Ran {
    let host = &state.hosts[i];
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut ran = 0;
    let mut failure = None;
    let keep_going = hp.globals.ignore_errors && hp.globals.continue_on_error;
    let commands = if keep_going {
        commands.iter().map(|c| (c.clone(), 1)).collect()
    } else {
        join_shell_commands(commands, &hp.globals.connector)
    };
    for (command, count) in &commands {
        match run_command(state, i, hp, command).await {
            Ok(out) => {
                ran += count;
                if let Some(out) = out {
                    stdout.extend(out.stdout_lines().into_iter().map(str::to_string));
                    stderr.extend(out.stderr_lines().into_iter().map(str::to_string));
                }
            }
            Err((message, out)) => {
                let (done, out) = split_join_failure(out);
                ran += done + 1;
                failure = Some((message, out));
                if !keep_going {
                    break;
                }
            }
        }
    }
    // The host may have changed, even partly: facts must be loaded again.
    host.invalidate_facts_touching(
        hp.operation(op).touched_paths(&hp.call.args).as_deref(),
        hp.operation(op).changes_below_touched_paths(&hp.call.args),
    );
    let (status, output) = match failure {
        None => (
            HostOpStatus::Success {
                commands: ran,
                retry: attempt,
            },
            None,
        ),
        Some((message, out)) => (
            HostOpStatus::Error {
                commands: ran,
                ignored: hp.globals.ignore_errors,
                message,
            },
            out,
        ),
    };
    Ran {
        status,
        output,
        executed: ran,
        stdout,
        stderr,
    }
}

/// Run one operation on one host: conditions, generate from fresh facts, commands, retries.
async fn run_host_op(
    state: &Arc<State>,
    op: &PlannedOp,
    hp: &HostPlan,
    statuses: &Statuses,
) -> HostOpStatus {
    let i = hp.host;
    let host = &state.hosts[i];
    let error = |message: String| HostOpStatus::Error {
        commands: 0,
        ignored: hp.globals.ignore_errors,
        message,
    };
    let (status, output) = match conditions_hold(state, i, hp, statuses).await {
        Err(e) => (error(e), None),
        Ok(false) => (HostOpStatus::Skipped, None),
        Ok(true) => {
            let mut attempt = 0;
            loop {
                let ctx = OpContext {
                    state,
                    index: i,
                    args: &hp.globals.connector,
                    location: &hp.call.location,
                };
                // What `_retry_until` is given about this attempt.
                let mut attempt_commands = Vec::new();
                let mut stdout_lines: Vec<String> = Vec::new();
                let mut stderr_lines: Vec<String> = Vec::new();
                let mut executed = 0;
                let (status, output) = match hp.operation(op).generate(&hp.call.args, &ctx).await {
                    Err(e) => (error(e.to_string()), None),
                    Ok(outcome) if outcome.commands.is_empty() => {
                        if let Some(reason) = &outcome.noop {
                            state.events.noop(&host.name, reason);
                        }
                        (HostOpStatus::NoChange, None)
                    }
                    Ok(outcome) => {
                        attempt_commands =
                            outcome.commands.iter().map(OpCommand::describe).collect();
                        let ran = run_outcome(state, i, hp, op, &outcome.commands, attempt).await;
                        executed = ran.executed;
                        stdout_lines = ran.stdout;
                        stderr_lines = ran.stderr;
                        (ran.status, ran.output)
                    }
                };
                if attempt >= hp.globals.retries {
                    break (status, output);
                }
                let retry = match (&status, &hp.call.retry_until) {
                    (HostOpStatus::Error { .. }, _) => true,
                    (_, Some(until)) => {
                        // pyinfra's `output_data` of `_run_host_op`.
                        let data = serde_json::json!({
                            "stdout_lines": stdout_lines,
                            "stderr_lines": stderr_lines,
                            "commands": attempt_commands,
                            "executed_commands": executed,
                            "host": host.name,
                            "operation": op.name,
                        });
                        let exec = ExecContext {
                            state,
                            index: i,
                            args: &hp.globals.connector,
                        };
                        match until.retry(&exec, earlier_ops(i, statuses), data).await {
                            Ok(r) => r,
                            Err(message) => {
                                let status = HostOpStatus::Error {
                                    commands: executed,
                                    ignored: hp.globals.ignore_errors,
                                    message,
                                };
                                break (status, None);
                            }
                        }
                    }
                    _ => false,
                };
                if !retry {
                    break (status, output);
                }
                attempt += 1;
                tokio::time::sleep(hp.globals.retry_delay).await;
            }
        }
    };
    record_status(state, op, hp, statuses, &status, output.as_ref());
    status
}

/// Report the `status` of `op` on a host: to the events, to the statuses later `_if`
/// callables read, and by failing the host for an error that is not ignored.
fn record_status(
    state: &State,
    op: &PlannedOp,
    hp: &HostPlan,
    statuses: &Statuses,
    status: &HostOpStatus,
    output: Option<&CommandOutput>,
) {
    let i = hp.host;
    state
        .events
        .host_op_done(&state.hosts[i].name, &op.name, status, output);
    statuses
        .lock()
        .expect("not poisoned")
        .insert((i, hp.call_index), status.clone());
    if let HostOpStatus::Error {
        ignored: false,
        message,
        ..
    } = status
    {
        state.fail_host(i, format!("{}: {message}", op.name));
    }
}

/// Why a host's task ended in a panic: a bug in rinfra (or a crate it uses), not in the
/// deploy. The host fails with this and the others go on.
fn panic_message(e: tokio::task::JoinError) -> String {
    let what = if e.is_panic() {
        panic_text(&*e.into_panic()).to_string()
    } else {
        e.to_string()
    };
    format!("internal error (a bug in rinfra, please report it): {what}")
}

/// The message a panic was raised with (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Hosts already asked about (pyinfra's prompt), and whether the operator answers at all (then
/// the operator decides, not `--fail-percent`: pyinfra sets FAIL_PERCENT to 0 when it asks).
struct Asked {
    hosts: std::collections::HashSet<usize>,
    operator_decides: bool,
}

/// Whether the run stops here: no host left, the operator's answer about hosts that failed
/// since the last check (when `ask`: there is more to run), or `--fail-percent`.
async fn check_stop(state: &State, asked: &mut Asked, ask: bool) -> Option<RunStop> {
    let active = state.active_hosts().len();
    if active == 0 {
        return Some(RunStop::NoHostsRemaining);
    }
    let new: Vec<usize> = (0..state.hosts.len())
        .filter(|i| !state.is_active(*i) && !asked.hosts.contains(i))
        .collect();
    if ask && !new.is_empty() {
        asked.hosts.extend(new.iter().copied());
        let names: Vec<String> = new.iter().map(|i| state.hosts[*i].name.clone()).collect();
        let events = Arc::clone(&state.events);
        let answer = tokio::task::spawn_blocking(move || events.continue_after_failures(&names))
            .await
            .ok()
            .flatten();
        match answer {
            Some(false) => return Some(RunStop::NotContinued),
            Some(true) => asked.operator_decides = true,
            None => {}
        }
    }
    if asked.operator_decides {
        return None;
    }
    if let Some(pct) = state.config.fail_percent {
        let failed = state.hosts.len() - active;
        if failed as f64 * 100.0 / state.hosts.len() as f64 > pct {
            return Some(RunStop::FailPercent(pct));
        }
    }
    None
}

/// After operation `o` changed host `i`, load ahead again, in batches, what the change made
/// stale for the host's later operations (see `prefetch.rs`).
async fn reload_after_change(
    state: &State,
    plan: &Plan,
    i: usize,
    o: usize,
    status: &HostOpStatus,
) {
    if matches!(status, HostOpStatus::Success { commands, .. } if *commands > 0)
        && state.is_active(i)
    {
        crate::prefetch::prefetch_host(state, plan, i, o + 1).await;
    }
}

/// Load every active host's facts ahead, in batches, in parallel (see `prefetch.rs`).
async fn prefetch_all(state: &Arc<State>, plan: &Arc<Plan>) {
    let limit = Arc::new(tokio::sync::Semaphore::new(state.parallel()));
    let mut tasks = tokio::task::JoinSet::new();
    for i in state.active_hosts() {
        let (state, plan, limit) = (Arc::clone(state), Arc::clone(plan), Arc::clone(&limit));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            crate::prefetch::prefetch_host(&state, &plan, i, 0).await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Run operations `ops` (see `batch.rs`) on every active host that runs any of them, in
/// parallel; their results per operation, in order, each host's in inventory order.
async fn run_batch(
    state: &Arc<State>,
    plan: &Arc<Plan>,
    ops: std::ops::Range<usize>,
) -> Vec<(usize, Vec<(usize, crate::batch::Done)>)> {
    let hosts: Vec<usize> = state
        .active_hosts()
        .into_iter()
        .filter(|i| ops.clone().any(|o| !plan.ops[o].host_plans(*i).is_empty()))
        .collect();
    let limit = Arc::new(tokio::sync::Semaphore::new(state.parallel()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut task_host = HashMap::new();
    for i in hosts {
        let (state, plan, limit, ops) = (
            Arc::clone(state),
            Arc::clone(plan),
            Arc::clone(&limit),
            ops.clone(),
        );
        let task = tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            (i, crate::batch::run_host(&state, &plan, ops, i).await)
        });
        task_host.insert(task.id(), i);
    }
    let mut by_op: Vec<(usize, Vec<(usize, crate::batch::Done)>)> =
        ops.clone().map(|o| (o, Vec::new())).collect();
    while let Some(r) = tasks.join_next_with_id().await {
        let (i, done) = match r {
            Ok((_, r)) => r,
            Err(e) => {
                // Blame the first operation the host runs here.
                let i = task_host[&e.id()];
                let Some(o) = ops.clone().find(|o| !plan.ops[*o].host_plans(i).is_empty()) else {
                    continue;
                };
                let d = crate::batch::Done {
                    op: o,
                    status: HostOpStatus::Error {
                        commands: 0,
                        ignored: false,
                        message: panic_message(e),
                    },
                    output: None,
                    noop: None,
                };
                (i, vec![d])
            }
        };
        for d in done {
            by_op[d.op - ops.start].1.push((i, d));
        }
    }
    for (_, hosts) in &mut by_op {
        hosts.sort_by_key(|(i, _)| *i);
    }
    by_op.retain(|(_, hosts)| !hosts.is_empty());
    by_op
}

/// Execute the plan.
pub async fn execute(state: &Arc<State>, plan: Arc<Plan>) -> Results {
    let statuses: Statuses = Arc::default();
    let total: usize = plan.ops.iter().map(|o| o.hosts.len()).sum();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut results = Results::default();
    let collected: Collected = Arc::new(Mutex::new(vec![Vec::new(); plan.ops.len()]));
    // Hosts already out (connect or prepare failures) are not asked about again.
    let mut asked = Asked {
        hosts: (0..state.hosts.len())
            .filter(|i| !state.is_active(*i))
            .collect(),
        operator_decides: false,
    };

    let bump = |done: &std::sync::atomic::AtomicUsize| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        state.events.progress(n, total);
    };

    if state.config.serial || state.config.no_wait {
        // Each host runs its own sequence: one at a time (--serial) or all at once (--no-wait).
        let parallel = if state.config.serial {
            1
        } else {
            state.parallel()
        };
        let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
        let mut tasks = tokio::task::JoinSet::new();
        let mut task_host = HashMap::new();
        for i in 0..state.hosts.len() {
            let (state, plan, statuses, limit, collected, done) = (
                Arc::clone(state),
                Arc::clone(&plan),
                Arc::clone(&statuses),
                Arc::clone(&limit),
                Arc::clone(&collected),
                Arc::clone(&done),
            );
            let task = tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("never closed");
                if state.is_active(i) {
                    crate::prefetch::prefetch_host(&state, &plan, i, 0).await;
                }
                for (o, op) in plan.ops.iter().enumerate() {
                    if !state.is_active(i) {
                        break;
                    }
                    let Some(hp) = op.host_plans(i).first() else {
                        continue;
                    };
                    let status = run_host_op(&state, op, hp, &statuses).await;
                    reload_after_change(&state, &plan, i, o, &status).await;
                    collected.lock().expect("not poisoned")[o].push((i, status));
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    state.events.progress(n, total);
                }
            });
            task_host.insert(task.id(), i);
        }
        while let Some(r) = tasks.join_next_with_id().await {
            if let Err(e) = r {
                let i = task_host[&e.id()];
                state.fail_host(i, panic_message(e));
            }
        }
        // Everything has run: nothing to ask about.
        results.stopped = check_stop(state, &mut asked, false).await;
    } else {
        prefetch_all(state, &plan).await;
        let batching = crate::batch::enabled(state);
        let mut next = 0;
        for (o, op) in plan.ops.iter().enumerate() {
            if o < next {
                continue;
            }
            next = o + 1;
            if batching && crate::batch::one_command(op) {
                // A run of operations that change only their own paths, or one alone.
                let end = if crate::batch::eligible(op) {
                    (o..plan.ops.len())
                        .find(|e| !crate::batch::eligible(&plan.ops[*e]))
                        .unwrap_or(plan.ops.len())
                } else {
                    o + 1
                };
                next = end;
                // Its first operation is announced before it runs, as when run alone (a long
                // command shows what it is waiting for); the others when their results are in.
                let announced = state
                    .active_hosts()
                    .into_iter()
                    .any(|i| !op.host_plans(i).is_empty());
                if announced {
                    state.events.op_start(&op.name);
                }
                for (b, hosts) in run_batch(state, &plan, o..end).await {
                    let op = &plan.ops[b];
                    if b != o || !announced {
                        state.events.op_start(&op.name);
                    }
                    for (i, d) in hosts {
                        let hp = &op.host_plans(i)[0];
                        if let Some(reason) = &d.noop {
                            state.events.noop(&state.hosts[i].name, reason);
                        }
                        record_status(state, op, hp, &statuses, &d.status, d.output.as_ref());
                        collected.lock().expect("not poisoned")[b].push((i, d.status));
                        bump(&done);
                    }
                }
                if let Some(stop) = check_stop(state, &mut asked, end < plan.ops.len()).await {
                    results.stopped = Some(stop);
                    break;
                }
                continue;
            }
            let hosts: Vec<usize> = (0..op.hosts.len())
                .filter(|h| state.is_active(op.hosts[*h].host))
                .collect();
            if hosts.is_empty() {
                continue;
            }
            state.events.op_start(&op.name);
            let parallel = if op.serial {
                1
            } else {
                op.parallel.unwrap_or_else(|| state.parallel())
            };
            let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
            let mut tasks = tokio::task::JoinSet::new();
            let mut task_host = HashMap::new();
            for h in hosts {
                let (state, plan, statuses, limit) = (
                    Arc::clone(state),
                    Arc::clone(&plan),
                    Arc::clone(&statuses),
                    Arc::clone(&limit),
                );
                let task = tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await.expect("never closed");
                    let op = &plan.ops[o];
                    let hp = &op.hosts[h];
                    let status = run_host_op(&state, op, hp, &statuses).await;
                    reload_after_change(&state, &plan, hp.host, o, &status).await;
                    (hp.host, status)
                });
                task_host.insert(task.id(), h);
            }
            while let Some(r) = tasks.join_next_with_id().await {
                let r = match r {
                    Ok((_, r)) => r,
                    Err(e) => {
                        let hp = &op.hosts[task_host[&e.id()]];
                        let status = HostOpStatus::Error {
                            commands: 0,
                            ignored: false,
                            message: panic_message(e),
                        };
                        record_status(state, op, hp, &statuses, &status, None);
                        (hp.host, status)
                    }
                };
                collected.lock().expect("not poisoned")[o].push(r);
                bump(&done);
            }
            if let Some(stop) = check_stop(state, &mut asked, o + 1 < plan.ops.len()).await {
                results.stopped = Some(stop);
                break;
            }
        }
    }

    let mut collected = std::mem::take(&mut *collected.lock().expect("not poisoned"));
    for (o, op) in plan.ops.iter().enumerate() {
        let mut hosts = std::mem::take(&mut collected[o]);
        if hosts.is_empty() {
            continue;
        }
        hosts.sort_by_key(|(i, _)| *i);
        results.ops.push((op.name.clone(), hosts));
    }
    results
}
