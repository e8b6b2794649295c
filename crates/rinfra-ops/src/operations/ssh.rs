//! `ssh.keyscan`: trusting a remote host's SSH key on the target (used by `git.repo`).

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::{call, define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Add a host's SSH key to the remote user's `known_hosts` with `ssh-keyscan`; `force`
    /// replaces an existing one.
    ///
    /// Deploy example: `ssh.keyscan(hostname="github.com")`
    Keyscan = "ssh.keyscan";
    params: [required "hostname" = "the host whose key to trust",
             optional "force" = "replace a key already known for it",
             optional "port" = "its SSH port (default 22)"];
    generate: keyscan;
}

pub(crate) async fn keyscan(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let hostname = a.str("hostname")?;
    let port = a.int_or("port", 22)?;
    let home = python_str(&fact(host, &crate::facts::server::Home, &[]).await?);
    let pairs = [
        ("path", json!(format!("{home}/.ssh"))),
        ("mode", json!(700)),
    ];
    call!(
        super::files::directory,
        "files.directory",
        &pairs,
        host,
        out
    )
    .await?;
    let present = fact(
        host,
        &crate::facts::files::FindInFile,
        &[
            ("path", json!(format!("{home}/.ssh/known_hosts"))),
            ("pattern", json!(hostname)),
        ],
    )
    .await?;
    let known_hosts = StringCommand::with_separator([q(&home), Bit::from("/.ssh/known_hosts")], "");
    let scan = StringCommand::new([
        Bit::from("ssh-keyscan -p"),
        q(port.to_string()),
        q(&hostname),
        Bit::from(">>"),
        known_hosts.into(),
    ]);
    if !truthy(&present) {
        out.shell(scan);
    } else if a.bool_or("force", false) {
        out.shell(StringCommand::new([
            Bit::from("ssh-keygen -R"),
            q(&hostname),
        ]));
        out.shell(scan);
    } else {
        out.noop(format!("host key for {hostname} already exists"));
    }
    Ok(())
}

/// `[user@]hostname`, refusing what `ssh`/`scp` would read as an option.
fn connection_target(a: &Args<'_>) -> Result<String, OperationError> {
    let hostname = a.str("hostname")?;
    if hostname.is_empty() || hostname.starts_with('-') {
        return Err(a.invalid("hostname", format!("not a host name: {hostname:?}")));
    }
    Ok(match a.nonempty("user") {
        Some(user) if user.starts_with('-') || user.contains('@') => {
            return Err(a.invalid("user", format!("not a user name: {user:?}")));
        }
        Some(user) => format!("{user}@{hostname}"),
        None => hostname,
    })
}

fn port(a: &Args<'_>) -> Result<i64, OperationError> {
    let port = a.int_or("port", 22)?;
    if !(1..=65535).contains(&port) {
        return Err(a.invalid("port", format!("not a port number: {port}")));
    }
    Ok(port)
}

/// `target:path` for scp, each part quoted on its own.
fn scp_path(target: &str, path: &str) -> Bit {
    StringCommand::with_separator([q(target), Bit::from(":"), q(path)], "").into()
}

define_op! {
    /// Run a command on another server over SSH, from the target host (not idempotent).
    ///
    /// Deploy example: `ssh.command(hostname="two.example.com", command="uptime", user="deploy")`
    Command = "ssh.command";
    params: [required "hostname" = "the server to connect to",
             required "command" = "the command to run there",
             optional "user" = "connect as this user",
             optional "port" = "connect to this port (default 22)"];
    idempotent: false;
    generate: command;
}

async fn command(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let target = connection_target(a)?;
    let port = port(a)?;
    out.shell(StringCommand::new([
        Bit::from(format!("ssh -p {port}")),
        q(&target),
        q(a.str("command")?),
    ]));
    Ok(())
}

define_op! {
    /// Copy a file from the target host to another server with `scp` (not idempotent);
    /// `use_remote_sudo` copies to a temporary file and moves it into place with sudo there.
    ///
    /// Deploy example: `ssh.upload(hostname="backup.example.com", filename="/var/backups/db.gz")`
    Upload = "ssh.upload";
    params: [required "hostname" = "the server to copy to",
             required "filename" = "the file on the target host",
             optional "remote_filename" = "where it goes on the server (default: `filename`)",
             optional "port" = "connect to this port (default 22)",
             optional "user" = "connect as this user",
             optional "use_remote_sudo" = "upload to a temporary file, then `sudo mv` it",
             optional "ssh_keyscan" = "trust the server's key first (`ssh.keyscan`)"];
    idempotent: false;
    generate: upload;
}

async fn upload(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let target = connection_target(a)?;
    let port = port(a)?;
    let filename = a.str("filename")?;
    let remote = a
        .nonempty("remote_filename")
        .unwrap_or_else(|| filename.clone());
    if a.bool_or("ssh_keyscan", false) {
        let pairs = [("hostname", json!(a.str("hostname")?))];
        call!(keyscan, "ssh.keyscan", &pairs, host, out).await?;
    }
    let scp = |dest: &str| {
        StringCommand::new([
            Bit::from(format!("scp -P {port}")),
            q(&filename),
            scp_path(&target, dest),
        ])
    };
    if !a.bool_or("use_remote_sudo", false) {
        out.shell(scp(&remote));
        return Ok(());
    }
    let temp = crate::pinned::temp_filename(&host.temp_dir(), &format!("{target}:{remote}"));
    out.shell(scp(&temp));
    let mv = StringCommand::new([Bit::from("sudo mv"), q(&temp), q(&remote)]);
    out.shell(StringCommand::new([
        Bit::from(format!("ssh -p {port}")),
        q(&target),
        q(mv.get_raw_value()),
    ]));
    Ok(())
}

define_op! {
    /// Copy a file from another server to the target host with `scp`, unless it is already
    /// there (`force` always copies).
    ///
    /// Deploy example: `ssh.download(hostname="build.example.com", filename="/srv/out/app.tgz", local_filename="/tmp/app.tgz")`
    Download = "ssh.download";
    params: [required "hostname" = "the server to copy from",
             required "filename" = "the file on that server",
             optional "local_filename" = "where it goes on the target host (default: `filename`)",
             optional "force" = "copy even when the file is already there",
             optional "port" = "connect to this port (default 22)",
             optional "user" = "connect as this user",
             optional "ssh_keyscan" = "trust the server's key first (`ssh.keyscan`)"];
    generate: download;
}

async fn download(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let target = connection_target(a)?;
    let port = port(a)?;
    let filename = a.str("filename")?;
    let local = a
        .nonempty("local_filename")
        .unwrap_or_else(|| filename.clone());
    let info = fact(host, &crate::facts::files::File, &[("path", json!(local))]).await?;
    if info == json!(false) {
        return Err(OperationError::Other(format!(
            "Local destination {local} already exists and is not a file"
        )));
    }
    if truthy(&info) && !a.bool_or("force", false) {
        out.noop(format!("file {filename} is already downloaded"));
        return Ok(());
    }
    if a.bool_or("ssh_keyscan", false) {
        let pairs = [("hostname", json!(a.str("hostname")?))];
        call!(keyscan, "ssh.keyscan", &pairs, host, out).await?;
    }
    out.shell(StringCommand::new([
        Bit::from(format!("scp -P {port}")),
        scp_path(&target, &filename),
        q(&local),
    ]));
    Ok(())
}
