//! `uv.*` operations: packages, Pythons, tools and virtual environments with uv.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Map, Value};

use super::util::packaging::{ensure_pkg_infos, Manager, PkgInfo};
use super::{call, define_op, fact, q, Args, Out};
use crate::python::{python_str, truthy};

/// `extra_args` to append: a string as written, a list each shell-quoted; with a leading space.
fn extras(a: &Args<'_>) -> Result<String, OperationError> {
    Ok(match a.get("extra_args") {
        None => " ".into(),
        Some(Value::String(s)) => format!(" {s}"),
        Some(_) => {
            let items: Vec<String> = a
                .list("extra_args")?
                .iter()
                .map(|e| rinfra_connectors::quote(e))
                .collect();
            format!(" {}", items.join(" "))
        }
    })
}

/// A fact's `{name: versions}` with lower-cased names (PEP 426).
fn lowercased(v: &Value) -> Value {
    Value::Object(
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.to_lowercase(), v.clone()))
            .collect::<Map<String, Value>>(),
    )
}

/// The list argument `name`, or nothing for None/empty.
fn names(a: &Args<'_>, name: &str) -> Result<Vec<String>, OperationError> {
    if a.get(name).is_some_and(truthy) {
        a.list(name)
    } else {
        Ok(Vec::new())
    }
}

define_op! {
    /// Install, remove or upgrade packages in the current environment with `uv pip`, from
    /// requirements (PEP 508) and/or a requirements file.
    ///
    /// Deploy example: `uv.packages(["ruff", "mypy==1.17"], extra_args="--no-cache")`
    Packages = "uv.packages";
    params: [required "packages" = "requirement(s) (None for only a file)",
             optional "requirements" = "a requirements file on the host",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "extra_args" = "more uv arguments (a string as written, or a list)"];
    generate: packages;
}

async fn packages(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let extra = extras(a)?;
    let install = format!("uv pip install --no-progress{extra}");
    let uninstall = format!("uv pip uninstall --no-progress{extra}");
    let upgrade = format!("uv pip install --upgrade --no-progress{extra}");
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    let requirements = a.nonempty("requirements");
    if let Some(r) = &requirements {
        let head = match (present, latest) {
            (true, true) => &upgrade,
            (true, false) => &install,
            (false, _) => &uninstall,
        };
        out.shell(StringCommand::new([Bit::from(format!("{head} -r")), q(r)]));
    }
    let wanted = names(a, "packages")?;
    if !wanted.is_empty() {
        let current = lowercased(&fact(host, &crate::facts::uv::UvPipPackages, &[]).await?);
        let infos: Vec<PkgInfo> = wanted.iter().map(|p| PkgInfo::from_pep508(p)).collect();
        let m = Manager {
            install: &install,
            uninstall: &uninstall,
            upgrade: Some(&upgrade),
            version_join: None,
            expand_fact: None,
            expand_match_any: false,
        };
        ensure_pkg_infos(host, out, &infos, &current, present, latest, &m).await?;
    }
    if requirements.is_none() && wanted.is_empty() {
        out.noop("neither packages nor requirements requested to be (un)installed");
    }
    Ok(())
}

define_op! {
    /// Install or remove Python versions with `uv python`.
    ///
    /// Deploy example: `uv.pythons(["3.12", "3.13"])`
    Pythons = "uv.pythons";
    params: [required "versions" = "version(s) (`3.13`, `3.13.9`)",
             optional "present" = "whether they should be installed (default True)",
             optional "managed" = "uv-managed Pythons only (`--managed-python`, default True)",
             optional "extra_args" = "more uv arguments (a string as written, or a list)"];
    generate: pythons;
}

async fn pythons(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let extra = extras(a)?;
    let managed = a.bool_or("managed", true);
    let flag = if managed { "--managed-python" } else { "" };
    let install = format!("uv python install --no-progress {flag}{extra}");
    let uninstall = format!("uv python uninstall --no-progress {flag}{extra}");
    let current = fact(
        host,
        &crate::facts::uv::UvInstalledPythonsByVersion,
        &[("is_managed", json!(managed))],
    )
    .await?;
    let versions = names(a, "versions")?;
    if versions.is_empty() {
        out.noop("no Python versions requested to be (un)installed");
        return Ok(());
    }
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: None,
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    for v in versions {
        let info = [PkgInfo::from_possible_pair(&v, None)];
        ensure_pkg_infos(
            host,
            out,
            &info,
            &current,
            a.bool_or("present", true),
            false,
            &m,
        )
        .await?;
    }
    Ok(())
}

define_op! {
    /// Install, remove or upgrade command-line tools with `uv tool` (PEP 508 requirements).
    ///
    /// Deploy example: `uv.tools(["ruff", "pyinfra"])`
    Tools = "uv.tools";
    params: [required "tools" = "requirement(s)",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed tools that have no pinned version",
             optional "extra_args" = "more uv arguments (a string as written, or a list)"];
    generate: tools;
}

