//! One container connector for `@docker`/`@podman` (the CLI on this machine) and
//! `@dockerssh`/`@podmanssh` (the CLI on a host reached over SSH, in `rinfra-ssh`).
//!
//! Everything container-specific is here, once: finding or starting the container
//! (`docker container inspect`, `docker run -d --pull=never IMAGE tail -f /dev/null`), running a
//! command in it (`docker exec -i ID sh -c ...`, the command in the CLI's environment when the
//! CLI runs here), staged file transfers with
//! `docker cp` (see `staged.rs`), noticing a container that went away, and `docker commit` +
//! `docker rm -f` at the end. Only the transport differs, behind [`ContainerEngine`]: running
//! the CLI as a local process ([`LocalEngine`]) or over an SSH session, and moving a file
//! between the controller and the machine the CLI runs on.
//!
//! rinfra never pulls implicitly (a mistyped name would otherwise reach out to a registry): a
//! missing image is an error naming it.

use std::path::Path;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::base::{Connector, GetFile, HostContext, PutFile, RawCommand};
use crate::error::{ConnectError, ConnectorError};
use crate::local_shell::{COMMAND_ENV_VAR, SH_COMMAND_FROM_ENV};
use crate::output::CommandOutput;
use crate::process::{run_local_process, run_local_process_with_env, LocalProcess};
use crate::staged::{get_staged, put_staged, StagedTransfer};

/// Which container CLI a connector drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerCli {
    /// `docker`.
    Docker,
    /// `podman`.
    Podman,
}

impl ContainerCli {
    /// The binary, also the name of the local connector (`@docker`, `@podman`).
    pub fn binary(self) -> &'static str {
        match self {
            ContainerCli::Docker => "docker",
            ContainerCli::Podman => "podman",
        }
    }

    /// `rm -f` arguments: podman waits 10 s for `tail` (PID 1 ignores SIGTERM) without `-t 0`.
    fn rm_args(self) -> &'static [&'static str] {
        match self {
            ContainerCli::Docker => &["rm", "-f"],
            ContainerCli::Podman => &["rm", "-f", "-t", "0"],
        }
    }
}

/// Whether a command gets `docker exec -t` (a terminal) rather than `-i`: `_get_pty` without
/// `_stdin` (pyinfra's `-it` is refused by docker when rinfra's own stdin is not a terminal,
/// and a pty cannot go with the stdin lines of `-i`).
pub fn exec_tty(command: &RawCommand<'_>) -> bool {
    command.get_pty && command.stdin.is_none()
}

/// Where the container CLI runs, and how files reach that machine: the only difference between
/// `@docker` and `@dockerssh`.
#[async_trait]
pub trait ContainerEngine: Send + Sync {
    /// The machine the CLI runs on, for messages (`None`: this one).
    fn machine(&self) -> Option<String>;

