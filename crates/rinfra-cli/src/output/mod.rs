//! Everything rinfra prints. Human output goes to stderr (as pyinfra); stdout only carries
//! `--json` and nothing else, so it can be piped.
#![allow(clippy::print_stderr, clippy::print_stdout)]

mod diagnostic;
mod style;
mod table;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use rinfra_connectors::{CommandOutput, OutputLine, Reporter, Secret, Stream};
use rinfra_core::{shown_argument, Events, FileDiff, HostOpStatus, Plan, Results, State};

pub(crate) use diagnostic::{error, print_error};
pub(crate) use style::{bold, red};

/// Verbosity and modes that change what is printed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Printer {
    /// `-v` count.
    pub(crate) verbose: u8,
    /// Command output is streamed as it arrives (`-vvv`, `exec`): don't print it again on error.
    pub(crate) streams_output: bool,
    /// Ask whether to go on when hosts fail during execution (no `-y`, no `--json`; on a
    /// terminal), as pyinfra does.
    pub(crate) ask_on_failure: bool,
    /// Show each fact as it loads without `-v` (the `fact` command, as pyinfra's
    /// `print_fact_info`).
    pub(crate) print_fact_info: bool,
}

static LOCK: Mutex<()> = Mutex::new(());

/// Whether an operation has started printing (the blank line that ends its host lines is
/// printed when the next one starts, or before the results).
static OPERATION_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The one aggregate progress bar of the execute phase, on a terminal only (one bar for the
/// whole run, not one per host: many bars flicker and cost CPU at 1,000 hosts).
static PROGRESS: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

fn progress_bar(total: usize) -> &'static indicatif::ProgressBar {
    PROGRESS.get_or_init(|| {
        if !std::io::stderr().is_terminal()
            || std::env::var_os("RINFRA_PROGRESS").is_some_and(|v| v == "off")
        {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("    [{bar:30}] {pos}/{len} host-operations")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    })
}

/// Print one line to stderr without interleaving with other threads' lines (or the bar).
pub(crate) fn line(s: &str) {
    let _g = LOCK.lock();
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{s}");
    };
    match PROGRESS.get() {
        Some(bar) if !bar.is_hidden() && !bar.is_finished() => bar.suspend(write),
        _ => write(),
    }
}

/// Finish and clear the progress bar, if one was shown.
pub(crate) fn finish_progress() {
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
}

/// A `--> Title` section header.
pub(crate) fn section(title: &str) {
    line(&format!("--> {}", bold(title)));
}

/// `    [host] Ready: name`: pyinfra's line once a host's operations are prepared.
pub(crate) fn ready(host: &str, name: &str) {
    line(&format!(
        "    [{host}] {} {}",
        style::green("Ready:"),
        style::bold(name)
    ));
}

