//! `cargo.*` operations: crates installed with `cargo install`.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade crates' binaries (`name@version` pins a version).
    ///
    /// Deploy example: `cargo.packages(packages=["ripgrep"])`
    Packages = "cargo.packages";
    params: [optional "packages" = "crate name(s); `name@version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed crates that have no pinned version"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let current = fact(host, &crate::facts::cargo::CargoPackages, &[]).await?;
    let m = Manager {
        install: "cargo install",
        uninstall: "cargo uninstall",
        upgrade: Some("cargo install"),
        version_join: Some("@"),
        expand_fact: None,
        expand_match_any: false,
    };
    let wanted = a.list("packages")?;
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}
