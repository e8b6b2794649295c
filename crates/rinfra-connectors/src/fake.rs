//! `@fake`: hosts that execute nothing and answer commands from canned responses (for tests).
//!
//! `rinfra @fake/a,@fake/b exec -- uptime`
//!
//! Host data `fake_responses` maps a matcher to a response. A matcher is a substring of the
//! command, or a regular expression when written `re:PATTERN`; the first match (in the data's
//! order) wins. A response is a string or list of strings (stdout, success), or an object
//! `{"stdout": ..., "stderr": ..., "success": bool, "exit_code": int}`. Unmatched commands
//! succeed with no output. As in pyinfra 3.10, the fake connector sees the *unwrapped* masked
//! command. `fake_delay` (seconds) delays every command; unlike pyinfra the default is 0, so
//! test runs stay fast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::arguments::ConnectorArguments;
use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::command::StringCommand;
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::output::{CommandOutput, Stream};

/// The `@fake` inventory connector.
#[derive(Debug, Default)]
pub struct FakeInventory;

impl InventoryConnector for FakeInventory {
    fn name(&self) -> &str {
        "fake"
    }

    fn description(&self) -> &str {
        "simulated hosts with canned command responses, for tests (@fake/NAME)"
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        match arg {
            None => Ok(vec![NameData::new("@fake", &["@fake"])]),
            Some(names) => Ok(names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| NameData::new(format!("@fake/{n}"), &["@fake"]))
                .collect()),
        }
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let responses = parse_responses(host.data.get("fake_responses"))
            .map_err(|e| ConnectError::new(format!("invalid fake_responses: {e}")))?;
        let delay = host
            .data
            .get("fake_delay")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        Ok(Arc::new(FakeConnector {
            host,
            responses,
            delay: Duration::from_secs_f64(delay.max(0.0)),
            executed: Mutex::new(Vec::new()),
        }))
    }
}

#[derive(Debug)]
enum Matcher {
    Substring(String),
    Regex(regex::Regex),
}

#[derive(Debug)]
struct Response {
    stdout: Vec<String>,
    stderr: Vec<String>,
    exit_code: i32,
}

fn lines_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.lines().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_responses(v: Option<&Value>) -> Result<Vec<(Matcher, Response)>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let map = v
        .as_object()
        .ok_or("expected an object of matcher: response")?;
    map.iter()
        .map(|(k, r)| {
            let matcher = match k.strip_prefix("re:") {
                Some(p) => Matcher::Regex(regex::Regex::new(p).map_err(|e| e.to_string())?),
                None => Matcher::Substring(k.clone()),
            };
            let response = match r {
                Value::Object(o) => {
                    let success = o.get("success").and_then(Value::as_bool).unwrap_or(true);
                    let exit_code = o
                        .get("exit_code")
                        .and_then(Value::as_i64)
                        .map(|c| c as i32)
                        .unwrap_or(if success { 0 } else { 1 });
                    Response {
                        stdout: lines_of(o.get("stdout")),
                        stderr: lines_of(o.get("stderr")),
                        exit_code,
                    }
                }
                other => Response {
                    stdout: lines_of(Some(other)),
                    stderr: Vec::new(),
                    exit_code: 0,
                },
            };
            Ok((matcher, response))
        })
        .collect()
}

/// A simulated host. Records every command it was asked to run.
#[derive(Debug)]
pub struct FakeConnector {
    host: HostContext,
    responses: Vec<(Matcher, Response)>,
    delay: Duration,
    executed: Mutex<Vec<String>>,
}

impl FakeConnector {
    /// The masked commands this host has been asked to run, in order.
    pub fn executed_commands(&self) -> Vec<String> {
        self.executed.lock().expect("not poisoned").clone()
    }

    fn respond(&self, command: &str) -> CommandOutput {
        self.executed
            .lock()
            .expect("not poisoned")
            .push(command.to_string());
        let hit = self.responses.iter().find(|(m, _)| match m {
            Matcher::Substring(s) => command.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(command),
        });
        let mut out = CommandOutput {
            combined_lines: Vec::new(),
            exit_code: Some(0),
        };
        if let Some((_, r)) = hit {
            r.stdout
                .iter()
                .for_each(|l| out.push(Stream::Stdout, l.clone()));
            r.stderr
                .iter()
                .for_each(|l| out.push(Stream::Stderr, l.clone()));
            out.exit_code = Some(r.exit_code);
        }
        out
    }
}

#[async_trait]
impl Connector for FakeConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        Ok(self.respond(&command.command.get_masked_value()))
    }

    async fn run_shell_command(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
        arguments: &ConnectorArguments,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let masked = command.get_masked_value();
        if print_input {
            self.host.reporter.command_input(&self.host.name, &masked);
        }
        let output = self.respond(&masked);
        if print_output {
            for line in &output.combined_lines {
                self.host.reporter.command_output(&self.host.name, line);
            }
        }
        Ok((arguments.is_success(output.exit_code), output))
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        let PutFile { src, remote, .. } = request;
        src.read()?;
        self.executed
            .lock()
            .expect("not poisoned")
            .push(format!("put_file {remote}"));
        Ok(true)
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        let GetFile { remote, dst, .. } = request;
        self.executed
            .lock()
            .expect("not poisoned")
            .push(format!("get_file {remote}"));
        let content = self
            .host
            .data
            .get("fake_files")
            .and_then(|f| f.get(remote))
            .and_then(Value::as_str)
            .unwrap_or("");
        std::fs::write(dst, content)
            .map_err(|e| ConnectorError::io(format!("cannot write `{}`", dst.display()), e))?;
        Ok(true)
    }
}