    /// Open the transport (an SSH connection); the default does nothing.
    async fn connect(&self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Close the transport; the default does nothing.
    async fn disconnect(&self) {}

    /// Run the CLI: `argv[0]` is the binary, each item one argument (never split by a shell).
    async fn run(
        &self,
        host: &HostContext,
        argv: &[&str],
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError>;

    /// Run `argv... sh -c COMMAND` (`argv` is `docker exec -i ID`) for a command in the
    /// container, with its stdin, timeout, pty and output reporting.
    async fn exec(
        &self,
        host: &HostContext,
        argv: &[&str],
        command: RawCommand<'_>,
    ) -> Result<CommandOutput, ConnectorError>;

    /// Copy the controller's file `local` (keeping its mode) to `dest` (`ID:PATH`) with
    /// `BIN cp`; returns the output of `BIN cp`.
    async fn copy_in(
        &self,
        host: &HostContext,
        bin: &str,
        local: &Path,
        dest: &str,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError>;

    /// Copy `source` (`ID:PATH`) to the controller's file `local` with `BIN cp`; returns the
    /// output of `BIN cp` (`local` is written only when it succeeded).
    async fn copy_out(
        &self,
        host: &HostContext,
        bin: &str,
        source: &str,
        local: &Path,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError>;
}

/// `(binary, arguments)` of an argv.
fn split_binary<'a, 'b>(argv: &'b [&'a str]) -> Result<(&'a str, &'b [&'a str]), ConnectorError> {
    match argv.split_first() {
        Some((bin, args)) => Ok((bin, args)),
        None => Err(ConnectorError::Other("an empty command line".into())),
    }
}

/// The container CLI on this machine, run as a local process.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalEngine;

#[async_trait]
impl ContainerEngine for LocalEngine {
    fn machine(&self) -> Option<String> {
        None
    }

    async fn run(
        &self,
        host: &HostContext,
        argv: &[&str],
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let (bin, args) = split_binary(argv)?;
        run_local_process(
            host,
            bin,
            args,
            LocalProcess {
                print_output,
                ..Default::default()
            },
        )
        .await
    }

    async fn exec(
        &self,
        host: &HostContext,
        argv: &[&str],
        command: RawCommand<'_>,
    ) -> Result<CommandOutput, ConnectorError> {
        // The command goes through the CLI's environment (`-e NAME` takes the value from
        // there), not its argv: passwords in a command must not show in the controller's
        // process list.
        let raw = command.command.get_raw_value();
        let (bin, args) = split_binary(argv)?;
        let Some((id, options)) = args.split_last() else {
            return Err(ConnectorError::Other("no container to exec in".into()));
        };
        let mut args = options.to_vec();
        args.extend(["-e", COMMAND_ENV_VAR, id, "sh", "-c", SH_COMMAND_FROM_ENV]);
        run_local_process_with_env(
            host,
            bin,
            &args,
            &[(COMMAND_ENV_VAR, raw.as_str())],
            LocalProcess {
                stdin: command.stdin,
                stdin_bytes: None,
                timeout: command.timeout,
                print_output: command.print_output,
            },
        )
        .await
    }

    async fn copy_in(
        &self,
        host: &HostContext,
        bin: &str,
        local: &Path,
        dest: &str,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let local = local.to_string_lossy();
        self.run(host, &[bin, "cp", &local, dest], print_output)
            .await
    }

    async fn copy_out(
        &self,
        host: &HostContext,
        bin: &str,
        source: &str,
        local: &Path,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let local = local.to_string_lossy();
        self.run(host, &[bin, "cp", source, &local], print_output)
            .await
    }
}

/// What a [`ContainerConnector`] runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerSource {
    /// `@docker/ID_OR_IMAGE` (pyinfra's `docker_identifier`): a container with that id or name
    /// is used as is (started first when stopped) and left running at the end; anything else
    /// is an image to start a new container from, committed and removed at the end.
    ContainerOrImage(String),
    /// `@dockerssh/HOST:IMAGE`: a new container from the image, committed and removed at the
    /// end.
    Image(String),
    /// `docker_container_id` of a `@dockerssh` host: this container, which must exist (it is
    /// started when stopped); committed and removed at the end, as pyinfra does.
    Container(String),
}

/// Options of `docker run` for a container made from an image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `--platform` (pyinfra's `docker_platform`).
    pub platform: Option<String>,
    /// `--arch` (pyinfra's `docker_architecture`).
    pub architecture: Option<String>,
}

/// The container a connected [`ContainerConnector`] runs in.
#[derive(Debug, Clone)]
struct Container {
    id: String,
    /// `docker commit` and `docker rm -f` it at the end.
    commit_and_remove: bool,
}

/// Executes in a docker (or podman) container, through a [`ContainerEngine`].
pub struct ContainerConnector<E> {
    cli: ContainerCli,
    host: HostContext,
    engine: E,
    source: ContainerSource,
    options: RunOptions,
    container: OnceCell<Container>,
}

impl<E> std::fmt::Debug for ContainerConnector<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerConnector")
            .field("cli", &self.cli)
            .field("host", &self.host.name)
            .field("source", &self.source)
            .field("container", &self.container.get())
            .finish_non_exhaustive()
    }
}

