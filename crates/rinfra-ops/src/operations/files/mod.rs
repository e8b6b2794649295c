//! `files.*` operations. Here: `files.file`, `files.directory`, `files.link` and the command
//! builders the others share (`chmod`, `chown`, creating the parent directory). Submodules:
//! [`put`] (`files.put`, `files.get`, `files.download`, `files.sync`, whose walk is in
//! [`sync`]), [`remote`] (`files.copy`, `files.move`, `files.flags`,
//! `files.unarchive`), [`rsync`] (`files.rsync`), [`text`] (`files.line`, `files.replace`, `files.block`) and [`template`]
//! (`files.template`).

pub(crate) mod put;
pub(crate) mod remote;
pub(crate) mod rsync;
pub(crate) mod sync;
pub(crate) mod template;
pub(crate) mod text;

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::args::Mode;
use super::{define_op, fact, q, Args, Out};

/// `chmod [-R] MODE 'target'`
pub(crate) fn chmod(target: &str, mode: &Mode, recursive: bool) -> StringCommand {
    let head = if recursive {
        format!("chmod -R {mode}")
    } else {
        format!("chmod {mode}")
    };
    StringCommand::new([Bit::from(head), q(target)])
}

/// `chown [-R] [-h] user:group 'target'` (or `chgrp` for a group alone).
pub(crate) fn chown(
    target: &str,
    user: Option<&str>,
    group: Option<&str>,
    recursive: bool,
    dereference: bool,
) -> Result<StringCommand, OperationError> {
    let (mut head, who) = match (user, group) {
        (Some(u), Some(g)) => ("chown".to_string(), format!("{u}:{g}")),
        (Some(u), None) => ("chown".to_string(), u.to_string()),
        (None, Some(g)) => ("chgrp".to_string(), g.to_string()),
        (None, None) => {
            return Err(OperationError::Other(
                "chown() requires at least one of user or group".into(),
            ))
        }
    };
    if recursive {
        head.push_str(" -R");
    }
    if !dereference {
        head.push_str(" -h");
    }
    Ok(StringCommand::new([Bit::from(head), q(who), q(target)]))
}

/// The parent directory of a remote path (`posixpath.dirname`).
pub(crate) fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => {
            let d = &path[..i];
            // posixpath.dirname strips trailing slashes unless the head is all slashes
            let trimmed = d.trim_end_matches('/');
            if trimmed.is_empty() {
                &path[..=i]
            } else {
                trimmed
            }
        }
        None => "",
    }
}

/// pyinfra's `_create_remote_dir`: make sure the parent of `path` exists, leaving an existing
/// one (or a link to one) alone.
pub(crate) async fn create_remote_dir(
    host: &dyn OpHost,
    out: &mut Out,
    path: &str,
    user: Option<&str>,
    group: Option<&str>,
) -> Result<(), OperationError> {
    let dir = dirname(path);
    if dir.is_empty() {
        return Ok(());
    }
    let spec = DirectorySpec {
        path: dir.to_string(),
        present: true,
        user: user.map(String::from),
        group: group.map(String::from),
        mode: None,
        recursive: false,
        force: false,
        force_backup: true,
        force_backup_dir: None,
        no_check_owner_mode: true,
        no_fail_on_link: true,
    };
    // pyinfra reuses files.directory here; its noop text is not this operation's
    let mut inner = Out::default();
    ensure_directory(host, &mut inner, "files.directory", &spec).await?;
    out.commands.extend(inner.commands);
    Ok(())
}

/// pyinfra's `_raise_or_remove_invalid_path`: something else is in the way.
fn remove_invalid_path(
    out: &mut Out,
    op: &str,
    kind: &str,
    path: &str,
    force: bool,
    force_backup: bool,
    force_backup_dir: Option<&str>,
) -> Result<(), OperationError> {
    if !force {
        return Err(OperationError::Other(format!(
            "{path} exists and is not a {kind}"
        )))
        .map_err(|e| match e {
            OperationError::Other(m) => OperationError::InvalidArgument {
                op: op.into(),
                arg: "path".into(),
                reason: m,
            },
            e => e,
        });
    }
    if force_backup {
        let mut backup = format!("{path}.{}", crate::pinned::timestamp());
        if let Some(dir) = force_backup_dir {
            let name = backup.rsplit('/').next().unwrap_or(&backup).to_string();
            backup = format!("{dir}/{name}");
        }
        out.shell(StringCommand::new([Bit::from("mv"), q(path), q(backup)]));
    } else {
        out.shell(StringCommand::new([
            Bit::from("rm"),
            Bit::from("-rf"),
            q(path),
        ]));
    }
    Ok(())
}

fn owner_differs(info: &Value, user: Option<&str>, group: Option<&str>) -> bool {
    user.is_some_and(|u| info["user"].as_str() != Some(u))
        || group.is_some_and(|g| info["group"].as_str() != Some(g))
}

