//! `pip.*` operations: Python packages and virtualenvs.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Map, Value};

use super::util::packaging::{ensure_pkg_infos, Manager, PkgInfo};
use super::{call, define_op, fact, q, Args, Out};
use crate::python::truthy;

define_op! {
    /// Create or remove a virtualenv (with `virtualenv`, or `python -m venv` when `venv`).
    ///
    /// Deploy example: `pip.virtualenv(path="/srv/app/venv", python="python3")`
    Virtualenv = "pip.virtualenv";
    params: [required "path" = "the environment's directory",
             optional "python" = "the Python interpreter to build the environment with",
             optional "venv" = "use the `venv` module rather than `virtualenv`",
             optional "site_packages" = "give the environment access to system site packages",
             optional "always_copy" = "copy files into the environment rather than symlink them",
             optional "present" = "whether the environment should exist (default True)"];
    generate: virtualenv;
}

pub(crate) async fn virtualenv(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let python = a.nonempty("python");
    let venv = a.bool_or("venv", false);
    let activate = format!("{path}/bin/activate");
    let exists = truthy(
        &fact(
            host,
            &crate::facts::files::File,
            &[("path", json!(activate))],
        )
        .await?,
    );
    if !a.bool_or("present", true) {
        if exists {
            let pairs = [("path", json!(path)), ("present", json!(false))];
            call!(
                super::files::directory,
                "files.directory",
                &pairs,
                host,
                out
            )
            .await?;
        } else {
            out.noop(format!("virtualenv {path} does not exist"));
        }
        return Ok(());
    }
    if exists {
        out.noop(format!("virtualenv {path} exists"));
        return Ok(());
    }
    let mut bits: Vec<Bit> = if venv {
        vec![
            python.as_ref().map_or_else(|| Bit::from("python"), q),
            Bit::from("-m"),
            Bit::from("venv"),
        ]
    } else {
        vec![Bit::from("virtualenv")]
    };
    if let (Some(p), false) = (&python, venv) {
        bits.extend([Bit::from("-p"), q(p)]);
    }
    if a.bool_or("site_packages", false) {
        bits.push(Bit::from("--system-site-packages"));
    }
    if a.bool_or("always_copy", false) {
        bits.push(Bit::from(if venv { "--copies" } else { "--always-copy" }));
    }
    bits.push(q(&path));
    out.shell(StringCommand::new(bits));
    Ok(())
}

define_op! {
    /// Create or remove a virtualenv with Python's own `venv` module.
    ///
    /// Deploy example: `pip.venv(path="/srv/app/venv", python="python3")`
    Venv = "pip.venv";
    params: [required "path" = "the environment's directory",
             optional "python" = "the Python interpreter to build the environment with",
             optional "site_packages" = "give the environment access to system site packages",
             optional "always_copy" = "copy files into the environment rather than symlink them",
             optional "present" = "whether the environment should exist (default True)"];
    generate: venv;
}

async fn venv(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut args = a.raw().clone();
    args.insert("venv".into(), json!(true));
    virtualenv(&Args::new("pip.virtualenv", &args), host, out).await
}

define_op! {
    /// Install, remove or upgrade pip packages (PEP 508 requirements, eg `flask==2.0`) or a
    /// requirements file, optionally inside a virtualenv created on the way.
    ///
    /// Deploy example: `pip.packages(packages=["flask==2.0"], virtualenv="/srv/app/venv")`
    Packages = "pip.packages";
    params: [optional "packages" = "requirement(s): `name`, `name==1.0`...",
             optional "present" = "whether it should exist (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "requirements" = "a requirements file on the host",
             optional "pip" = "the pip to run (default `pip3`)",
             optional "virtualenv" = "install into this virtualenv (created when missing)",
             optional "virtualenv_kwargs" = "arguments for creating that virtualenv",
             optional "extra_install_args" = "extra arguments for the install command"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut pip = a.nonempty("pip").unwrap_or_else(|| "pip".into());
    if let Some(env) = a.nonempty("virtualenv") {
        let mut venv_args: Map<String, Value> = match a.get("virtualenv_kwargs") {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        venv_args.insert("path".into(), json!(env));
        virtualenv(&Args::new("pip.virtualenv", &venv_args), host, out).await?;
        // the pip of the virtualenv: quoted directory, then `/bin/<pip>`
        pip = StringCommand::with_separator(
            [
                q(env.trim_end_matches('/')),
                Bit::from("/bin/"),
                Bit::from(pip),
            ],
            "",
        )
        .get_raw_value();
    }
    let mut install = format!("{pip} install");
    if let Some(extra) = a.nonempty("extra_install_args") {
        install = format!("{install} {extra}");
    }
    let upgrade = format!("{install} --upgrade");
    let uninstall = format!("{pip} uninstall --yes");
    let present = a.bool_or("present", true);
    let latest = a.bool_or("latest", false);
    if let Some(req) = a.opt_str("requirements") {
        let head = match (present, latest) {
            (true, true) => &upgrade,
            (true, false) => &install,
            (false, _) => &uninstall,
        };
        out.shell(StringCommand::new([
            Bit::from(head.as_str()),
            Bit::from("-r"),
            q(req),
        ]));
    }
    let wanted = a.list("packages")?;
    if wanted.is_empty() {
        if out.commands.is_empty() && !out.has_noop() {
            out.noop("no packages to ensure");
        }
        return Ok(());
    }
    let current = fact(
        host,
        &crate::facts::pip::PipPackages,
        &[("pip", json!(pip))],
    )
    .await?;
    // PEP 426: package names compare lower-cased
    let current: Map<String, Value> = current
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();
    let pkgs: Vec<PkgInfo> = wanted.iter().map(|s| PkgInfo::from_pep508(s)).collect();
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&upgrade),
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_pkg_infos(
        host,
        out,
        &pkgs,
        &Value::Object(current),
        present,
        latest,
        &m,
    )
    .await
}
