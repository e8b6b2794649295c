//! `pacman.packages`: Arch packages (groups expanded with `pacman.PacmanUnpackGroup`).

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install or remove pacman packages.
    ///
    /// Deploy example: `pacman.packages(packages=["vim"], update=True)`
    Packages = "pacman.packages";
    params: [optional "packages" = "package name(s); `name=version` pins a version",
             optional "present" = "whether it should exist (default True)",
             optional "update" = "refresh the package index first",
             optional "upgrade" = "upgrade all installed packages first"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("update", false) {
        out.shell("pacman -Sy");
    }
    if a.bool_or("upgrade", false) {
        out.shell("pacman --noconfirm -Su");
    }
    let current = fact(host, &crate::facts::pacman::PacmanPackages, &[]).await?;
    let m = Manager {
        install: "pacman --noconfirm -S",
        uninstall: "pacman --noconfirm -R",
        upgrade: None,
        version_join: None,
        expand_fact: Some(&crate::facts::pacman::PacmanUnpackGroup),
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &a.list("packages")?,
        &current,
        a.bool_or("present", true),
        false,
        &m,
    )
    .await
}

define_op! {
    /// Upgrade all installed pacman packages (`pacman -Su`, not idempotent).
    ///
    /// Deploy example: `pacman.upgrade()`
    Upgrade = "pacman.upgrade";
    params: [];
    idempotent: false;
    generate: upgrade;
}

async fn upgrade(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("pacman --noconfirm -Su");
    Ok(())
}

define_op! {
    /// Refresh the pacman package databases (`pacman -Sy`, not idempotent).
    ///
    /// Deploy example: `pacman.update()`
    Update = "pacman.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("pacman -Sy");
    Ok(())
}
