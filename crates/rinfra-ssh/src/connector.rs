//! `@ssh`: the inventory connector and the per-host executing connector.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use rinfra_connectors::{
    install_command, move_into_place_command, quoted, temp_path_beside, Bit, CommandOutput,
    ConnectError, Connector, ConnectorArguments, ConnectorError, GetFile, HostContext,
    InventoryConnector, InventoryError, NameData, PutFile, RawCommand, StringCommand,
    DEFAULT_TEMP_DIR,
};

use crate::data::{unknown_key_notices, SshData};
use crate::exec::{self, ExecRequest, Stdin};
use crate::host_keys::{HostKeyVerifier, KnownHostsVerifier};
use crate::jumps::JumpPool;
use crate::resolver::SshConfigResolver;
use crate::session::{self, Connection};
use crate::target::{ResolvedTarget, TargetResolver};

/// The `@ssh` inventory connector: bare host names and `@ssh/HOST`.
///
/// `rinfra web1.example.net exec -- uptime` (or `@ssh/web1.example.net`)
///
/// Hosts come out with `ssh_hostname` set to the name; inventory data (`ssh_user`,
/// `ssh_port`, `ssh_key`, ...) is applied over it. The default reads `~/.ssh/config`
/// ([`SshConfigResolver`]) and known_hosts ([`KnownHostsVerifier`]); both are pluggable
/// ([`TargetResolver`], [`HostKeyVerifier`]).
#[derive(Clone)]
pub struct SshInventory {
    resolver: Arc<dyn TargetResolver>,
    verifier: Arc<dyn HostKeyVerifier>,
    jumps: Arc<JumpPool>,
}

impl std::fmt::Debug for SshInventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshInventory").finish_non_exhaustive()
    }
}

impl Default for SshInventory {
    fn default() -> Self {
        Self::new(
            Arc::new(SshConfigResolver::new()),
            Arc::new(KnownHostsVerifier::new()),
        )
    }
}

impl SshInventory {
    /// An `@ssh` connector resolving targets with `resolver` and checking host keys with
    /// `verifier`.
    pub fn new(resolver: Arc<dyn TargetResolver>, verifier: Arc<dyn HostKeyVerifier>) -> Self {
        Self {
            resolver,
            verifier,
            jumps: Arc::default(),
        }
    }

    /// The jump host connections this inventory's hosts share.
    pub fn jump_pool(&self) -> &Arc<JumpPool> {
        &self.jumps
    }

    /// The concrete connector for `host` (what [`InventoryConnector::new_connector`] wraps),
    /// for connectors that run over SSH (`@dockerssh`).
    pub(crate) fn ssh_connector(&self, host: HostContext) -> Result<SshConnector, ConnectError> {
        Ok(
            SshConnector::new(host, self.resolver.clone(), self.verifier.clone())?
                .with_jump_pool(self.jumps.clone()),
        )
    }
}

impl InventoryConnector for SshInventory {
    fn name(&self) -> &str {
        "ssh"
    }

    fn description(&self) -> &str {
        "hosts over SSH (the default for bare host names)"
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let Some(host) = arg.filter(|h| !h.is_empty()) else {
            return Err(InventoryError::InvalidHost {
                host: "@ssh".into(),
                reason: "@ssh needs a host name: write `@ssh/HOST` or just `HOST`".into(),
            });
        };
        let mut name_data = NameData::new(host, &[]);
        name_data
            .data
            .insert("ssh_hostname".into(), serde_json::Value::from(host));
        Ok(vec![name_data])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        Ok(Arc::new(self.ssh_connector(host)?))
    }
}

/// Executes on one host over one SSH connection, a channel per command.
pub struct SshConnector {
    host: HostContext,
    data: SshData,
    resolver: Arc<dyn TargetResolver>,
    verifier: Arc<dyn HostKeyVerifier>,
    jumps: Arc<JumpPool>,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    /// Round trips of this host's connections (see `round_trips.rs`).
    round_trips: Arc<crate::round_trips::RoundTrips>,
}

impl std::fmt::Debug for SshConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnector")
            .field("host", &self.host.name)
            .finish_non_exhaustive()
    }
}

impl SshConnector {
    /// A connector for `host`; its `ssh_*` data is validated now.
    pub fn new(
        host: HostContext,
        resolver: Arc<dyn TargetResolver>,
        verifier: Arc<dyn HostKeyVerifier>,
    ) -> Result<Self, ConnectError> {
        let data = SshData::from_host_data(&host.data)?;
        for notice in unknown_key_notices(&host.data) {
            host.reporter.notice(&host.name, &notice);
        }
        Ok(Self {
            host,
            data,
            resolver,
            verifier,
            jumps: Arc::default(),
            connection: tokio::sync::Mutex::new(None),
            round_trips: Arc::default(),
        })
    }