impl<E: ContainerEngine> ContainerConnector<E> {
    /// A connector for `host`, running `cli` through `engine` in the container `source` names.
    pub fn new(
        cli: ContainerCli,
        host: HostContext,
        engine: E,
        source: ContainerSource,
        options: RunOptions,
    ) -> Self {
        Self {
            cli,
            host,
            engine,
            source,
            options,
            container: OnceCell::new(),
        }
    }

    /// The container id, once connected.
    pub fn container_id(&self) -> Option<&str> {
        self.container.get().map(|c| c.id.as_str())
    }

    /// The transport.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    fn connected(&self) -> Result<&Container, ConnectorError> {
        self.container
            .get()
            .ok_or_else(|| ConnectorError::Other(format!("{} is not connected", self.host.name)))
    }

    /// ` on HOST` for a remote engine, `` for this machine.
    fn on(&self) -> String {
        self.engine
            .machine()
            .map(|m| format!(" on {m}"))
            .unwrap_or_default()
    }

    /// The CLI with `args`.
    async fn cli(&self, args: &[&str]) -> Result<CommandOutput, ConnectorError> {
        let mut argv = vec![self.cli.binary()];
        argv.extend_from_slice(args);
        self.engine.run(&self.host, &argv, false).await
    }

    fn cli_failure(&self, what: &str, output: &CommandOutput) -> String {
        let stderr = output.stderr();
        let why = if stderr.trim().is_empty() {
            format!("exit code {:?}", output.exit_code)
        } else {
            stderr.trim().to_string()
        };
        format!("`{} {what}`{} failed: {why}", self.cli.binary(), self.on())
    }

    /// The CLI is missing: exit code 127 from the shell that ran it.
    fn not_installed(&self, output: &CommandOutput) -> Option<String> {
        (output.exit_code == Some(127)).then(|| {
            format!(
                "`{}` is not installed{} (or not on the PATH)",
                self.cli.binary(),
                self.on()
            )
        })
    }

    /// `docker container inspect ID`: `Some((full id, running))` for a container, `None` when
    /// no container has that id or name.
    async fn inspect(&self, id: &str) -> Result<Option<(String, bool)>, String> {
        let bin = self.cli.binary();
        let out = self
            .cli(&["container", "inspect", id])
            .await
            .map_err(|e| format!("cannot run `{bin}`{}: {e}", self.on()))?;
        if out.exit_code != Some(0) {
            if let Some(e) = self.not_installed(&out) {
                return Err(e);
            }
            if out.stderr().to_lowercase().contains("no such") {
                return Ok(None);
            }
            return Err(self.cli_failure(&format!("container inspect {id}"), &out));
        }
        let parsed: serde_json::Value = serde_json::from_str(&out.stdout())
            .map_err(|e| format!("cannot parse `{bin} container inspect {id}`: {e}"))?;
        let Some(info) = parsed.get(0) else {
            return Ok(None);
        };
        let full_id = info
            .get("Id")
            .and_then(|v| v.as_str())
            .unwrap_or(id)
            .to_string();
        let running = info
            .pointer("/State/Running")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Ok(Some((full_id, running)))
    }

    /// Use the existing container `id`, starting it when it is stopped.
    async fn use_existing(&self, id: &str, running: bool) -> Result<(), String> {
        if running {
            return Ok(());
        }
        self.host.reporter.notice(
            &self.host.name,
            &format!("starting stopped container: {id}"),
        );
        let out = self
            .cli(&["container", "start", id])
            .await
            .map_err(|e| e.to_string())?;
        if out.exit_code != Some(0) {
            return Err(self.cli_failure(&format!("container start {id}"), &out));
        }
        Ok(())
    }

    /// `docker run -d --pull=never IMAGE tail -f /dev/null`: the new container's id.
    async fn start_from_image(&self, image: &str, what: &str) -> Result<String, String> {
        let bin = self.cli.binary();
        let mut args = vec!["run", "-d", "--pull=never"];
        if let Some(p) = self.options.platform.as_deref() {
            args.extend(["--platform", p]);
        }
        if let Some(a) = self.options.architecture.as_deref() {
            args.extend(["--arch", a]);
        }
        args.extend([image, "tail", "-f", "/dev/null"]);
        let out = self.cli(&args).await.map_err(|e| e.to_string())?;
        if out.exit_code != Some(0) {
            if let Some(e) = self.not_installed(&out) {
                return Err(e);
            }
            let lower = out.stderr().to_lowercase();
            if lower.contains("no such image")
                || lower.contains("image not known")
                || lower.contains("unable to find image")
            {
                let (here, there) = match self.engine.machine() {
                    Some(m) => (format!("on {m}"), " there"),
                    None => ("here".to_string(), ""),
                };
                return Err(format!(
                    "no {bin} {what} `{image}` {here} (rinfra never pulls images: run \
                     `{bin} pull {image}`{there} first)"
                ));
            }
            return Err(self.cli_failure(
                &format!("run -d --pull=never {image} tail -f /dev/null"),
                &out,
            ));
        }
        out.stdout_lines()
            .last()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| format!("`{bin} run` printed no container id"))
    }

    async fn find_or_start(&self) -> Result<Container, String> {
        match &self.source {
            ContainerSource::ContainerOrImage(id) => match self.inspect(id).await? {
                Some((full_id, running)) => {
                    self.use_existing(&full_id, running).await?;
                    Ok(Container {
                        id: full_id,
                        commit_and_remove: false,
                    })
                }
                None => Ok(Container {
                    id: self
                        .start_from_image(id, "container or image called")
                        .await?,
                    commit_and_remove: true,
                }),
            },
            ContainerSource::Image(image) => Ok(Container {
                id: self.start_from_image(image, "image").await?,
                commit_and_remove: true,
            }),
            ContainerSource::Container(id) => match self.inspect(id).await? {
                None => Err(format!(
                    "no {} container `{id}`{} (host data `docker_container_id`)",
                    self.cli.binary(),
                    self.on()
                )),
                Some((_, running)) => {
                    self.use_existing(id, running).await?;
                    Ok(Container {
                        id: id.clone(),
                        commit_and_remove: true,
                    })
                }
            },
        }
    }

    /// After a failed command: is the container still there and running? If not, the failure
    /// is the container's disappearance, not the command's.
    async fn check_alive(&self, id: &str) -> Result<(), ConnectorError> {
        let (bin, on) = (self.cli.binary(), self.on());
        match self.inspect(id).await {
            Ok(Some((_, true))) => Ok(()),
            Ok(Some((_, false))) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}`{on} has stopped"
            ))),
            Ok(None) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}`{on} no longer exists"
            ))),
            Err(e) => Err(ConnectorError::ConnectionLost(e)),
        }
    }

    /// `docker commit` (the image id goes to the reporter's notice), then `docker rm -f`.
    async fn commit_and_remove(&self, id: &str) {
        let bin = self.cli.binary();
        let (host, reporter) = (&self.host.name, &self.host.reporter);
        match self.cli(&["commit", id]).await {
            Ok(out) if out.exit_code == Some(0) => {
                let last = out.stdout_lines().last().map(|l| l.trim()).unwrap_or("");
                let image = last.strip_prefix("sha256:").unwrap_or(last);
                let short: String = image.chars().take(12).collect();
                reporter.notice(host, &format!("{bin} build complete, image ID: {short}"));
            }
            Ok(out) => reporter.notice(host, &self.cli_failure(&format!("commit {id}"), &out)),
            Err(e) => reporter.notice(host, &format!("`{bin} commit {id}` failed: {e}")),
        }
        let mut rm: Vec<&str> = self.cli.rm_args().to_vec();
        rm.push(id);
        match self.cli(&rm).await {
            Ok(out) if out.exit_code == Some(0) => {}
            Ok(out) => reporter.notice(host, &self.cli_failure(&rm.join(" "), &out)),
            Err(e) => reporter.notice(host, &format!("`{bin} rm` failed: {e}")),
        }
    }

    /// `docker cp FROM TO` through the engine; a failure names the container's state.
    async fn copy(
        &self,
        from: &str,
        to: &str,
        print_input: bool,
        copy: impl std::future::Future<Output = Result<CommandOutput, ConnectorError>>,
    ) -> Result<(), ConnectorError> {
        let id = self.connected()?.id.clone();
        if print_input {
            self.host.reporter.command_input(
                &self.host.name,
                &format!(
                    "{} cp {} {}",
                    self.cli.binary(),
                    crate::quote::quote(from),
                    crate::quote::quote(to)
                ),
            );
        }
        let out = copy.await?;
        if out.exit_code != Some(0) {
            self.check_alive(&id).await?;
            return Err(ConnectorError::Transfer(
                self.cli_failure(&format!("cp {from} {to}"), &out),
            ));
        }
        Ok(())
    }
}

