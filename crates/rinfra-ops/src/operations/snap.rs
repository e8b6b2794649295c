//! `snap.*` operations.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Install or remove snaps, following `channel` (an installed snap on another channel is
    /// refreshed onto it).
    ///
    /// Deploy example: `snap.package(packages=["lxd"], channel="5.21/stable")`
    Package = "snap.package";
    params: [optional "packages" = "snap name(s)",
             optional "channel" = "the channel to follow (default `latest/stable`)",
             optional "classic" = "install with classic confinement (`--classic`)",
             optional "present" = "whether they should be installed (default True)"];
    generate: package;
}

async fn package(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let wanted = a.list("packages")?;
    if wanted.is_empty() {
        out.noop("no snaps to ensure");
        return Ok(());
    }
    let channel = a
        .nonempty("channel")
        .unwrap_or_else(|| "latest/stable".into());
    let present = a.bool_or("present", true);
    let installed = fact(host, &crate::facts::snap::SnapPackages, &[]).await?;
    let is_installed = |p: &str| {
        installed
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x == p))
    };
    let (mut install, mut remove, mut refresh) = (Vec::new(), Vec::new(), Vec::new());
    for p in &wanted {
        match (is_installed(p), present) {
            (true, true) => {
                let info = fact(
                    host,
                    &crate::facts::snap::SnapPackage,
                    &[("package", json!(p))],
                )
                .await?;
                match info.get("channel").and_then(Value::as_str) {
                    Some(c) if c != channel => refresh.push(p),
                    _ => out.noop(format!("snap package {p} is installed")),
                }
            }
            (true, false) => remove.push(p),
            (false, true) => install.push(p),
            (false, false) => out.noop(format!("snap package {p} is not installed")),
        }
    }
    let channel_bit = || -> Bit {
        StringCommand::with_separator([Bit::from("--channel="), q(&channel)], "").into()
    };
    if !install.is_empty() {
        let mut bits = vec![Bit::from("snap install")];
        if a.bool_or("classic", false) {
            bits.push(Bit::from("--classic"));
        }
        bits.extend(install.iter().map(q));
        bits.push(channel_bit());
        out.shell(StringCommand::new(bits));
    }
    if !remove.is_empty() {
        let mut bits = vec![Bit::from("snap remove")];
        bits.extend(remove.iter().map(q));
        out.shell(StringCommand::new(bits));
    }
    if !refresh.is_empty() {
        let mut bits = vec![Bit::from("snap refresh")];
        bits.extend(refresh.iter().map(q));
        bits.push(channel_bit());
        out.shell(StringCommand::new(bits));
    }
    Ok(())
}
