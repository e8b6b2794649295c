//! `brew.*` operations: Homebrew formulae, casks, taps and trust.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::Value;

use super::util::packaging::{ensure_packages, Manager};
use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

define_op! {
    /// Update Homebrew and its formulae list (`brew update`; not idempotent).
    ///
    /// Deploy example: `brew.update()`
    Update = "brew.update";
    params: [];
    idempotent: false;
    generate: update;
}

async fn update(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("brew update");
    Ok(())
}

define_op! {
    /// Upgrade all installed formulae (`brew upgrade`; not idempotent).
    ///
    /// Deploy example: `brew.upgrade()`
    Upgrade = "brew.upgrade";
    params: [];
    idempotent: false;
    generate: upgrade;
}

async fn upgrade(_: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    out.shell("brew upgrade");
    Ok(())
}

define_op! {
    /// Install, remove or upgrade formulae (`name@version` pins a version).
    ///
    /// Deploy example: `brew.packages(packages=["vim"], update=True)`
    Packages = "brew.packages";
    params: [optional "packages" = "formula name(s); `name@version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed formulae that have no pinned version",
             optional "update" = "`brew update` first",
             optional "upgrade" = "`brew upgrade` first"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("update", false) {
        out.shell("brew update");
    }
    if a.bool_or("upgrade", false) {
        out.shell("brew upgrade");
    }
    let current = fact(host, &crate::facts::brew::BrewPackages, &[]).await?;
    let m = Manager {
        install: "brew install",
        uninstall: "brew uninstall",
        upgrade: Some("brew upgrade"),
        version_join: Some("@"),
        expand_fact: None,
        expand_match_any: false,
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

/// `brew cask <action>` before Homebrew 2.6, `brew <action> --cask` since.
async fn cask_command(host: &dyn OpHost, action: &str) -> Result<String, OperationError> {
    let version = fact(host, &crate::facts::brew::BrewVersion, &[]).await?;
    let part = |i: usize| version.get(i).and_then(Value::as_i64).unwrap_or(0);
    let new_cli = part(0) >= 3 || (part(0) >= 2 && part(1) >= 6);
    Ok(if new_cli {
        format!("brew {action} --cask")
    } else {
        format!("brew cask {action}")
    })
}

define_op! {
    /// Upgrade all installed casks (not idempotent).
    ///
    /// Deploy example: `brew.cask_upgrade()`
    CaskUpgrade = "brew.cask_upgrade";
    params: [];
    idempotent: false;
    generate: cask_upgrade;
}

async fn cask_upgrade(
    _: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    out.shell(cask_command(host, "upgrade").await?);
    Ok(())
}

define_op! {
    /// Install, remove or upgrade casks (`name@version` pins a version).
    ///
    /// Deploy example: `brew.casks(casks=["firefox"], latest=True)`
    Casks = "brew.casks";
    params: [optional "casks" = "cask name(s); `name@version` pins a version",
             optional "present" = "whether they should be installed (default True)",
             optional "latest" = "upgrade installed casks that have no pinned version",
             optional "upgrade" = "upgrade all casks first"];
    generate: casks;
}

async fn casks(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let upgrade = cask_command(host, "upgrade").await?;
    if a.bool_or("upgrade", false) {
        out.shell(upgrade.clone());
    }
    let install = cask_command(host, "install").await?;
    let uninstall = cask_command(host, "uninstall").await?;
    let current = fact(host, &crate::facts::brew::BrewCasks, &[]).await?;
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&upgrade),
        version_join: Some("@"),
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &a.list("casks")?,
        &current,
        a.bool_or("present", true),
        a.bool_or("latest", false),
        &m,
    )
    .await
}

fn trust_command(kind_option: &str, item: &str, trust: bool) -> StringCommand {
    StringCommand::new([
        Bit::from(if trust { "brew trust" } else { "brew untrust" }),
        Bit::from(kind_option),
        q(item),
    ])
}

/// The path part of a URL, without surrounding slashes (`https://github.com/a/b` → `a/b`).
fn url_tap(url: &str) -> String {
    super::util::packaging::url_path(url)
        .trim_matches('/')
        .to_string()
}

define_op! {
    /// Add or remove a tap, optionally trusting it (a tap needs `user/repo`, or a URL whose
    /// path gives it).
    ///
    /// Deploy example: `brew.tap(src="includeos/includeos", trusted=True)`
    Tap = "brew.tap";
    params: [optional "src" = "the tap (`user/repo`)",
             optional "present" = "whether it should be tapped (default True)",
             optional "trusted" = "whether it should be trusted (`brew trust --tap`)",
             optional "url" = "the tap's repository URL (gives `src` when that is not set)"];
    generate: tap;
}

async fn tap(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let trusted = a.bool_or("trusted", false);
    let url = a.nonempty("url");
    let src = match (a.nonempty("src"), &url) {
        (Some(s), _) => s,
        (None, Some(u)) => url_tap(u),
        (None, None) => {
            out.noop("no tap was specified");
            return Ok(());
        }
    };
    if src.split('/').count() != 2 {
        out.noop(format!("src '{src}' doesn't have two components."));
        return Ok(());
    }
    let present = a.bool_or("present", true);
    let taps = fact(host, &crate::facts::brew::BrewTaps, &[]).await?;
    let tapped = taps
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == src.as_str()));
    if present && tapped {
        out.noop(format!("tap {src} already exists"));
        let trust = fact(host, &crate::facts::brew::BrewTrusted, &[]).await?;
        let is_trusted = trust
            .get("taps")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|x| x == src.as_str()));
        if trusted != is_trusted {
            out.shell(trust_command("--tap", &src, trusted));
        }
        return Ok(());
    }
    if tapped {
        out.shell(StringCommand::new([Bit::from("brew untap"), q(&src)]));
        return Ok(());
    }
    if !present {
        out.noop(format!("tap {src} does not exist"));
        return Ok(());
    }
    let mut bits = vec![Bit::from("brew tap"), q(&src)];
    bits.extend(url.as_deref().map(q));
    out.shell(StringCommand::new(bits));
    if trusted {
        out.shell(trust_command("--tap", &src, true));
    }
    Ok(())
}

