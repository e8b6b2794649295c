//! `xbps.*` operations: Void Linux packages.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Upgrade all installed packages (`xbps-install -y -u`; not idempotent).
    ///
    /// Deploy example: `xbps.upgrade()`
    Upgrade = "xbps.upgrade";
    params: [];
    idempotent: false;
    generate: upgrade;
}

async fn upgrade(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("xbps-install -y -u");
    Ok(())
}

define_op! {
    /// Refresh the repositories' indexes (`xbps-install -S`; not idempotent).
    ///
    /// Deploy example: `xbps.update()`
    Update = "xbps.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("xbps-install -S");
    Ok(())
}

define_op! {
    /// Install or remove XBPS packages.
    ///
    /// Deploy example: `xbps.packages(packages=["vim"], update=True)`
    Packages = "xbps.packages";
    params: [optional "packages" = "package name(s)",
             optional "present" = "whether they should be installed (default True)",
             optional "update" = "refresh the indexes first",
             optional "upgrade" = "upgrade all packages first"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("update", false) {
        out.shell("xbps-install -S");
    }
    if a.bool_or("upgrade", false) {
        out.shell("xbps-install -y -u");
    }
    let current = fact(host, &crate::facts::xbps::XbpsPackages, &[]).await?;
    let m = Manager {
        install: "xbps-install -y -u",
        uninstall: "xbps-remove -y",
        upgrade: None,
        version_join: None,
        expand_fact: None,
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
