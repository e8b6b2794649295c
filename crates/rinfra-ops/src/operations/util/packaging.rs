//! pyinfra's `ensure_packages`: compare wanted packages (optionally `name=version`) with a
//! package fact and yield one install, uninstall and upgrade command each.

use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use crate::operations::{fact, Out};
use crate::python::python_str;

/// How one package manager installs, removes and upgrades.
pub(crate) struct Manager<'a> {
    pub(crate) install: &'a str,
    pub(crate) uninstall: &'a str,
    pub(crate) upgrade: Option<&'a str>,
    pub(crate) version_join: Option<&'a str>,
    /// A fact expanding a name to the packages providing it (`rpm.RpmPackageProvides`).
    pub(crate) expand_fact: Option<&'a dyn rinfra_core::Fact>,
    pub(crate) expand_match_any: bool,
}

/// One wanted package (pyinfra's `PkgInfo`): its name, an optional version with the operator
/// joining it (`=`, `==`, `>`...) and an optional URL to install from.
pub(crate) struct PkgInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) operator: String,
    pub(crate) url: String,
}

impl PkgInfo {
    /// `name<join>version` split at the last `join` (apt's `vim=2:9.0`).
    pub(crate) fn from_possible_pair(s: &str, join: Option<&str>) -> Self {
        let (name, version) = match join.and_then(|j| s.rsplit_once(j)) {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (s.to_string(), String::new()),
        };
        Self {
            name,
            version,
            operator: join.unwrap_or("").to_string(),
            url: String::new(),
        }
    }

    /// A PEP 508 requirement (`Flask==2.0`, `pkg>1`, `name @ url`), name lower-cased. As in
    /// pyinfra, an invalid requirement or one with several specifiers is taken as a plain name.
    pub(crate) fn from_pep508(s: &str) -> Self {
        let plain = || Self {
            name: s.to_string(),
            version: String::new(),
            operator: String::new(),
            url: String::new(),
        };
        let Some(m) = crate::facts::parse::re_match(
            r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*?)\s*(?:;.*)?$",
            s,
        ) else {
            return plain();
        };
        let name = crate::facts::parse::group(&m, 1).to_lowercase();
        let rest = crate::facts::parse::group(&m, 2).trim();
        if let Some(url) = rest.strip_prefix('@') {
            return Self {
                name,
                version: String::new(),
                operator: String::new(),
                url: url.trim().to_string(),
            };
        }
        let rest = rest
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(rest);
        if rest.is_empty() {
            return Self {
                name,
                version: String::new(),
                operator: String::new(),
                url: String::new(),
            };
        }
        if rest.contains(',') {
            return plain();
        }
        match crate::facts::parse::re_match(
            r"^(===|==|!=|~=|<=|>=|<|>)\s*([A-Za-z0-9._*+!-]+)$",
            rest,
        ) {
            Some(v) => Self {
                name,
                version: crate::facts::parse::group(&v, 2).to_string(),
                operator: crate::facts::parse::group(&v, 1).to_string(),
                url: String::new(),
            },
            None => plain(),
        }
    }

    /// How the package is named to the installer, shell-quoted.
    pub(crate) fn inst_vers(&self) -> String {
        if !self.url.is_empty() {
            rinfra_connectors::quote(&self.url)
        } else if !self.version.is_empty() {
            rinfra_connectors::quote(&format!("{}{}{}", self.name, self.operator, self.version))
        } else {
            rinfra_connectors::quote(&self.name)
        }
    }
}

fn has_package(name: &str, versions: &[String], current: &Value) -> bool {
    match current.get(name) {
        None => false,
        Some(have) => {
            versions.is_empty()
                || have.as_array().is_some_and(|h| {
                    versions
                        .iter()
                        .any(|v| h.iter().any(|x| x.as_str() == Some(v)))
                })
        }
    }
}

pub(crate) async fn ensure_packages(
    host: &dyn OpHost,
    out: &mut Out,
    wanted: &[String],
    current: &Value,
    present: bool,
    latest: bool,
    m: &Manager<'_>,
) -> Result<(), OperationError> {
    let pkgs: Vec<PkgInfo> = wanted
        .iter()
        .map(|s| PkgInfo::from_possible_pair(s, m.version_join))
        .collect();
    ensure_pkg_infos(host, out, &pkgs, current, present, latest, m).await
}

