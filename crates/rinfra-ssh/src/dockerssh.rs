//! `@dockerssh/HOST:IMAGE` and `@podmanssh/HOST:IMAGE`: a container on a remote host, over SSH.
//!
//! `rinfra @dockerssh/deploy@build1.example.net:debian:12 deploy.py`
//!
//! As pyinfra's `DockerSSHConnector` (podman is the same connector with the `podman` binary),
//! composed of an [`SshConnector`] to `HOST` (all `ssh_*` host data applies) that runs the
//! container CLI there:
//!
//! * **names**: the argument is split at the first `:` into `HOST` (which may be `user@host`,
//!   giving `ssh_user`) and `IMAGE`; the host gets data `ssh_hostname`, `docker_image` and group
//!   `@dockerssh` (`@podmanssh`). A port goes in `ssh_port`, not in the name.
//! * **connect**: SSH connect, then, unless the host data has `docker_container_id`,
//!   `docker run -d --pull=never IMAGE tail -f /dev/null` over SSH. rinfra never pulls: a missing
//!   image is an error naming image and host. A given `docker_container_id` must exist there (it
//!   is started when stopped).
//! * **commands**: `docker exec -i CID sh -c '<wrapped command>'` over SSH (`-t` with `_get_pty`,
//!   as `@docker`). `_sudo`/`_su_user`/`_env` wrap the command inside the container.
//! * **put**: the bytes go over SFTP to a private temp dir on `HOST` (`mkdir -m 700`), then
//!   `docker cp` to a temp path inside the container, the `HOST` temp dir is removed (pyinfra
//!   leaves it), and the file is moved into place *inside the container* with the operation's
//!   escalation ([`install_command`]): nothing is ever half-written.
//! * **get**: copied to a temp path inside the container with the operation's escalation,
//!   `docker cp` out to a private temp dir on `HOST`, fetched over SFTP, both temps removed.
//! * **disconnect**: always `docker commit` (the image id goes to the reporter's `notice`) and
//!   `docker rm -f`, as pyinfra — also for a container given by `docker_container_id` — then the
//!   SSH connection is closed.
//!
//! The container CLI runs as the SSH login user, with that session's environment: the user must
//! be allowed to use the engine (root, the `docker` group, or rootless podman).

use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{
    install_command, quoted, temp_path_beside, Bit, CommandOutput, ConnectError, Connector,
    ConnectorArguments, ConnectorError, ContainerCli, GetFile, HostContext, InventoryConnector,
    InventoryError, NameData, PutFile, RawCommand, StringCommand, DEFAULT_TEMP_DIR,
};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::connector::{temp_name, SshConnector, SshInventory};
use rinfra_connectors::write_local_atomically;

/// Host data of `@dockerssh` / `@podmanssh` hosts, besides the `ssh_*` keys (pyinfra's names).
#[derive(Debug, Clone, Deserialize)]
pub struct DockerSshData {
    /// The image a new container is made from.
    pub docker_image: String,
    /// Use this existing container instead of making one from the image.
    #[serde(default)]
    pub docker_container_id: Option<String>,
}

/// `rinfra @dockerssh/HOST:IMAGE ...`, `rinfra @podmanssh/HOST:IMAGE ...`: the inventory
/// connector. SSH settings (resolver, host key checks, jump hosts) come from an
/// [`SshInventory`].
#[derive(Debug, Clone)]
pub struct DockerSshInventory {
    cli: ContainerCli,
    ssh: SshInventory,
}

impl DockerSshInventory {
    /// `@dockerssh`, with the default [`SshInventory`].
    pub fn docker() -> Self {
        Self {
            cli: ContainerCli::Docker,
            ssh: SshInventory::default(),
        }
    }

    /// `@podmanssh`, with the default [`SshInventory`].
    pub fn podman() -> Self {
        Self {
            cli: ContainerCli::Podman,
            ssh: SshInventory::default(),
        }
    }