/// What `files.directory` wants, also used by operations that create directories.
pub(crate) struct DirectorySpec {
    pub(crate) path: String,
    pub(crate) present: bool,
    pub(crate) user: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) mode: Option<Mode>,
    pub(crate) recursive: bool,
    pub(crate) force: bool,
    pub(crate) force_backup: bool,
    pub(crate) force_backup_dir: Option<String>,
    pub(crate) no_check_owner_mode: bool,
    pub(crate) no_fail_on_link: bool,
}

pub(crate) async fn ensure_directory(
    host: &dyn OpHost,
    out: &mut Out,
    op: &str,
    s: &DirectorySpec,
) -> Result<(), OperationError> {
    let path = s.path.as_str();
    let mut info = fact(
        host,
        &crate::facts::files::Directory,
        &[("path", json!(path))],
    )
    .await?;
    if info == Value::Bool(false) {
        if s.no_fail_on_link
            && crate::python::truthy(
                &fact(host, &crate::facts::files::Link, &[("path", json!(path))]).await?,
            )
        {
            out.noop(format!("directory {path} already exists (as a link)"));
            return Ok(());
        }
        remove_invalid_path(
            out,
            op,
            "directory",
            path,
            s.force,
            s.force_backup,
            s.force_backup_dir.as_deref(),
        )?;
        info = Value::Null;
    }
    let (user, group) = (s.user.as_deref(), s.group.as_deref());
    let mode = s.mode.as_ref().filter(|m| m.is_set());
    if !s.present {
        if crate::python::truthy(&info) {
            out.shell(StringCommand::new([
                Bit::from("rm"),
                Bit::from("-rf"),
                q(path),
            ]));
        } else {
            out.noop(format!("directory {path} does not exist"));
        }
        return Ok(());
    }
    if info.is_null() {
        out.shell(StringCommand::new([
            Bit::from("mkdir"),
            Bit::from("-p"),
            q(path),
        ]));
        if let Some(mode) = mode {
            out.shell(chmod(path, mode, s.recursive));
        }
        if user.is_some() || group.is_some() {
            out.shell(chown(path, user, group, s.recursive, true)?);
        }
        return Ok(());
    }
    if s.no_check_owner_mode {
        return Ok(());
    }
    let mut changed = false;
    if let Some(mode) = mode {
        if mode.differs_from(info.get("mode")) {
            out.shell(chmod(path, mode, s.recursive));
            changed = true;
        }
    }
    if owner_differs(&info, user, group) {
        out.shell(chown(path, user, group, s.recursive, true)?);
        changed = true;
    }
    if !changed {
        out.noop(format!("directory {path} already exists"));
    }
    Ok(())
}

define_op! {
    /// Add, remove or update a directory.
    ///
    /// Deploy example: `files.directory(path="/srv/app", user="app", mode=755)`
    Directory = "files.directory";
    params: [required "path" = "the directory",
             optional "present" = "whether it should exist (default True)",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions, octal (`644`, `'0644'`) or symbolic (`u+x`)",
             optional "recursive" = "apply owner and mode to everything below too",
             optional "force" = "replace something else of the same name in the way",
             optional "force_backup" = "with `force`, move what is in the way to `<path>.<timestamp>` instead of deleting it",
             optional "force_backup_dir" = "with `force_backup`, put that backup in this directory",
             optional "_no_check_owner_mode" = "internal: skip the owner and mode check",
             optional "_no_fail_on_link" = "internal: accept a link to a directory"];
    touches: "path";
    touches_below: directory_changes_below;
    generate: directory;
}

/// Creating a directory or setting its owner or mode leaves what is inside as it was; removing
/// it, or a recursive owner/mode change, does not.
fn directory_changes_below(a: &Args<'_>) -> bool {
    !a.bool_or("present", true) || a.bool_or("recursive", false)
}

pub(crate) async fn directory(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let spec = DirectorySpec {
        path: a.str("path")?,
        present: a.bool_or("present", true),
        user: a.nonempty("user"),
        group: a.nonempty("group"),
        mode: a.mode("mode")?,
        recursive: a.bool_or("recursive", false),
        force: a.bool_or("force", false),
        force_backup: a.bool_or("force_backup", true),
        force_backup_dir: a.nonempty("force_backup_dir"),
        no_check_owner_mode: a.bool_or("_no_check_owner_mode", false),
        no_fail_on_link: a.bool_or("_no_fail_on_link", false),
    };
    ensure_directory(host, out, a.op, &spec).await
}

define_op! {
    /// Add, remove or update a file (its existence, owner and mode, not its content).
    ///
    /// Deploy example: `files.file(path="/tmp/secret/file", mode="600", touch=True)`
    File = "files.file";
    params: [required "path" = "the file",
             optional "present" = "whether it should exist (default True)",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "mode" = "permissions, octal (`644`, `'0644'`) or symbolic (`u+x`)",
             optional "touch" = "update the file's times even when it exists",
             optional "create_remote_dir" = "create the parent directory when missing",
             optional "force" = "replace something else of the same name in the way",
             optional "force_backup" = "with `force`, move what is in the way to `<path>.<timestamp>` instead of deleting it",
             optional "force_backup_dir" = "with `force_backup`, put that backup in this directory"];
    touches: "path";
    touches_below: file_changes_below;
    generate: file;
}

