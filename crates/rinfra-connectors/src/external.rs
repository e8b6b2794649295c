//! External connectors: `@NAME/ARG` served by an executable `rinfra-connector-NAME` on PATH.
//!
//! `rinfra @localsh/demo exec -- uname -a` (runs `rinfra-connector-localsh`)
//!
//! When `NAME` is no built-in connector, the registry looks for `rinfra-connector-NAME` on PATH
//! and talks to it with a small JSON-lines protocol over its stdin and stdout (one JSON object
//! per line; `docs/connectors/external-protocol.md` is the reference):
//!
//! * requests `{"id": 1, "method": "...", "params": {...}}`, one at a time: rinfra waits for a
//!   request's answer before sending the next;
//! * answers `{"id": 1, "result": {...}}` or `{"id": 1, "error": {"message": "...", "kind": "..."}}`;
//! * while `run_shell_command` runs, output events
//!   `{"id": 1, "event": "output", "stream": "stdout", "line": "..."}` before its result.
//!
//! Methods: `hello` (always first), `make_names_data` (a short-lived process per inventory
//! expansion), then per host one long-lived process: `connect`, `run_shell_command`, `put_file`,
//! `get_file`, `disconnect`. Commands arrive already wrapped for `_sudo`/`_su_user`/`_env`, and
//! file transfers only move bytes between a controller path and a temp path in the target:
//! rinfra moves uploads into place (and stages downloads) itself with commands, as for every
//! "prefix a command" connector, so an external connector stays a few dozen lines.
//!
//! Why one file over 600 lines: the blocking inventory session, the async per-host session and
//! the protocol types are one protocol; splitting them (`external/{sync,session,wire}.rs`) is
//! for when the branch may add files.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader as StdBufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::output::{CommandOutput, OutputLine, Stream};
use crate::staged::{get_staged, put_staged, StagedTransfer};

/// The protocol version rinfra speaks (sent in `hello`).
pub const EXTERNAL_PROTOCOL_VERSION: u64 = 1;

/// Executables named `PREFIX + NAME` on PATH serve `@NAME`.
pub const EXTERNAL_CONNECTOR_PREFIX: &str = "rinfra-connector-";

/// How long `disconnect` waits for the process to exit before killing it.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Extra time given to a connector past a command's `_timeout` before rinfra kills it.
const TIMEOUT_GRACE: Duration = Duration::from_secs(5);

/// Lines of the connector's stderr kept for error messages.
const STDERR_TAIL: usize = 20;

/// Every `rinfra-connector-*` executable on PATH, first one per name (PATH order), by name.
pub fn find_external_connectors() -> Vec<ExternalInventory> {
    let mut found = std::collections::BTreeMap::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(EXTERNAL_CONNECTOR_PREFIX))
            else {
                continue;
            };
            if valid_name(name) && is_executable(&entry.path()) && !found.contains_key(name) {
                found.insert(name.to_string(), entry.path());
            }
        }
    }
    found
        .into_iter()
        .map(|(name, path)| ExternalInventory::new(&name, path))
        .collect()
}

/// The `rinfra-connector-NAME` executable on PATH serving `@NAME`, if any.
pub fn find_external_connector(name: &str) -> Option<ExternalInventory> {
    if !valid_name(name) {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("{EXTERNAL_CONNECTOR_PREFIX}{name}")))
        .find(|p| is_executable(p))
        .map(|p| ExternalInventory::new(name, p))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a connector says about itself in answer to `hello`.
#[derive(Debug, Clone, Deserialize)]
struct Hello {
    #[serde(default = "default_protocol")]
    protocol: u64,
    #[serde(default = "default_true")]
    handles_execution: bool,
    #[serde(default)]
    description: Option<String>,
}

fn default_protocol() -> u64 {
    EXTERNAL_PROTOCOL_VERSION
}

fn default_true() -> bool {
    true
}

/// A host as `make_names_data` returns it; `groups` defaults to `["@NAME"]`.
#[derive(Debug, Deserialize)]
struct WireHost {
    name: String,
    #[serde(default)]
    data: serde_json::Map<String, Value>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct WireHosts {
    hosts: Vec<WireHost>,
}

/// One answer or event line from the connector.
#[derive(Debug, Deserialize)]
struct Incoming {
    id: Option<u64>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RemoteError>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    line: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RemoteError {
    message: String,
    #[serde(default)]
    kind: Option<String>,
}

/// `rinfra @NAME/ARG ...` with `rinfra-connector-NAME` on PATH: an external connector.
#[derive(Debug)]
pub struct ExternalInventory {
    inner: Arc<Program>,
}

#[derive(Debug)]
struct Program {
    name: String,
    path: PathBuf,
    hello: OnceLock<Result<Hello, String>>,
    description: OnceLock<String>,
}

impl Program {
    fn label(&self) -> String {
        format!("{EXTERNAL_CONNECTOR_PREFIX}{}", self.name)
    }
}

impl ExternalInventory {
    /// The connector `@name` served by the executable at `path`.
    pub fn new(name: &str, path: PathBuf) -> Self {
        Self {
            inner: Arc::new(Program {
                name: name.to_string(),
                path,
                hello: OnceLock::new(),
                description: OnceLock::new(),
            }),
        }
    }

