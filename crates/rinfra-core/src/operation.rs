//! Operations: desired state in, commands out (pyinfra's `@operation` generators).
//!
//! An operation reads facts through its [`OpHost`], compares them with its arguments and returns
//! the commands that close the difference. No commands means no change, with a noop reason.
//! Operations are run twice: once in the prepare phase (to detect changes) and again at execute
//! time with fresh facts; the second run's commands are the ones executed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{
    CommandOutput, ConnectError, ConnectorError, FileSource, HostData, StringCommand,
};
use serde_json::Value;

use crate::fact::{FactArgs, FactError};

/// An operation's own arguments (global arguments removed), as JSON.
pub type OpArgs = serde_json::Map<String, Value>;

/// Global-argument overrides carried by one command (pyinfra: `StringCommand(..., _sudo=False)`).
pub type ArgOverrides = serde_json::Map<String, Value>;

/// One parameter of an operation, for validation and error messages.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The keyword name, as in pyinfra.
    pub name: &'static str,
    /// Whether the call must give it.
    pub required: bool,
    /// What it means, one line or a few (the Python API's docstrings are built from these).
    pub doc: &'static str,
}

impl Param {
    /// A required parameter.
    pub const fn required(name: &'static str) -> Self {
        Self {
            name,
            required: true,
            doc: "",
        }
    }

    /// An optional parameter.
    pub const fn optional(name: &'static str) -> Self {
        Self {
            name,
            required: false,
            doc: "",
        }
    }

    /// The same parameter, documented.
    pub const fn with_doc(self, doc: &'static str) -> Self {
        Self { doc, ..self }
    }
}

