//! `apt.*` operations: packages, the package lists, upgrades, repositories, keys and `.deb`
//! files.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::util::packaging::{ensure_packages, Manager};
use super::{call, define_op, fact, q, Args, Out};
use crate::facts::apt::{noninteractive_apt, parse_apt_repo};
use crate::facts::parse::iso_to_timestamp;
use crate::python::{python_str, truthy};

/// Touched after a successful update so `cache_time` works on Debian too (Ubuntu does it
/// itself).
const APT_UPDATE_FILENAME: &str = "/var/lib/apt/periodic/update-success-stamp";

/// Where `apt.key` looks for keys to remove by id.
const APT_KEYRING_DIRS: &[&str] = &[
    "/etc/apt/trusted.gpg.d",
    "/etc/apt/keyrings",
    "/usr/share/keyrings",
];

/// Whether `src` has a URL scheme (`urlparse(src).scheme`).
pub(crate) fn has_scheme(src: &str) -> bool {
    crate::facts::parse::has_scheme(src)
}

/// Run `apt-get <command>` unless a dry run says it would change nothing.
async fn simulate_then_perform(
    host: &dyn OpHost,
    out: &mut Out,
    command: &str,
) -> Result<(), OperationError> {
    // a failing simulation means the real command will probably fail too: run it and show why
    let changes = fact(
        host,
        &crate::facts::apt::SimulateOperationWillChange,
        &[("command", json!(command))],
    )
    .await
    .unwrap_or(Value::Null);
    let zero = |k: &str| changes.get(k).and_then(Value::as_i64) == Some(0);
    if truthy(&changes)
        && ["upgraded", "newly_installed", "removed", "not_upgraded"]
            .iter()
            .all(|k| zero(k))
    {
        out.noop(format!("{command} skipped, no changes would be performed"));
    } else {
        out.shell(noninteractive_apt(command, false));
    }
    Ok(())
}

define_op! {
    /// Update the apt package lists; with `cache_time`, only when older than that many seconds.
    ///
    /// Deploy example: `apt.update(cache_time=3600)`
    Update = "apt.update";
    params: [optional "cache_time" = "skip when the last refresh is younger than this many seconds"];
    idempotent: false;
    generate: update;
}

pub(crate) async fn update(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let cache_time = a.int_or("cache_time", 0)?;
    if cache_time > 0 {
        let info = fact(
            host,
            &crate::facts::files::File,
            &[("path", json!(APT_UPDATE_FILENAME))],
        )
        .await?;
        let mtime = info
            .get("mtime")
            .and_then(Value::as_str)
            .and_then(iso_to_timestamp);
        if let Some(mtime) = mtime {
            // the file time is naive UTC; the host's date carries its offset
            let now = fact(host, &crate::facts::server::Date, &[]).await?;
            let now = now.as_str().and_then(iso_to_timestamp).ok_or_else(|| {
                OperationError::Other(format!("unexpected server.Date value {now}"))
            })?;
            if mtime > now - cache_time {
                out.noop("apt is already up to date");
                return Ok(());
            }
        }
    }
    out.shell("apt-get update");
    if cache_time > 0 {
        out.shell(format!("touch {APT_UPDATE_FILENAME}"));
    }
    Ok(())
}

define_op! {
    /// Upgrade all packages (`auto_remove` drops dependencies no longer needed).
    ///
    /// Deploy example: `apt.upgrade(auto_remove=True)`
    Upgrade = "apt.upgrade";
    params: [optional "auto_remove" = "also remove packages nothing depends on any more (`--autoremove`)"];
    generate: upgrade;
}

async fn upgrade(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let command = if a.bool_or("auto_remove", false) {
        "upgrade --autoremove"
    } else {
        "upgrade"
    };
    simulate_then_perform(host, out, command).await
}

define_op! {
    /// Upgrade all packages with `dist-upgrade`.
    ///
    /// Deploy example: `apt.dist_upgrade()`
    DistUpgrade = "apt.dist_upgrade";
    params: [optional "auto_remove" = "also remove packages nothing depends on any more"];
    generate: dist_upgrade;
}

async fn dist_upgrade(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let command = if a.bool_or("auto_remove", false) {
        "dist-upgrade --autoremove"
    } else {
        "dist-upgrade"
    };
    simulate_then_perform(host, out, command).await
}

