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
    let err = CliError::usage(format!("invalid inventory `{name}`"));
    // A mistyped connector: the one spelt alike, else the error's own hint (the list).
    let best = match &e {
        InventoryError::UnknownConnector { name, known } => {
            rinfra_python::did_you_mean(name, known.iter().map(String::as_str))
                .map(|b| format!("did you mean `@{b}`?"))
        }
        _ => None,
    };
    match best {
        Some(hint) => err.with_hint(hint).caused_by(e),
        None => err.caused_by_hinted(e),
    }
}

fn selects(pattern: &str, host: &InventoryHost) -> bool {
    host.groups.iter().any(|g| g == pattern) || rinfra_core::fnmatch(&host.name, pattern)
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
            let connector = registry.new_connector(&h.connector, ctx).map_err(|e| {
                CliError::usage(format!("cannot set up the host `{}`", h.name)).caused_by(e)
            })?;
            Ok(Arc::new(Host::new(h.name, h.groups, h.data, connector)))
        })
        .collect()
}

/// The whole inventory: an `inventory.py` file (with `group_data/`) or a host list, expanded
/// through the connectors, with pyinfra's data precedence: `--data` > host data > connector
/// data > group data (later groups win) > `all`.
pub(crate) struct LoadedInventory {
    pub(crate) hosts: Vec<InventoryHost>,
    pub(crate) view: rinfra_python::InventoryView,
}

/// Load `arg` (a file or a host list) with the extra `--group-data` dirs and `--data` overrides.
pub(crate) fn load(
    registry: &mut ConnectorRegistry,
    arg: &str,
    cwd: &std::path::Path,
    extra_group_data: &[std::path::PathBuf],
    overrides: &Map<String, Value>,
) -> Result<LoadedInventory, CliError> {
    let path = std::path::Path::new(arg);
    let (mut spec, file) = if path.is_file() {
        let spec = rinfra_python::load_inventory_file(path).map_err(
            crate::python::python_cause(format!("cannot load the inventory file `{arg}`")),
        )?;
        (spec, Some(path))
    } else if let Some(spec) = crate::python::may_be_inventory_function(arg)
        .then(|| rinfra_python::load_inventory_function(arg, cwd))
        .transpose()
        .map_err(crate::python::python_cause(format!(
            "cannot load the inventory `{arg}`"
        )))?
        .flatten()
    {
        (spec, None)
    } else if arg.ends_with(".py") {
        return Err(
            CliError::usage(format!("inventory file `{arg}` not found")).with_hint(
                "give an inventory file, `@local`, `@connector/arg` or a comma list of hosts",
            ),
        );
    } else {
        if arg.split(',').any(|n| n.trim().is_empty()) {
            return Err(CliError::usage(format!(
                "invalid inventory `{arg}`: empty host name in the list"
            )));
        }
        (rinfra_python::InventorySpec::from_names(arg), None)
    };
    for w in &spec.warnings {
        crate::output::line(&format!("    warning: {w}"));
    }
    let dirs = rinfra_python::group_data_dirs(cwd, file, extra_group_data);
    let group_data = crate::python::load_group_data(&dirs)?;
    spec.apply_group_data(group_data);
    let view = spec.view();

    // Hosts of an inventory file or function may name Python connectors (a host list's were
    // looked for before Python started).
    let from_python = file.is_some() || crate::python::may_be_inventory_function(arg);
    if from_python
        && spec
            .host_entries()
            .iter()
            .any(|e| crate::python::names_unknown_connector(registry, &e.name))
    {
        crate::python::add_connectors(registry)?;
    }
    let mut hosts = Vec::new();
    for entry in spec.host_entries() {
        let (connector, names) = registry
            .make_names_data(&entry.name)
            .map_err(|e| inventory_error(&entry.name, e))?;
        for nd in names {
            let mut groups = entry.groups.clone();
            for g in &nd.groups {
                if !groups.contains(g) {
                    groups.push(g.clone());
                }
            }
            let group_layers: Vec<&Map<String, Value>> = groups
                .iter()
                .filter_map(|g| spec.groups.get(g).map(|s| &s.data))
                .collect();
            let data = rinfra_python::merge_host_data(&rinfra_python::DataLayers {
                override_data: Some(overrides),
                host_data: Some(&entry.data),
                connector_data: Some(&nd.data),
                group_data: group_layers,
                all_data: Some(&spec.all.data),
            });
            hosts.push(InventoryHost {
                name: nd.name,
                connector: connector.clone(),
                data,
                groups,
            });
        }
    }
    Ok(LoadedInventory { hosts, view })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_and_limits() {
        let list = |s: &str| {
            load(
                &mut ConnectorRegistry::with_builtins(),
                s,
                std::path::Path::new("/nonexistent"),
                &[],
                &Map::new(),
            )
            .map(|l| l.hosts)
        };
        let hosts = list("@fake/a,@fake/b,@local").unwrap();
        assert_eq!(hosts.len(), 3);
        let kept = apply_limits(hosts.clone(), &["@fake".into()], &["@fake/b".into()]);
        assert_eq!(
            kept.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["@fake/a"]
        );
        assert!(list("a,,b").is_err());
        let e = list("@nope/x").unwrap_err();
        assert_eq!(
            e.one_line(),
            "invalid inventory `@nope/x`: unknown connector `@nope`"
        );
        assert!(e.hints()[0].starts_with("known connectors: "), "{e:?}");
    }
}
