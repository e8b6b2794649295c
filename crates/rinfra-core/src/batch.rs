//! Consecutive operations in one exec.
//!
//! Run one by one, every operation that changes something costs a host a round trip, and an
//! upload several. Over a WAN that is most of a run. So consecutive operations that only change
//! paths of their own host ([`Operation::touched_paths`]: `files.*`, `server.etc_hosts`, ...)
//! run on each host as one command, each operation's commands in subshells as
//! [`join_shell_commands`](crate::execute) does for one, stopping at the first failure, with
//! small uploads written by the command itself ([`Connector::upload_command`]).
//!
//! Nothing a user can see changes:
//!
//! * pyinfra's ordering: such operations neither read nor change anything but their own
//!   host's files, so no host can tell whether another host's operation ran before or after.
//!   The run still waits for every host at the end of the batch, and operations that may look
//!   elsewhere (`server.shell`, ...) are batches of their own; deploy code and `_if` run
//!   alone, as before.
//! * The facts the next operations will ask for, made stale by a batch, load in the batch's
//!   own command after its operations succeeded (recorded as `prefetch.rs` does), not in a
//!   round trip of their own.
//! * Commands come from facts as fresh as when operations run one by one: an operation is
//!   generated from the cache while earlier ones wait to run, and the facts a waiting
//!   operation may change are dropped when it is queued; one that needs such a fact runs the
//!   queue first and loads the facts again.
//! * Results are reported operation by operation once the batch is done, in the same order
//!   and with the same output; a failure names its operation, its command and its output.
//!
//! Runs that `-vv`/`-vvv` echo commands or output for, or that may stop between operations
//! (`--fail-percent`, the prompt after failures), run one operation at a time.

use std::sync::{Arc, Mutex};

use rinfra_connectors::{CommandOutput, ConnectorArguments, StringCommand};

use crate::context::OpContext;
use crate::events::HostOpStatus;
use crate::execute::{joinable, push_stopping_at_failure, run_outcome};
use crate::fact_batch::FactBatch;
use crate::operation::{OpCommand, OpOutcome};
use crate::plan::{HostPlan, Plan, PlannedOp};
use crate::prefetch::{for_escalation, Recorder, Request};
use crate::state::State;

/// Marks, on stderr, where an operation's commands start in a batch.
const OP_MARKER: &str = "@@RINFRA-BATCH-OP";
/// Marks, on stderr, which command of an operation failed.
const FAIL_MARKER: &str = "@@RINFRA-BATCH-FAILED";

/// Whether this run may batch operations at all.
pub(crate) fn enabled(state: &State) -> bool {
    let c = &state.config;
    !c.print_input
        && !c.print_output
        && c.fail_percent.is_none()
        && !state.events.may_ask_after_failures()
}

/// Whether `op` may run in a batch with its neighbours: it changes only paths of its own host.
pub(crate) fn eligible(op: &PlannedOp) -> bool {
    one_command(op)
        && op
            .hosts
            .iter()
            .all(|hp| hp.operation(op).touched_paths(&hp.call.args).is_some())
}

/// Whether `op` may run through a batch, alone if not with its neighbours: its commands, then
/// the facts the next operations need, in one command. Its own generator and commands decide
/// everything (no deploy code, conditions, retries), and its arguments let commands be joined.
pub(crate) fn one_command(op: &PlannedOp) -> bool {
    !op.serial
        && op.parallel.is_none()
        && op.hosts.iter().all(|hp| {
            let g = &hp.globals;
            hp.call.callback.is_none()
                && hp.call.operation.is_none()
                && hp.call.conditions.is_empty()
                && hp.call.retry_until.is_none()
                && g.retries == 0
                && !g.ignore_errors
                && !g.run_once
                && joinable(&g.connector)
        })
}

/// One operation's result on a host, reported once the batch is done.
pub(crate) struct Done {
    /// The operation's index in the plan.
    pub(crate) op: usize,
    pub(crate) status: HostOpStatus,
    /// The failed command's output.
    pub(crate) output: Option<CommandOutput>,
    /// Why nothing needed doing (`-v`).
    pub(crate) noop: Option<String>,
}