define_op! {
    /// Install, remove or upgrade apt packages (`name=version` pins a version), optionally
    /// updating the lists first.
    ///
    /// Deploy example: `apt.packages(packages=["nginx", "vim"], update=True, cache_time=3600)`
    Packages = "apt.packages";
    params: [optional "packages" = "package name(s); `name=version` pins a version",
             optional "present" = "whether it should exist (default True)",
             optional "latest" = "upgrade installed packages that have no pinned version",
             optional "update" = "refresh the package index first",
             optional "cache_time" = "skip when the last refresh is younger than this many seconds",
             optional "upgrade" = "upgrade all installed packages first",
             optional "force" = "pass `--force-yes` (allow what apt would refuse)",
             optional "no_recommends" = "do not install recommended packages",
             optional "allow_downgrades" = "allow installing an older version",
             optional "purge" = "remove packages with their configuration (`purge`)",
             optional "extra_install_args" = "extra arguments for the install command",
             optional "extra_uninstall_args" = "extra arguments for the remove command"];
    generate: packages;
}

pub(crate) async fn packages(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    if a.bool_or("update", false) {
        let mut pairs = Vec::new();
        if let Some(c) = a.get("cache_time") {
            pairs.push(("cache_time", c.clone()));
        }
        call!(update, "apt.update", &pairs, host, out).await?;
    }
    if a.bool_or("upgrade", false) {
        upgrade(&Args::new("apt.upgrade", &Default::default()), host, out).await?;
    }
    let force = a.bool_or("force", false);
    let mut install = vec!["install".to_string()];
    // pyinfra tests `no_recommends is True`
    if a.get("no_recommends") == Some(&Value::Bool(true)) {
        install.push("--no-install-recommends".into());
    }
    if a.bool_or("allow_downgrades", false) {
        install.push("--allow-downgrades".into());
    }
    let upgrade_command = noninteractive_apt(&install.join(" "), force);
    install.extend(a.nonempty("extra_install_args"));
    let mut uninstall = vec![if a.bool_or("purge", false) {
        "purge".to_string()
    } else {
        "remove".to_string()
    }];
    uninstall.extend(a.nonempty("extra_uninstall_args"));
    let install = noninteractive_apt(&install.join(" "), force);
    let uninstall = noninteractive_apt(&uninstall.join(" "), force);
    let wanted = a.list("packages")?;
    if wanted.is_empty() {
        if out.commands.is_empty() && !out.has_noop() {
            out.noop("no packages to ensure");
        }
        return Ok(());
    }
    let current = fact(host, &crate::facts::deb::DebPackages, &[]).await?;
    let m = Manager {
        install: &install,
        uninstall: &uninstall,
        upgrade: Some(&upgrade_command),
        version_join: Some("="),
        expand_fact: None,
        expand_match_any: false,
    };
    ensure_packages(
        host,
        out,
        &wanted,
        &current,
        a.bool_or("present", true),
        a.bool_or("latest", false),
        &m,
    )
    .await
}

define_op! {
    /// Add or remove a line in an apt sources list (`filename` picks
    /// `/etc/apt/sources.list.d/<filename>.list`).
    ///
    /// Deploy example: `apt.repo(src="deb https://download.virtualbox.org/virtualbox/debian bionic contrib")`
    Repo = "apt.repo";
    params: [required "src" = "the `sources.list` line (`deb https://... focal main`)",
             optional "present" = "whether it should exist (default True)",
             optional "filename" = "the file in `/etc/apt/sources.list.d/` (no `.list`; default `/etc/apt/sources.list`)"];
    generate: repo;
}

async fn repo(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let present = a.bool_or("present", true);
    let filename = match a.nonempty("filename") {
        Some(f) => format!("/etc/apt/sources.list.d/{f}.list"),
        None => "/etc/apt/sources.list".into(),
    };
    let sources = fact(host, &crate::facts::apt::AptSources, &[]).await?;
    let is_present =
        parse_apt_repo(&src).is_some_and(|r| sources.as_array().is_some_and(|s| s.contains(&r)));
    if is_present != present {
        let pairs = [
            ("path", json!(filename)),
            ("line", json!(src)),
            ("present", json!(present)),
            ("escape_regex_characters", json!(true)),
        ];
        call!(super::files::text::line, "files.line", &pairs, host, out).await?;
    } else {
        let state = if present { "exists" } else { "does not exist" };
        out.noop(format!("apt repo \"{src}\" {state}"));
    }
    Ok(())
}

