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
    params: [required "hostname", optional "force", optional "port"];
    generate: keyscan;
}

pub(crate) async fn keyscan(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let hostname = a.str("hostname")?;
    let port = a.int_or("port", 22)?;
    let home = python_str(&fact(host, "server.Home", &[]).await?);
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
        "files.FindInFile",
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