/// pyinfra's `get_kwargs_str`: `key=value` sorted by key, each value as Python's `str`;
/// secret arguments (passwords) masked, since this text is shown.
pub(crate) fn kwargs_str(args: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut items: Vec<(&String, &serde_json::Value)> = args.iter().collect();
    items.sort_by_key(|(k, _)| *k);
    items
        .iter()
        .map(|(k, v)| format!("{k}={}", rinfra_core::py_str(&shown_argument(k, v))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// JSON indented by four spaces, as pyinfra prints data for people.
pub(crate) fn json_indented(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    match v.serialize(&mut ser) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => v.to_string(),
    }
}

/// Write text (data, not progress) to stdout.
pub(crate) fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Write JSON to stdout.
pub(crate) fn json_stdout(v: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    );
}

impl Reporter for Printer {
    fn command_input(&self, host: &str, masked_command: &str) {
        line(&format!("[{host}] >>> {masked_command}"));
    }

    fn command_output(&self, host: &str, l: &OutputLine) {
        match l.stream {
            Stream::Stdout => line(&format!("[{host}] {}", l.line)),
            Stream::Stderr => line(&format!("[{host}] {}", red(&l.line))),
        }
    }

    fn notice(&self, host: &str, text: &str) {
        line(&format!("    [{host}] {text}"));
    }

    fn prompt_secret(&self, _host: &str, prompt: &str) -> Option<Secret> {
        crate::prompt::read_secret(prompt).map(Secret::new)
    }
}

impl Events for Printer {
    fn may_ask_after_failures(&self) -> bool {
        self.ask_on_failure && crate::prompt::has_terminal()
    }

    fn continue_after_failures(&self, failed: &[String]) -> Option<bool> {
        if !self.ask_on_failure || !crate::prompt::has_terminal() {
            return None;
        }
        let ask = || {
            let _g = LOCK.lock();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "\n    One or more hosts failed ({}), continue?",
                failed.join(", ")
            );
            match crate::prompt::press_enter("    Press enter to continue...") {
                crate::prompt::Answer::Enter => Some(true),
                crate::prompt::Answer::Other(v) => {
                    let _ = writeln!(err, "    Unexpected user input: {v}");
                    Some(false)
                }
                crate::prompt::Answer::NoTerminal => None,
            }
        };
        // The bar is cleared while asking (lines are written directly: `line` would suspend
        // it again).
        match PROGRESS.get() {
            Some(bar) if !bar.is_hidden() && !bar.is_finished() => bar.suspend(ask),
            _ => ask(),
        }
    }

    fn host_connected(&self, host: &str) {
        line(&format!("    [{host}] {}", style::green("Connected")));
    }

    fn host_connect_error(&self, host: &str, message: &str) {
        line(&format!(
            "    [{host}] {} {message}",
            red("Could not connect:")
        ));
    }

    fn fact_loaded(&self, host: &str, fact: &str, args: &str) {
        if self.verbose >= 1 || self.print_fact_info {
            let args =
                match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(args) {
                    Ok(map) if map.is_empty() => String::new(),
                    Ok(map) => format!(" ({})", kwargs_str(&map)),
                    Err(_) => format!(" ({args})"),
                };
            line(&format!(
                "    [{host}] Loaded fact {}{args}",
                style::bold(fact)
            ));
        }
    }

    fn noop(&self, host: &str, reason: &str) {
        if self.verbose >= 1 {
            line(&format!("    [{host}] noop: {reason}"));
        }
    }

    fn diff(&self, host: &str, d: &FileDiff) {
        let verb = if d.old.is_some() {
            "Will modify"
        } else {
            "Will create"
        };
        // One write for the whole block: hosts detect changes in parallel, and two hosts'
        // diffs must not interleave. A blank line ends it, as in pyinfra.
        let mut block = format!("    [{host}] {verb} {}", style::bold(&d.path));
        for l in crate::diff::unified(d.old.as_deref().unwrap_or(""), &d.new) {
            let painted = if l.starts_with('+') {
                style::green(&l)
            } else if l.starts_with('-') {
                red(&l)
            } else if l.starts_with("@@") {
                style::cyan(&l)
            } else {
                l
            };
            block.push_str(&format!("\n    {painted}"));
        }
        block.push('\n');
        line(&block);
    }

    fn host_prepare_error(&self, host: &str, op: &str, message: &str) {
        line(&format!("    [{host}] {} {op}: {message}", red("Error:")));
    }

    fn op_start(&self, op: &str) {
        // As pyinfra: a blank line after each operation's host lines.
        if OPERATION_STARTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            line("");
        }
        section(&format!("Starting operation: {op}"));
    }

    fn host_op_done(
        &self,
        host: &str,
        _op: &str,
        status: &HostOpStatus,
        output: Option<&CommandOutput>,
    ) {
        let text = match status {
            HostOpStatus::Success { retry, .. } => {
                let r = if *retry > 0 {
                    format!(" on retry {retry}")
                } else {
                    String::new()
                };
                style::green(&format!("Success{r}"))
            }
            HostOpStatus::NoChange => style::cyan("No changes"),
            // An `_if` that was false: pyinfra says "No changes" too.
            HostOpStatus::Skipped => style::cyan("No changes"),
            HostOpStatus::Error {
                commands,
                ignored,
                message,
            } => {
                let label = if *ignored { "Error (ignored)" } else { "Error" };
                let color = if *ignored { style::yellow } else { red };
                format!(
                    "{}: {message} (executed {commands} command(s))",
                    color(label)
                )
            }
        };
        // Without -vvv the output was not streamed: show the failed command's output, before
        // the status as pyinfra does, in one write so another host's lines cannot come between.
        let mut block = String::new();
        if let (Some(out), false) = (output, self.streams_output) {
            for l in &out.combined_lines {
                block.push_str(&format!("    [{host}] {}\n", red(&l.line)));
            }
        }
        block.push_str(&format!("    [{host}] {text}"));
        line(&block);
    }

    fn progress(&self, done: usize, total: usize) {
        let bar = progress_bar(total);
        bar.set_position(done as u64);
    }
}

