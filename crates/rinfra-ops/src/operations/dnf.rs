//! `dnf.packages`: rpm packages through dnf.

use rinfra_core::{OpHost, OperationError};

use super::util::packaging::{ensure_packages, Manager};
use rinfra_connectors::{Bit, StringCommand};

use super::{define_op, fact, q, Args, Out};

define_op! {
    /// Install, remove or upgrade packages with dnf (`name=version` pins a version).
    ///
    /// Deploy example: `dnf.packages(packages=["nginx"], latest=True)`
    Packages = "dnf.packages";
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
    let current = fact(host, &crate::facts::rpm::RpmPackages, &[]).await?;
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&update),
        version_join: Some("="),
        expand_fact: Some(&crate::facts::rpm::RpmPackageProvides),
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

define_op! {
    /// Import a gpg key into rpm's keyring (`rpm --import`; not idempotent).
    ///
    /// Deploy example: `dnf.key(src="https://download.docker.com/linux/centos/gpg")`
    Key = "dnf.key";
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
    /// Deploy example: `dnf.repo(src="DockerCE", baseurl="https://download.docker.com/linux/centos/7/$basearch/stable")`
    Repo = "dnf.repo";
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
    /// Deploy example: `dnf.rpm(src="https://dl.fedoraproject.org/pub/epel/epel-release-latest-9.noarch.rpm")`
    Rpm = "dnf.rpm";
    params: [required "src" = "the `.rpm` file's path on the host or URL",
             optional "present" = "whether the package should be installed (default True)"];
    generate: rpm;
}

async fn rpm(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    super::util::packaging::ensure_rpm(a, host, out, "dnf").await
}

define_op! {
    /// Upgrade all installed packages (`dnf update -y`; not idempotent).
    ///
    /// Deploy example: `dnf.update()`
    Update = "dnf.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("dnf update -y");
    Ok(())
}

define_op! {
    /// Enable a module stream, or disable a module (all its streams).
    ///
    /// Deploy example: `dnf.module(module="postgresql", stream="16")`
    Module = "dnf.module";
    params: [required "module" = "the module's name",
             optional "stream" = "the stream to enable (needed when `enabled=True`)",
             optional "enabled" = "True (default) enables `stream`, False disables the module"];
    generate: module;
}

async fn module(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("module")?;
    if a.bool_or("enabled", true) {
        let Some(stream) = a.opt_str("stream") else {
            return Err(a.invalid("stream", "stream is required when enabled=True"));
        };
        let enabled = fact(host, &crate::facts::dnf::DnfEnabledModules, &[]).await?;
        if enabled.get(&name).map(crate::python::python_str).as_ref() == Some(&stream) {
            out.noop(format!("dnf module {name}:{stream} is already enabled"));
        } else {
            out.shell(StringCommand::new([
                Bit::from("dnf module enable -y"),
                q(format!("{name}:{stream}")),
            ]));
        }
    } else {
        let disabled = fact(host, &crate::facts::dnf::DnfDisabledModules, &[]).await?;
        if disabled
            .as_array()
            .is_some_and(|d| d.iter().any(|m| m == name.as_str()))
        {
            out.noop(format!("dnf module {name} is already disabled"));
        } else {
            out.shell(StringCommand::new([
                Bit::from("dnf module disable -y"),
                q(&name),
            ]));
        }
    }
    Ok(())
}
