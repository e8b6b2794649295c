//! `@local`: run commands on the controller itself.
//!
//! `rinfra @local exec -- uname -a`
//!
//! Commands run as `sh -c '<wrapped command>'` in their own process group (a `_timeout` kills
//! the whole group). Uploads and downloads go through `cp` run *as a command*, so `_sudo` and
//! `_su_user` apply to them exactly as pyinfra does; uploads land in a temp file beside the
//! destination and are renamed into place. `_get_pty` is ignored, as in pyinfra.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::arguments::ConnectorArguments;
use crate::base::{
    Connector, GetFile, HostContext, InventoryConnector, NameData, PutFile, RawCommand,
};
use crate::command::{quoted, Bit, StringCommand};
use crate::error::{ConnectError, ConnectorError, InventoryError};
use crate::local_shell::run_local_shell;
use crate::output::CommandOutput;
use crate::process::LocalProcess;
use crate::transfer::{install_command, write_local_atomically};

/// The `@local` inventory connector.
#[derive(Debug, Default)]
pub struct LocalInventory;

impl InventoryConnector for LocalInventory {
    fn name(&self) -> &str {
        "local"
    }

    fn description(&self) -> &str {
        "the controller itself (@local)"
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        if let Some(arg) = arg {
            return Err(InventoryError::InvalidHost {
                host: format!("@local/{arg}"),
                reason: "@local takes no argument; write `@local`".into(),
            });
        }
        Ok(vec![NameData::new("@local", &["@local"])])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        Ok(Arc::new(LocalConnector { host }))
    }
}

/// Executes on the controller.
#[derive(Debug)]
pub struct LocalConnector {
    host: HostContext,
}

impl LocalConnector {
    /// A local connector for `host`.
    pub fn new(host: HostContext) -> Self {
        Self { host }
    }
}

/// A private local temp dir whose file the escalated `cp` can read or write.
///
/// Without a target user the escalated command runs as root (or as us), so 0700 is enough; with
/// one (`_sudo_user`, `_su_user`) that user must reach the file, so the directory is 0711
/// (enter, not list) for uploads and 0733 (enter and create) for downloads.
fn staging_dir(
    args: &ConnectorArguments,
    mode_for_user: u32,
) -> Result<tempfile::TempDir, ConnectorError> {
    let dir = tempfile::Builder::new()
        .prefix("rinfra-")
        .tempdir()
        .map_err(|e| ConnectorError::io("cannot create a local temp dir", e))?;
    let mode = if args.target_user().is_some() {
        mode_for_user
    } else {
        0o700
    };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode))
        .map_err(|e| ConnectorError::io("cannot set temp dir permissions", e))?;
    Ok(dir)
}

#[async_trait]
impl Connector for LocalConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        // The command goes through the environment, never argv (see `local_shell`).
        run_local_shell(
            &self.host,
            &[],
            command.command,
            LocalProcess {
                stdin: command.stdin,
                stdin_bytes: None,
                timeout: command.timeout,
                print_output: command.print_output,
            },
        )
        .await
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        let PutFile {
            src,
            remote,
            print_output,
            print_input,
            arguments,
            ..
        } = request;
        let data = src.read()?;
        let dir = staging_dir(arguments, 0o711)?;
        let staged = dir.path().join("upload");
        std::fs::write(&staged, &data)
            .map_err(|e| ConnectorError::io("cannot write a local temp file", e))?;
        let mode = if arguments.target_user().is_some() {
            0o644
        } else {
            0o600
        };
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
            .map_err(|e| ConnectorError::io("cannot set temp file permissions", e))?;

        let cmd = install_command(&staged.to_string_lossy(), remote);
        let (ok, output) = self
            .run_shell_command(&cmd, print_output, print_input, arguments)
            .await?;
        if !ok {
            return Err(ConnectorError::Transfer(format!(
                "upload to `{remote}` failed: {}",
                output.stderr()
            )));
        }
        if print_output {
            self.host
                .reporter
                .notice(&self.host.name, &format!("file copied: {remote}"));
        }
        Ok(true)
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        let GetFile {
            remote,
            dst,
            print_output,
            print_input,
            arguments,
            ..
        } = request;
        let dir = staging_dir(arguments, 0o733)?;
        let staged = dir.path().join("download");
        let cmd = StringCommand::new([
            Bit::from("cp"),
            quoted(remote),
            quoted(staged.to_string_lossy().into_owned()),
        ]);
        let (ok, output) = self
            .run_shell_command(&cmd, print_output, print_input, arguments)
            .await?;
        if !ok {
            return Err(ConnectorError::Transfer(format!(
                "download of `{remote}` failed: {}",
                output.stderr()
            )));
        }
        write_local_atomically(&staged, dst)?;
        Ok(true)
    }
}