/// Why an operation could not produce commands. Fails the host, not the run.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// An argument has a bad value (`mode="9x"`).
    #[error("invalid argument `{arg}` for {op}: {reason}")]
    InvalidArgument {
        /// The operation, e.g. `files.put`.
        op: String,
        /// The argument name.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A fact the operation needed could not be loaded.
    #[error(transparent)]
    Fact(#[from] FactError),
    /// Anything else, described for the operator.
    #[error("{0}")]
    Other(String),
}

/// A command an operation yields.
#[derive(Clone)]
pub enum OpCommand {
    /// A shell command, run with the operation's global arguments plus `overrides`.
    Shell {
        /// The command.
        command: StringCommand,
        /// Global arguments that differ for this command only.
        overrides: ArgOverrides,
    },
    /// Upload local content to the host (pyinfra's `FileUploadCommand`).
    Upload {
        /// What to upload.
        src: FileSource,
        /// Where it goes.
        dest: String,
        /// A remote temp path to stage through, if the operation wants one.
        remote_temp: Option<String>,
    },
    /// Download a remote file (pyinfra's `FileDownloadCommand`).
    Download {
        /// The remote path.
        src: String,
        /// The local path.
        dest: PathBuf,
    },
    /// Code run at execute time (pyinfra's `FunctionCommand`: `python.call`, `server.reboot`).
    Callback(Arc<dyn Callback>),
}

impl OpCommand {
    /// A shell command without overrides.
    pub fn shell(command: impl Into<StringCommand>) -> Self {
        OpCommand::Shell {
            command: command.into(),
            overrides: ArgOverrides::new(),
        }
    }

    /// How the command is shown (`-vv`, `--json`): the masked command, or a short description.
    pub fn describe(&self) -> String {
        match self {
            OpCommand::Shell { command, .. } => command.get_masked_value(),
            OpCommand::Upload { dest, .. } => format!("upload {dest}"),
            OpCommand::Download { src, dest } => format!("download {src} -> {}", dest.display()),
            OpCommand::Callback(cb) => cb.describe(),
        }
    }
}

impl std::fmt::Debug for OpCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A before/after pair for `--diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    /// The remote path.
    pub path: String,
    /// The current content, `None` when the file does not exist yet.
    pub old: Option<String>,
    /// The content the operation will write.
    pub new: String,
}

/// What an operation decided for one host.
#[derive(Clone, Debug, Default)]
pub struct OpOutcome {
    /// Commands to run; empty means no change.
    pub commands: Vec<OpCommand>,
    /// Why nothing needs doing (shown with `-v`), e.g. `directory /srv already exists`.
    pub noop: Option<String>,
    /// Content changes to show with `--diff`.
    pub diffs: Vec<FileDiff>,
}

impl OpOutcome {
    /// No change, for this reason.
    pub fn noop(reason: impl Into<String>) -> Self {
        Self {
            noop: Some(reason.into()),
            ..Self::default()
        }
    }

    /// These commands.
    pub fn commands(commands: Vec<OpCommand>) -> Self {
        Self {
            commands,
            ..Self::default()
        }
    }

    /// Whether the operation changes the host.
    pub fn will_change(&self) -> bool {
        !self.commands.is_empty()
    }
}

/// The host as an operation sees it while generating commands.
#[async_trait]
pub trait OpHost: Send + Sync {
    /// The host's name.
    fn name(&self) -> &str;
    /// The host's data (`host.data`).
    fn data(&self) -> &HostData;
    /// The host's groups.
    fn groups(&self) -> &[String];
    /// Load a fact (cached per host; the cache is invalidated when the host changes).
    async fn get_fact(&self, fact: &str, args: FactArgs) -> Result<Value, FactError>;
    /// Resolve a local path given in a deploy (relative to the deploy file's directory).
    fn local_path(&self, path: &str) -> PathBuf;
    /// The remote temp directory (`_temp_dir`, config `TEMP_DIR`, or `/tmp`).
    fn temp_dir(&self) -> String;
    /// The context for `files.template`: `host` and the host's data (`inventory` is apart, in
    /// [`OpHost::inventory_context`]).
    fn template_context(&self) -> serde_json::Map<String, Value>;
    /// `inventory` as templates see it, `{"hosts": [...], "groups": {...}}`: one shared value
    /// for the whole run, since copying it into every host's context made each render cost
    /// O(hosts). `None` when there is no inventory (templates then have no `inventory`).
    fn inventory_context(&self) -> Option<std::sync::Arc<Value>> {
        None
    }
    /// Whether `--diff` asked for diffs (operations then load current file contents).
    fn diff_enabled(&self) -> bool;
}

/// The host as a [`Callback`] sees it at execute time.
#[async_trait]
pub trait ExecHost: Send + Sync {
    /// The host's name.
    fn name(&self) -> &str;
    /// Run a command with the operation's global arguments plus `overrides`.
    async fn run_shell_command(
        &self,
        command: &StringCommand,
        overrides: &ArgOverrides,
    ) -> Result<(bool, CommandOutput), ConnectorError>;
    /// Drop the connection and connect again (after `server.reboot`).
    async fn reconnect(&self) -> Result<(), ConnectError>;
}

/// Code an operation runs at execute time.
#[async_trait]
pub trait Callback: Send + Sync {
    /// A short description for output, e.g. `reboot and wait`.
    fn describe(&self) -> String;
    /// The positional and keyword arguments it was given, as pyinfra's `FunctionCommand`
    /// shows them (`[...]`, `{...}`); none by default.
    fn arguments(&self) -> (Value, Value) {
        (
            Value::Array(Vec::new()),
            Value::Object(serde_json::Map::new()),
        )
    }
    /// Run it; an `Err` fails the operation on this host.
    async fn call(&self, host: &dyn ExecHost) -> Result<(), String>;
}

/// An operation: pyinfra's `@operation`-decorated generator.
#[async_trait]
pub trait Operation: Send + Sync {
    /// `<module>.<name>`, e.g. `files.put`.
    fn name(&self) -> &'static str;
    /// Accepted arguments, in pyinfra's positional order.
    fn params(&self) -> &'static [Param];
    /// What the operation does (pyinfra's docstring, first paragraph); the Python API's
    /// `help(files.put)` shows it with the parameters' docs.
    fn doc(&self) -> &'static str {
        ""
    }
    /// False for operations that always run (`server.shell`).
    fn is_idempotent(&self) -> bool {
        true
    }
    /// True for operations that take arbitrary extra keyword arguments besides
    /// [`params`](Operation::params) (pyinfra's `**data` of `files.template` and
    /// `server.script_template`, which become template variables).
    fn accepts_extra_kwargs(&self) -> bool {
        false
    }
    /// The remote paths this operation changes, when it changes only those (and what is under
    /// them): after it runs, cached facts about unrelated paths stay valid. `None` (the default)
    /// means "anything may have changed": every cached fact of the host is dropped.
    fn touched_paths(&self, _args: &OpArgs) -> Option<Vec<String>> {
        None
    }
    /// Whether a change to the [`touched_paths`](Operation::touched_paths) can reach what is
    /// under them (a removal, a recursive chown, a link that now leads elsewhere). `false` when
    /// it changes the paths themselves only (a directory created, or its mode set): cached facts
    /// about paths inside them stay valid.
    fn changes_below_touched_paths(&self, _args: &OpArgs) -> bool {
        true
    }

    /// Decide what to do on `host`.
    async fn generate(&self, args: &OpArgs, host: &dyn OpHost)
        -> Result<OpOutcome, OperationError>;
}

/// Every operation rinfra knows, by name.
#[derive(Clone, Default)]
pub struct OperationRegistry {
    ops: BTreeMap<&'static str, Arc<dyn Operation>>,
}

impl OperationRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an operation under its name.
    pub fn register(&mut self, op: Arc<dyn Operation>) {
        self.ops.insert(op.name(), op);
    }

    /// The operation called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Operation>> {
        self.ops.get(name)
    }

    /// All operation names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ops.keys().copied()
    }
}

/// Check `args` against an operation's parameters: unknown names and missing required ones.
pub fn validate_op_args(op: &dyn Operation, args: &OpArgs) -> Result<(), OperationError> {
    let params = op.params();
    for name in args.keys().filter(|_| !op.accepts_extra_kwargs()) {
        if !params.iter().any(|p| p.name == name) {
            let valid: Vec<&str> = params.iter().map(|p| p.name).collect();
            return Err(OperationError::InvalidArgument {
                op: op.name().into(),
                arg: name.clone(),
                reason: format!("unknown argument (valid: {})", valid.join(", ")),
            });
        }
    }
    for p in params.iter().filter(|p| p.required) {
        if !args.contains_key(p.name) {
            return Err(OperationError::InvalidArgument {
                op: op.name().into(),
                arg: p.name.into(),
                reason: "missing required argument".into(),
            });
        }
    }
    Ok(())
}
