//! `pipx.*` operations: Python applications in their own environments.

use rinfra_core::{OpHost, OperationError};
use serde_json::{Map, Value};

use super::util::packaging::{ensure_pkg_infos, Manager, PkgInfo};
use super::{define_op, fact, Args, Out};
use crate::python::python_str;

define_op! {
    /// Install, remove or upgrade applications with pipx (PEP 508 requirements:
    /// `name==version`, `name @ url`).
    ///
    /// Deploy example: `pipx.packages(packages=["pyinfra"])`
    Packages = "pipx.packages";
    params: [optional "packages" = "requirement(s)",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed applications that have no pinned version",
             optional "extra_args" = "extra arguments for `pipx install`"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    if a.get("packages").is_none() {
        out.noop("no package list provided to pipx.packages");
        return Ok(());
    }
    let mut install = String::from("pipx install");
    if let Some(extra) = a.nonempty("extra_args") {
        install = format!("{install} {extra}");
    }
    // package names compare lower-cased (PEP 426)
    let current: Map<String, Value> = fact(host, &crate::facts::pipx::PipxPackages, &[])
        .await?
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();
    let current = Value::Object(current);
    let m = Manager {
        install: &install,
        uninstall: "pipx uninstall",
        upgrade: Some("pipx upgrade"),
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    // pipx takes one package per command
    for p in a.list("packages")? {
        let info = [PkgInfo::from_pep508(&p)];
        ensure_pkg_infos(host, out, &info, &current, present, latest, &m).await?;
    }
    Ok(())
}

define_op! {
    /// Upgrade every pipx application (not idempotent).
    ///
    /// Deploy example: `pipx.upgrade_all()`
    UpgradeAll = "pipx.upgrade_all";
    params: [];
    idempotent: false;
    generate: upgrade_all;
}

async fn upgrade_all(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("pipx upgrade-all");
    Ok(())
}

define_op! {
    /// Put pipx's bin directory on the user's `PATH` (`pipx ensurepath`) unless it is there.
    ///
    /// Deploy example: `pipx.ensure_path()`
    EnsurePath = "pipx.ensure_path";
    params: [];
    generate: ensure_path;
}

async fn ensure_path(_: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = python_str(&fact(host, &crate::facts::server::Path, &[]).await?);
    let env = fact(host, &crate::facts::pipx::PipxEnvironment, &[]).await?;
    let in_path = env
        .get("PIPX_BIN_DIR")
        .map(python_str)
        .is_some_and(|bin| path.split(':').any(|p| p == bin));
    if in_path {
        out.noop("pipx bin dir is already in the PATH");
    } else {
        out.shell("pipx ensurepath");
    }
    Ok(())
}
