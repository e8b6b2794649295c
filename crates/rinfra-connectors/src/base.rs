//! The connector API: pyinfra's seed (`writing-connectors`) as Rust traits.
//!
//! There are two traits, as in pyinfra:
//!
//! * [`InventoryConnector`] turns the argument of `@name/arg` into hosts
//!   ([`make_names_data`](InventoryConnector::make_names_data) yields name, data and groups) and,
//!   when it [handles execution](InventoryConnector::handles_execution), builds a [`Connector`]
//!   for each of them.
//! * [`Connector`] runs commands and moves files on one host: `connect`, `run_shell_command`,
//!   `put_file`, `get_file`, `disconnect`.
//!
//! A new executing connector implements only [`Connector::execute`] (run an already wrapped
//! command), `put_file` and `get_file`: the provided [`Connector::run_shell_command`] does the
//! wrapping (`_sudo`, `_su_user`, `_env`, ...), the sudo askpass flow, the password prompt and
//! retry, and `_success_exit_codes`, identically for every connector.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::arguments::ConnectorArguments;
use crate::command::StringCommand;
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::output::{CommandOutput, OutputLine};
use crate::secret::Secret;

/// Host data: the JSON object of a host's inventory data (`host.data`).
pub type HostData = serde_json::Map<String, serde_json::Value>;

/// One host produced by [`InventoryConnector::make_names_data`]: pyinfra's `(name, data, groups)`.
#[derive(Clone, Debug, PartialEq)]
pub struct NameData {
    /// The host's name, e.g. `@local`, `@docker/debian:12`, `web1.example.net`.
    pub name: String,
    /// Data the connector attaches to the host (inventory data is applied over it).
    pub data: HostData,
    /// Groups the host joins, e.g. `["@docker"]`.
    pub groups: Vec<String>,
}

impl NameData {
    /// A host with no data and the given groups.
    pub fn new(name: impl Into<String>, groups: &[&str]) -> Self {
        Self {
            name: name.into(),
            data: HostData::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// Where connectors send what the operator should see, and ask what they must ask.
///
/// Connectors never print: the CLI implements this trait (prefixing lines with `[host]`), tests
/// can record calls.
pub trait Reporter: Send + Sync {
    /// A command about to run (`print_input`); `masked_command` has secrets masked.
    fn command_input(&self, host: &str, masked_command: &str);
    /// One line of remote output, as it arrives (`print_output`).
    fn command_output(&self, host: &str, line: &OutputLine);
    /// A notice about the host, e.g. `container left running`.
    fn notice(&self, host: &str, text: &str);
    /// Ask the operator for a secret (a sudo password). `None` when nobody can answer
    /// (no terminal): the command then fails with sudo's own message.
    fn prompt_secret(&self, host: &str, prompt: &str) -> Option<Secret>;
}

/// A [`Reporter`] that shows nothing and never prompts.
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn command_input(&self, _: &str, _: &str) {}
    fn command_output(&self, _: &str, _: &OutputLine) {}
    fn notice(&self, _: &str, _: &str) {}
    fn prompt_secret(&self, _: &str, _: &str) -> Option<Secret> {
        None
    }
}

/// What every executing connector knows about its host: name, data, where to report.
///
/// It also keeps the per-host state of the sudo flow (askpass script paths, a password the
/// operator typed), which pyinfra keeps in `host.connector_data`.
pub struct HostContext {
    /// The host's inventory name.
    pub name: String,
    /// The host's merged data (connector data, inventory, group data, `--data`).
    pub data: HostData,
    /// Where output goes.
    pub reporter: Arc<dyn Reporter>,
    pub(crate) sudo: tokio::sync::Mutex<SudoState>,
}

#[derive(Default)]
pub(crate) struct SudoState {
    /// Askpass script paths by `kind__tempdir`.
    pub(crate) askpass: HashMap<String, String>,
    /// A sudo password the operator typed at a prompt.
    pub(crate) prompted_password: Option<Secret>,
}

impl HostContext {
    /// A context for host `name` with its data.
    pub fn new(name: impl Into<String>, data: HostData, reporter: Arc<dyn Reporter>) -> Self {
        Self {
            name: name.into(),
            data,
            reporter,
            sudo: Default::default(),
        }
    }

    /// A string value of the host's data, if set.
    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(|v| v.as_str())
    }
}

impl std::fmt::Debug for HostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostContext")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The source of an upload: a local file or bytes in memory (pyinfra's `filename_or_io`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    /// A file on the controller.
    Path(PathBuf),
    /// Content in memory, e.g. a rendered template.
    Bytes(Vec<u8>),
}

