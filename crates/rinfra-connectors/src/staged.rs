//! Staged transfers, shared by every "prefix a command" connector (docker, podman, chroot,
//! exec templates, external connectors).
//!
//! Files never land half-written: an upload is copied to a temp path inside the target, then
//! moved into place with a command run *in* the target with the operation's `_sudo`/`_su_user`;
//! a download is first copied to a temp path inside the target the same way, then fetched.
//! Only the two copy steps differ between connectors ([`StagedTransfer`]).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use async_trait::async_trait;

use crate::arguments::ConnectorArguments;
use crate::base::{Connector, GetFile, PutFile};
use crate::command::{quoted, Bit, StringCommand};
use crate::error::ConnectorError;
use crate::shell::DEFAULT_TEMP_DIR;
use crate::transfer::{install_command, temp_path_beside, write_local_atomically};

/// The two transfer steps that differ between "prefix a command" connectors: moving a file
/// between the controller and a temp path inside the target. Everything else (temp names,
/// the move into place with escalation, clean-up) is [`put_staged`] and [`get_staged`].
#[async_trait]
pub(crate) trait StagedTransfer: Connector {
    /// Copy the local file `local` to `staged`, a fresh temp path inside the target.
    async fn push(
        &self,
        local: &Path,
        staged: &str,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError>;

    /// Copy `staged` (inside the target) to the local path `local`.
    async fn pull(
        &self,
        staged: &str,
        local: &Path,
        print_output: bool,
        print_input: bool,
    ) -> Result<(), ConnectorError>;
}

/// A fresh temp path inside the target: `remote_temp` when the caller chose one, else a unique
/// name under `_temp_dir` (default `/tmp`).
fn staged_path(remote_temp: Option<&str>, arguments: &ConnectorArguments) -> String {
    match remote_temp {
        Some(t) => t.to_string(),
        None => {
            let dir = arguments.temp_dir.as_deref().unwrap_or(DEFAULT_TEMP_DIR);
            temp_path_beside(&format!("{}/rinfra", dir.trim_end_matches('/')))
        }
    }
}

/// A private local temp dir. Files staged in it are 0600, or 0644 when an escalation names a
/// target user (that user reads the staged copy inside the target when moving it into place).
fn local_staging(
    arguments: &ConnectorArguments,
) -> Result<(tempfile::TempDir, u32), ConnectorError> {
    let dir = tempfile::Builder::new()
        .prefix("rinfra-")
        .tempdir()
        .map_err(|e| ConnectorError::io("cannot create a local temp dir", e))?;
    let mode = if arguments.target_user().is_some() {
        0o644
    } else {
        0o600
    };
    Ok((dir, mode))
}

fn command_without_io(arguments: &ConnectorArguments) -> ConnectorArguments {
    ConnectorArguments {
        stdin: None,
        get_pty: false,
        ..arguments.clone()
    }
}

/// Upload `request.src` to `request.remote`: stage it at a temp path inside the target ([`StagedTransfer::push`]),
/// then `cp` + `mv` it into place inside the target with the operation's escalation
/// ([`install_command`]), then remove the staged copy.
///
/// Like pyinfra's `cp` onto the destination, an existing file keeps its mode and owner; a new
/// file gets the staged file's mode (0600, or 0644 with a target user) minus the umask.
pub(crate) async fn put_staged<C: StagedTransfer + ?Sized>(
    conn: &C,
    request: PutFile<'_>,
) -> Result<bool, ConnectorError> {
    let PutFile {
        src,
        remote,
        remote_temp,
        print_output,
        print_input,
        arguments,
    } = request;
    let data = src.read()?;
    let (dir, mode) = local_staging(arguments)?;
    let local = dir.path().join("upload");
    std::fs::write(&local, &data)
        .map_err(|e| ConnectorError::io("cannot write a local temp file", e))?;
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ConnectorError::io("cannot set temp file permissions", e))?;

    let staged = staged_path(remote_temp, arguments);
    conn.push(&local, &staged, print_output, print_input)
        .await?;

    let install = install_command(&staged, remote);
    let result = conn
        .run_shell_command(
            &install,
            print_output,
            print_input,
            &command_without_io(arguments),
        )
        .await;
    // The staged copy was made by the connector's own user: remove it as that user.
    let cleanup = StringCommand::new([Bit::from("rm -f"), quoted(staged.as_str())]);
    let _ = conn
        .run_shell_command(&cleanup, false, false, &arguments.unescalated())
        .await;
    let (ok, output) = result?;
    if !ok {
        return Err(ConnectorError::Transfer(format!(
            "upload to `{remote}` failed: {}",
            output.stderr()
        )));
    }
    if print_output {
        let host = conn.host();
        host.reporter
            .notice(&host.name, &format!("file uploaded: {remote}"));
    }
    Ok(true)
}

/// Download `request.remote` to `request.dst`: `cp` it to a temp path inside the target with the operation's
/// escalation, fetch that copy ([`StagedTransfer::pull`]), remove it, and write `dst` through a
/// temp file and a rename. Copying inside the target first means `_sudo`/`_su_user` decide what
/// may be read, and symlinks resolve inside the target, never on the controller.
pub(crate) async fn get_staged<C: StagedTransfer + ?Sized>(
    conn: &C,
    request: GetFile<'_>,
) -> Result<bool, ConnectorError> {
    let GetFile {
        remote,
        dst,
        remote_temp,
        print_output,
        print_input,
        arguments,
    } = request;
    let staged = staged_path(remote_temp, arguments);
    let args = command_without_io(arguments);
    let copy = StringCommand::new([Bit::from("cp"), quoted(remote), quoted(staged.as_str())]);
    let (ok, output) = conn
        .run_shell_command(&copy, print_output, print_input, &args)
        .await?;
    if !ok {
        return Err(ConnectorError::Transfer(format!(
            "download of `{remote}` failed: {}",
            output.stderr()
        )));
    }
    let (dir, _) = local_staging(arguments)?;
    let local = dir.path().join("download");
    let pulled = conn.pull(&staged, &local, print_output, print_input).await;
    // The staged copy belongs to the escalated user that made it: remove it as that user.
    let cleanup = StringCommand::new([Bit::from("rm -f"), quoted(staged.as_str())]);
    let _ = conn.run_shell_command(&cleanup, false, false, &args).await;
    pulled?;
    write_local_atomically(&local, dst)?;
    if print_output {
        let host = conn.host();
        host.reporter
            .notice(&host.name, &format!("file downloaded: {remote}"));
    }
    Ok(true)
}