    /// Register `@dockerssh` and `@podmanssh` (sharing one default [`SshInventory`]).
    pub fn register_both(registry: &mut rinfra_connectors::ConnectorRegistry) {
        let ssh = SshInventory::default();
        registry.register(Arc::new(Self::docker().with_ssh(ssh.clone())));
        registry.register(Arc::new(Self::podman().with_ssh(ssh)));
    }

    /// Reach hosts through `ssh` (its resolver, verifier and jump pool).
    pub fn with_ssh(mut self, ssh: SshInventory) -> Self {
        self.ssh = ssh;
        self
    }

    fn name_str(&self) -> &'static str {
        match self.cli {
            ContainerCli::Docker => "dockerssh",
            ContainerCli::Podman => "podmanssh",
        }
    }
}

impl InventoryConnector for DockerSshInventory {
    fn name(&self) -> &str {
        self.name_str()
    }

    fn description(&self) -> &str {
        match self.cli {
            ContainerCli::Docker => {
                "a new docker container from an image on a host reached over SSH, saved with \
                 `docker commit` (@dockerssh/[USER@]HOST:IMAGE)"
            }
            ContainerCli::Podman => {
                "a new podman container from an image on a host reached over SSH, saved with \
                 `podman commit` (@podmanssh/[USER@]HOST:IMAGE)"
            }
        }
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let name = self.name_str();
        let invalid = |reason: String| InventoryError::InvalidHost {
            host: match arg {
                Some(a) => format!("@{name}/{a}"),
                None => format!("@{name}"),
            },
            reason,
        };
        let arg = arg.unwrap_or("");
        let Some((host, image)) = arg.split_once(':') else {
            return Err(invalid(format!(
                "no ssh host or {} image given; write `@{name}/[USER@]HOST:IMAGE`",
                self.cli.binary()
            )));
        };
        let (user, hostname) = match host.rsplit_once('@') {
            Some((user, hostname)) => (Some(user), hostname),
            None => (None, host),
        };
        if hostname.is_empty() {
            return Err(invalid(format!(
                "no ssh host given; write `@{name}/[USER@]HOST:IMAGE`"
            )));
        }
        if user == Some("") {
            return Err(invalid("empty user before `@`".into()));
        }
        if image.is_empty() {
            return Err(invalid(format!(
                "no {} image given; write `@{name}/[USER@]HOST:IMAGE`",
                self.cli.binary()
            )));
        }
        // Never let a name become an option of the CLI (`@dockerssh/h:--privileged`) or of ssh.
        if image.starts_with('-') || hostname.starts_with('-') {
            return Err(invalid("host and image names cannot start with `-`".into()));
        }
        let mut host_data = NameData::new(format!("@{name}/{arg}"), &[&format!("@{name}")]);
        let data = &mut host_data.data;
        data.insert("ssh_hostname".into(), hostname.into());
        if let Some(user) = user {
            data.insert("ssh_user".into(), user.into());
        }
        data.insert("docker_image".into(), image.into());
        Ok(vec![host_data])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        Ok(Arc::new(DockerSshConnector::new(self, host)?))
    }
}

/// Executes in a docker (or podman) container on a host reached over SSH.
pub struct DockerSshConnector {
    cli: ContainerCli,
    host: HostContext,
    data: DockerSshData,
    ssh: SshConnector,
    /// The container id, once connected.
    container: OnceCell<String>,
}

impl std::fmt::Debug for DockerSshConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerSshConnector")
            .field("host", &self.host.name)
            .field("container", &self.container.get())
            .finish_non_exhaustive()
    }
}

impl DockerSshConnector {
    fn new(inventory: &DockerSshInventory, host: HostContext) -> Result<Self, ConnectError> {
        let data: DockerSshData =
            serde_json::from_value(serde_json::Value::Object(host.data.clone())).map_err(|e| {
                ConnectError::new(format!("invalid host data for {}: {e}", host.name))
            })?;
        for (key, value) in [
            ("docker_image", Some(&data.docker_image)),
            ("docker_container_id", data.docker_container_id.as_ref()),
        ] {
            if value.is_some_and(|v| v.is_empty() || v.starts_with('-')) {
                return Err(ConnectError::new(format!(
                    "{}: invalid `{key}` {value:?}",
                    host.name
                )));
            }
        }
        let ssh_host = HostContext::new(&host.name, host.data.clone(), host.reporter.clone());
        let ssh = inventory.ssh.ssh_connector(ssh_host)?;
        Ok(Self {
            cli: inventory.cli,
            host,
            data,
            ssh,
            container: OnceCell::new(),
        })
    }