/// An operation waiting to run in the batch's command.
struct Queued {
    op: usize,
    commands: Vec<StringCommand>,
}

/// Run operations `ops` of `plan` on host `i`, as few commands as their facts allow. Stops at
/// the first failure (the host is then out of the run).
pub(crate) async fn run_host(
    state: &Arc<State>,
    plan: &Plan,
    ops: std::ops::Range<usize>,
    i: usize,
) -> Vec<Done> {
    let mut done = Vec::new();
    let mut queue: Vec<Queued> = Vec::new();
    let mut queue_args: Option<ConnectorArguments> = None;
    let mut changed = false;
    for o in ops.clone() {
        let op = &plan.ops[o];
        let Some(hp) = op.host_plans(i).first() else {
            continue;
        };
        let args = &hp.globals.connector;
        // Operations in one command share its escalation and environment.
        if queue_args.as_ref().is_some_and(|q| q != args) {
            if !flush(state, plan, i, &mut queue, &mut done, &[]).await {
                return done;
            }
            changed = true;
        }
        let cached = if queue.is_empty() {
            None
        } else {
            generate_cached(state, i, hp, op).await
        };
        let outcome = match cached {
            Some(outcome) => outcome,
            None => {
                if !queue.is_empty() {
                    // What the queued operations made stale loads in their own command, after
                    // them; what depends on those values, in batches after that.
                    let after = crate::prefetch::record(state, plan, i, o).await;
                    if !flush(state, plan, i, &mut queue, &mut done, &after).await {
                        return done;
                    }
                    crate::prefetch::prefetch_host(state, plan, i, o).await;
                }
                let ctx = OpContext {
                    state,
                    index: i,
                    args,
                    location: &hp.call.location,
                };
                hp.operation(op)
                    .generate(&hp.call.args, &ctx)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        let outcome: OpOutcome = match outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                if !flush(state, plan, i, &mut queue, &mut done, &[]).await {
                    return done;
                }
                done.push(Done {
                    op: o,
                    status: HostOpStatus::Error {
                        commands: 0,
                        ignored: false,
                        message,
                    },
                    output: None,
                    noop: None,
                });
                return done;
            }
        };
        if outcome.commands.is_empty() {
            queue.push(Queued {
                op: o,
                commands: Vec::new(),
            });
            done.push(Done {
                op: o,
                status: HostOpStatus::NoChange,
                output: None,
                noop: outcome.noop,
            });
            continue;
        }
        match as_shell_commands(state, i, args, &outcome.commands) {
            Some(commands) => {
                queue.push(Queued { op: o, commands });
                queue_args = Some(args.clone());
                // What it changes must not be read from the cache by the operations after it.
                state.hosts[i].invalidate_facts_touching(
                    hp.operation(op).touched_paths(&hp.call.args).as_deref(),
                    hp.operation(op).changes_below_touched_paths(&hp.call.args),
                );
            }
            None => {
                // A transfer of its own (a large file, an escalated upload): run it alone.
                if !flush(state, plan, i, &mut queue, &mut done, &[]).await {
                    return done;
                }
                let ran = run_outcome(state, i, hp, op, &outcome.commands, 0).await;
                let failed = matches!(ran.status, HostOpStatus::Error { .. });
                changed = true;
                done.push(Done {
                    op: o,
                    status: ran.status,
                    output: ran.output,
                    noop: None,
                });
                if failed {
                    return done;
                }
            }
        }
    }
    let ran_queue = queue.iter().any(|q| !q.commands.is_empty());
    let after = if ran_queue {
        crate::prefetch::record(state, plan, i, ops.end).await
    } else {
        Vec::new()
    };
    if !flush(state, plan, i, &mut queue, &mut done, &after).await {
        return done;
    }
    if (changed || ran_queue) && state.is_active(i) {
        crate::prefetch::prefetch_host(state, plan, i, ops.end).await;
    }
    done
}