/// The "Detected changes" table.
pub(crate) fn print_plan(state: &State, plan: &Plan) {
    section("Detected changes:");
    let mut rows = vec![vec![
        "Operation".into(),
        "Change".into(),
        "Conditional Change".into(),
    ]];
    for op in &plan.ops {
        let (c, cc) = op.change_counts();
        let fmt = |n: usize| {
            if n == 0 {
                "-".to_string()
            } else if op.hosts.len() == 1 {
                format!("{n} ({})", state.hosts[op.hosts[0].host].name)
            } else {
                n.to_string()
            }
        };
        rows.push(vec![op.name.clone(), fmt(c), fmt(cc)]);
    }
    for l in table::render(&rows).lines() {
        line(l);
    }
    line("");
    line("    Detected changes may not include every change rinfra will execute: operations run again,");
    line("    with fresh facts, when they execute.");
    line("");
}

/// The "Results" table.
/// `-v`: per host, the round trips of its connection and where its time went ("why is this
/// slow"), after the results table.
pub(crate) fn print_host_stats(stats: &[rinfra_core::HostStatsJson]) {
    section("Round trips and time per host:");
    for s in stats {
        let trips = s
            .round_trips
            .map_or_else(|| "-".to_string(), |n| n.to_string());
        line(&format!(
            "    [{}] round trips: {trips}, connect {:.2}s, facts {:.2}s, execute {:.2}s",
            s.name, s.connect_s, s.facts_s, s.execute_s
        ));
    }
}

pub(crate) fn print_results(results: &Results) {
    if OPERATION_STARTED.load(std::sync::atomic::Ordering::Relaxed) {
        line("");
    }
    section("Results:");
    let mut rows = vec![vec![
        "Operation".into(),
        "Hosts".into(),
        "Success".into(),
        "Error".into(),
        "No Change".into(),
    ]];
    let (mut ts, mut te, mut tn, mut th) = (0, 0, 0, 0);
    let dash = |n: usize| {
        if n == 0 {
            "-".to_string()
        } else {
            n.to_string()
        }
    };
    for (name, hosts) in &results.ops {
        let s = hosts
            .iter()
            .filter(|(_, s)| matches!(s, HostOpStatus::Success { .. }))
            .count();
        let e = hosts
            .iter()
            .filter(|(_, s)| matches!(s, HostOpStatus::Error { .. }))
            .count();
        let n = hosts.len() - s - e;
        (ts, te, tn, th) = (ts + s, te + e, tn + n, th + hosts.len());
        rows.push(vec![
            name.clone(),
            hosts.len().to_string(),
            dash(s),
            dash(e),
            dash(n),
        ]);
    }
    rows.push(vec![
        "Grand total".into(),
        th.to_string(),
        dash(ts),
        dash(te),
        dash(tn),
    ]);
    eprint!("{}", table::render(&rows));
    line("");
}