async fn tools(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let extra = extras(a)?;
    let install = format!("uv tool install --no-progress{extra}");
    let uninstall = format!("uv tool uninstall --no-progress{extra}");
    let upgrade = format!("uv tool install --upgrade --no-progress{extra}");
    let current = lowercased(&fact(host, &crate::facts::uv::UvTools, &[]).await?);
    let wanted = names(a, "tools")?;
    if wanted.is_empty() {
        out.noop("no tools requested to be (un)installed");
        return Ok(());
    }
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&upgrade),
        version_join: None,
        expand_fact: None,
        expand_match_any: false,
    };
    let (present, latest) = (a.bool_or("present", true), a.bool_or("latest", false));
    for t in wanted {
        let info = [PkgInfo::from_pep508(&t)];
        ensure_pkg_infos(host, out, &info, &current, present, latest, &m).await?;
    }
    Ok(())
}

define_op! {
    /// Upgrade every uv tool (not idempotent).
    ///
    /// Deploy example: `uv.tools_upgrade_all()`
    ToolsUpgradeAll = "uv.tools_upgrade_all";
    params: [optional "extra_args" = "more uv arguments (a string as written, or a list)"];
    idempotent: false;
    generate: tools_upgrade_all;
}

async fn tools_upgrade_all(
    a: &Args<'_>,
    _: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    out.shell(format!("uv tool upgrade --all{}", extras(a)?));
    Ok(())
}

define_op! {
    /// Put uv's tool directory on the user's `PATH` (`uv tool update-shell`) unless it is
    /// there.
    ///
    /// Deploy example: `uv.tools_update_shell()`
    ToolsUpdateShell = "uv.tools_update_shell";
    params: [];
    generate: tools_update_shell;
}

async fn tools_update_shell(
    _: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let dir = python_str(&fact(host, &crate::facts::uv::UvToolDir, &[]).await?);
    let path = python_str(&fact(host, &crate::facts::server::Path, &[]).await?);
    if path.split(':').any(|p| p == dir) {
        out.noop("uv bin dir is already in the PATH");
    } else {
        out.shell("uv tool update-shell");
    }
    Ok(())
}

define_op! {
    /// Create or remove the virtual environment `<path>/.venv` with `uv venv`.
    ///
    /// Deploy example: `uv.venv("/srv/app", python="3.13", seed=True)`
    Venv = "uv.venv";
    params: [required "path" = "the project directory (the environment is `<path>/.venv`)",
             optional "present" = "whether it should exist (default True)",
             optional "python" = "the Python to use",
             optional "allow_existing" = "keep what is in an existing directory (`--allow-existing`)",
             optional "clear_existing" = "empty an existing directory first (`--clear`)",
             optional "link_mode" = "`clone`, `copy`, `hardlink` or `symlink`",
             optional "seed" = "install pip and setuptools into it (`--seed`)",
             optional "site_packages" = "give it the system site packages",
             optional "extra_args" = "more uv arguments (each quoted)"];
    generate: venv;
}

async fn venv(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.opt_str("path").unwrap_or_default();
    let indicator = format!("{path}/.venv/bin/activate");
    let exists = truthy(
        &fact(
            host,
            &crate::facts::files::File,
            &[("path", json!(indicator))],
        )
        .await?,
    );
    if !a.bool_or("present", true) {
        if exists {
            let pairs = [
                ("path", json!(format!("{path}/.venv"))),
                ("present", json!(false)),
            ];
            call!(
                super::files::directory,
                "files.directory",
                &pairs,
                host,
                out
            )
            .await?;
        } else {
            out.noop(format!("venv does not exist at {path}"));
        }
        return Ok(());
    }
    if a.bool_or("allow_existing", false) && a.bool_or("clear_existing", false) {
        return Err(a.invalid(
            "clear_existing",
            "allow_existing and clear_existing cannot both be set",
        ));
    }
    if path.trim().is_empty() {
        return Err(a.invalid("path", "must provide path in which .venv is to be created"));
    }
    if exists {
        out.noop(format!("venv already exists at {path}"));
        return Ok(());
    }
    let mut bits = vec![Bit::from("uv venv")];
    for (arg, flag) in [
        ("allow_existing", "--allow-existing"),
        ("clear_existing", "--clear"),
        ("seed", "--seed"),
    ] {
        if a.bool_or(arg, false) {
            bits.push(Bit::from(flag));
        }
    }
    if let Some(mode) = a.nonempty("link_mode") {
        if !matches!(mode.as_str(), "clone" | "copy" | "hardlink" | "symlink") {
            return Err(a.invalid(
                "link_mode",
                format!("must be clone, copy, hardlink or symlink, got {mode:?}"),
            ));
        }
        bits.extend([Bit::from("--link-mode"), q(mode)]);
    }
    if a.bool_or("site_packages", false) {
        bits.push(Bit::from("--site-packages"));
    }
    if let Some(p) = a.nonempty("python") {
        bits.extend([Bit::from("--python"), q(p)]);
    }
    bits.extend(a.list("extra_args")?.into_iter().map(q));
    bits.push(q(&path));
    out.shell(StringCommand::new(bits));
    Ok(())
}
