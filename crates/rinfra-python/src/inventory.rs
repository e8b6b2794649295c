//! Inventories before connectors expand them, and host data precedence (pyinfra's
//! `pyinfra_cli/inventory.py`): the groups of hosts an inventory file (or a function, or a
//! host list) gives, group_data, and how a host's data layers merge. Files are read by
//! [`crate::load_inventory_file`] and [`crate::load_group_data_file`].

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

/// Host or group data: names to JSON values.
pub type Data = Map<String, Json>;

/// One group of an inventory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupSpec {
    /// Its hosts, in order, each with the data given next to it in the inventory.
    pub hosts: Vec<(String, Data)>,
    /// The group's data (inventory tuple, then group_data files).
    pub data: Data,
}

/// An inventory before `@connector` names are expanded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InventorySpec {
    /// Every host (pyinfra's `all` group) and the global data (`all`'s data and
    /// `group_data/all.py`).
    pub all: GroupSpec,
    /// The other groups, in definition order (the file-name group after them, then groups that
    /// only exist in group_data).
    pub groups: IndexMap<String, GroupSpec>,
    /// Variables that looked like groups but were ignored, with why.
    pub warnings: Vec<String>,
}

/// One host of an [`InventorySpec`], before connector expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEntry {
    /// The name as written (`web1`, `@docker/debian:12`).
    pub name: String,
    /// Host data from every `(name, data)` tuple naming it, later ones winning.
    pub data: Data,
    /// The groups listing it, in group order (`all` excluded).
    pub groups: Vec<String>,
}

impl InventorySpec {
    /// An inventory from the command line: `web1,web2,@docker/debian:12`.
    pub fn from_names(names: &str) -> Self {
        let hosts = names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| (n.to_string(), Data::new()))
            .collect();
        Self {
            all: GroupSpec {
                hosts,
                data: Data::new(),
            },
            ..Default::default()
        }
    }

    /// Merge group data (each file's data under its group name): `all` goes to the global data, a known
    /// group's data is updated, an unknown group is created empty (connectors may put hosts in
    /// it).
    pub fn apply_group_data(&mut self, group_data: IndexMap<String, Data>) {
        for (group, data) in group_data {
            if group == "all" {
                self.all.data.extend(data);
            } else {
                self.groups.entry(group).or_default().data.extend(data);
            }
        }
    }

    /// The hosts in `all` order, each with its inventory data and groups.
    pub fn host_entries(&self) -> Vec<HostEntry> {
        let mut out: Vec<HostEntry> = Vec::new();
        let mut index: IndexMap<String, usize> = IndexMap::new();
        let mut entry = |out: &mut Vec<HostEntry>, name: &str| -> usize {
            *index.entry(name.to_string()).or_insert_with(|| {
                out.push(HostEntry {
                    name: name.to_string(),
                    data: Data::new(),
                    groups: Vec::new(),
                });
                out.len() - 1
            })
        };
        for (name, _) in &self.all.hosts {
            entry(&mut out, name);
        }
        for (group, spec) in &self.groups {
            for (name, data) in &spec.hosts {
                let i = entry(&mut out, name);
                out[i].data.extend(data.clone());
                out[i].groups.push(group.clone());
            }
        }
        for (name, data) in &self.all.hosts {
            let i = entry(&mut out, name);
            out[i].data.extend(data.clone());
        }
        out
    }

    /// Group names to host names, for [`InventoryView`] and group_data files.
    pub fn view(&self) -> InventoryView {
        InventoryView {
            hosts: self.all.hosts.iter().map(|(n, _)| n.clone()).collect(),
            groups: self
                .groups
                .iter()
                .map(|(g, s)| (g.clone(), s.hosts.iter().map(|(n, _)| n.clone()).collect()))
                .collect(),
        }
    }
}

/// The group_data directories pyinfra reads, in order: `<cwd>/group_data`, then
/// `<inventory dir>/group_data` (when different), then the `--group-data` ones.
pub fn group_data_dirs(
    cwd: &Path,
    inventory_file: Option<&Path>,
    extra: &[PathBuf],
) -> Vec<PathBuf> {
    let mut dirs = vec![cwd.join("group_data")];
    if let Some(inv) = inventory_file {
        if let Some(parent) = inv.parent() {
            let parent = if parent.as_os_str().is_empty() {
                cwd
            } else {
                parent
            };
            let d = parent.join("group_data");
            if !dirs.contains(&d) && parent != cwd {
                dirs.push(d);
            }
        }
    }
    dirs.extend(extra.iter().cloned());
    dirs
}

/// The data layers of one host, for [`merge_host_data`].
#[derive(Debug, Clone, Default)]
pub struct DataLayers<'a> {
    /// `--data` and the `--ssh-*` flags.
    pub override_data: Option<&'a Data>,
    /// From `(name, data)` tuples in the inventory ([`HostEntry::data`]).
    pub host_data: Option<&'a Data>,
    /// What the host's connector generated (`make_names_data`).
    pub connector_data: Option<&'a Data>,
    /// The data of the host's groups, in `host.groups` order (later wins).
    pub group_data: Vec<&'a Data>,
    /// The global data (`all` and `group_data/all.py`).
    pub all_data: Option<&'a Data>,
}

/// Merge a host's data as pyinfra's `HostData` resolves it, highest first: `--data`, host data
/// from the inventory, connector data (pyinfra stores it under the inventory host data, see
/// `Inventory.make_hosts_and_groups`), group data (later groups win), global data.
/// `@deploy(data_defaults=...)` come last and are applied during deploy evaluation.
pub fn merge_host_data(layers: &DataLayers<'_>) -> Data {
    let mut out = Data::new();
    let mut apply = |d: Option<&Data>| {
        if let Some(d) = d {
            for (k, v) in d {
                out.insert(k.clone(), v.clone());
            }
        }
    };
    apply(layers.all_data);
    for g in &layers.group_data {
        apply(Some(g));
    }
    apply(layers.connector_data);
    apply(layers.host_data);
    apply(layers.override_data);
    out
}

/// The inventory as deploy and group_data code sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InventoryView {
    /// Every host name.
    pub hosts: Vec<String>,
    /// Group name → host names.
    pub groups: IndexMap<String, Vec<String>>,
}
