//! `opkg.*` operations (OpenWrt packages).

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Refresh the package lists (`opkg update`; not idempotent).
    ///
    /// Deploy example: `opkg.update()`
    Update = "opkg.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("opkg update");
    Ok(())
}

define_op! {
    /// Install, remove or upgrade opkg packages (opkg cannot pin versions).
    ///
    /// Deploy example: `opkg.packages(packages=["vim"], latest=True)`
    Packages = "opkg.packages";
    params: [optional "packages" = "package name(s) (no `=version`)",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages",
             optional "update" = "refresh the package lists first (default True)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let wanted: Vec<String> = a
        .list("packages")?
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if wanted.is_empty() {
        out.noop("empty or invalid package list provided to opkg.packages");
        return Ok(());
    }
    let pinned: Vec<&str> = wanted
        .iter()
        .filter(|p| p.contains('='))
        .filter_map(|p| p.split('=').next())
        .collect();
    if !pinned.is_empty() {
        return Err(a.invalid(
            "packages",
            format!(
                "opkg does not support version pinning but found for: '{}'",
                pinned.join(",")
            ),
        ));
    }
    if a.bool_or("update", true) {
        out.shell("opkg update");
    }
    let current = fact(host, &crate::facts::opkg::OpkgPackages, &[]).await?;
    let m = Manager {
        install: "opkg install",
        uninstall: "opkg remove",
        upgrade: Some("opkg upgrade"),
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}