impl FileSource {
    /// The content, read from disk for [`FileSource::Path`].
    pub fn read(&self) -> Result<Vec<u8>, ConnectorError> {
        match self {
            FileSource::Bytes(b) => Ok(b.clone()),
            FileSource::Path(p) => std::fs::read(p).map_err(|e| {
                ConnectorError::io(format!("cannot read local file `{}`", p.display()), e)
            }),
        }
    }
}

/// An upload, as [`Connector::put_file`] takes it (pyinfra's `put_file` arguments).
///
/// `PutFile::new(&src, "/etc/app.conf", &arguments)` is the common case; set the other fields
/// with struct update syntax: `PutFile { print_output: true, ..PutFile::new(...) }`.
#[derive(Clone, Copy, Debug)]
pub struct PutFile<'a> {
    /// What to upload.
    pub src: &'a FileSource,
    /// Where it goes on the target.
    pub remote: &'a str,
    /// The temp path on the target to stage it at (pyinfra's `remote_temp_filename`); `None`
    /// lets the connector choose one under `_temp_dir`.
    pub remote_temp: Option<&'a str>,
    /// Report the transfer's output and a `file uploaded` notice.
    pub print_output: bool,
    /// Report the commands the transfer runs.
    pub print_input: bool,
    /// The operation's global arguments: `_sudo`, `_su_user`, `_temp_dir`, ...
    pub arguments: &'a ConnectorArguments,
}

impl<'a> PutFile<'a> {
    /// Upload `src` to `remote` with `arguments`, staged where the connector chooses, printing
    /// nothing.
    pub fn new(src: &'a FileSource, remote: &'a str, arguments: &'a ConnectorArguments) -> Self {
        Self {
            src,
            remote,
            remote_temp: None,
            print_output: false,
            print_input: false,
            arguments,
        }
    }
}

/// A download, as [`Connector::get_file`] takes it (pyinfra's `get_file` arguments).
///
/// `GetFile::new("/etc/os-release", &local, &arguments)` is the common case.
#[derive(Clone, Copy, Debug)]
pub struct GetFile<'a> {
    /// The file on the target.
    pub remote: &'a str,
    /// Where it goes on the controller (written through a temp file and a rename).
    pub dst: &'a Path,
    /// The temp path on the target to copy it to first (pyinfra's `remote_temp_filename`);
    /// `None` lets the connector choose one under `_temp_dir`.
    pub remote_temp: Option<&'a str>,
    /// Report the transfer's output and a `file downloaded` notice.
    pub print_output: bool,
    /// Report the commands the transfer runs.
    pub print_input: bool,
    /// The operation's global arguments: `_sudo`, `_su_user`, `_temp_dir`, ...
    pub arguments: &'a ConnectorArguments,
}

impl<'a> GetFile<'a> {
    /// Download `remote` to `dst` with `arguments`, through a temp path the connector chooses,
    /// printing nothing.
    pub fn new(remote: &'a str, dst: &'a Path, arguments: &'a ConnectorArguments) -> Self {
        Self {
            remote,
            dst,
            remote_temp: None,
            print_output: false,
            print_input: false,
            arguments,
        }
    }
}

/// A fully wrapped command, ready to be executed as is by [`Connector::execute`].
#[derive(Clone, Copy, Debug)]
pub struct RawCommand<'a> {
    /// The command (already wrapped by [`make_unix_command`](crate::make_unix_command)): send
    /// its raw value, print its masked value.
    pub command: &'a StringCommand,
    /// Lines for stdin, each written with a trailing newline, then stdin is closed.
    pub stdin: Option<&'a [String]>,
    /// Kill the command and return [`ConnectorError::Timeout`] after this long.
    pub timeout: Option<Duration>,
    /// Ask for a pseudo-terminal.
    pub get_pty: bool,
    /// Report each output line to the [`Reporter`] as it arrives.
    pub print_output: bool,
    /// The command's outer layer is plain POSIX sh (it was wrapped with a shell executable,
    /// `sh -c '...'`), not text for the user's login shell: a connector may run it in a shell
    /// of its own (the SSH connector keeps one per connection to save a session per command).
    pub portable: bool,
}