define_op! {
    /// Trust or untrust casks, commands, formulae or taps (`brew trust`).
    ///
    /// Deploy example: `brew.trust(items="includeos/includeos", kind="taps", trusted=True)`
    Trust = "brew.trust";
    params: [required "items" = "the name(s)",
             required "kind" = "`casks`, `commands`, `formulae` or `taps` (or `BrewItemKind`'s names)",
             required "trusted" = "trust (True) or untrust (False)"];
    generate: trust;
}

async fn trust(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let mut items = a.list("items")?;
    if items.iter().any(String::is_empty) {
        return Err(a.invalid("items", "all items must have non-zero length names"));
    }
    items.sort();
    items.dedup();
    let kind = a.str("kind")?;
    let kind = kind.rsplit('.').next().unwrap_or_default().to_lowercase();
    let (kind, option) = match kind.as_str() {
        "casks" | "cask" => ("casks", "--cask"),
        "commands" | "command" => ("commands", "--command"),
        "formulae" | "formula" => ("formulae", "--formula"),
        "taps" | "tap" => ("taps", "--tap"),
        other => {
            return Err(a.invalid(
                "kind",
                format!("unknown kind `{other}`: casks, commands, formulae or taps"),
            ))
        }
    };
    let trusted = a.bool_or("trusted", false);
    let current: Vec<String> = fact(host, &crate::facts::brew::BrewTrusted, &[])
        .await?
        .get(kind)
        .and_then(Value::as_array)
        .map(|v| v.iter().map(python_str).collect())
        .unwrap_or_default();
    let mut ok = Vec::new();
    for item in &items {
        if current.contains(item) == trusted {
            ok.push(item.as_str());
        } else {
            out.shell(trust_command(option, item, trusted));
        }
    }
    if !ok.is_empty() {
        let state = if trusted { "trusted" } else { "untrusted" };
        out.noop(format!("{} {kind} already {state}", ok.join(", ")));
    }
    Ok(())
}
