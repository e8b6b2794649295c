//! Several facts loaded by one command.
//!
//! pyinfra runs one command per fact: a round trip and a shell start on the target each. A
//! [`FactBatch`] runs each fact's command in its own subshell between marker lines and splits
//! its stdout, stderr and exit code back out. Its script can run alone
//! ([`Host::prefetch_facts`]) or after an operation's commands in the same exec (see
//! `batch.rs`), so the facts the next operations need come back with the change that made
//! them stale.
//!
//! Facts that can load together ([`SharedLoad`]: `File`, `Directory` and `Link` of many paths)
//! share one command inside a batch, so a batch of seven paths starts one `stat`, not seven.

use std::sync::atomic::{AtomicU64, Ordering};

use rinfra_connectors::{CommandOutput, ConnectorArguments, StringCommand};

use crate::fact::{fact_command_with_requirement, Fact, FactArgs, SharedLoad};
use crate::host::{Cached, Host};

/// A fact to load in a batch: the fact, its arguments, their cache key and its own command.
type Todo<'a> = (&'a dyn Fact, &'a FactArgs, String, StringCommand);

/// Facts not cached yet, with the script that loads them all.
pub(crate) struct FactBatch<'a> {
    todo: Vec<Todo<'a>>,
    sections: Vec<Section>,
    /// Marks this batch's lines: output of other commands in the same exec is not mistaken
    /// for a fact's.
    nonce: String,
    connector_args: ConnectorArguments,
}

/// One part of a batch, between its own markers.
enum Section {
    /// A fact's own command (index into the batch's facts).
    Alone(usize),
    /// One command for several facts that share a loader.
    Shared {
        loader: &'static dyn SharedLoad,
        /// The loader's distinct items.
        items: Vec<String>,
        /// (index into the batch's facts, index into `items`) of each fact it loads.
        members: Vec<(usize, usize)>,
    },
}

impl<'a> FactBatch<'a> {
    /// The facts of `requests` that `host` has not cached (each once), to load with the
    /// escalation of `connector_args`; `None` when there are none.
    pub(crate) fn new(
        host: &Host,
        requests: &'a [(&'a dyn Fact, FactArgs)],
        connector_args: &ConnectorArguments,
    ) -> Option<Self> {
        let mut todo = Vec::new();
        {
            let cache = host.facts.lock().expect("not poisoned");
            let mut seen = std::collections::HashSet::new();
            for (fact, args) in requests {
                let args_text = serde_json::to_string(args).unwrap_or_default();
                let key = Host::cache_key(*fact, &args_text, connector_args);
                if cache.contains_key(&key) || !seen.insert(key.clone()) {
                    continue;
                }
                let Ok(command) = fact.command(args) else {
                    continue;
                };
                let command =
                    fact_command_with_requirement(command, fact.requires_command(args).as_deref());
                todo.push((*fact, args, key, command));
            }
        }
        if todo.is_empty() {
            return None;
        }
        static BATCHES: AtomicU64 = AtomicU64::new(0);
        let nonce = format!(
            "{:x}{:x}",
            std::process::id(),
            BATCHES.fetch_add(1, Ordering::Relaxed)
        );
        Some(Self {
            sections: sections(&todo),
            todo,
            nonce,
            connector_args: connector_args.clone(),
        })
    }

    /// How many facts it loads.
    pub(crate) fn len(&self) -> usize {
        self.todo.len()
    }

    /// The shell text that loads them, to run alone or after other commands (it starts on a
    /// line of its own whatever they printed last).
    pub(crate) fn script(&self) -> StringCommand {
        let nonce = &self.nonce;
        let mut bits: Vec<rinfra_connectors::Bit> = vec!["echo; echo >&2;".into()];
        for (n, section) in self.sections.iter().enumerate() {
            let command = match section {
                Section::Alone(t) => self.todo[*t].3.clone(),
                Section::Shared { loader, items, .. } => loader.command(items),
            };
            // `:;` keeps the subshell valid when the command is only a comment.
            bits.push(
                format!("echo '@@RINFRA-{nonce}-{n}'; echo '@@RINFRA-{nonce}-{n}' >&2; ( :;")
                    .into(),
            );
            bits.push(command.into());
            bits.push(
                format!("\n); rinfra_rc=$?; echo; echo \"@@RINFRA-{nonce}-END-{n} $rinfra_rc\";")
                    .into(),
            );
        }
        StringCommand::new(bits)
    }

    /// Put the values `output` (of a command that ran [`script`](Self::script)) holds into
    /// `host`'s cache; `loaded` is told of each. A fact without a value (it failed, or the
    /// command stopped before it) stays uncached.
    pub(crate) fn store(
        &self,
        host: &Host,
        output: &CommandOutput,
        loaded: &(dyn Fn(&str, &str) + Send + Sync),
    ) {
        let parsed = parse_batch(output, &self.nonce, self.sections.len());
        // (todo index, exit code, stdout, stderr) of each fact that has a result.
        let mut results: Vec<(usize, i32, Vec<String>, Vec<String>)> = Vec::new();
        for (section, (exit, stdout, stderr)) in self.sections.iter().zip(parsed) {
            let Some(exit) = exit else { continue };
            match section {
                Section::Alone(t) => results.push((*t, exit, stdout, stderr)),
                Section::Shared {
                    loader,
                    items,
                    members,
                } => {
                    // When the output cannot be attributed, each fact loads alone later.
                    let Some(split) = loader.split(items, exit, &stdout) else {
                        continue;
                    };
                    if split.len() != items.len() {
                        continue;
                    }
                    // Several facts may ask about one item (`File` and `Directory` of a path).
                    for (t, k) in members {
                        results.push((*t, 0, split[*k].clone(), Vec::new()));
                    }
                }
            }
        }
        let mut cache = host.facts.lock().expect("not poisoned");
        for (t, exit, stdout, stderr) in results {
            let (fact, args, key, _) = &self.todo[t];
            if let Ok(value) = Host::fact_value(
                *fact,
                args,
                &self.connector_args,
                Some(exit),
                stdout,
                &stderr,
            ) {
                loaded(fact.name(), &crate::shown_arguments_json(args));
                cache.insert(key.clone(), Cached::new(*fact, args, value));
            }
        }
    }
}