/// An inventory connector: `@name/arg` → hosts (pyinfra's `make_names_data`), and, if it
/// handles execution, the [`Connector`] for each host.
///
/// Example: `@docker/debian:12` → the docker connector's `make_names_data(Some("debian:12"))`
/// yields one host `@docker/debian:12` in group `@docker`.
pub trait InventoryConnector: Send + Sync {
    /// The name after `@`, e.g. `docker`.
    fn name(&self) -> &str;

    /// One line for `--list-connectors`.
    fn description(&self) -> &str;

    /// Whether hosts from this connector execute through it (`false`: they execute over SSH,
    /// like `@terraform` and `@vagrant` hosts).
    fn handles_execution(&self) -> bool;

    /// Expand the argument (the part after `@name/`, if any) into hosts.
    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError>;

    /// Build the executing connector for one host. Only called when
    /// [`handles_execution`](Self::handles_execution) is true.
    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        Err(ConnectError::new(format!(
            "the {} connector does not execute commands (host {})",
            self.name(),
            host.name
        )))
    }
}

/// An executing connector for one host.
///
/// Implement [`host`](Self::host), [`execute`](Self::execute), [`put_file`](Self::put_file)
/// and [`get_file`](Self::get_file); override [`connect`](Self::connect) and
/// [`disconnect`](Self::disconnect) when there is a connection to manage. All methods take
/// `&self`: several commands may run on one host at once (one SSH connection, many channels),
/// so keep per-connection state behind a lock or a once-cell.
///
/// Errors: a command that ran and failed is `Ok((false, output))`; a command that could not run
/// (timeout, lost connection) is `Err(ConnectorError)`. A failing host is always a value, never a
/// panic.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The host this connector serves.
    fn host(&self) -> &HostContext;

    /// Open the connection. Called once before any command; the default does nothing.
    async fn connect(&self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Close the connection and release what `connect` made. The default does nothing.
    async fn disconnect(&self) {}

    /// Run an already wrapped command and collect its output (with the exit code).
    ///
    /// When `command.print_output` is set, report every line to the host's [`Reporter`] as it
    /// arrives. Honour `stdin`, `timeout` (kill the command, return
    /// [`ConnectorError::Timeout`]) and, where possible, `get_pty`.
    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError>;

    /// Run `command` with the global `arguments` (pyinfra's `run_shell_command`).
    ///
    /// Returns whether it succeeded (exit code in `_success_exit_codes`, default 0) and its
    /// output. The provided implementation wraps the command (`make_unix_command`), creates the
    /// sudo askpass script when a password is known, prompts for a password once when sudo says
    /// one is required, and calls [`execute`](Self::execute). Connectors that must see the
    /// unwrapped command (`@fake`) override it.
    async fn run_shell_command(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
        arguments: &ConnectorArguments,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        crate::shell::run_shell_command(self, command, print_output, print_input, arguments).await
    }

    /// Upload `request.src` to `request.remote` (pyinfra's `put_file`), honouring the
    /// escalation arguments.
    ///
    /// The file must appear at `remote` whole or not at all: write a temp file (`remote_temp`
    /// when given) and move it into place. Returns `Ok(false)` when the target refused (the
    /// reason was reported), `Err` when the transfer itself broke.
    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError>;

    /// A shell command that uploads `data` to `remote` as [`put_file`](Self::put_file) would,
    /// where a command costs less than a transfer: the engine then runs it in one exec with the
    /// commands around it (consecutive operations). `None` (the default): use `put_file`.
    fn upload_command(
        &self,
        _data: &[u8],
        _remote: &str,
        _arguments: &ConnectorArguments,
    ) -> Option<StringCommand> {
        None
    }

    /// Download `request.remote` to the local path `request.dst` (pyinfra's `get_file`),
    /// through a temp file.
    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError>;

    /// How many round trips the connection has made so far (a request the controller then
    /// waited on), when the connector counts them (SSH does). `None` by default.
    fn round_trips(&self) -> Option<u64> {
        None
    }

    /// Remove the askpass scripts this connector created on the host (pyinfra does this at
    /// disconnect). Call it before [`disconnect`](Self::disconnect).
    async fn remove_askpass_files(&self) {
        crate::shell::remove_askpass_files(self).await
    }
}
