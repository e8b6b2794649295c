//! What an operation yields while it runs, and fact loading with pyinfra's keyword names.

use rinfra_connectors::StringCommand;
use rinfra_core::{FactArgs, FileDiff, OpCommand, OpHost, OpOutcome, OperationError};
use serde_json::Value;

/// Commands yielded so far, the last noop reason and any diffs (pyinfra's generator plus
/// `host.noop`).
#[derive(Default)]
pub(crate) struct Out {
    pub(crate) commands: Vec<OpCommand>,
    noop: Option<String>,
    diffs: Vec<FileDiff>,
}

impl Out {
    /// Yield a shell command.
    pub(crate) fn shell(&mut self, cmd: impl Into<StringCommand>) {
        self.commands.push(OpCommand::shell(cmd));
    }

    /// Yield any command.
    pub(crate) fn push(&mut self, cmd: OpCommand) {
        self.commands.push(cmd);
    }

    /// Record why nothing (more) needs doing; the last reason wins, as in pyinfra's vectors.
    pub(crate) fn noop(&mut self, reason: impl Into<String>) {
        self.noop = Some(reason.into());
    }

    /// Whether a noop reason was recorded.
    pub(crate) fn has_noop(&self) -> bool {
        self.noop.is_some()
    }

    /// Record a content change for `--diff`.
    pub(crate) fn diff(&mut self, path: &str, old: Option<String>, new: String) {
        self.diffs.push(FileDiff {
            path: path.to_string(),
            old,
            new,
        });
    }

    pub(crate) fn finish(self) -> OpOutcome {
        OpOutcome {
            commands: self.commands,
            noop: self.noop,
            diffs: self.diffs,
        }
    }
}

/// Load a fact with keyword arguments in pyinfra's parameter names. As pyinfra binds fact
/// arguments with `getcallargs`, unspecified parameters are filled with their defaults whenever
/// any argument is given, so the fact's arguments are always complete.
///
/// The fact is named by its type (`&crate::facts::files::File`), so a misspelt fact is a
/// compile error rather than an unknown-fact error on the first host that gets there.
pub(crate) async fn fact(
    host: &dyn OpHost,
    fact: &dyn rinfra_core::Fact,
    args: &[(&str, Value)],
) -> Result<Value, OperationError> {
    let name = fact.name();
    let mut map = FactArgs::new();
    if !args.is_empty() {
        for (k, v) in fact_defaults(name) {
            map.insert((*k).to_string(), v.clone());
        }
    }
    for (k, v) in args {
        map.insert((*k).to_string(), v.clone());
    }
    Ok(host.get_fact(name, map).await?)
}

/// Defaults of the optional parameters of facts operations call with arguments.
fn fact_defaults(name: &str) -> Vec<(&'static str, Value)> {
    let none = Value::Null;
    match name {
        "files.FindFiles" | "files.FindLinks" | "files.FindDirectories" => vec![
            ("size", none.clone()),
            ("min_size", none.clone()),
            ("max_size", none.clone()),
            ("maxdepth", none.clone()),
            ("fname", none.clone()),
            ("iname", none.clone()),
            ("regex", none.clone()),
            ("path_match", none.clone()),
            ("args", none),
            ("quote_path", Value::Bool(true)),
        ],
        "files.FindInFile" => vec![
            ("interpolate_variables", Value::Bool(false)),
            ("extended_regex", Value::Bool(false)),
        ],
        "files.Block" => vec![
            ("marker", none.clone()),
            ("begin", none.clone()),
            ("end", none),
        ],
        "systemd.SystemdStatus" | "systemd.SystemdEnabled" => vec![
            ("user_mode", Value::Bool(false)),
            ("machine", none.clone()),
            ("user_name", none.clone()),
            ("services", none),
        ],
        "git.GitConfig" => vec![("repo", none), ("system", Value::Bool(false))],
        "crontab.Crontab" => vec![("user", none)],
        "server.Sysctl" => vec![("keys", none)],
        "server.Home" => vec![("user", Value::String(String::new()))],
        "pip.PipPackages" | "pip.Pip3Packages" => vec![("pip", none)],
        _ => Vec::new(),
    }
}
