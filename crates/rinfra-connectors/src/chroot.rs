//! `@chroot/DIR`: run commands inside another root directory on the controller.
//!
//! `rinfra @chroot/mnt/root exec -- cat /etc/os-release`
//!
//! As pyinfra's `ChrootConnector`: connecting probes the tree with `chroot DIR sh -c true`;
//! commands run as `chroot DIR sh -c '<wrapped command>'` through the local process runner.
//!
//! Files are copied into the tree at a temp path (under `_temp_dir`, default `/tmp`, inside the
//! tree), then moved into place by a command run *inside* the chroot with the operation's
//! `_sudo`/`_su_user`; downloads are copied inside the chroot first, then read. So symlinks in the
//! tree resolve inside it (writing `DIR/etc/resolv.conf` from outside would follow an absolute
//! symlink onto the controller's own files), and nothing is ever half-written. pyinfra copies
//! with a plain `cp` from outside, ignoring escalation arguments.
//!
//! A tree that disappears (unmounted, deleted) turns the next command into
//! [`ConnectorError::ConnectionLost`].

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::local_shell::run_local_shell;
use crate::output::CommandOutput;
use crate::process::{run_local_process, LocalProcess};
use crate::staged::{get_staged, put_staged, StagedTransfer};

/// Host data of `@chroot` hosts (pyinfra's name).
#[derive(Debug, Deserialize)]
pub struct ChrootData {
    /// The root directory, absolute (`@chroot/mnt/root` gives `/mnt/root`).
    pub chroot_directory: String,
}

/// `rinfra @chroot/mnt/root ...`: the `@chroot` inventory connector.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChrootInventory;

impl InventoryConnector for ChrootInventory {
    fn name(&self) -> &str {
        "chroot"
    }

    fn description(&self) -> &str {
        "a root directory on the controller, entered with chroot(8) (@chroot/DIR)"
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let Some(dir) = arg.filter(|a| !a.trim_matches('/').is_empty()) else {
            return Err(InventoryError::InvalidHost {
                host: "@chroot".into(),
                reason: "no directory given; write `@chroot/DIR`".into(),
            });
        };
        let mut host = NameData::new(format!("@chroot/{dir}"), &["@chroot"]);
        host.data.insert(
            "chroot_directory".into(),
            serde_json::Value::from(format!("/{}", dir.trim_start_matches('/'))),
        );
        Ok(vec![host])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let data: ChrootData = serde_json::from_value(serde_json::Value::Object(host.data.clone()))
            .map_err(|e| ConnectError::new(format!("invalid host data for {}: {e}", host.name)))?;
        let root = data.chroot_directory.trim_end_matches('/');
        let root = PathBuf::from(if root.is_empty() { "/" } else { root });
        Ok(Arc::new(ChrootConnector { host, root }))
    }
}

/// Executes inside a chroot.
#[derive(Debug)]
pub struct ChrootConnector {
    host: HostContext,
    root: PathBuf,
}

impl ChrootConnector {
    /// `chroot DIR sh -c true`: `Err` with chroot's message when the tree is unusable.
    async fn probe(&self) -> Result<(), String> {
        let out = run_local_process(
            &self.host,
            "chroot",
            &[
                self.root.as_os_str(),
                "sh".as_ref(),
                "-c".as_ref(),
                "true".as_ref(),
            ],
            LocalProcess::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if out.exit_code == Some(0) {
            Ok(())
        } else {
            Err(out.stderr().trim().to_string())
        }
    }

    /// The controller path of `path` inside the tree, refusing paths whose directory resolves
    /// outside the tree (a symlinked temp dir).
    fn host_path(&self, path: &str) -> Result<PathBuf, ConnectorError> {
        let inside = self.root.join(path.trim_start_matches('/'));
        let parent = inside.parent().unwrap_or(&self.root);
        let canon_root = std::fs::canonicalize(&self.root).map_err(|e| {
            ConnectorError::ConnectionLost(format!(
                "chroot directory `{}` is gone: {e}",
                self.root.display()
            ))
        })?;
        let canon_parent = std::fs::canonicalize(parent)
            .map_err(|e| ConnectorError::io(format!("cannot use `{}`", parent.display()), e))?;
        if !canon_parent.starts_with(&canon_root) {
            return Err(ConnectorError::Transfer(format!(
                "`{}` leads outside the chroot (to `{}`)",
                parent.display(),
                canon_parent.display()
            )));
        }
        Ok(inside)
    }
}

#[async_trait]
impl Connector for ChrootConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        self.probe().await.map_err(|why| {
            ConnectError::new(format!(
                "{}: cannot chroot into `{}`: {why}",
                self.host.name,
                self.root.display()
            ))
        })
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        // The command goes through the environment, never argv (see `local_shell`).
        let output = run_local_shell(
            &self.host,
            &["chroot".as_ref(), self.root.as_os_str()],
            command.command,
            LocalProcess {
                stdin: command.stdin,
                stdin_bytes: None,
                timeout: command.timeout,
                print_output: command.print_output,
            },
        )
        .await?;
        // 125: chroot itself failed; 126/127: `sh` could not be run. Either may mean the tree
        // went away, or just that the command was not found: the probe tells.
        if matches!(output.exit_code, Some(125..=127)) {
            if let Err(why) = self.probe().await {
                return Err(ConnectorError::ConnectionLost(format!(
                    "chroot directory `{}` is no longer usable: {why}",
                    self.root.display()
                )));
            }
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
impl StagedTransfer for ChrootConnector {
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        _print_output: bool,
        _print_input: bool,
    ) -> Result<(), ConnectorError> {
        let target = self.host_path(staged)?;
        let mode = std::fs::metadata(local)
            .map_err(|e| ConnectorError::io("cannot read a local temp file", e))?
            .permissions()
            .mode();
        let data = std::fs::read(local)
            .map_err(|e| ConnectorError::io("cannot read a local temp file", e))?;
        let what = || format!("cannot write `{}`", target.display());
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o777)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&target)
            .map_err(|e| ConnectorError::io(what(), e))?;
        // The umask may have narrowed the mode given at creation.
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))
            .and_then(|()| file.write_all(&data))
            .and_then(|()| file.sync_all())
            .map_err(|e| ConnectorError::io(what(), e))
    }

    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        _print_output: bool,
        _print_input: bool,
    ) -> Result<(), ConnectorError> {
        let source = self.host_path(staged)?;
        let mut from = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&source)
            .map_err(|e| ConnectorError::io(format!("cannot read `{}`", source.display()), e))?;
        let mut to = std::fs::File::create(local)
            .map_err(|e| ConnectorError::io("cannot write a local temp file", e))?;
        std::io::copy(&mut from, &mut to)
            .map_err(|e| ConnectorError::io(format!("cannot copy `{}`", source.display()), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_data() {
        let hosts = ChrootInventory.make_names_data(Some("mnt/root")).unwrap();
        assert_eq!(hosts[0].name, "@chroot/mnt/root");
        assert_eq!(hosts[0].groups, ["@chroot"]);
        assert_eq!(hosts[0].data["chroot_directory"], "/mnt/root");
        let hosts = ChrootInventory.make_names_data(Some("/srv/x")).unwrap();
        assert_eq!(hosts[0].data["chroot_directory"], "/srv/x");
        assert!(ChrootInventory.make_names_data(None).is_err());
        assert!(ChrootInventory.make_names_data(Some("/")).is_err());
    }
}
