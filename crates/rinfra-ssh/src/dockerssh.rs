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
//!   escalation (`install_command`): nothing is ever half-written.
//! * **get**: copied to a temp path inside the container with the operation's escalation,
//!   `docker cp` out to a private temp dir on `HOST`, fetched over SFTP, both temps removed.
//! * **disconnect**: always `docker commit` (the image id goes to the reporter's `notice`) and
//!   `docker rm -f`, as pyinfra — also for a container given by `docker_container_id` — then the
//!   SSH connection is closed.
//!
//! All of this except the transport is `rinfra_connectors::ContainerConnector`, shared with
//! `@docker`; here its [`ContainerEngine`] is [`SshEngine`]: the CLI runs in the SSH session,
//! files go over SFTP to a private temp dir on `HOST` and `docker cp` from there.
//!
//! The container CLI runs as the SSH login user, with that session's environment: the user must
//! be allowed to use the engine (root, the `docker` group, or rootless podman).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{
    exec_tty, quoted, Bit, CommandOutput, ConnectError, Connector, ConnectorError, ContainerCli,
    ContainerConnector, ContainerEngine, ContainerSource, HostContext, InventoryConnector,
    InventoryError, NameData, RawCommand, RunOptions, StringCommand,
};
use serde::Deserialize;

use crate::connector::{temp_name, SshConnector, SshInventory};

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
        Ok(Arc::new(self.connector(host)?))
    }
}

impl DockerSshInventory {
    /// The connector for one host: its container CLI reached through an [`SshConnector`].
    fn connector(&self, host: HostContext) -> Result<DockerSshConnector, ConnectError> {
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
        let engine = SshEngine {
            hostname: host
                .data_str("ssh_hostname")
                .unwrap_or(&host.name)
                .to_string(),
            ssh: self.ssh.ssh_connector(ssh_host)?,
        };
        let source = match data.docker_container_id {
            Some(id) => ContainerSource::Container(id),
            None => ContainerSource::Image(data.docker_image),
        };
        Ok(ContainerConnector::new(
            self.cli,
            host,
            engine,
            source,
            RunOptions::default(),
        ))
    }
}

/// Executes in a docker (or podman) container on a host reached over SSH.
pub type DockerSshConnector = ContainerConnector<SshEngine>;

/// The container CLI on a host reached over SSH: the transport of [`DockerSshConnector`].
pub struct SshEngine {
    /// The host, for messages.
    hostname: String,
    ssh: SshConnector,
}

impl std::fmt::Debug for SshEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshEngine")
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

impl SshEngine {
    /// The SSH connector to the host the container runs on.
    pub fn ssh(&self) -> &SshConnector {
        &self.ssh
    }

    /// Run a shell command on the SSH host (not in the container), as the login user.
    async fn on_host(
        &self,
        command: &StringCommand,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
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

    /// A private temp dir on the SSH host (`mkdir -m 700` of a fresh name: never an existing
    /// path or a symlink), removed by [`HostTemp::remove`].
    async fn host_temp(&self) -> Result<HostTemp, ConnectorError> {
        let dir = temp_name("/tmp");
        let cmd = StringCommand::new([Bit::from("mkdir -m 700"), quoted(dir.as_str())]);
        let out = self.on_host(&cmd, false).await?;
        if out.exit_code != Some(0) {
            return Err(ConnectorError::Transfer(format!(
                "cannot make a temp dir on {}: {}",
                self.hostname,
                out.stderr().trim()
            )));
        }
        Ok(HostTemp { dir })
    }
}

/// `words` as one command line, each word quoted.
fn words(argv: &[&str]) -> Vec<Bit> {
    argv.iter().map(|a| quoted(*a)).collect()
}

#[async_trait]
impl ContainerEngine for SshEngine {
    fn machine(&self) -> Option<String> {
        Some(self.hostname.clone())
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        self.ssh.connect().await
    }

    async fn disconnect(&self) {
        self.ssh.disconnect().await;
    }

    async fn run(
        &self,
        _: &HostContext,
        argv: &[&str],
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        self.on_host(&StringCommand::new(words(argv)), print_output)
            .await
    }

    async fn exec(
        &self,
        _: &HostContext,
        argv: &[&str],
        command: RawCommand<'_>,
    ) -> Result<CommandOutput, ConnectorError> {
        let tty = exec_tty(&command);
        let mut bits = words(argv);
        bits.extend([Bit::from("sh -c"), quoted(command.command.clone())]);
        let outer = StringCommand::new(bits);
        let mut output = self
            .ssh
            .execute(RawCommand {
                command: &outer,
                ..command
            })
            .await?;
        if tty {
            // Two terminals (ssh's and `docker exec -t`'s) each turn `\n` into `\r\n`; the ssh
            // layer strips one `\r`, this the other.
            for line in &mut output.combined_lines {
                if line.line.ends_with('\r') {
                    line.line.pop();
                }
            }
        }
        Ok(output)
    }

    /// Over SFTP into a private temp dir on the SSH host (with the local file's mode), then
    /// `docker cp`; the temp dir is removed in every case.
    async fn copy_in(
        &self,
        _: &HostContext,
        bin: &str,
        local: &Path,
        dest: &str,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let read = |e| ConnectorError::io(format!("cannot read `{}`", local.display()), e);
        let data = std::fs::read(local).map_err(read)?;
        let mode = std::fs::metadata(local).map_err(read)?.permissions().mode() & 0o777;
        let host_temp = self.host_temp().await?;
        let file = host_temp.file();
        let copied = async {
            self.ssh.live().await?.upload(&data, &file).await?;
            let chmod = StringCommand::new([
                Bit::from("chmod"),
                Bit::from(format!("{mode:o}")),
                quoted(file.as_str()),
            ]);
            let out = self.on_host(&chmod, false).await?;
            if out.exit_code != Some(0) {
                return Err(ConnectorError::Transfer(format!(
                    "cannot chmod the temp file on {}: {}",
                    self.hostname,
                    out.stderr().trim()
                )));
            }
            self.on_host(
                &StringCommand::new(words(&[bin, "cp", &file, dest])),
                print_output,
            )
            .await
        }
        .await;
        host_temp.remove(self).await;
        copied
    }

    /// `docker cp` into a private temp dir on the SSH host, then over SFTP; the temp dir is
    /// removed in every case.
    async fn copy_out(
        &self,
        _: &HostContext,
        bin: &str,
        source: &str,
        local: &Path,
        print_output: bool,
    ) -> Result<CommandOutput, ConnectorError> {
        let host_temp = self.host_temp().await?;
        let file = host_temp.file();
        let copied = async {
            let out = self
                .on_host(
                    &StringCommand::new(words(&[bin, "cp", source, &file])),
                    print_output,
                )
                .await?;
            if out.exit_code == Some(0) {
                let data = self.ssh.live().await?.download(&file).await?;
                std::fs::write(local, data).map_err(|e| {
                    ConnectorError::io(format!("cannot write `{}`", local.display()), e)
                })?;
            }
            Ok(out)
        }
        .await;
        host_temp.remove(self).await;
        copied
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

    async fn remove(&self, engine: &SshEngine) {
        let cmd = StringCommand::new([Bit::from("rm -rf"), quoted(self.dir.as_str())]);
        match engine.on_host(&cmd, false).await {
            Ok(out) if out.exit_code == Some(0) => {}
            Ok(out) => tracing::debug!(host = %engine.hostname, stderr = %out.stderr(),
                "cannot remove the temp dir on the ssh host"),
            Err(e) => tracing::debug!(host = %engine.hostname, error = %e,
                "cannot remove the temp dir on the ssh host"),
        }
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
}
