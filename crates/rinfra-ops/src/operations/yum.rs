//! `yum.packages`: rpm packages through yum.

use rinfra_core::{OpHost, OperationError};

use rinfra_connectors::{Bit, StringCommand};

use super::{define_op, q, Args, Out};

define_op! {
    /// Install, remove or upgrade packages with yum (`name=version` pins a version).
    ///
    /// Deploy example: `yum.packages(packages=["nginx"], latest=True)`
    Packages = "yum.packages";
    params: [optional "packages" = "package name(s); `name=version` pins a version",
             optional "present" = "whether it should exist (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "update" = "refresh the package index first",
             optional "clean" = "clean the package cache first",
             optional "nobest" = "pass `--nobest` to install",
             optional "extra_install_args" = "extra arguments for the install command",
             optional "extra_uninstall_args" = "extra arguments for the remove command"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    super::dnf::rpm_packages("yum", a, host, out).await
}

define_op! {
    /// Import a gpg key into rpm's keyring (`rpm --import`; not idempotent).
    ///
    /// Deploy example: `yum.key(src="https://download.docker.com/linux/centos/gpg")`
    Key = "yum.key";
    params: [required "src" = "the key's file name on the host or URL"];
    idempotent: false;
    generate: key;
}

async fn key(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new([
        Bit::from("rpm --import"),
        q(a.str("src")?),
    ]));
    Ok(())
}

define_op! {
    /// Add, update or remove a repository file in `/etc/yum.repos.d/`: downloaded when `src`
    /// is a URL, else written from `baseurl` and the other arguments.
    ///
    /// Deploy example: `yum.repo(src="DockerCE", baseurl="https://download.docker.com/linux/centos/7/$basearch/stable")`
    Repo = "yum.repo";
    params: [required "src" = "the repository's name, or the URL of a `.repo` file",
             optional "present" = "whether the repository file should exist (default True)",
             optional "baseurl" = "the repository's base URL (when `src` is a name)",
             optional "description" = "its `name=` (default: the repository name)",
             optional "enabled" = "whether it is enabled (default True)",
             optional "gpgcheck" = "whether packages' signatures are checked (default True)",
             optional "gpgkey" = "URL(s) or absolute path(s) of the signing key, space separated"];
    generate: repo;
}

async fn repo(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    super::util::packaging::ensure_yum_repo(a, host, out, "/etc/yum.repos.d/", None).await
}

define_op! {
    /// Install or remove an `.rpm` file (a path on the host, or a URL downloaded first).
    ///
    /// Deploy example: `yum.rpm(src="https://dl.fedoraproject.org/pub/epel/epel-release-latest-9.noarch.rpm")`
    Rpm = "yum.rpm";
    params: [required "src" = "the `.rpm` file's path on the host or URL",
             optional "present" = "whether the package should be installed (default True)"];
    generate: rpm;
}

async fn rpm(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    super::util::packaging::ensure_rpm(a, host, out, "yum").await
}

define_op! {
    /// Upgrade all installed packages (`yum update -y`; not idempotent).
    ///
    /// Deploy example: `yum.update()`
    Update = "yum.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("yum update -y");
    Ok(())
}
