//! `server.service` and `server.packages`: dispatch to the host's init system or package
//! manager, probed in pyinfra's order.

use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use crate::operations::{call, define_op, fact, Args, Out};
use crate::python::truthy;

async fn which(host: &dyn OpHost, command: &str) -> Result<bool, OperationError> {
    Ok(truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!(command))],
        )
        .await?,
    ))
}

async fn path_fact(
    host: &dyn OpHost,
    path_fact: &dyn rinfra_core::Fact,
    path: &str,
) -> Result<bool, OperationError> {
    Ok(truthy(
        &fact(host, path_fact, &[("path", json!(path))]).await?,
    ))
}

define_op! {
    /// Manage a service with whatever init system the host has (systemd, OpenRC, upstart,
    /// BSD rc.d or SysV init).
    ///
    /// Deploy example: `server.service(service="nginx", running=True, enabled=True)`
    Service = "server.service";
    params: [required "service" = "the service's name",
             optional "running" = "whether it should be running",
             optional "restarted" = "restart it (always)",
             optional "reloaded" = "reload it (always)",
             optional "command" = "run this service command instead (`status`, ...)",
             optional "enabled" = "whether it starts at boot"];
    generate: service;
}

async fn service(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    // pass on only the arguments given, so each init system applies its own defaults
    let pairs: Vec<(&str, Value)> = [
        "service",
        "running",
        "restarted",
        "reloaded",
        "command",
        "enabled",
    ]
    .into_iter()
    .filter_map(|k| a.raw().get(k).map(|v| (k, v.clone())))
    .collect();
    if which(host, "systemctl").await? {
        return call!(
            crate::operations::systemd::service,
            "systemd.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "rc-service").await? {
        return call!(
            crate::operations::openrc::service,
            "openrc.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "initctl").await? {
        return call!(
            crate::operations::upstart::service,
            "upstart.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "sv").await? {
        return call!(
            crate::operations::runit::service,
            "runit.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    // before the sysvinit check: BSDs ship a `service` command unrelated to SysV init
    // (https://github.com/pyinfra-dev/pyinfra/issues/1496)
    let os = fact(host, &crate::facts::server::Os, &[]).await?;
    let bsd = matches!(
        os.as_str(),
        Some("FreeBSD" | "OpenBSD" | "NetBSD" | "DragonFly")
    );
    if bsd && path_fact(host, &crate::facts::files::Directory, "/etc/rc.d").await? {
        return call!(
            crate::operations::bsdinit::service,
            "bsdinit.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "service").await?
        || path_fact(host, &crate::facts::files::Link, "/etc/init.d").await?
        || path_fact(host, &crate::facts::files::Directory, "/etc/init.d").await?
    {
        return call!(
            crate::operations::sysvinit::service,
            "sysvinit.service",
            &pairs,
            host,
            out
        )
        .await;
    }
    Err(OperationError::Other(
        "No init system found (no systemctl, initctl, /etc/init.d or /etc/rc.d found)".into(),
    ))
}

define_op! {
    /// Install or remove packages with whatever package manager the host has.
    ///
    /// Deploy example: `server.packages(packages=["vim", "git"])`
    Packages = "server.packages";
    params: [required "packages" = "package name(s), installed with the host's package manager",
             optional "present" = "whether they should be installed (default True)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let pairs: Vec<(&str, Value)> = ["packages", "present"]
        .into_iter()
        .filter_map(|k| a.raw().get(k).map(|v| (k, v.clone())))
        .collect();
    // zypper first: openSUSE also ships aptitude (https://github.com/Fizzadar/pyinfra/issues/799)
    if which(host, "zypper").await? {
        return call!(
            crate::operations::zypper::packages,
            "zypper.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "apk").await? {
        return call!(
            crate::operations::apk::packages,
            "apk.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "apt").await? {
        return call!(
            crate::operations::apt::packages,
            "apt.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "brew").await? {
        return call!(
            crate::operations::brew::packages,
            "brew.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "dnf").await? {
        return call!(
            crate::operations::dnf::packages,
            "dnf.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "pacman").await? {
        return call!(
            crate::operations::pacman::packages,
            "pacman.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "xbps-install").await? || which(host, "xbps").await? {
        return call!(
            crate::operations::xbps::packages,
            "xbps.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "yum").await? {
        return call!(
            crate::operations::yum::packages,
            "yum.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    if which(host, "pkg").await? || which(host, "pkg_add").await? {
        return call!(
            crate::operations::pkg::packages,
            "pkg.packages",
            &pairs,
            host,
            out
        )
        .await;
    }
    Err(OperationError::Other(
        "No system package manager found (no apk, apt, brew, dnf, pacman, pkg, xbps, yum or zypper found)".into(),
    ))
}