/// A file has nothing under it, unless `force` replaces a directory standing at its path.
fn file_changes_below(a: &Args<'_>) -> bool {
    a.bool_or("force", false)
}

pub(crate) async fn file(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let mode = a.mode("mode")?.filter(Mode::is_set);
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    let (user, group) = (user.as_deref(), group.as_deref());
    let mut info = fact(host, &crate::facts::files::File, &[("path", json!(path))]).await?;
    if info == Value::Bool(false) {
        remove_invalid_path(
            out,
            a.op,
            "file",
            &path,
            a.bool_or("force", false),
            a.bool_or("force_backup", true),
            a.nonempty("force_backup_dir").as_deref(),
        )?;
        info = Value::Null;
    }
    if !a.bool_or("present", true) {
        if crate::python::truthy(&info) {
            out.shell(StringCommand::new([
                Bit::from("rm"),
                Bit::from("-f"),
                q(&path),
            ]));
        } else {
            out.noop(format!("file {path} does not exist"));
        }
        return Ok(());
    }
    if info.is_null() {
        if a.bool_or("create_remote_dir", true) {
            create_remote_dir(host, out, &path, user, group).await?;
        }
        out.shell(StringCommand::new([Bit::from("touch"), q(&path)]));
        if let Some(mode) = &mode {
            out.shell(chmod(&path, mode, false));
        }
        if user.is_some() || group.is_some() {
            out.shell(chown(&path, user, group, false, true)?);
        }
        return Ok(());
    }
    let mut changed = false;
    if a.bool_or("touch", false) {
        changed = true;
        out.shell(StringCommand::new([Bit::from("touch"), q(&path)]));
    }
    if let Some(mode) = &mode {
        if mode.differs_from(info.get("mode")) {
            out.shell(chmod(&path, mode, false));
            changed = true;
        }
    }
    if owner_differs(&info, user, group) {
        out.shell(chown(&path, user, group, false, true)?);
        changed = true;
    }
    if !changed {
        out.noop(format!("file {path} already exists"));
    }
    Ok(())
}

define_op! {
    /// Add, remove or update a link.
    ///
    /// Deploy example: `files.link(path="/etc/issue2", target="/etc/issue")`
    Link = "files.link";
    params: [required "path" = "the link",
             optional "target" = "what the link points to",
             optional "present" = "whether it should exist (default True)",
             optional "user" = "owner (user name)",
             optional "group" = "group (group name)",
             optional "symbolic" = "a symbolic link (default True) rather than a hard one",
             optional "create_remote_dir" = "create the parent directory when missing",
             optional "force" = "replace something else of the same name in the way",
             optional "force_backup" = "with `force`, move what is in the way to `<path>.<timestamp>` instead of deleting it",
             optional "force_backup_dir" = "with `force_backup`, put that backup in this directory"];
    touches: "path";
    generate: link;
}

pub(crate) async fn link(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let present = a.bool_or("present", true);
    let target = a.nonempty("target");
    if present && target.is_none() {
        return Err(a.invalid("target", "If present is True target must be provided"));
    }
    let (user, group) = (a.nonempty("user"), a.nonempty("group"));
    let (user, group) = (user.as_deref(), group.as_deref());
    let mut info = fact(host, &crate::facts::files::Link, &[("path", json!(path))]).await?;
    if info == Value::Bool(false) {
        remove_invalid_path(
            out,
            a.op,
            "link",
            &path,
            a.bool_or("force", false),
            a.bool_or("force_backup", true),
            a.nonempty("force_backup_dir").as_deref(),
        )?;
        info = Value::Null;
    }
    let remove = StringCommand::new([Bit::from("rm"), Bit::from("-f"), q(&path)]);
    if !present {
        if crate::python::truthy(&info) {
            out.shell(remove);
        } else {
            out.noop(format!("link {path} does not exist"));
        }
        return Ok(());
    }
    let target = target.unwrap_or_default();
    let ln = if a.bool_or("symbolic", true) {
        "ln -s"
    } else {
        "ln"
    };
    let add = StringCommand::new([Bit::from(ln), q(&target), q(&path)]);
    if info.is_null() {
        if a.bool_or("create_remote_dir", true) {
            create_remote_dir(host, out, &path, user, group).await?;
        }
        out.shell(add);
        if user.is_some() || group.is_some() {
            out.shell(chown(&path, user, group, false, false)?);
        }
        return Ok(());
    }
    let mut changed = false;
    if info.get("link_target").and_then(Value::as_str) != Some(target.as_str()) {
        changed = true;
        out.shell(remove);
        out.shell(add);
    }
    if owner_differs(&info, user, group) {
        out.shell(chown(&path, user, group, false, false)?);
        changed = true;
    }
    if !changed {
        out.noop(format!("link {path} already exists"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirnames() {
        assert_eq!(dirname("/home/x"), "/home");
        assert_eq!(dirname("/x"), "/");
        assert_eq!(dirname("x"), "");
        assert_eq!(dirname("a/b/"), "a/b");
    }
}