/// Generate `op` for host `i` from cached facts only: `None` when it asked for one that is not
/// cached (it may depend on what queued operations change).
async fn generate_cached(
    state: &State,
    i: usize,
    hp: &HostPlan,
    op: &PlannedOp,
) -> Option<Result<OpOutcome, String>> {
    let asked = Mutex::new(Vec::new());
    let recorder = Recorder::cache_only(
        OpContext {
            state,
            index: i,
            args: &hp.globals.connector,
            location: &hp.call.location,
        },
        &asked,
    );
    let result = hp.operation(op).generate(&hp.call.args, &recorder).await;
    if !asked.into_inner().expect("not poisoned").is_empty() {
        return None;
    }
    Some(result.map_err(|e| e.to_string()))
}

/// The operation's commands as plain shell commands (uploads written by a command), or `None`
/// when one needs more than a command.
fn as_shell_commands(
    state: &State,
    i: usize,
    args: &ConnectorArguments,
    commands: &[OpCommand],
) -> Option<Vec<StringCommand>> {
    let connector = &state.hosts[i].connector;
    commands
        .iter()
        .map(|c| match c {
            OpCommand::Shell { command, overrides } if overrides.is_empty() => {
                Some(command.clone())
            }
            // (`remote_temp` stages escalated uploads, which connectors do not inline.)
            OpCommand::Upload { src, dest, .. } => {
                let data = src.read().ok()?;
                connector.upload_command(&data, dest, args)
            }
            _ => None,
        })
        .collect()
}

/// Run the queued operations as one command and turn its outcome into each one's result.
/// The facts of `after` that run with the queue's escalation load in the same command, once
/// the operations succeeded. False when one failed (the host is then out of the run).
async fn flush(
    state: &Arc<State>,
    plan: &Plan,
    i: usize,
    queue: &mut Vec<Queued>,
    done: &mut Vec<Done>,
    after: &[Request],
) -> bool {
    let queued = std::mem::take(queue);
    let with_commands: Vec<&Queued> = queued.iter().filter(|q| !q.commands.is_empty()).collect();
    let Some(first) = with_commands.first() else {
        return true;
    };
    let hp = &plan.ops[first.op].host_plans(i)[0];
    let args = &hp.globals.connector;
    let host = &state.hosts[i];
    let facts = for_escalation(after, args);
    let facts = FactBatch::new(host, &facts, args);
    let mut command = match (&with_commands[..], &facts) {
        // One command alone runs as itself, as it would outside a batch.
        ([only], None) if only.commands.len() == 1 => only.commands[0].clone(),
        _ => batch_command(&with_commands),
    };
    if let Some(facts) = &facts {
        let bits: Vec<rinfra_connectors::Bit> = vec![command.into(), facts.script().into()];
        command = StringCommand::new(bits);
    }
    let start = std::time::Instant::now();
    let result = host
        .connector
        .run_shell_command(&command, false, false, args)
        .await;
    host.timings.since(crate::timings::Phase::Execute, start);
    let failure = match result {
        Ok((true, out)) => {
            if let Some(facts) = &facts {
                let loaded =
                    |fact: &str, args: &str| state.events.fact_loaded(&host.name, fact, args);
                facts.store(host, &out, &loaded);
            }
            None
        }
        Ok((false, out)) => {
            let code = out.exit_code.map_or("none".into(), |c| c.to_string());
            Some((format!("command failed (exit code {code})"), Some(out)))
        }
        Err(e) => Some((e.to_string(), None)),
    };
    let Some((message, out)) = failure else {
        for q in &with_commands {
            done.push(Done {
                op: q.op,
                status: HostOpStatus::Success {
                    commands: q.commands.len(),
                    retry: 0,
                },
                output: None,
                noop: None,
            });
        }
        return true;
    };
    // Which operation failed, how many of its commands ran, and its own output.
    let (failed, ran, output) = split_failure(out, with_commands.len());
    for (k, q) in with_commands.iter().enumerate() {
        let status = match k.cmp(&failed) {
            std::cmp::Ordering::Less => HostOpStatus::Success {
                commands: q.commands.len(),
                retry: 0,
            },
            std::cmp::Ordering::Equal => HostOpStatus::Error {
                commands: ran + 1,
                ignored: false,
                message: message.clone(),
            },
            std::cmp::Ordering::Greater => break,
        };
        let output = (k == failed).then(|| output.clone()).flatten();
        done.push(Done {
            op: q.op,
            status,
            output,
            noop: None,
        });
    }
    // Operations queued with nothing to do after the failed one did not run either.
    let failed_op = with_commands[failed].op;
    done.retain(|d| d.op <= failed_op);
    false
}