/// Split a batch's facts into sections: facts that share a loader with at least one other fact
/// of the batch go into one section per loader, the rest run their own commands.
fn sections(todo: &[Todo<'_>]) -> Vec<Section> {
    let mut alone = Vec::new();
    // One (loader, its distinct items, its members) per loader key, in first-seen order.
    type Group = (&'static dyn SharedLoad, Vec<String>, Vec<(usize, usize)>);
    let mut groups: Vec<Group> = Vec::new();
    for (t, (fact, args, ..)) in todo.iter().enumerate() {
        let item = fact.shared_load().and_then(|l| Some((l, l.item(args)?)));
        // A fact with a required command runs alone: its own command checks for it.
        let Some((loader, item)) = item.filter(|_| fact.requires_command(args).is_none()) else {
            alone.push(Section::Alone(t));
            continue;
        };
        let g = match groups.iter().position(|g| g.0.key() == loader.key()) {
            Some(g) => g,
            None => {
                groups.push((loader, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, items, members) = &mut groups[g];
        let k = match items.iter().position(|i| *i == item) {
            Some(k) => k,
            None => {
                items.push(item);
                items.len() - 1
            }
        };
        members.push((t, k));
    }
    for (loader, items, members) in groups {
        if members.len() < 2 {
            // Nothing shared: the fact's own command is as cheap.
            alone.extend(members.into_iter().map(|(t, _)| Section::Alone(t)));
        } else {
            alone.push(Section::Shared {
                loader,
                items,
                members,
            });
        }
    }
    alone
}

/// Split a batch's output back into `(exit code, stdout lines, stderr lines)` per fact. A fact
/// whose end marker is missing (the batch died) has no exit code.
fn parse_batch(
    output: &CommandOutput,
    nonce: &str,
    count: usize,
) -> Vec<(Option<i32>, Vec<String>, Vec<String>)> {
    let mut out: Vec<(Option<i32>, Vec<String>, Vec<String>)> =
        vec![(None, Vec::new(), Vec::new()); count];
    let start = format!("@@RINFRA-{nonce}-");
    let end = format!("@@RINFRA-{nonce}-END-");
    let mut current_out: Option<usize> = None;
    let mut current_err: Option<usize> = None;
    for line in &output.combined_lines {
        let text = line.line.as_str();
        match line.stream {
            rinfra_connectors::Stream::Stdout => {
                if let Some(rest) = text.strip_prefix(&end) {
                    let mut it = rest.split(' ');
                    let (Some(n), Some(code)) = (it.next(), it.next()) else {
                        continue;
                    };
                    if let (Ok(n), Ok(code)) = (n.parse::<usize>(), code.parse::<i32>()) {
                        if n < count {
                            // `echo` before the marker ends a last line without a newline; the
                            // empty line it leaves is ours, not the fact's.
                            if out[n].1.last().is_some_and(String::is_empty) {
                                out[n].1.pop();
                            }
                            out[n].0 = Some(code);
                        }
                    }
                    current_out = None;
                } else if let Some(n) = text
                    .strip_prefix(&start)
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    current_out = Some(n).filter(|n| *n < count);
                } else if let Some(n) = current_out {
                    out[n].1.push(text.to_string());
                }
            }
            rinfra_connectors::Stream::Stderr => {
                if let Some(n) = text
                    .strip_prefix(&start)
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    current_err = Some(n).filter(|n| *n < count);
                } else if let Some(n) = current_err {
                    out[n].2.push(text.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fact::FactError;
    use crate::host::tests::{args, Cat};
    use serde_json::Value;

    /// Facts sharing a loader go into one section per loader, one item per distinct path; a
    /// loader with a single fact, a fact whose item cannot share, and other facts run alone.
    #[test]
    fn shared_loaders_make_one_section_each() {
        struct Paths;
        impl SharedLoad for Paths {
            fn key(&self) -> &'static str {
                "paths"
            }
            fn item(&self, args: &FactArgs) -> Option<String> {
                args.get("path")?.as_str().map(str::to_string)
            }
            fn command(&self, items: &[String]) -> StringCommand {
                StringCommand::from(items.join(" ").as_str())
            }
            fn split(&self, _: &[String], _: i32, _: &[String]) -> Option<Vec<Vec<String>>> {
                None
            }
        }
        static PATHS: Paths = Paths;
        struct Stat(&'static str);
        impl Fact for Stat {
            fn name(&self) -> &'static str {
                self.0
            }
            fn command(&self, _: &FactArgs) -> Result<StringCommand, FactError> {
                Ok(StringCommand::from("stat"))
            }
            fn process(&self, _: &[String], _: &FactArgs) -> Result<Value, FactError> {
                Ok(Value::Null)
            }
            fn shared_load(&self) -> Option<&'static dyn SharedLoad> {
                Some(&PATHS)
            }
        }
        let (file, dir) = (Stat("files.File"), Stat("files.Directory"));
        let p = |path: &str| {
            serde_json::json!({ "path": path })
                .as_object()
                .unwrap()
                .clone()
        };
        let (a, b, none, cat) = (p("/a"), p("/b"), FactArgs::new(), args("x"));
        let todo = |list: Vec<(&'static dyn Fact, &'static FactArgs)>| -> Vec<Todo<'static>> {
            list.into_iter()
                .map(|(f, a)| (f, a, String::new(), StringCommand::from("x")))
                .collect()
        };
        let leak = |a: FactArgs| -> &'static FactArgs { Box::leak(Box::new(a)) };
        let file: &'static dyn Fact = Box::leak(Box::new(file));
        let dir: &'static dyn Fact = Box::leak(Box::new(dir));
        let (a, b, none, cat) = (leak(a), leak(b), leak(none), leak(cat));
        let shape = |s: &[Section]| -> Vec<String> {
            s.iter()
                .map(|s| match s {
                    Section::Alone(t) => format!("alone {t}"),
                    Section::Shared { items, members, .. } => format!("{items:?} {members:?}"),
                })
                .collect()
        };
        let got = sections(&todo(vec![
            (file, a),
            (&Cat, cat),
            (dir, a),
            (file, b),
            (file, none),
        ]));
        assert_eq!(
            shape(&got),
            [
                "alone 1",
                "alone 4",
                r#"["/a", "/b"] [(0, 0), (2, 0), (3, 1)]"#
            ]
        );
        let got = sections(&todo(vec![(file, a), (&Cat, cat)]));
        assert_eq!(shape(&got), ["alone 1", "alone 0"]);
    }
}
