//! `apk.packages`: Alpine packages.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade apk packages (`name=version` pins a version).
    ///
    /// Deploy example: `apk.packages(packages=["curl", "git"], update=True)`
    Packages = "apk.packages";
    params: [optional "packages" = "package name(s); `name=version` pins a version",
             optional "present" = "whether it should exist (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
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
        out.shell("apk update");
    }
    if a.bool_or("upgrade", false) {
        out.shell("apk upgrade");
    }
    let current = fact(host, &crate::facts::apk::ApkPackages, &[]).await?;
    let m = Manager {
        install: "apk add",
        uninstall: "apk del",
        upgrade: Some("apk upgrade"),
        version_join: Some("="),
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &a.list("packages")?,
        &current,
        a.bool_or("present", true),
        a.bool_or("latest", false),
        &m,
    )
    .await
}

define_op! {
    /// Upgrade all installed apk packages (not idempotent).
    ///
    /// Deploy example: `apk.upgrade(available=True)`
    Upgrade = "apk.upgrade";
    params: [optional "available" = "upgrade every package to the repositories' version (`--available`), as for a new Alpine release"];
    idempotent: false;
    generate: upgrade;
}

async fn upgrade(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(if a.bool_or("available", false) {
        "apk upgrade --available"
    } else {
        "apk upgrade"
    });
    Ok(())
}

define_op! {
    /// Refresh the apk package index (not idempotent).
    ///
    /// Deploy example: `apk.update()`
    Update = "apk.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("apk update");
    Ok(())
}