    /// The container id, once connected.
    pub fn container_id(&self) -> Option<&str> {
        self.container.get().map(String::as_str)
    }

    /// The SSH connector to the host the container runs on.
    pub fn ssh(&self) -> &SshConnector {
        &self.ssh
    }

    fn ssh_host(&self) -> String {
        self.host
            .data_str("ssh_hostname")
            .unwrap_or(&self.host.name)
            .to_string()
    }

    fn connected(&self) -> Result<&str, ConnectorError> {
        self.container_id()
            .ok_or_else(|| ConnectorError::Other(format!("{} is not connected", self.host.name)))
    }

    /// Run a shell command on the SSH host (not in the container), as the login user.
    async fn on_host(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        if print_input {
            self.host
                .reporter
                .command_input(&self.host.name, &command.get_masked_value());
        }
        self.ssh
            .execute(RawCommand {
                command,
                stdin: None,
                timeout: None,
                get_pty: false,
                print_output,
                // rinfra's own `docker ...` command lines: plain words.
                portable: true,
            })
            .await
    }

    /// `docker ARGS...` on the SSH host, each argument quoted.
    async fn cli(&self, args: &[&str]) -> Result<CommandOutput, ConnectorError> {
        let mut bits = vec![Bit::from(self.cli.binary())];
        bits.extend(args.iter().map(|a| quoted(*a)));
        self.on_host(&StringCommand::new(bits), false, false).await
    }

    fn cli_failure(&self, what: &str, output: &CommandOutput) -> String {
        let bin = self.cli.binary();
        let stderr = output.stderr();
        let why = if stderr.trim().is_empty() {
            format!("exit code {:?}", output.exit_code)
        } else {
            stderr.trim().to_string()
        };
        format!("`{bin} {what}` on {} failed: {why}", self.ssh_host())
    }

    /// The CLI is missing on the host: exit code 127 from the login shell.
    fn not_installed(&self, output: &CommandOutput) -> Option<String> {
        (output.exit_code == Some(127)).then(|| {
            format!(
                "`{}` is not installed on {} (or not on the ssh user's PATH)",
                self.cli.binary(),
                self.ssh_host()
            )
        })
    }

    /// `docker container inspect --format {{.State.Running}} ID`: `Some(running)` for a
    /// container, `None` when there is none of that id or name.
    async fn inspect(&self, id: &str) -> Result<Option<bool>, String> {
        let out = self
            .cli(&["container", "inspect", "--format", "{{.State.Running}}", id])
            .await
            .map_err(|e| e.to_string())?;
        if out.exit_code == Some(0) {
            return Ok(Some(out.stdout().trim() == "true"));
        }
        if let Some(e) = self.not_installed(&out) {
            return Err(e);
        }
        if out.stderr().to_lowercase().contains("no such") {
            return Ok(None);
        }
        Err(self.cli_failure(&format!("container inspect {id}"), &out))
    }

    async fn use_existing(&self, id: &str) -> Result<String, ConnectError> {
        let bin = self.cli.binary();
        match self.inspect(id).await.map_err(ConnectError::new)? {
            None => Err(ConnectError::new(format!(
                "no {bin} container `{id}` on {} (host data `docker_container_id`)",
                self.ssh_host()
            ))),
            Some(true) => Ok(id.to_string()),
            Some(false) => {
                self.host.reporter.notice(
                    &self.host.name,
                    &format!("starting stopped container: {id}"),
                );
                let out = self
                    .cli(&["container", "start", id])
                    .await
                    .map_err(|e| ConnectError::new(e.to_string()))?;
                if out.exit_code != Some(0) {
                    return Err(ConnectError::new(
                        self.cli_failure(&format!("container start {id}"), &out),
                    ));
                }
                Ok(id.to_string())
            }
        }
    }

