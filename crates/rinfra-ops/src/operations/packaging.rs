//! pyinfra's `ensure_packages`: compare wanted packages (optionally `name=version`) with a
//! package fact and yield one install, uninstall and upgrade command each.

use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use super::{fact, Out};
use crate::python::python_str;

/// How one package manager installs, removes and upgrades.
pub(crate) struct Manager<'a> {
    pub(crate) install: &'a str,
    pub(crate) uninstall: &'a str,
    pub(crate) upgrade: Option<&'a str>,
    pub(crate) version_join: Option<&'a str>,
    /// A fact expanding a name to the packages providing it (`rpm.RpmPackageProvides`).
    pub(crate) expand_fact: Option<&'a str>,
    pub(crate) expand_match_any: bool,
}

struct Pkg {
    name: String,
    version: String,
    inst: String,
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
    let pkgs: Vec<Pkg> = wanted
        .iter()
        .map(|s| {
            let (name, version) = match m.version_join {
                Some(j) => match s.rsplit_once(j) {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => (s.clone(), String::new()),
                },
                None => (s.clone(), String::new()),
            };
            let inst = if version.is_empty() {
                rinfra_connectors::quote(&name)
            } else {
                rinfra_connectors::quote(&format!(
                    "{name}{}{version}",
                    m.version_join.unwrap_or("")
                ))
            };
            Pkg {
                name,
                version,
                inst,
            }
        })
        .collect();
    let mut diff: Vec<String> = Vec::new();
    let mut upgrade: Vec<String> = Vec::new();
    for p in &pkgs {
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
                diff.push(p.inst.clone());
                continue;
            }
            if p.version.is_empty() && latest {
                upgrade.push(p.inst.clone());
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
            diff.push(p.inst.clone());
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