    /// The executable.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn hello(&self) -> Result<&Hello, InventoryError> {
        self.inner
            .hello
            .get_or_init(|| {
                let mut session = SyncSession::start(&self.inner)?;
                let hello = session.hello()?;
                session.finish();
                Ok(hello)
            })
            .as_ref()
            .map_err(|e| InventoryError::Other(e.clone()))
    }
}

/// A short-lived, blocking session for `hello` and `make_names_data` (inventory code is sync).
struct SyncSession<'a> {
    program: &'a Program,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: StdBufReader<std::process::ChildStdout>,
    stderr: Option<std::thread::JoinHandle<String>>,
    next_id: u64,
}

impl<'a> SyncSession<'a> {
    fn start(program: &'a Program) -> Result<Self, String> {
        let label = program.label();
        let mut child = std::process::Command::new(&program.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", program.path.display()))?;
        let stdin = child.stdin.take();
        let stdout = StdBufReader::new(child.stdout.take().ok_or(format!("{label}: no stdout"))?);
        let mut err = child.stderr.take();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(e) = err.as_mut() {
                let _ = std::io::Read::read_to_string(e, &mut text);
            }
            text
        });
        Ok(Self {
            program,
            child,
            stdin,
            stdout,
            stderr: Some(stderr),
            next_id: 0,
        })
    }

    /// The connector ended or broke: its exit status and stderr, for the message.
    fn died(&mut self, what: &str) -> String {
        self.stdin.take();
        // It may still run with its stdout closed: it is of no use any more.
        let _ = self.child.kill();
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(STDERR_TAIL).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "`{}` {what} ({status}){}",
            self.program.label(),
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {}", tail.join("\n"))
            }
        )
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|()| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.died(&format!("stopped reading its requests before `{method}`")));
        }
        loop {
            let mut buf = String::new();
            match self.stdout.read_line(&mut buf) {
                Ok(0) | Err(_) => return Err(self.died(&format!("exited during `{method}`"))),
                Ok(_) => {}
            }
            let msg: Incoming = serde_json::from_str(buf.trim()).map_err(|e| {
                format!(
                    "`{}` sent an invalid protocol line ({e}): {}",
                    self.program.label(),
                    buf.trim()
                )
            })?;
            if msg.id != Some(id) || msg.event.is_some() {
                continue;
            }
            if let Some(err) = msg.error {
                return Err(format!(
                    "`{}` {method}: {}",
                    self.program.label(),
                    err.message
                ));
            }
            return Ok(msg.result.unwrap_or(Value::Null));
        }
    }

    fn hello(&mut self) -> Result<Hello, String> {
        let result = self.call(
            "hello",
            json!({"protocol": EXTERNAL_PROTOCOL_VERSION, "name": self.program.name}),
        )?;
        let hello: Hello = serde_json::from_value(result)
            .map_err(|e| format!("`{}` hello: invalid answer: {e}", self.program.label()))?;
        if hello.protocol != EXTERNAL_PROTOCOL_VERSION {
            return Err(format!(
                "`{}` speaks protocol {}, rinfra speaks {EXTERNAL_PROTOCOL_VERSION}",
                self.program.label(),
                hello.protocol
            ));
        }
        Ok(hello)
    }

    /// Close stdin and wait for the process (killing it after the grace period).
    fn finish(mut self) {
        self.stdin.take();
        let deadline = std::time::Instant::now() + EXIT_GRACE;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

impl InventoryConnector for ExternalInventory {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn description(&self) -> &str {
        self.inner.description.get_or_init(|| {
            let label = self.inner.label();
            match self.hello() {
                Ok(Hello {
                    description: Some(d),
                    ..
                }) => d.clone(),
                Ok(_) => format!("external connector `{label}`"),
                Err(e) => format!("external connector `{label}` (not answering: {e})"),
            }
        })
    }

    fn handles_execution(&self) -> bool {
        self.hello().map(|h| h.handles_execution).unwrap_or(true)
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let mut session = SyncSession::start(&self.inner).map_err(InventoryError::Other)?;
        let hello = session.hello().map_err(InventoryError::Other)?;
        let _ = self.inner.hello.set(Ok(hello));
        let result = session
            .call("make_names_data", json!({ "arg": arg }))
            .map_err(InventoryError::Other)?;
        session.finish();
        let hosts: WireHosts = serde_json::from_value(result).map_err(|e| {
            InventoryError::Other(format!(
                "`{}` make_names_data: invalid answer: {e}",
                self.inner.label()
            ))
        })?;
        let group = format!("@{}", self.inner.name);
        Ok(hosts
            .hosts
            .into_iter()
            .map(|h| NameData {
                name: h.name,
                data: h.data,
                groups: h.groups.unwrap_or_else(|| vec![group.clone()]),
            })
            .collect())
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        Ok(Arc::new(ExternalConnector {
            program: self.inner.clone(),
            host,
            session: tokio::sync::Mutex::new(None),
            stderr: Arc::new(Mutex::new(VecDeque::new())),
        }))
    }
}

/// One host's long-lived connector process.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

/// Executes through an external connector process.
pub struct ExternalConnector {
    program: Arc<Program>,
    host: HostContext,
    session: tokio::sync::Mutex<Option<Session>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for ExternalConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalConnector")
            .field("program", &self.program.path)
            .field("host", &self.host.name)
            .finish_non_exhaustive()
    }
}

