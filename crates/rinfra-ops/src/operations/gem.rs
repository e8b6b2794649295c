//! `gem.*` operations: Ruby gems.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade gems (`name:version` pins a version).
    ///
    /// Deploy example: `gem.packages(packages=["rspec"])`
    Packages = "gem.packages";
    params: [optional "packages" = "gem name(s); `name:version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed gems that have no pinned version"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let current = fact(host, &crate::facts::gem::GemPackages, &[]).await?;
    let m = Manager {
        install: "gem install",
        uninstall: "gem uninstall",
        upgrade: Some("gem update"),
        version_join: Some(":"),
        expand_fact: None,
        expand_match_any: false,
    };
    let wanted = a.list("packages")?;
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}
