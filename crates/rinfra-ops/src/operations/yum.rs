//! `yum.packages`: rpm packages through yum.

use rinfra_core::{OpHost, OperationError};

use super::{define_op, Args, Out};

define_op! {
    /// Install, remove or upgrade packages with yum (`name=version` pins a version).
    ///
    /// Deploy example: `yum.packages(packages=["nginx"], latest=True)`
    Packages = "yum.packages";
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
    super::dnf::rpm_packages("yum", a, host, out).await
}
