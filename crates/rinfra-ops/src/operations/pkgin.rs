//! `pkgin.*` operations: pkgsrc binary packages.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Upgrade all installed packages (`pkgin -y upgrade`; not idempotent).
    ///
    /// Deploy example: `pkgin.upgrade()`
    Upgrade = "pkgin.upgrade";
    params: [];
    idempotent: false;
    generate: upgrade;
}

async fn upgrade(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("pkgin -y upgrade");
    Ok(())
}

define_op! {
    /// Refresh the package database (`pkgin -y update`; not idempotent).
    ///
    /// Deploy example: `pkgin.update()`
    Update = "pkgin.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("pkgin -y update");
    Ok(())
}

define_op! {
    /// Install, remove or upgrade pkgin packages.
    ///
    /// Deploy example: `pkgin.packages(packages=["vim"], update=True)`
    Packages = "pkgin.packages";
    params: [optional "packages" = "package name(s)",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages",
             optional "update" = "refresh the package database first",
             optional "upgrade" = "upgrade all packages first"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    if a.bool_or("update", false) {
        out.shell("pkgin -y update");
    }
    if a.bool_or("upgrade", false) {
        out.shell("pkgin -y upgrade");
    }
    let current = fact(host, &crate::facts::pkgin::PkginPackages, &[]).await?;
    let m = Manager {
        install: "pkgin -y install",
        uninstall: "pkgin -y remove",
        upgrade: Some("pkgin -y upgrade"),
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    let wanted = a.list("packages")?;
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}