define_op! {
    /// Add or remove an Ubuntu PPA (needs `apt-add-repository`; always runs).
    ///
    /// Deploy example: `apt.ppa(src="ppa:bitcoin/bitcoin")`
    Ppa = "apt.ppa";
    params: [required "src" = "the PPA (`ppa:user/repo`)",
             optional "present" = "whether it should exist (default True)"];
    idempotent: false;
    generate: ppa;
}

async fn ppa(a: &Args<'_>, _: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let head = if a.bool_or("present", true) {
        "apt-add-repository -y"
    } else {
        "apt-add-repository -y --remove"
    };
    out.shell(StringCommand::new([Bit::from(head), q(a.str("src")?)]));
    Ok(())
}

define_op! {
    /// Install or remove a `.deb` file (local path on the host, or a URL downloaded first);
    /// missing dependencies are installed with `apt-get install -f`.
    ///
    /// Deploy example: `apt.deb(src="https://example.com/tool_1.0_amd64.deb")`
    Deb = "apt.deb";
    params: [required "src" = "the `.deb` file's path on the host, or its URL",
             optional "present" = "whether it should exist (default True)",
             optional "force" = "pass `--force-yes` to apt-get"];
    generate: deb;
}

async fn deb(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let original = a.str("src")?;
    let force = a.bool_or("force", false);
    let mut src = original.clone();
    if has_scheme(&src) {
        let temp = crate::pinned::temp_filename(&host.temp_dir(), &src);
        let pairs = [("src", json!(src)), ("dest", json!(temp))];
        call!(
            super::files::put::download,
            "files.download",
            &pairs,
            host,
            out
        )
        .await?;
        src = temp;
    }
    let info = fact(
        host,
        &crate::facts::deb::DebPackage,
        &[("package", json!(src))],
    )
    .await?;
    let current = fact(host, &crate::facts::deb::DebPackages, &[]).await?;
    let name = info.get("name").map(python_str);
    let version = info.get("version").cloned();
    let exists = match (&name, &version) {
        (Some(n), Some(v)) => current
            .get(n)
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.contains(v)),
        _ => false,
    };
    let dpkg = |tail: Option<&str>| {
        let mut bits = vec![
            Bit::from("dpkg --force-confdef --force-confold -i"),
            q(&src),
        ];
        bits.extend(tail.map(Bit::from));
        StringCommand::new(bits)
    };
    if a.bool_or("present", true) {
        if exists {
            out.noop(format!("deb {original} is installed"));
        } else {
            // the first install may fail on missing dependencies, which `install -f` fetches;
            // the second one configures the package and reports any remaining error
            out.shell(dpkg(Some("2> /dev/null || true")));
            out.shell(format!("{} -f", noninteractive_apt("install", force)));
            out.shell(dpkg(None));
        }
    } else if let (true, Some(n)) = (exists, name) {
        out.shell(StringCommand::new([
            Bit::from(noninteractive_apt("remove", force)),
            q(n),
        ]));
    } else {
        out.noop(format!("deb {original} is not installed"));
    }
    Ok(())
}

/// A filesystem-friendly part of a keyring name (pyinfra's `_sanitize_keyring_part`).
fn sanitize_keyring_part(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let replaced = crate::facts::parse::regex(r"[^\w.\-]+").replace_all(&lower, "_");
    let squeezed = crate::facts::parse::regex(r"_+").replace_all(&replaced, "_");
    let trimmed = squeezed.trim_matches(['_', '.']);
    if trimmed.is_empty() {
        "apt-keyring".into()
    } else {
        trimmed.to_string()
    }
}