/// [`ensure_packages`] for packages already parsed (pip's PEP 508 requirements).
pub(crate) async fn ensure_pkg_infos(
    host: &dyn OpHost,
    out: &mut Out,
    pkgs: &[PkgInfo],
    current: &Value,
    present: bool,
    latest: bool,
    m: &Manager<'_>,
) -> Result<(), OperationError> {
    let mut diff: Vec<String> = Vec::new();
    let mut upgrade: Vec<String> = Vec::new();
    for p in pkgs {
        // the names to look for: the package itself or what provides it
        let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(expand) = m.expand_fact {
            let provided = fact(host, expand, &[("package", json!(p.name))]).await?;
            for item in provided.as_array().into_iter().flatten() {
                match item {
                    Value::Array(pair) if pair.len() == 2 => {
                        candidates.push((python_str(&pair[0]), vec![python_str(&pair[1])]))
                    }
                    other => candidates.push((python_str(other), vec![])),
                }
            }
        }
        if candidates.is_empty() {
            let versions = if p.version.is_empty() {
                vec![]
            } else {
                vec![p.version.clone()]
            };
            candidates.push((p.name.clone(), versions));
        }
        let mut merged: Vec<(String, Vec<String>)> = Vec::new();
        for (n, v) in candidates {
            match merged.iter_mut().find(|(x, _)| *x == n) {
                Some((_, vs)) => vs.extend(v),
                None => merged.push((n, v)),
            }
        }
        let checks = merged.iter().map(|(n, v)| has_package(n, v, current));
        let match_any = !present || m.expand_match_any;
        let has = if match_any {
            checks.clone().any(|c| c)
        } else {
            checks.clone().all(|c| c)
        };
        if present {
            if !has {
                diff.push(p.inst_vers());
                continue;
            }
            if p.version.is_empty() && latest {
                upgrade.push(p.inst_vers());
            }
            if !latest {
                let versions: Vec<String> = current
                    .get(&p.name)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(python_str).collect())
                    .unwrap_or_default();
                let mut versions = versions;
                versions.sort();
                if versions.is_empty() || versions.iter().all(String::is_empty) {
                    out.noop(format!("package {} is installed", p.name));
                } else {
                    out.noop(format!(
                        "package {} is installed ({})",
                        p.name,
                        versions.join(",")
                    ));
                }
            }
        } else if has {
            diff.push(p.inst_vers());
        } else {
            out.noop(format!("package {} is not installed", p.name));
        }
    }
    if !diff.is_empty() {
        let cmd = if present { m.install } else { m.uninstall };
        out.shell(format!("{cmd} {}", diff.join(" ")));
    }
    if let (true, Some(up), false) = (latest, m.upgrade, upgrade.is_empty()) {
        out.shell(format!("{up} {}", upgrade.join(" ")));
    }
    Ok(())
}

