//! The shared run flow: connect, plan, detect changes, confirm, execute, report, disconnect.

use std::sync::Arc;

use rinfra_core::{build_plan, detect_changes, execute, OpCall, State};

use crate::error::CliError;
use crate::output::{self, section};

/// How a run is presented.
pub(crate) struct RunMode {
    /// `exec`: no change detection, no confirmation (pyinfra's `can_diff=False`).
    pub(crate) exec: bool,
    pub(crate) dry: bool,
    pub(crate) yes: bool,
    pub(crate) json: bool,
    /// `--debug-operations`: print the operations once prepared.
    pub(crate) debug_operations: bool,
    /// `--debug-facts`/`--debug-operations`: prepare, then exit without executing.
    pub(crate) stop_before_execute: bool,
    /// `-v`: after the results, each host's round trips and time per phase.
    pub(crate) host_stats: bool,
}

/// Run `calls` (one list per host of `state`); returns the exit code.
pub(crate) async fn run_calls(
    state: &Arc<State>,
    calls: Vec<Vec<OpCall>>,
    mode: RunMode,
) -> Result<u8, CliError> {
    let mut plan = build_plan(state, calls)
        .map_err(|e| CliError::usage("cannot prepare the operations").caused_by(e))?;

    if !mode.exec && (!mode.yes || mode.dry) {
        detect_changes(state, &mut plan).await;
        // As pyinfra: with --json, stderr has no table (the plan is on stdout).
        if !mode.json {
            output::print_plan(state, &plan);
        }
    } else if !mode.exec && !mode.json {
        section("Skipping change detection");
    }
    if mode.stop_before_execute {
        // pyinfra's --debug-facts/--debug-operations: after preparing, print and exit.
        if mode.debug_operations {
            print_operations(state, &plan, mode.json);
        }
        return Ok(if state.failed_hosts().is_empty() {
            0
        } else {
            1
        });
    }

    // --dry stops here for `exec` too, as in pyinfra; so does --json without -y (pyinfra's
    // non-interactive JSON run: the proposed changes, nothing executed).
    if mode.dry || (mode.json && !mode.yes) {
        if mode.json {
            output::json_stdout(&serde_json::to_value(plan.to_json(state)).unwrap_or_default());
        }
        return Ok(if state.failed_hosts().is_empty() {
            0
        } else {
            1
        });
    }
    if !mode.exec && !mode.yes {
        output::line("    Detected changes displayed above, skip this step with -y");
        match crate::prompt::press_enter("    Press enter to execute...") {
            crate::prompt::Answer::Enter => {}
            crate::prompt::Answer::Other(v) => {
                // As pyinfra: anything but Enter stops, without executing.
                output::line(&format!("    Unexpected user input: {v}"));
                return Ok(if state.failed_hosts().is_empty() {
                    0
                } else {
                    1
                });
            }
            crate::prompt::Answer::NoTerminal => {
                return Err(CliError::usage("no terminal to confirm on").with_hint(
                    "pass `-y` to execute without confirming, or `--dry` to only see the changes",
                ));
            }
        }
    }

    section("Beginning operation run...");
    let plan = Arc::new(plan);
    let results = execute(state, Arc::clone(&plan)).await;
    output::finish_progress();
    if let Some(stop) = &results.stopped {
        output::error(&stop.to_string());
    }
    output::print_results(&results);
    if mode.host_stats {
        output::print_host_stats(&state.host_stats());
    }
    if mode.json {
        let v = serde_json::json!({
            "plan": plan.to_json(state).plan,
            "results": results.to_json(state),
        });
        output::json_stdout(&v);
    }
    Ok(if state.failed_hosts().is_empty() {
        0
    } else {
        1
    })
}

/// `--debug-operations`: the prepared operations as JSON (stdout with `--json`), then their
/// order, as pyinfra's `print_state_operations`.
fn print_operations(state: &State, plan: &rinfra_core::Plan, json: bool) {
    let ops = plan.to_json(state);
    let value = serde_json::to_value(&ops).unwrap_or_default();
    if json {
        output::json_stdout(&value);
        return;
    }
    section("Operations:");
    let text = serde_json::to_string_pretty(&value["plan"]).unwrap_or_default();
    for l in text.lines() {
        output::line(&format!("    {l}"));
    }
    section("Operation order:");
    for op in &ops.plan {
        output::line(&format!(
            "    {} (name={}, hosts={:?})",
            op.op_hash, op.name, op.hosts
        ));
    }
}
