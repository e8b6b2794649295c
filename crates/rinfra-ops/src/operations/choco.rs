//! `choco.*` operations (Windows, Chocolatey).

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade Chocolatey packages (`name:version` pins a version).
    ///
    /// Deploy example: `choco.packages(packages=["notepadplusplus"])`
    Packages = "choco.packages";
    params: [optional "packages" = "package name(s); `name:version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let current = fact(host, &crate::facts::choco::ChocoPackages, &[]).await?;
    let m = Manager {
        install: "choco install -y",
        uninstall: "choco uninstall -y -x",
        upgrade: Some("choco update -y"),
        version_join: Some(":"),
        expand_fact: None,
        expand_match_any: false,
    };
    let wanted = a.list("packages")?;
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}

define_op! {
    /// Install Chocolatey itself (PowerShell; not idempotent).
    ///
    /// Deploy example: `choco.install()`
    Install = "choco.install";
    params: [];
    idempotent: false;
    generate: install;
}

async fn install(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(concat!(
        "Set-ExecutionPolicy Bypass -Scope Process -Force ;",
        "iex ((New-Object System.Net.WebClient).DownloadString",
        "(\"https://chocolatey.org/install.ps1\"))"
    ));
    Ok(())
}
