//! `freebsd.pkg.*`: packages with `pkg`, on the host or in a jail.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::json;

use super::{jail_arg, jail_bits};
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::truthy;

fn pkg(a: &Args<'_>, words: &[&str]) -> Vec<Bit> {
    let mut bits = vec![Bit::from("pkg")];
    bits.extend(jail_bits(a));
    bits.extend(words.iter().map(|w| Bit::from(*w)));
    bits
}

fn reponame(a: &Args<'_>, bits: &mut Vec<Bit>) {
    if let Some(r) = a.opt_str("reponame") {
        bits.extend([Bit::from("-r"), q(r)]);
    }
}

define_op! {
    /// Refresh the package catalogues (`pkg update`).
    ///
    /// Deploy example: `freebsd.pkg.update(jail="www")`
    Update = "freebsd.pkg.update";
    params: [optional "jail" = "act in this jail",
             optional "force" = "fetch the full catalogue (`-f`)",
             optional "reponame" = "only this repository (`-r`)"];
    generate: update;
}

async fn update(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = pkg(a, &["update"]);
    if a.bool_or("force", false) {
        bits.push(Bit::from("-f"));
    }
    reponame(a, &mut bits);
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Upgrade the installed packages (`pkg upgrade -y`).
    ///
    /// Deploy example: `freebsd.pkg.upgrade()`
    Upgrade = "freebsd.pkg.upgrade";
    params: [optional "jail" = "act in this jail",
             optional "force" = "reinstall everything (`-f`)",
             optional "reponame" = "only from this repository (`-r`)"];
    generate: upgrade;
}

async fn upgrade(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = pkg(a, &["upgrade", "-y"]);
    if a.bool_or("force", false) {
        bits.push(Bit::from("-f"));
    }
    reponame(a, &mut bits);
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Install a package unless it is installed.
    ///
    /// Deploy example: `freebsd.pkg.install(package="nginx")`
    Install = "freebsd.pkg.install";
    params: [required "package" = "the package",
             optional "jail" = "act in this jail",
             optional "reponame" = "install from this repository (`-r`)"];
    generate: install;
}

async fn install(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let package = a.str("package")?;
    let have = fact(
        host,
        &crate::facts::freebsd::PkgPackage,
        &[("package", json!(package)), ("jail", jail_arg(a))],
    )
    .await?;
    if truthy(&have) {
        out.noop(format!("Package '{package}' already installed"));
        return Ok(());
    }
    let mut bits = pkg(a, &["install", "-y"]);
    reponame(a, &mut bits);
    bits.extend([Bit::from("--"), q(&package)]);
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Remove a package if it is installed.
    ///
    /// Deploy example: `freebsd.pkg.remove(package="nginx")`
    Remove = "freebsd.pkg.remove";
    params: [required "package" = "the package",
             optional "jail" = "act in this jail"];
    generate: remove;
}

async fn remove(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let package = a.str("package")?;
    let have = fact(
        host,
        &crate::facts::freebsd::PkgPackage,
        &[("package", json!(package)), ("jail", jail_arg(a))],
    )
    .await?;
    if !truthy(&have) {
        out.noop(format!("Package '{package}' cannot be found"));
        return Ok(());
    }
    let mut bits = pkg(a, &["remove", "-y"]);
    bits.extend([Bit::from("--"), q(&package)]);
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Remove packages installed only as dependencies nothing needs any more.
    ///
    /// Deploy example: `freebsd.pkg.autoremove()`
    Autoremove = "freebsd.pkg.autoremove";
    params: [optional "jail" = "act in this jail"];
    generate: autoremove;
}

async fn autoremove(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell(StringCommand::new(pkg(a, &["autoremove", "-y"])));
    Ok(())
}

define_op! {
    /// Clean the package cache (`all_pkg`: everything, not only stale packages).
    ///
    /// Deploy example: `freebsd.pkg.clean(all_pkg=True)`
    Clean = "freebsd.pkg.clean";
    params: [optional "all_pkg" = "delete every cached package (`-a`)",
             optional "jail" = "act in this jail"];
    generate: clean;
}

async fn clean(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut bits = pkg(a, &["clean", "-y"]);
    if a.bool_or("all_pkg", false) {
        bits.push(Bit::from("-a"));
    }
    out.shell(StringCommand::new(bits));
    Ok(())
}
