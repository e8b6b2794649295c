//! Building the run's hosts: expand inventory names through the connector registry, merge
//! data, apply `--limit`/`--exclude`, and create each host's connector.

use std::sync::Arc;

use rinfra_connectors::{ConnectorRegistry, HostContext, InventoryError, Reporter};
use rinfra_core::Host;
use serde_json::{Map, Value};

use crate::error::CliError;

/// A host before it has a connector.
#[derive(Clone, Debug)]
pub(crate) struct InventoryHost {
    pub(crate) name: String,
    pub(crate) connector: String,
    pub(crate) data: Map<String, Value>,
    pub(crate) groups: Vec<String>,
}

fn inventory_error(name: &str, e: InventoryError) -> CliError {
    let hint = match &e {
        InventoryError::UnknownConnector { known, .. } => Some(format!(
            "known connectors: {}; or put an executable `rinfra-connector-NAME` on PATH",
            known
                .iter()
                .map(|k| format!("@{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        InventoryError::NotAvailable(_) => {
            Some("use `@local`, `@fake/NAME` or another `@connector/arg` host".to_string())
        }
        _ => None,
    };
    let err = CliError::usage(format!("invalid inventory `{name}`: {e}"));
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Expand one inventory entry (with its inventory data and groups) into hosts.
pub(crate) fn expand(
    registry: &ConnectorRegistry,
    name: &str,
    data: &Map<String, Value>,
    groups: &[String],
) -> Result<Vec<InventoryHost>, CliError> {
    let (connector, names) = registry
        .make_names_data(name)
        .map_err(|e| inventory_error(name, e))?;
    Ok(names
        .into_iter()
        .map(|nd| {
            // Inventory data is applied over what the connector generated (pyinfra).
            let mut merged = nd.data;
            merged.extend(data.clone());
            let mut all_groups = groups.to_vec();
            for g in nd.groups {
                if !all_groups.contains(&g) {
                    all_groups.push(g);
                }
            }
            InventoryHost {
                name: nd.name,
                connector: connector.clone(),
                data: merged,
                groups: all_groups,
            }
        })
        .collect())
}

/// A comma-separated host list (`@local`, `a.net,b.net`, `@fake/a,@fake/b`).
pub(crate) fn from_host_list(
    registry: &ConnectorRegistry,
    list: &str,
) -> Result<Vec<InventoryHost>, CliError> {
    let mut hosts = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(CliError::usage(format!(
                "invalid inventory `{list}`: empty host name in the list"
            )));
        }
        hosts.extend(expand(registry, name, &Map::new(), &[])?);
    }
    Ok(hosts)
}

/// Shell-style glob match (`*`, `?`, `[...]`), as Python's `fnmatch`.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|e| e + 1) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(c) = n.first() else { return false };
                let (negate, set) = match p[1] {
                    '!' => (true, &p[2..end]),
                    _ => (false, &p[1..end]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != negate && go(&p[end + 1..], &n[1..])
            }
            Some(ch) => n.first() == Some(ch) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn selects(pattern: &str, host: &InventoryHost) -> bool {
    host.groups.iter().any(|g| g == pattern) || glob_match(pattern, &host.name)
}

/// Keep hosts matching any `--limit` (all when none), then drop those matching any `--exclude`.
pub(crate) fn apply_limits(
    hosts: Vec<InventoryHost>,
    limit: &[String],
    exclude: &[String],
) -> Vec<InventoryHost> {
    hosts
        .into_iter()
        .filter(|h| limit.is_empty() || limit.iter().any(|p| selects(p, h)))
        .filter(|h| !exclude.iter().any(|p| selects(p, h)))
        .collect()
}

/// Create each host's connector.
pub(crate) fn make_hosts(
    registry: &ConnectorRegistry,
    hosts: Vec<InventoryHost>,
    reporter: Arc<dyn Reporter>,
) -> Result<Vec<Arc<Host>>, CliError> {
    hosts
        .into_iter()
        .map(|h| {
            let ctx = HostContext::new(h.name.clone(), h.data.clone(), Arc::clone(&reporter));
            let connector = registry
                .new_connector(&h.connector, ctx)
                .map_err(|e| CliError::usage(format!("host {}: {e}", h.name)))?;
            Ok(Arc::new(Host::new(h.name, h.groups, h.data, connector)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("web*", "web1"));
        assert!(glob_match("w?b[0-9]", "web1"));
        assert!(!glob_match("w?b[!0-9]", "web1"));
        assert!(glob_match("@fake/*", "@fake/a"));
        assert!(!glob_match("db*", "web1"));
    }

    #[test]
    fn host_lists_and_limits() {
        let r = ConnectorRegistry::with_builtins();
        let hosts = from_host_list(&r, "@fake/a,@fake/b,@local").unwrap();
        assert_eq!(hosts.len(), 3);
        let kept = apply_limits(hosts.clone(), &["@fake".into()], &["@fake/b".into()]);
        assert_eq!(
            kept.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["@fake/a"]
        );
        assert!(from_host_list(&r, "a,,b").is_err());
        let e = from_host_list(&r, "@nope/x").unwrap_err();
        assert!(
            e.message.contains("unknown connector `@nope`"),
            "{}",
            e.message
        );
    }
}