    /// Share jump host connections through `pool` (by default each connector has its own).
    pub fn with_jump_pool(mut self, pool: Arc<JumpPool>) -> Self {
        self.jumps = pool;
        self
    }

    /// Where this host's connection goes (resolved from data and, with a config-aware
    /// resolver, ssh_config).
    pub fn target(&self) -> Result<ResolvedTarget, ConnectError> {
        self.resolver.resolve(&self.host.name, &self.data)
    }

    /// The live connection, connecting (again) if there is none or it died (after a reboot).
    async fn connection(&self) -> Result<Arc<Connection>, ConnectError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            if !c.is_closed() {
                return Ok(c.clone());
            }
            tracing::debug!(host = %self.host.name, "connection lost, reconnecting");
        }
        let target = Arc::new(self.target()?);
        let conn = Arc::new(
            session::connect(
                target,
                self.verifier.clone(),
                &self.jumps,
                &self.round_trips,
            )
            .await?,
        );
        *slot = Some(conn.clone());
        Ok(conn)
    }

    pub(crate) async fn live(&self) -> Result<Arc<Connection>, ConnectorError> {
        self.connection()
            .await
            .map_err(|e| ConnectorError::ConnectionLost(e.message))
    }

    /// Without an escalation the login user writes the file: straight to a temp file beside the
    /// destination (as pyinfra SFTPs straight to it), then one command moves it into place.
    /// No copy out of a temp dir, no second file to remove.
    async fn put_file_direct(
        &self,
        conn: &crate::session::Connection,
        data: &[u8],
        remote: &str,
        print_output: bool,
        print_input: bool,
        arguments: &ConnectorArguments,
    ) -> Result<bool, ConnectorError> {
        let temp = temp_path_beside(remote);
        if let Err(e) = conn.upload(data, &temp).await {
            // A write that failed half-way (a full disk) leaves a partial temp file behind.
            self.remove_temp_file(&temp, arguments).await;
            return Err(e.into());
        }
        let (ok, output) = self
            .run_shell_command(
                &move_into_place_command(&temp, remote),
                print_output,
                print_input,
                arguments,
            )
            .await?;
        if !ok {
            return Err(transfer_failed("upload to", remote, &output));
        }
        if print_output {
            self.host
                .reporter
                .notice(&self.host.name, &format!("file uploaded: {remote}"));
        }
        Ok(true)
    }

    /// Remove a temp file of ours, best effort (the reason it could not be is only logged).
    async fn remove_temp_file(&self, temp: &str, arguments: &ConnectorArguments) {
        let rm = vec!["rm".into(), "-f".into(), quoted(temp)];
        if let Err(e) = self.helper(rm, arguments, false, false).await {
            tracing::debug!(host = %self.host.name, error = %e, "cannot remove temp file");
        }
    }

    /// Run a helper command (temp files, ACLs) through the usual wrapping.
    async fn helper(
        &self,
        bits: Vec<Bit>,
        arguments: &ConnectorArguments,
        print_output: bool,
        print_input: bool,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        self.run_shell_command(
            &StringCommand::new(bits),
            print_output,
            print_input,
            arguments,
        )
        .await
    }
}

/// A fresh temp path under `temp_dir` (pyinfra's `host.get_temp_filename`).
pub(crate) fn temp_name(temp_dir: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!(
        "{}/rinfra-{:016x}",
        temp_dir.trim_end_matches('/'),
        h.finish()
    )
}

fn transfer_failed(what: &str, path: &str, output: &CommandOutput) -> ConnectorError {
    let detail = output.stderr();
    let detail = if detail.is_empty() {
        output.output()
    } else {
        detail
    };
    ConnectorError::Transfer(format!("{what} `{path}` failed: {detail}"))
}