/// `/etc/apt/keyrings/<name>.gpg` from a key URL or file name, or from key ids.
fn keyring_dest(src: Option<&str>, keyids: &[String]) -> String {
    let strip = |s: &str| s.replace(".asc", "").replace(".gpg", "");
    let base = if let Some(src) = src {
        let url =
            crate::facts::parse::re_match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://([^/?#]+)([^?#]*)", src);
        match url {
            Some(m) => {
                let netloc = crate::facts::parse::group(&m, 1).replace(':', "_");
                let path = crate::facts::parse::group(&m, 2);
                let last = path
                    .rsplit('/')
                    .next()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("key");
                format!(
                    "{}-{}",
                    sanitize_keyring_part(&netloc),
                    sanitize_keyring_part(&strip(last))
                )
            }
            None => {
                let bn = sanitize_keyring_part(&strip(src.rsplit('/').next().unwrap_or("")));
                if bn.is_empty() {
                    "key".into()
                } else {
                    bn
                }
            }
        }
    } else if !keyids.is_empty() {
        format!("keyserver-{}", sanitize_keyring_part(&keyids.join("-")))
    } else {
        "apt-keyring".into()
    };
    format!("/etc/apt/keyrings/{base}.gpg")
}

define_op! {
    /// Add or remove an apt signing key in `/etc/apt/keyrings/` (no `apt-key`), from a file,
    /// a URL or a keyserver; `.asc` keys are dearmored.
    ///
    /// Deploy example: `apt.key(src="https://download.docker.com/linux/debian/gpg", dest="docker.gpg")`
    Key = "apt.key";
    params: [optional "src" = "the key's file on the host or URL",
             optional "keyserver" = "fetch the key from this keyserver",
             optional "keyid" = "the key's ID (or IDs) on the keyserver, or to remove",
             optional "dest" = "the keyring file to write (default: in `/etc/apt/keyrings`)",
             optional "present" = "whether it should exist (default True)"];
    generate: key;
}