/// One command running each queued operation's commands in turn, each in its own subshell,
/// exiting at the first failure with markers saying where.
fn batch_command(queued: &[&Queued]) -> StringCommand {
    let mut bits: Vec<rinfra_connectors::Bit> = Vec::new();
    for (k, q) in queued.iter().enumerate() {
        bits.push(format!("echo '{OP_MARKER} {k}' >&2;").into());
        for (j, c) in q.commands.iter().enumerate() {
            push_stopping_at_failure(&mut bits, c, FAIL_MARKER, j);
        }
    }
    StringCommand::new(bits)
}

/// For a failed batch: the index of the operation that failed (among those with commands), how
/// many of its commands succeeded, and its own output (the lines after its marker, markers
/// removed). Without output (the connection broke) the first operation is blamed.
fn split_failure(out: Option<CommandOutput>, ops: usize) -> (usize, usize, Option<CommandOutput>) {
    let Some(out) = out else {
        return (0, 0, None);
    };
    let mut failed = 0;
    let mut ran = 0;
    let mut lines = Vec::new();
    for l in out.combined_lines {
        if let Some(k) = l.line.strip_prefix(OP_MARKER) {
            failed = k.trim().parse().unwrap_or(0);
            lines.clear();
        } else if let Some(j) = l.line.strip_prefix(FAIL_MARKER) {
            ran = j.trim().parse().unwrap_or(0);
        } else {
            lines.push(l);
        }
    }
    let output = CommandOutput {
        combined_lines: lines,
        exit_code: out.exit_code,
    };
    (failed.min(ops.saturating_sub(1)), ran, Some(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_connectors::{OutputLine, Stream};

    fn line(stream: Stream, text: &str) -> OutputLine {
        OutputLine {
            stream,
            line: text.into(),
        }
    }

    #[test]
    fn a_failure_is_blamed_on_its_operation_with_its_own_output() {
        let out = CommandOutput {
            combined_lines: vec![
                line(Stream::Stderr, &format!("{OP_MARKER} 0")),
                line(Stream::Stdout, "first op's output"),
                line(Stream::Stderr, &format!("{OP_MARKER} 1")),
                line(Stream::Stdout, "second op ran one command"),
                line(Stream::Stderr, "mkdir: cannot create directory"),
                line(Stream::Stderr, &format!("{FAIL_MARKER} 1")),
            ],
            exit_code: Some(1),
        };
        let (failed, ran, output) = split_failure(Some(out), 3);
        assert_eq!((failed, ran), (1, 1));
        let lines: Vec<String> = output
            .unwrap()
            .combined_lines
            .into_iter()
            .map(|l| l.line)
            .collect();
        assert_eq!(
            lines,
            [
                "second op ran one command",
                "mkdir: cannot create directory"
            ]
        );
    }

    #[test]
    fn a_lost_connection_blames_the_first_operation() {
        assert_eq!(split_failure(None, 2).0, 0);
    }

    #[test]
    fn the_batch_stops_at_the_first_failure_and_says_where() {
        let q = |cmds: &[&str]| Queued {
            op: 0,
            commands: cmds.iter().map(|c| StringCommand::from(*c)).collect(),
        };
        let (a, b) = (q(&["echo a", "true"]), q(&["echo b; false", "echo never"]));
        let cmd = batch_command(&[&a, &b]).get_raw_value();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err,
            format!("{OP_MARKER} 0\n{OP_MARKER} 1\n{FAIL_MARKER} 0\n")
        );
        assert_eq!(out.status.code(), Some(1));
    }
}