/// Whether a failed `docker exec` may mean the container went away: killed (137, or no exit
/// code), docker's own error codes (125-127), or docker's messages on exit code 1.
fn may_be_gone(output: &CommandOutput) -> bool {
    match output.exit_code {
        None => true,
        Some(code) if code >= 125 => true,
        Some(_) => output.stderr_lines().iter().any(|l| {
            let l = l.to_lowercase();
            l.contains("no such container")
                || l.contains("is not running")
                || l.contains("container state improper")
        }),
    }
}

#[async_trait]
impl<E: ContainerEngine> Connector for ContainerConnector<E> {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        self.engine.connect().await?;
        self.container
            .get_or_try_init(|| self.find_or_start())
            .await
            .map_err(|e| ConnectError::new(format!("{}: {e}", self.host.name)))?;
        Ok(())
    }

    async fn disconnect(&self) {
        if let Some(container) = self.container.get() {
            if container.commit_and_remove {
                self.commit_and_remove(&container.id).await;
            } else {
                self.host.reporter.notice(
                    &self.host.name,
                    &format!(
                        "{} build complete, container left running: {}",
                        self.cli.binary(),
                        container.id
                    ),
                );
            }
        }
        self.engine.disconnect().await;
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let id = self.connected()?.id.clone();
        let flag = if exec_tty(&command) { "-t" } else { "-i" };
        let argv = [self.cli.binary(), "exec", flag, id.as_str()];
        let output = self.engine.exec(&self.host, &argv, command).await?;
        if output.exit_code != Some(0) && may_be_gone(&output) {
            self.check_alive(&id).await?;
        }
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
impl<E: ContainerEngine> StagedTransfer for ContainerConnector<E> {
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let to = format!("{}:{staged}", self.connected()?.id);
        let bin = self.cli.binary();
        let copy = self
            .engine
            .copy_in(&self.host, bin, local, &to, print_output);
        self.copy(&local.to_string_lossy(), &to, print_input, copy)
            .await
    }

    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let from = format!("{}:{staged}", self.connected()?.id);
        let bin = self.cli.binary();
        let copy = self
            .engine
            .copy_out(&self.host, bin, &from, local, print_output);
        self.copy(&from, &local.to_string_lossy(), print_input, copy)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_detection() {
        let mut out = CommandOutput::from_stdout(&[], 1);
        assert!(!may_be_gone(&out));
        out.push(
            crate::output::Stream::Stderr,
            "Error response from daemon: No such container: abc",
        );
        assert!(may_be_gone(&out));
        assert!(may_be_gone(&CommandOutput::from_stdout(&[], 137)));
        assert!(!may_be_gone(&CommandOutput::from_stdout(&[], 2)));
    }
}
