//! `dnf.packages`: rpm packages through dnf.

use rinfra_core::{OpHost, OperationError};

use super::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade packages with dnf (`name=version` pins a version).
    ///
    /// Deploy example: `dnf.packages(packages=["nginx"], latest=True)`
    Packages = "dnf.packages";
    params: [optional "packages", optional "present", optional "latest", optional "update",
             optional "clean", optional "nobest", optional "extra_install_args",
             optional "extra_uninstall_args"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    rpm_packages("dnf", a, host, out).await
}

/// `dnf.packages` and `yum.packages`: the same operation with another binary (as in pyinfra).
pub(crate) async fn rpm_packages(
    tool: &str,
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("clean", false) {
        out.shell(format!("{tool} clean all"));
    }
    let update = format!("{tool} update -y");
    if a.bool_or("update", false) {
        out.shell(update.clone());
    }
    let mut install = vec![format!("{tool} install -y")];
    if a.bool_or("nobest", false) {
        install.push("--nobest".into());
    }
    install.extend(a.nonempty("extra_install_args"));
    let mut uninstall = vec![format!("{tool} remove -y")];
    uninstall.extend(a.nonempty("extra_uninstall_args"));
    let (install, uninstall) = (install.join(" "), uninstall.join(" "));
    let current = fact(host, "rpm.RpmPackages", &[]).await?;
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&update),
        version_join: Some("="),
        expand_fact: Some("rpm.RpmPackageProvides"),
        expand_match_any: true,
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