/// The path part of a URL (`https://host/a/b.repo?x` → `/a/b.repo`), as `urlparse(...).path`.
pub(crate) fn url_path(url: &str) -> &str {
    let rest = url.split_once(':').map_or(url, |(_, r)| r);
    let rest = match rest.strip_prefix("//") {
        Some(r) => r.find('/').map_or("", |i| &r[i..]),
        None => rest,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// pyinfra's `ensure_rpm`: install an `.rpm` (a path on the host, or a URL downloaded to a
/// temporary file first) unless that version is installed; `present=False` removes it with
/// `<manager> remove -y`.
pub(crate) async fn ensure_rpm(
    a: &crate::operations::Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
    manager: &str,
) -> Result<(), OperationError> {
    use rinfra_connectors::{Bit, StringCommand};
    let original = a.str("src")?;
    let present = a.bool_or("present", true);
    let mut src = original.clone();
    if crate::operations::apt::has_scheme(&src) {
        let temp = format!(
            "{}.rpm",
            crate::pinned::temp_filename(&host.temp_dir(), &src)
        );
        crate::operations::call!(
            crate::operations::files::put::download,
            "files.download",
            &[("src", json!(src)), ("dest", json!(temp))],
            host,
            out
        )
        .await?;
        src = temp;
    }
    let info = fact(
        host,
        &crate::facts::rpm::RpmPackage,
        &[("package", json!(src))],
    )
    .await?;
    let name = info.get("name").map(python_str);
    let mut exists = false;
    if let Some(n) = &name {
        let current = fact(
            host,
            &crate::facts::rpm::RpmPackage,
            &[("package", json!(n))],
        )
        .await?;
        exists = crate::python::truthy(&current)
            && current.get("version").is_some()
            && current.get("version") == info.get("version");
    }
    let q = crate::operations::q;
    if present && !exists {
        if name.is_some() {
            out.shell(StringCommand::new([Bit::from("rpm -i"), q(&src)]));
        } else {
            // downloaded during this deploy: whether it is installed is only known then
            out.shell(StringCommand::new([
                StringCommand::with_separator(
                    [Bit::from("rpm -q `rpm -qp "), q(&src), Bit::from("`")],
                    "",
                )
                .into(),
                Bit::from("2> /dev/null || rpm -i"),
                q(&src),
            ]));
        }
    } else if let (true, false, Some(n)) = (exists, present, &name) {
        out.shell(StringCommand::new([
            Bit::from(format!("{manager} remove -y")),
            q(n),
        ]));
    } else {
        let state = if present {
            "installed"
        } else {
            "not installed"
        };
        out.noop(format!("rpm {original} is {state}"));
    }
    Ok(())
}

/// pyinfra's `ensure_yum_repo`: a `.repo` file in `/etc/yum.repos.d/`, downloaded when `src`
/// is a URL, else written from `baseurl`, `description`, `enabled`, `gpgcheck` and `gpgkey`.
pub(crate) async fn ensure_yum_repo(
    a: &crate::operations::Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
    directory: &str,
    repo_type: Option<&str>,
) -> Result<(), OperationError> {
    let src = a.str("src")?;
    let (name, url) = if crate::operations::apt::has_scheme(&src) {
        let file = url_path(&src).rsplit('/').next().unwrap_or_default();
        let name = file.strip_suffix(".repo").unwrap_or(file);
        (name.to_string(), Some(src.clone()))
    } else {
        (src.clone(), None)
    };
    if name.is_empty() || name.contains('/') {
        return Err(a.invalid("src", format!("no repository name in {src:?}")));
    }
    let filename = format!("{directory}{name}.repo");
    if !a.bool_or("present", true) {
        return crate::operations::call!(
            crate::operations::files::file,
            "files.file",
            &[("path", json!(filename)), ("present", json!(false))],
            host,
            out
        )
        .await;
    }
    if let Some(url) = url {
        if crate::python::truthy(
            &fact(
                host,
                &crate::facts::files::File,
                &[("path", json!(filename))],
            )
            .await?,
        ) {
            out.noop(format!("repository file {filename} exists"));
            return Ok(());
        }
        return crate::operations::call!(
            crate::operations::files::put::download,
            "files.download",
            &[("src", json!(url)), ("dest", json!(filename))],
            host,
            out
        )
        .await;
    }
    let Some(baseurl) = a.nonempty("baseurl") else {
        return Err(a.invalid(
            "baseurl",
            "needed when `src` is a repository name rather than a URL",
        ));
    };
    let description = a.nonempty("description").unwrap_or_else(|| name.clone());
    for (arg, v) in [
        ("src", &name),
        ("baseurl", &baseurl),
        ("description", &description),
    ] {
        if v.contains(['\n', '\r']) {
            return Err(a.invalid(arg, "must be one line"));
        }
    }
    let flag = |arg: &str| if a.bool_or(arg, true) { 1 } else { 0 };
    let mut lines = vec![
        format!("[{name}]"),
        format!("name={description}"),
        format!("baseurl={baseurl}"),
        format!("enabled={}", flag("enabled")),
        format!("gpgcheck={}", flag("gpgcheck")),
    ];
    if let Some(t) = repo_type {
        lines.push(format!("type={t}"));
    }
    if let Some(key) = a.nonempty("gpgkey") {
        if let Some(bad) = key
            .split_whitespace()
            .find(|k| !crate::operations::apt::has_scheme(k) && !k.starts_with('/'))
        {
            return Err(a.invalid(
                "gpgkey",
                format!("gpgkey must be a valid URL or an absolute path, got: {bad}"),
            ));
        }
        if key.contains(['\n', '\r']) {
            return Err(a.invalid("gpgkey", "must be one line"));
        }
        lines.push(format!("gpgkey={key}"));
    }
    lines.push(String::new());
    crate::operations::call!(
        crate::operations::files::put::put,
        "files.put",
        &[
            ("src", json!({ "content": lines.join("\n") })),
            ("dest", json!(filename)),
            ("mode", json!("0644")),
        ],
        host,
        out
    )
    .await
}

#[cfg(test)]
mod url_tests {
    #[test]
    fn url_paths() {
        assert_eq!(super::url_path("https://h/a/b.repo?x=1"), "/a/b.repo");
        assert_eq!(super::url_path("http://h"), "");
        assert_eq!(super::url_path("file:///etc/x.repo"), "/etc/x.repo");
    }
}
