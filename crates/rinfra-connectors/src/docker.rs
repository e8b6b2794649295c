//! `@docker/IMAGE_OR_CONTAINER` and `@podman/IMAGE_OR_CONTAINER`: run commands in containers.
//!
//! `rinfra @docker/debian:12 exec -- uname -a`
//!
//! `rinfra @podman/2beb8c15a1b1 deploy.py`
//!
//! As pyinfra's `DockerConnector` (podman is the same connector with the `podman` binary):
//!
//! * **connect**: `docker container inspect ID`. A container is used as is (started first if it
//!   is stopped) and left running at the end. Anything else is taken as an image:
//!   `docker run -d --pull=never [--platform P] [--arch A] IMAGE tail -f /dev/null`. rinfra never
//!   pulls implicitly (a mistyped name would otherwise reach out to a registry): a missing image
//!   is an error naming it.
//! * **commands**: `docker exec -i CID sh -c '<wrapped command>'`, through the local process
//!   runner. `_get_pty` gives `docker exec -t` (pyinfra's `-it` is refused by docker when rinfra's
//!   own stdin is not a terminal; with `_stdin` the command gets `-i`, which a pty cannot go
//!   with).
//! * **files**: `docker cp` to a temp path inside the container, then moved into place inside the
//!   container with the operation's `_sudo`/`_su_user` (pyinfra ignores them and copies straight
//!   onto the destination); downloads are copied inside the container first, then `docker cp`'d
//!   out.
//! * **disconnect**: a container made from an image is saved with `docker commit` (the new image
//!   id goes to the reporter's `notice`) and removed with `docker rm -f`.
//!
//! The CLI finds its daemon the usual way: `DOCKER_HOST`, `DOCKER_CONTEXT`, `CONTAINER_HOST`
//! and `CONTAINERS_CONF` are inherited from rinfra's environment.
//!
//! A container that disappears while rinfra uses it (`docker rm -f`, daemon restart) turns the
//! next command into [`ConnectorError::ConnectionLost`] naming the container.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::output::CommandOutput;
use crate::process::{run_local_process, LocalProcess};
use crate::staged::{get_staged, put_staged, StagedTransfer};

/// Which container CLI a [`DockerInventory`] drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerCli {
    /// `docker`, connector `@docker`.
    Docker,
    /// `podman`, connector `@podman`.
    Podman,
}

impl ContainerCli {
    /// The binary, also the connector name.
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

/// Host data of `@docker` and `@podman` hosts (pyinfra's names).
#[derive(Debug, Deserialize)]
pub struct DockerData {
    /// ID or name of the container, or the image, to start from.
    pub docker_identifier: String,
    /// Platform to use for the image (e.g. `linux/amd64`): `docker run --platform`.
    #[serde(default)]
    pub docker_platform: Option<String>,
    /// Architecture to use for the image (e.g. `amd64`, `arm64`): `docker run --arch`.
    #[serde(default)]
    pub docker_architecture: Option<String>,
}

/// `rinfra @docker/debian:12 ...`, `rinfra @podman/CONTAINER ...`: the `@docker` / `@podman`
/// inventory connector.
#[derive(Debug, Clone, Copy)]
pub struct DockerInventory {
    cli: ContainerCli,
}

impl DockerInventory {
    /// `@docker`.
    pub fn docker() -> Self {
        Self {
            cli: ContainerCli::Docker,
        }
    }

    /// `@podman`.
    pub fn podman() -> Self {
        Self {
            cli: ContainerCli::Podman,
        }
    }
}

impl InventoryConnector for DockerInventory {
    fn name(&self) -> &str {
        self.cli.binary()
    }