#[async_trait]
impl Connector for SshConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        self.connection().await.map(|_| ())
    }

    /// Small uploads that [`put_file`](Connector::put_file) would write directly (no
    /// escalation) as one command: a transfer costs SFTP requests and round trips of its own.
    fn upload_command(
        &self,
        data: &[u8],
        remote: &str,
        arguments: &ConnectorArguments,
    ) -> Option<StringCommand> {
        let direct =
            !arguments.escalates() && (remote.starts_with('/') || arguments.chdir.is_none());
        (direct && data.len() <= rinfra_connectors::MAX_INLINE_UPLOAD)
            .then(|| rinfra_connectors::write_file_command(data, remote))
    }

    fn round_trips(&self) -> Option<u64> {
        Some(self.round_trips.get())
    }

    async fn disconnect(&self) {
        if let Some(conn) = self.connection.lock().await.take() {
            conn.close().await;
        }
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        let raw = command.command.get_raw_value();
        let req = ExecRequest {
            command: &raw,
            stdin: command.stdin.map_or(Stdin::None, Stdin::Lines),
            timeout: command.timeout,
            get_pty: command.get_pty,
            portable: command.portable,
        };
        let conn = self.live().await?;
        match exec::run_lines(&conn, &self.host, req, command.print_output).await {
            // The connection died before the command started (a reboot, an idle drop): connect
            // again once and run it. A command that started is never re-run.
            Err(e) if exec::not_started(&e) && conn.is_closed() => {
                tracing::debug!(host = %self.host.name, error = %e, "reconnecting");
                let conn = self.live().await?;
                exec::run_lines(&conn, &self.host, req, command.print_output).await
            }
            other => other,
        }
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
        let data = src.read()?;
        let conn = self.live().await?;
        // (SFTP resolves a relative path from the home directory, commands from `_chdir`.)
        if !arguments.escalates() && (remote.starts_with('/') || arguments.chdir.is_none()) {
            return self
                .put_file_direct(&conn, &data, remote, print_output, print_input, arguments)
                .await;
        }
        let temp_dir = arguments.temp_dir.as_deref().unwrap_or(DEFAULT_TEMP_DIR);
        let temp = remote_temp.map_or_else(|| temp_name(temp_dir), str::to_string);
        let login = arguments.unescalated();

        if let Err(e) = conn.upload(&data, &temp).await {
            // A write that failed half-way (a full disk) leaves a partial temp file behind.
            self.remove_temp_file(&temp, &login).await;
            return Err(e.into());
        }

        let installed = async {
            if arguments.escalates() {
                if let Some(user) = arguments.target_user() {
                    // Let the target user read the temp file; ignored where there are no ACLs
                    // (the file is world-readable by the usual umask anyway, as in pyinfra).
                    let bits = vec![
                        "setfacl".into(),
                        "-m".into(),
                        quoted(format!("u:{user}:r")),
                        quoted(temp.as_str()),
                    ];
                    let _ = self.helper(bits, &login, false, false).await;
                }
            }
            // The install removes the temp file in the same round trip; exit with its status.
            let install = StringCommand::new([
                Bit::from("{"),
                install_command(&temp, remote).into(),
                Bit::from("; }; rinfra_rc=$?; rm -f"),
                quoted(temp.as_str()),
                Bit::from("; exit $rinfra_rc"),
            ]);
            let (ok, output) = self
                .run_shell_command(&install, print_output, print_input, arguments)
                .await?;
            if !ok {
                return Err(transfer_failed("upload to", remote, &output));
            }
            Ok(())
        }
        .await;

        // A target user (`_sudo_user`, `_su_user`) may not remove the login user's file from a
        // sticky /tmp, and a refused escalation never ran the install: then remove it as the
        // login user who wrote it.
        if arguments.target_user().is_some() || installed.is_err() {
            self.remove_temp_file(&temp, &login).await;
        }
        installed?;
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
        let conn = self.live().await?;
        let data = if arguments.escalates() {
            let temp_dir = arguments.temp_dir.as_deref().unwrap_or(DEFAULT_TEMP_DIR);
            let temp = remote_temp.map_or_else(|| temp_name(temp_dir), str::to_string);
            let bits = vec![
                "cp".into(),
                quoted(remote),
                quoted(temp.as_str()),
                "&&".into(),
                "chmod".into(),
                "+r".into(),
                quoted(temp.as_str()),
            ];
            let copied = self
                .helper(bits, arguments, print_output, print_input)
                .await;
            let data = match copied {
                Ok((true, _)) => conn.download(&temp).await.map_err(ConnectorError::from),
                Ok((false, output)) => Err(transfer_failed("download of", remote, &output)),
                Err(e) => Err(e),
            };
            // The copy belongs to the escalated user: remove it as that user.
            self.remove_temp_file(&temp, arguments).await;
            data?
        } else {
            conn.download(remote).await?
        };
        rinfra_connectors::write_local_atomically(&data, dst)?;
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
        let inv = SshInventory::default();
        let hosts = inv.make_names_data(Some("web1.example.net")).unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "web1.example.net");
        assert_eq!(hosts[0].data["ssh_hostname"], "web1.example.net");
        assert!(hosts[0].groups.is_empty());
        assert!(inv.make_names_data(None).is_err());
        assert_eq!(inv.name(), "ssh");
        assert!(inv.handles_execution());
    }

    #[test]
    fn temp_names_are_unique() {
        let a = temp_name("/tmp/");
        let b = temp_name("/tmp");
        assert_ne!(a, b);
        assert!(a.starts_with("/tmp/rinfra-"), "{a}");
    }
}