async fn key(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let present = a.bool_or("present", true);
    let src = a.nonempty("src");
    let keyserver = a.nonempty("keyserver");
    let keyids = a.list("keyid")?;
    let keyid = a.get("keyid").cloned().unwrap_or(Value::Null);
    let dest = a.nonempty("dest");
    if !present && !keyids.is_empty() && dest.is_none() && src.is_none() && keyserver.is_none() {
        let pairs = [
            ("keyid", keyid),
            ("present", json!(false)),
            ("working_dirs", json!(APT_KEYRING_DIRS)),
        ];
        return call!(super::gpg::key, "gpg.key", &pairs, host, out).await;
    }
    let dest = match dest {
        Some(d) if d.starts_with('/') => d,
        Some(d) => format!("/etc/apt/keyrings/{d}"),
        None if src.is_some() => keyring_dest(src.as_deref(), &[]),
        None if keyserver.is_some() && !keyids.is_empty() => keyring_dest(None, &keyids),
        None => "/etc/apt/keyrings/apt-key.gpg".into(),
    };
    let pairs = [
        ("src", json!(src)),
        ("dest", json!(dest)),
        ("keyserver", json!(keyserver)),
        ("keyid", keyid),
        ("present", json!(present)),
        ("dearmor", json!(true)),
        ("mode", json!("0644")),
    ];
    call!(super::gpg::key, "gpg.key", &pairs, host, out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_names_from_sources() {
        assert_eq!(
            keyring_dest(Some("https://download.docker.com/linux/debian/gpg"), &[]),
            "/etc/apt/keyrings/download.docker.com-gpg.gpg"
        );
        assert_eq!(
            keyring_dest(Some("/tmp/Vendor Key.asc"), &[]),
            "/etc/apt/keyrings/vendor_key.gpg"
        );
        assert_eq!(
            keyring_dest(None, &["0xAB".into(), "0xCD".into()]),
            "/etc/apt/keyrings/keyserver-0xab-0xcd.gpg"
        );
    }
}

define_op! {
    /// Add, update or remove a deb822 `.sources` file in `/etc/apt/sources.list.d/`. Nothing
    /// is written when apt already has every type × URI × suite combination it describes.
    ///
    /// Deploy example: `apt.sources_file(filename="docker", uris="https://download.docker.com/linux/debian", suites="bookworm", components="stable", signed_by="/etc/apt/keyrings/docker.gpg")`
    SourcesFile = "apt.sources_file";
    params: [required "filename" = "the file's name without `.sources`",
             optional "types" = "`deb`, `deb-src` or both (list or space-separated; default `deb`)",
             optional "uris" = "the repository URL(s)",
             optional "suites" = "the suite(s), e.g. `bookworm`",
             optional "components" = "the component(s), e.g. `main contrib`",
             optional "architectures" = "restrict to these architectures",
             optional "signed_by" = "absolute path of the keyring that signs the repository",
             optional "present" = "whether the file should exist (default True)"];
    generate: sources_file;
}

async fn sources_file(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let name = a.str("filename")?;
    if name.is_empty() || name.contains('/') {
        return Err(a.invalid("filename", format!("not a file name: {name:?}")));
    }
    let dest = format!("/etc/apt/sources.list.d/{name}.sources");
    if !a.bool_or("present", true) {
        if truthy(&fact(host, &crate::facts::files::File, &[("path", json!(dest))]).await?) {
            let pairs = [("path", json!(dest)), ("present", json!(false))];
            call!(super::files::file, "files.file", &pairs, host, out).await?;
        } else {
            out.noop(format!("apt sources file \"{dest}\" does not exist"));
        }
        return Ok(());
    }
    let words = |arg: &str| -> Result<Vec<String>, OperationError> {
        let items = match a.get(arg) {
            None => Vec::new(),
            Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            Some(_) => a.list(arg)?,
        };
        match items
            .iter()
            .find(|i| i.is_empty() || i.contains(char::is_whitespace))
        {
            Some(bad) => Err(a.invalid(arg, format!("{bad:?} is not one word"))),
            None => Ok(items),
        }
    };
    let mut types = words("types")?;
    if types.is_empty() {
        types.push("deb".into());
    }
    let uris = words("uris")?;
    let suites = words("suites")?;
    let components = words("components")?;
    let architectures = words("architectures")?;
    if uris.is_empty() {
        return Err(a.invalid("uris", "apt.sources_file needs at least one URI"));
    }
    if suites.is_empty() {
        return Err(a.invalid("suites", "apt.sources_file needs at least one suite"));
    }
    let signed_by = a.nonempty("signed_by");
    if signed_by.as_ref().is_some_and(|s| s.contains(['\n', '\r'])) {
        return Err(a.invalid("signed_by", "must be one line"));
    }
    // the entries apt would read from the file, in the AptSources fact's shape
    let mut options = serde_json::Map::new();
    match architectures.as_slice() {
        [] => {}
        [one] => {
            options.insert("arch".into(), json!(one));
        }
        many => {
            options.insert("arch".into(), json!(many));
        }
    }
    if let Some(s) = &signed_by {
        options.insert("signed-by".into(), json!(s));
    }
    let existing = fact(host, &crate::facts::apt::AptSources, &[]).await?;
    let existing = existing.as_array().cloned().unwrap_or_default();
    let mut wanted = Vec::new();
    for t in &types {
        for u in &uris {
            wanted.extend(suites.iter().map(|s| (t, u, s)));
        }
    }
    let mut all_present = true;
    for (t, u, s) in wanted {
        let found = existing.iter().any(|e| {
            e.get("type") == Some(&json!(t))
                && e.get("url") == Some(&json!(u))
                && e.get("distribution") == Some(&json!(s))
                && e.get("components") == Some(&json!(components))
                && e.get("options") == Some(&Value::Object(options.clone()))
        });
        all_present &= found;
    }
    if all_present {
        out.noop(format!("apt sources file \"{dest}\" is already configured"));
        return Ok(());
    }
    let mut lines = vec![
        format!("Types: {}", types.join(" ")),
        format!("URIs: {}", uris.join(" ")),
        format!("Suites: {}", suites.join(" ")),
    ];
    if !components.is_empty() {
        lines.push(format!("Components: {}", components.join(" ")));
    }
    if !architectures.is_empty() {
        lines.push(format!("Architectures: {}", architectures.join(" ")));
    }
    if let Some(s) = &signed_by {
        lines.push(format!("Signed-By: {s}"));
    }
    let content = lines.join("\n") + "\n";
    let pairs = [
        ("src", json!({ "content": content })),
        ("dest", json!(dest)),
        ("mode", json!("0644")),
    ];
    call!(super::files::put::put, "files.put", &pairs, host, out).await
}