    fn description(&self) -> &str {
        match self.cli {
            ContainerCli::Docker => {
                "a docker container, or a new one from an image, saved with `docker commit` (@docker/IMAGE_OR_CONTAINER)"
            }
            ContainerCli::Podman => {
                "a podman container, or a new one from an image, saved with `podman commit` (@podman/IMAGE_OR_CONTAINER)"
            }
        }
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let bin = self.cli.binary();
        let Some(id) = arg.filter(|a| !a.is_empty()) else {
            return Err(InventoryError::InvalidHost {
                host: format!("@{bin}"),
                reason: format!("no {bin} image or container given; write `@{bin}/IMAGE_OR_ID`"),
            });
        };
        // Never let a name become an option of the CLI (`@docker/--privileged`).
        if id.starts_with('-') {
            return Err(InventoryError::InvalidHost {
                host: format!("@{bin}/{id}"),
                reason: "image and container names cannot start with `-`".into(),
            });
        }
        let mut host = NameData::new(format!("@{bin}/{id}"), &[&format!("@{bin}")]);
        host.data
            .insert("docker_identifier".into(), serde_json::Value::from(id));
        Ok(vec![host])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let data: DockerData = serde_json::from_value(serde_json::Value::Object(host.data.clone()))
            .map_err(|e| ConnectError::new(format!("invalid host data for {}: {e}", host.name)))?;
        Ok(Arc::new(DockerConnector {
            cli: self.cli,
            host,
            data,
            container: OnceCell::new(),
        }))
    }
}

/// The container a connected [`DockerConnector`] runs in.
#[derive(Debug, Clone)]
struct Container {
    id: String,
    /// Made by us from an image: commit and remove it at the end.
    from_image: bool,
}

/// Executes in a docker (or podman) container.
#[derive(Debug)]
pub struct DockerConnector {
    cli: ContainerCli,
    host: HostContext,
    data: DockerData,
    container: OnceCell<Container>,
}

impl DockerConnector {
    /// The container id, once connected.
    pub fn container_id(&self) -> Option<&str> {
        self.container.get().map(|c| c.id.as_str())
    }

    fn connected(&self) -> Result<&Container, ConnectorError> {
        self.container
            .get()
            .ok_or_else(|| ConnectorError::Other(format!("{} is not connected", self.host.name)))
    }

    /// Run the container CLI with `args` (no shell in between).
    async fn cli(&self, args: &[&str], print: bool) -> Result<CommandOutput, ConnectorError> {
        run_local_process(
            &self.host,
            self.cli.binary(),
            args,
            LocalProcess {
                print_output: print,
                ..Default::default()
            },
        )
        .await
    }

    fn cli_failure(&self, what: &str, output: &CommandOutput) -> String {
        let bin = self.cli.binary();
        let stderr = output.stderr();
        let why = if stderr.trim().is_empty() {
            format!("exit code {:?}", output.exit_code)
        } else {
            stderr.trim().to_string()
        };
        format!("`{bin} {what}` failed: {why}")
    }

    /// `docker container inspect ID`: `Some((full id, running))` for a container, `None` when
    /// no container has that id or name.
    async fn inspect(&self, id: &str) -> Result<Option<(String, bool)>, ConnectError> {
        let bin = self.cli.binary();
        let out = self
            .cli(&["container", "inspect", id], false)
            .await
            .map_err(|e| ConnectError::new(format!("cannot run `{bin}`: {e}")))?;
        if out.exit_code != Some(0) {
            let stderr = out.stderr().to_lowercase();
            if stderr.contains("no such") {
                return Ok(None);
            }
            return Err(ConnectError::new(
                self.cli_failure(&format!("container inspect {id}"), &out),
            ));
        }
        let parsed: serde_json::Value = serde_json::from_str(&out.stdout()).map_err(|e| {
            ConnectError::new(format!("cannot parse `{bin} container inspect {id}`: {e}"))
        })?;
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

    async fn start_from_image(&self, image: &str) -> Result<String, ConnectError> {
        let bin = self.cli.binary();
        let mut args = vec!["run", "-d", "--pull=never"];
        if let Some(p) = self.data.docker_platform.as_deref() {
            args.extend(["--platform", p]);
        }
        if let Some(a) = self.data.docker_architecture.as_deref() {
            args.extend(["--arch", a]);
        }
        args.extend([image, "tail", "-f", "/dev/null"]);
        let out = self
            .cli(&args, false)
            .await
            .map_err(|e| ConnectError::new(format!("cannot run `{bin}`: {e}")))?;
        if out.exit_code != Some(0) {
            let stderr = out.stderr();
            let lower = stderr.to_lowercase();
            if lower.contains("no such image") || lower.contains("image not known") {
                return Err(ConnectError::new(format!(
                    "no {bin} container or image called `{image}` here (rinfra never pulls \
                     images: run `{bin} pull {image}` first)"
                )));
            }
            return Err(ConnectError::new(self.cli_failure(
                &format!("run -d --pull=never {image} tail -f /dev/null"),
                &out,
            )));
        }
        out.stdout_lines()
            .last()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| ConnectError::new(format!("`{bin} run` printed no container id")))
    }

