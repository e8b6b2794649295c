//! `pkg.*` operations: BSD packages (`pkg` on FreeBSD, `pkg_add`/`pkg_delete` elsewhere).

use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};
use crate::python::{python_str, truthy};

define_op! {
    /// Install or remove BSD packages, with `pkg` where it exists (FreeBSD) and
    /// `pkg_add`/`pkg_delete` elsewhere.
    ///
    /// Deploy example: `pkg.packages(packages=["vim"])`
    Packages = "pkg.packages";
    params: [optional "packages" = "package name(s)",
             optional "present" = "whether they should be installed (default True)",
             optional "pkg_path" = "the package mirror (`PKG_PATH`); by default OpenBSD's layout on ftp.<os>.org unless `/etc/installurl` exists"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let present = a.bool_or("present", true);
    let mut pkg_path = a.nonempty("pkg_path");
    if present
        && pkg_path.is_none()
        && !truthy(
            &fact(
                host,
                &crate::facts::files::File,
                &[("path", json!("/etc/installurl"))],
            )
            .await?,
        )
    {
        let os = fact(host, &crate::facts::server::Os, &[]).await?;
        let os = if truthy(&os) {
            python_str(&os)
        } else {
            String::new()
        };
        let version = python_str(&fact(host, &crate::facts::server::OsVersion, &[]).await?);
        let arch = python_str(&fact(host, &crate::facts::server::Arch, &[]).await?);
        pkg_path = Some(format!(
            "http://ftp.{}.org/pub/{os}/{version}/packages/{arch}/",
            os.to_lowercase()
        ));
    }
    let is_pkg = truthy(
        &fact(
            host,
            &crate::facts::server::Which,
            &[("command", json!("pkg"))],
        )
        .await?,
    );
    let mut install = if is_pkg { "pkg install -y" } else { "pkg_add" }.to_string();
    let uninstall = if is_pkg {
        "pkg delete -y"
    } else {
        "pkg_delete"
    };
    if let Some(path) = pkg_path {
        install = format!("PKG_PATH={} {install}", rinfra_connectors::quote(&path));
    }
    let current = fact(host, &crate::facts::pkg::PkgPackages, &[]).await?;
    let m = Manager {
        install: &install,
        uninstall,
        upgrade: None,
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &a.list("packages")?,
        &current,
        present,
        false,
        &m,
    )
    .await
}