/// Why a call failed.
enum CallError {
    /// The connector answered with an error.
    Remote(RemoteError),
    /// The process is gone or broke the protocol.
    Lost(String),
    /// No answer within the timeout (the process was killed).
    Timeout(Duration),
}

impl From<CallError> for ConnectorError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Remote(r) if r.kind.as_deref() == Some("connection_lost") => {
                ConnectorError::ConnectionLost(r.message)
            }
            CallError::Remote(r) if r.kind.as_deref() == Some("timeout") => {
                ConnectorError::Other(format!("command timed out: {}", r.message))
            }
            CallError::Remote(r) => ConnectorError::Other(r.message),
            CallError::Lost(m) => ConnectorError::ConnectionLost(m),
            CallError::Timeout(d) => ConnectorError::Timeout(d),
        }
    }
}

impl ExternalConnector {
    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().expect("not poisoned");
        if lines.is_empty() {
            String::new()
        } else {
            format!(": {}", lines.iter().cloned().collect::<Vec<_>>().join("\n"))
        }
    }

    async fn start(&self) -> Result<Session, String> {
        let label = self.program.label();
        let mut child = Command::new(&self.program.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", self.program.path.display()))?;
        let stdin = child.stdin.take().ok_or(format!("{label}: no stdin"))?;
        let stdout = BufReader::new(child.stdout.take().ok_or(format!("{label}: no stdout"))?);
        if let Some(err) = child.stderr.take() {
            let tail = self.stderr.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut tail = tail.lock().expect("not poisoned");
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        Ok(Session {
            child,
            stdin,
            stdout: stdout.lines(),
            next_id: 0,
        })
    }

    /// Send one request and wait for its answer, passing output events to `on_output`.
    async fn call(
        &self,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
        mut on_output: impl FnMut(OutputLine) + Send,
    ) -> Result<Value, CallError> {
        let label = self.program.label();
        let mut guard = self.session.lock().await;
        let Some(session) = guard.as_mut() else {
            return Err(CallError::Lost(format!(
                "`{label}` for {} is not running (not connected, or it died earlier)",
                self.host.name
            )));
        };
        session.next_id += 1;
        let id = session.next_id;
        let exchange = async {
            let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
            session
                .stdin
                .write_all(line.as_bytes())
                .await
                .map_err(|_| format!("stopped reading its requests during `{method}`"))?;
            session
                .stdin
                .flush()
                .await
                .map_err(|_| format!("stopped reading its requests during `{method}`"))?;
            loop {
                let Ok(Some(line)) = session.stdout.next_line().await else {
                    return Err(format!("exited during `{method}`"));
                };
                let msg: Incoming = serde_json::from_str(line.trim())
                    .map_err(|e| format!("sent an invalid protocol line ({e}): {line}"))?;
                if msg.id != Some(id) {
                    continue;
                }
                if msg.event.as_deref() == Some("output") {
                    let stream = match msg.stream.as_deref() {
                        Some("stderr") => Stream::Stderr,
                        _ => Stream::Stdout,
                    };
                    on_output(OutputLine {
                        stream,
                        line: msg.line.unwrap_or_default(),
                    });
                    continue;
                }
                if msg.event.is_some() {
                    continue;
                }
                return Ok(msg
                    .error
                    .map(Err)
                    .unwrap_or(Ok(msg.result.unwrap_or(Value::Null))));
            }
        };
        let outcome = match timeout {
            Some(t) => match tokio::time::timeout(t + TIMEOUT_GRACE, exchange).await {
                Ok(r) => r,
                Err(_) => {
                    if let Some(mut s) = guard.take() {
                        let _ = s.child.kill().await;
                    }
                    return Err(CallError::Timeout(t));
                }
            },
            None => exchange.await,
        };
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(remote)) => Err(CallError::Remote(remote)),
            Err(why) => {
                // The process is unusable from now on.
                let status = match guard.take() {
                    Some(mut s) => {
                        let _ = s.child.start_kill();
                        s.child
                            .wait()
                            .await
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    }
                    None => String::new(),
                };
                // Let the stderr reader catch the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(CallError::Lost(format!(
                    "`{label}` {why}{status}{}",
                    self.stderr_tail()
                )))
            }
        }
    }
}

