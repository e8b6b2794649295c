//! `flatpak.*` operations.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};

use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Install or remove flatpak applications, optionally from a given remote.
    ///
    /// Deploy example: `flatpak.packages(packages=["org.videolan.VLC"], remote="flathub")`
    Packages = "flatpak.packages";
    params: [optional "packages" = "application ID(s)",
             optional "remote" = "the remote to install from (`flathub`)",
             optional "present" = "whether they should be installed (default True)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let wanted = a.list("packages")?;
    if wanted.is_empty() {
        out.noop("no flatpaks to ensure");
        return Ok(());
    }
    let present = a.bool_or("present", true);
    let remote = a
        .nonempty("remote")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let installed = fact(host, &crate::facts::flatpak::FlatpakPackages, &[]).await?;
    let is_installed = |p: &str| {
        installed
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x == p))
    };
    let (mut install, mut remove) = (Vec::new(), Vec::new());
    for p in &wanted {
        match (is_installed(p), present) {
            (true, true) => out.noop(format!("flatpak package {p} is installed")),
            (true, false) => remove.push(p),
            (false, true) => install.push(p),
            (false, false) => out.noop(format!("flatpak package {p} is not installed")),
        }
    }
    if !install.is_empty() {
        let mut bits = vec![Bit::from("flatpak install --noninteractive")];
        bits.extend(remote.as_deref().map(q));
        bits.extend(install.iter().map(q));
        out.shell(StringCommand::new(bits));
    }
    if !remove.is_empty() {
        let mut bits = vec![Bit::from("flatpak uninstall --noninteractive")];
        bits.extend(remove.iter().map(q));
        out.shell(StringCommand::new(bits));
    }
    Ok(())
}
