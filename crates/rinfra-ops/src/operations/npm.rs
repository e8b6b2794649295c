//! `npm.*` operations: Node packages, global or in a project directory.

use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, Args, Out};

define_op! {
    /// Install, remove or upgrade npm packages, globally or in `directory`
    /// (`name@version` pins a version).
    ///
    /// Deploy example: `npm.packages(packages=["typescript"], directory="/srv/app")`
    Packages = "npm.packages";
    params: [optional "packages" = "package name(s); `name@version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "directory" = "the project directory (default: global packages)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let directory = a.nonempty("directory");
    let dir_arg = directory.as_ref().map_or(Value::Null, |d| json!(d));
    let current = fact(
        host,
        &crate::facts::npm::NpmPackages,
        &[("directory", dir_arg)],
    )
    .await?;
    let command = |action: &str| match &directory {
        None => format!("npm {action} -g"),
        Some(d) => format!("cd {} && npm {action}", rinfra_connectors::quote(d)),
    };
    let (install, uninstall, upgrade) =
        (command("install"), command("uninstall"), command("update"));
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&upgrade),
        version_join: Some("@"),
        expand_fact: None,
        expand_match_any: false,
    };
    let wanted = a.list("packages")?;
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    ensure_packages(host, out, &wanted, &current, present, latest, &m).await
}