    /// After a failed command: is the container still there and running? If not, the failure
    /// is the container's disappearance, not the command's.
    async fn check_alive(&self, id: &str) -> Result<(), ConnectorError> {
        let bin = self.cli.binary();
        match self.inspect(id).await {
            Ok(Some((_, true))) => Ok(()),
            Ok(Some((_, false))) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}` has stopped"
            ))),
            Ok(None) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}` no longer exists"
            ))),
            Err(e) => Err(ConnectorError::ConnectionLost(e.message)),
        }
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
impl Connector for DockerConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        let id = self.data.docker_identifier.as_str();
        self.container
            .get_or_try_init(|| async {
                match self.inspect(id).await? {
                    Some((full_id, running)) => {
                        if !running {
                            self.host.reporter.notice(
                                &self.host.name,
                                &format!("starting stopped container: {id}"),
                            );
                            let out = self
                                .cli(&["container", "start", &full_id], false)
                                .await
                                .map_err(|e| ConnectError::new(e.to_string()))?;
                            if out.exit_code != Some(0) {
                                return Err(ConnectError::new(
                                    self.cli_failure(&format!("container start {id}"), &out),
                                ));
                            }
                        }
                        Ok(Container {
                            id: full_id,
                            from_image: false,
                        })
                    }
                    None => Ok(Container {
                        id: self.start_from_image(id).await?,
                        from_image: true,
                    }),
                }
            })
            .await
            .map_err(|e| ConnectError::new(format!("{}: {}", self.host.name, e.message)))?;
        Ok(())
    }

    async fn disconnect(&self) {
        let Some(container) = self.container.get() else {
            return;
        };
        let bin = self.cli.binary();
        let (host, id) = (&self.host.name, container.id.as_str());
        let reporter = &self.host.reporter;
        if !container.from_image {
            reporter.notice(
                host,
                &format!("{bin} build complete, container left running: {id}"),
            );
            return;
        }
        match self.cli(&["commit", id], false).await {
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
        match self.cli(&rm, false).await {
            Ok(out) if out.exit_code == Some(0) => {}
            Ok(out) => reporter.notice(host, &self.cli_failure(&rm.join(" "), &out)),
            Err(e) => reporter.notice(host, &format!("`{bin} rm` failed: {e}")),
        }
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let id = self.connected()?.id.clone();
        let raw = command.command.get_raw_value();
        let flag = if command.get_pty && command.stdin.is_none() {
            "-t"
        } else {
            "-i"
        };
        let output = run_local_process(
            &self.host,
            self.cli.binary(),
            &["exec", flag, id.as_str(), "sh", "-c", raw.as_str()],
            LocalProcess {
                stdin: command.stdin,
                stdin_bytes: None,
                timeout: command.timeout,
                print_output: command.print_output,
            },
        )
        .await?;
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
impl StagedTransfer for DockerConnector {
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let id = self.connected()?.id.clone();
        self.docker_cp(
            &local.to_string_lossy(),
            &format!("{id}:{staged}"),
            &id,
            print_output,
            print_input,
        )
        .await
    }

    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let id = self.connected()?.id.clone();
        self.docker_cp(
            &format!("{id}:{staged}"),
            &local.to_string_lossy(),
            &id,
            print_output,
            print_input,
        )
        .await
    }
}

impl DockerConnector {
    async fn docker_cp(
        &self,
        from: &str,
        to: &str,
        id: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let bin = self.cli.binary();
        if print_input {
            self.host.reporter.command_input(
                &self.host.name,
                &format!(
                    "{bin} cp {} {}",
                    crate::quote::quote(from),
                    crate::quote::quote(to)
                ),
            );
        }
        let out = self.cli(&["cp", from, to], print_output).await?;
        if out.exit_code != Some(0) {
            self.check_alive(id).await?;
            return Err(ConnectorError::Transfer(
                self.cli_failure(&format!("cp {from} {to}"), &out),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_data() {
        let hosts = DockerInventory::docker()
            .make_names_data(Some("debian:12"))
            .unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "@docker/debian:12");
        assert_eq!(hosts[0].groups, ["@docker"]);
        assert_eq!(hosts[0].data["docker_identifier"], "debian:12");
        let hosts = DockerInventory::podman()
            .make_names_data(Some("abc"))
            .unwrap();
        assert_eq!(hosts[0].name, "@podman/abc");
        assert_eq!(hosts[0].groups, ["@podman"]);
        let err = DockerInventory::docker().make_names_data(None).unwrap_err();
        assert!(err.to_string().contains("@docker/IMAGE_OR_ID"), "{err}");
        assert!(DockerInventory::docker()
            .make_names_data(Some("--privileged"))
            .is_err());
    }

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