    async fn start_from_image(&self) -> Result<String, ConnectError> {
        let bin = self.cli.binary();
        let image = self.data.docker_image.as_str();
        let out = self
            .cli(&[
                "run",
                "-d",
                "--pull=never",
                image,
                "tail",
                "-f",
                "/dev/null",
            ])
            .await
            .map_err(|e| ConnectError::new(e.to_string()))?;
        if out.exit_code != Some(0) {
            if let Some(e) = self.not_installed(&out) {
                return Err(ConnectError::new(e));
            }
            let lower = out.stderr().to_lowercase();
            if lower.contains("no such image")
                || lower.contains("image not known")
                || lower.contains("unable to find image")
            {
                return Err(ConnectError::new(format!(
                    "no {bin} image `{image}` on {} (rinfra never pulls images: run `{bin} pull \
                     {image}` there first)",
                    self.ssh_host()
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
            Ok(Some(true)) => Ok(()),
            Ok(Some(false)) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}` on {} has stopped",
                self.ssh_host()
            ))),
            Ok(None) => Err(ConnectorError::ConnectionLost(format!(
                "{bin} container `{id}` on {} no longer exists",
                self.ssh_host()
            ))),
            Err(e) => Err(ConnectorError::ConnectionLost(e)),
        }
    }

    /// `docker cp FROM TO` on the SSH host; a failure names the container's state.
    async fn docker_cp(
        &self,
        id: &str,
        from: &str,
        to: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let cmd = StringCommand::new([
            Bit::from(self.cli.binary()),
            Bit::from("cp"),
            quoted(from),
            quoted(to),
        ]);
        let out = self.on_host(&cmd, print_output, print_input).await?;
        if out.exit_code != Some(0) {
            self.check_alive(id).await?;
            return Err(ConnectorError::Transfer(
                self.cli_failure(&format!("cp {from} {to}"), &out),
            ));
        }
        Ok(())
    }

    /// A private temp dir on the SSH host (`mkdir -m 700` of a fresh name: never an existing
    /// path or a symlink), removed by [`HostTemp::remove`].
    async fn host_temp(&self) -> Result<HostTemp, ConnectorError> {
        let dir = temp_name("/tmp");
        let cmd = StringCommand::new([Bit::from("mkdir -m 700"), quoted(dir.as_str())]);
        let out = self.on_host(&cmd, false, false).await?;
        if out.exit_code != Some(0) {
            return Err(ConnectorError::Transfer(format!(
                "cannot make a temp dir on {}: {}",
                self.ssh_host(),
                out.stderr().trim()
            )));
        }
        Ok(HostTemp { dir })
    }

    /// Run `command` in the container with `arguments` (wrapped for escalation).
    async fn in_container(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
        arguments: &ConnectorArguments,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        self.run_shell_command(command, print_output, print_input, arguments)
            .await
    }

    /// Copy `data` to `staged` inside container `id` with `mode`: over SFTP into a private temp
    /// dir on the SSH host, then `docker cp`; the temp dir is removed in every case.
    async fn push(
        &self,
        data: &[u8],
        id: &str,
        staged: &str,
        mode: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError> {
        let host_temp = self.host_temp().await?;
        let file = host_temp.file();
        let pushed = async {
            self.ssh.live().await?.upload(data, &file).await?;
            let chmod =
                StringCommand::new([Bit::from("chmod"), Bit::from(mode), quoted(file.as_str())]);
            let out = self.on_host(&chmod, false, false).await?;
            if out.exit_code != Some(0) {
                return Err(ConnectorError::Transfer(format!(
                    "cannot chmod the temp file on {}: {}",
                    self.ssh_host(),
                    out.stderr().trim()
                )));
            }
            let to = format!("{id}:{staged}");
            self.docker_cp(id, &file, &to, print_output, print_input)
                .await
        }
        .await;
        host_temp.remove(self).await;
        pushed
    }
}

/// A private temp dir on the SSH host.
struct HostTemp {
    dir: String,
}

impl HostTemp {
    fn file(&self) -> String {
        format!("{}/file", self.dir)
    }

    async fn remove(&self, conn: &DockerSshConnector) {
        let cmd = StringCommand::new([Bit::from("rm -rf"), quoted(self.dir.as_str())]);
        match conn.on_host(&cmd, false, false).await {
            Ok(out) if out.exit_code == Some(0) => {}
            Ok(out) => tracing::debug!(host = %conn.host.name, stderr = %out.stderr(),
                "cannot remove the temp dir on the ssh host"),
            Err(e) => tracing::debug!(host = %conn.host.name, error = %e,
                "cannot remove the temp dir on the ssh host"),
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

/// A fresh temp path inside the container: `remote_temp` when the caller chose one, else a
/// unique name under `_temp_dir` (default `/tmp`).
fn staged_path(remote_temp: Option<&str>, arguments: &ConnectorArguments) -> String {
    match remote_temp {
        Some(t) => t.to_string(),
        None => {
            let dir = arguments.temp_dir.as_deref().unwrap_or(DEFAULT_TEMP_DIR);
            temp_path_beside(&format!("{}/rinfra", dir.trim_end_matches('/')))
        }
    }
}

fn without_io(arguments: &ConnectorArguments) -> ConnectorArguments {
    ConnectorArguments {
        stdin: None,
        get_pty: false,
        ..arguments.clone()
    }
}

fn rm_command(path: &str) -> StringCommand {
    StringCommand::new([Bit::from("rm -f"), quoted(path)])
}

#[async_trait]
impl Connector for DockerSshConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        self.ssh.connect().await?;
        self.container
            .get_or_try_init(|| async {
                match self.data.docker_container_id.as_deref() {
                    Some(id) => self.use_existing(id).await,
                    None => self.start_from_image().await,
                }
            })
            .await
            .map_err(|e| ConnectError::new(format!("{}: {}", self.host.name, e.message)))?;
        Ok(())
    }

    async fn disconnect(&self) {
        if let Some(id) = self.container.get() {
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
            let rm: &[&str] = match self.cli {
                // podman waits 10 s for `tail` (PID 1 ignores SIGTERM) without `-t 0`.
                ContainerCli::Podman => &["rm", "-f", "-t", "0", id],
                _ => &["rm", "-f", id],
            };
            match self.cli(rm).await {
                Ok(out) if out.exit_code == Some(0) => {}
                Ok(out) => reporter.notice(host, &self.cli_failure(&rm.join(" "), &out)),
                Err(e) => reporter.notice(host, &format!("`{bin} rm -f {id}` failed: {e}")),
            }
        }
        self.ssh.disconnect().await;
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let id = self.connected()?.to_string();
        let flag = if command.get_pty && command.stdin.is_none() {
            "-t"
        } else {
            "-i"
        };
        let outer = StringCommand::new([
            Bit::from(self.cli.binary()),
            Bit::from("exec"),
            Bit::from(flag),
            quoted(id.as_str()),
            Bit::from("sh -c"),
            quoted(command.command.clone()),
        ]);
        let mut output = self
            .ssh
            .execute(RawCommand {
                command: &outer,
                ..command
            })
            .await?;
        if flag == "-t" {
            // Two terminals (ssh's and `docker exec -t`'s) each turn `\n` into `\r\n`; the ssh
            // layer strips one `\r`, this the other.
            for line in &mut output.combined_lines {
                if line.line.ends_with('\r') {
                    line.line.pop();
                }
            }
        }
        if output.exit_code != Some(0) && may_be_gone(&output) {
            self.check_alive(&id).await?;
        }
        Ok(output)
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        let PutFile {
            src,
            remote,
            remote_temp,
            print_output,
            print_input,
            arguments,
        } = request;
        let id = self.connected()?.to_string();
        let data = src.read()?;
        // The staged copy is read by the target user when one is named.
        let mode = if arguments.target_user().is_some() {
            "0644"
        } else {
            "0600"
        };
        let staged = staged_path(remote_temp, arguments);
        self.push(&data, &id, &staged, mode, print_output, print_input)
            .await?;

        let install = install_command(&staged, remote);
        let result = self
            .in_container(&install, print_output, print_input, &without_io(arguments))
            .await;
        // `docker cp` made the staged copy as the container's user: remove it unescalated.
        let _ = self
            .in_container(&rm_command(&staged), false, false, &arguments.unescalated())
            .await;
        let (ok, output) = result?;
        if !ok {
            return Err(ConnectorError::Transfer(format!(
                "upload to `{remote}` failed: {}",
                output.stderr()
            )));
        }
        if print_output {
            self.host
                .reporter
                .notice(&self.host.name, &format!("file uploaded: {remote}"));
        }
        Ok(true)
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        let GetFile {
            remote,
            dst,
            remote_temp,
            print_output,
            print_input,
            arguments,
        } = request;
        let id = self.connected()?.to_string();
        let staged = staged_path(remote_temp, arguments);
        let args = without_io(arguments);
        // Copy inside the container first: the escalation decides what may be read, and
        // symlinks resolve inside the container.
        let copy = StringCommand::new([Bit::from("cp"), quoted(remote), quoted(staged.as_str())]);
        let (ok, output) = self
            .in_container(&copy, print_output, print_input, &args)
            .await?;
        if !ok {
            return Err(ConnectorError::Transfer(format!(
                "download of `{remote}` failed: {}",
                output.stderr()
            )));
        }
        let fetched = async {
            let host_temp = self.host_temp().await?;
            let file = host_temp.file();
            let from = format!("{id}:{staged}");
            let data = async {
                self.docker_cp(&id, &from, &file, print_output, print_input)
                    .await?;
                Ok::<_, ConnectorError>(self.ssh.live().await?.download(&file).await?)
            }
            .await;
            host_temp.remove(self).await;
            data
        }
        .await;
        // The staged copy belongs to the escalated user that made it: remove it as that user.
        let _ = self
            .in_container(&rm_command(&staged), false, false, &args)
            .await;
        write_local_atomically(&fetched?, dst)?;
        if print_output {
            self.host
                .reporter
                .notice(&self.host.name, &format!("file downloaded: {remote}"));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_data() {
        let inv = DockerSshInventory::docker();
        let hosts = inv.make_names_data(Some("root@build1:debian:12")).unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "@dockerssh/root@build1:debian:12");
        assert_eq!(hosts[0].groups, ["@dockerssh"]);
        assert_eq!(hosts[0].data["ssh_hostname"], "build1");
        assert_eq!(hosts[0].data["ssh_user"], "root");
        assert_eq!(hosts[0].data["docker_image"], "debian:12");

        let hosts = DockerSshInventory::podman()
            .make_names_data(Some("h.example:registry.example:5000/img"))
            .unwrap();
        assert_eq!(
            hosts[0].name,
            "@podmanssh/h.example:registry.example:5000/img"
        );
        assert_eq!(hosts[0].groups, ["@podmanssh"]);
        assert_eq!(hosts[0].data["ssh_hostname"], "h.example");
        assert!(hosts[0].data.get("ssh_user").is_none());
        assert_eq!(hosts[0].data["docker_image"], "registry.example:5000/img");

        for bad in [
            None,
            Some(""),
            Some("host"),
            Some("host:"),
            Some(":img"),
            Some("@h:img"),
        ] {
            let err = inv.make_names_data(bad).unwrap_err();
            assert!(err.to_string().contains("@dockerssh"), "{bad:?}: {err}");
        }
        assert!(inv.make_names_data(Some("h:--privileged")).is_err());
        assert!(inv.make_names_data(Some("-oProxyCommand=x:img")).is_err());
        assert_eq!(inv.name(), "dockerssh");
        assert!(inv.handles_execution());
    }

    #[test]
    fn gone_detection() {
        let mut out = CommandOutput::from_stdout(&[], 1);
        assert!(!may_be_gone(&out));
        out.push(
            rinfra_connectors::Stream::Stderr,
            "Error response from daemon: No such container: abc",
        );
        assert!(may_be_gone(&out));
        assert!(may_be_gone(&CommandOutput::from_stdout(&[], 137)));
        assert!(!may_be_gone(&CommandOutput::from_stdout(&[], 2)));
    }
}