#[async_trait]
impl Connector for ExternalConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        let fail = |m: String| ConnectError::new(format!("{}: {m}", self.host.name));
        {
            let mut guard = self.session.lock().await;
            if guard.is_some() {
                return Ok(());
            }
            *guard = Some(self.start().await.map_err(fail)?);
        }
        let hello = self
            .call(
                "hello",
                json!({"protocol": EXTERNAL_PROTOCOL_VERSION, "name": self.program.name}),
                None,
                |_| {},
            )
            .await;
        let check = match hello {
            Ok(v) => serde_json::from_value::<Hello>(v)
                .map_err(|e| format!("hello: invalid answer: {e}"))
                .and_then(|h| {
                    (h.protocol == EXTERNAL_PROTOCOL_VERSION)
                        .then_some(())
                        .ok_or(format!(
                            "`{}` speaks protocol {}, rinfra speaks {EXTERNAL_PROTOCOL_VERSION}",
                            self.program.label(),
                            h.protocol
                        ))
                }),
            Err(e) => Err(ConnectorError::from(e).to_string()),
        };
        check.map_err(fail)?;
        self.call(
            "connect",
            json!({"host": self.host.name, "data": self.host.data}),
            None,
            |_| {},
        )
        .await
        .map_err(|e| fail(ConnectorError::from(e).to_string()))?;
        Ok(())
    }

    async fn disconnect(&self) {
        let _ = self.call("disconnect", json!({}), None, |_| {}).await;
        let Some(mut session) = self.session.lock().await.take() else {
            return;
        };
        drop(session.stdin);
        if tokio::time::timeout(EXIT_GRACE, session.child.wait())
            .await
            .is_err()
        {
            let _ = session.child.kill().await;
        }
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let params = json!({
            "command": command.command.get_raw_value(),
            "masked_command": command.command.get_masked_value(),
            "stdin": command.stdin,
            "timeout": command.timeout.map(|t| t.as_secs_f64()),
            "get_pty": command.get_pty,
        });
        let mut output = CommandOutput::default();
        let host = &self.host;
        let result = self
            .call("run_shell_command", params, command.timeout, |line| {
                if command.print_output {
                    host.reporter.command_output(&host.name, &line);
                }
                output.combined_lines.push(line);
            })
            .await;
        let result = match result {
            Err(CallError::Remote(r)) if r.kind.as_deref() == Some("timeout") => {
                return Err(ConnectorError::Timeout(command.timeout.unwrap_or_default()))
            }
            other => other?,
        };
        output.exit_code = result
            .get("exit_code")
            .and_then(Value::as_i64)
            .and_then(|c| i32::try_from(c).ok());
        Ok(output)
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        put_staged(self, request).await
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        get_staged(self, request).await
    }
}

#[async_trait]
impl StagedTransfer for ExternalConnector {
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        _print_output: bool,
        _print_input: bool,
    ) -> Result<(), ConnectorError> {
        self.call(
            "put_file",
            json!({"local": local, "remote": staged}),
            None,
            |_| {},
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            CallError::Remote(r) if r.kind.as_deref() != Some("connection_lost") => {
                ConnectorError::Transfer(format!("cannot upload to `{staged}`: {}", r.message))
            }
            other => other.into(),
        })
    }

    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        _print_output: bool,
        _print_input: bool,
    ) -> Result<(), ConnectorError> {
        self.call(
            "get_file",
            json!({"remote": staged, "local": local}),
            None,
            |_| {},
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            CallError::Remote(r) if r.kind.as_deref() != Some("connection_lost") => {
                ConnectorError::Transfer(format!("cannot download `{staged}`: {}", r.message))
            }
            other => other.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(valid_name("local-sh_2"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
        assert!(find_external_connector("../etc/passwd").is_none());
    }
}
