//! Inventory files (`inventory.py`), group_data files and host data precedence.
//!
//! As pyinfra (`pyinfra_cli/inventory.py`): every public top-level list in an inventory file is
//! a group of hosts, or a `(hosts, data)` tuple; a host is a name, a `(name, data)` tuple or an
//! `@connector/arg` name (expanded later by the engine). `all`, when defined, lists every host
//! and carries the global data; otherwise it is built from the other groups. Every host also
//! joins a group named after the file (`production.py` → `production`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allocative::Allocative;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json};
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::tuple::TupleRef;
use starlark::values::{
    starlark_value, Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value,
};

use crate::convert::to_json;
use crate::error::{ErrorKind, LangError, Location};
use crate::simple_eval::{eval_data_file_with, eval_module_vars};

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

/// The items of a list or tuple.
fn items<'v>(v: Value<'v>) -> Option<Vec<Value<'v>>> {
    if let Some(l) = ListRef::from_value(v) {
        return Some(l.content().to_vec());
    }
    TupleRef::from_value(v).map(|t| t.content().to_vec())
}

fn host_item(v: Value<'_>) -> Option<(String, Data)> {
    if let Some(s) = v.unpack_str() {
        return Some((s.to_string(), Data::new()));
    }
    if v.get_type() == "tuple" {
        let items = items(v)?;
        if items.len() == 2 {
            let name = items[0].unpack_str()?;
            if let Ok(Json::Object(m)) = to_json(items[1]) {
                return Some((name.to_string(), m));
            }
        }
    }
    None
}

impl InventorySpec {
    /// Evaluate an inventory file. Its file-name group is added as pyinfra does.
    pub fn load(path: &Path) -> Result<Self, LangError> {
        let source = LangError::read_source(path)?;
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.rsplit_once('.').map_or(n, |(s, _)| s).to_string());
        Self::from_source(&path.display().to_string(), &source, stem.as_deref())
    }

    /// [`InventorySpec::load`] on source text; `file_group` is the file-name group, if any.
    pub fn from_source(
        file: &str,
        source: &str,
        file_group: Option<&str>,
    ) -> Result<Self, LangError> {
        let globals = crate::simple_eval::data_globals_builder().build();
        let mut spec = eval_module_vars(
            file,
            source,
            &globals,
            |_| {},
            |vars| {
                let mut spec = InventorySpec::default();
                let mut all: Option<GroupSpec> = None;
                for (name, v, line) in vars {
                    if name.starts_with('_') {
                        continue;
                    }
                    let (hosts_v, data) = match v.get_type() {
                        "list" => (v, Data::new()),
                        "tuple" => {
                            let items = items(v).unwrap_or_default();
                            if items.len() != 2 || items[0].get_type() != "list" {
                                continue;
                            }
                            let data = match to_json(items[1]) {
                                Ok(Json::Object(m)) => m,
                                _ => {
                                    return Err(LangError::new(
                                        ErrorKind::Invalid,
                                        format!("the data of group `{name}` must be a dict"),
                                    )
                                    .at(Location {
                                        file: file.to_string(),
                                        line,
                                        column: 1,
                                    }))
                                }
                            };
                            (items[0], data)
                        }
                        _ => continue,
                    };
                    let mut hosts = Vec::new();
                    let mut valid = true;
                    for item in items(hosts_v).unwrap_or_default() {
                        match host_item(item) {
                            Some(h) => hosts.push(h),
                            None => {
                                valid = false;
                                break;
                            }
                        }
                    }
                    if !valid {
                        spec.warnings.push(format!(
                        "ignoring host group `{name}` ({file}:{line}): groups may only contain names or (name, data) tuples"
                    ));
                        continue;
                    }
                    let group = GroupSpec { hosts, data };
                    if name == "all" {
                        all = Some(group);
                    } else {
                        spec.groups.insert(name, group);
                    }
                }
                spec.all = match all {
                    Some(a) => a,
                    None => {
                        let mut a = GroupSpec::default();
                        // A set, not a search of the list: 100,000 hosts took minutes.
                        let mut seen = std::collections::HashSet::new();
                        for g in spec.groups.values() {
                            for (h, _) in &g.hosts {
                                if seen.insert(h.as_str()) {
                                    a.hosts.push((h.clone(), Data::new()));
                                }
                            }
                        }
                        a
                    }
                };
                Ok(spec)
            },
        )?;
        if let Some(stem) = file_group {
            if !spec.groups.contains_key(stem) && stem != "all" {
                let hosts = spec
                    .all
                    .hosts
                    .iter()
                    .map(|(n, _)| (n.clone(), Data::new()))
                    .collect();
                spec.groups.insert(
                    stem.to_string(),
                    GroupSpec {
                        hosts,
                        data: Data::new(),
                    },
                );
            }
        }
        Ok(spec)
    }

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

    /// Merge group data (from [`load_group_data`]): `all` goes to the global data, a known
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

/// Evaluate every `*.py` in `dirs` (missing directories are skipped; files in name order):
/// each file's public top-level variables are the data of the group named after the file,
/// later directories overriding earlier ones. `inventory` is available in the files.
pub fn load_group_data(
    dirs: &[PathBuf],
    inventory: &InventoryView,
) -> Result<IndexMap<String, Data>, LangError> {
    let mut out: IndexMap<String, Data> = IndexMap::new();
    let view = Arc::new(inventory.clone());
    for dir in dirs {
        let files: Vec<PathBuf> = if dir.is_file() {
            vec![dir.clone()]
        } else {
            match std::fs::read_dir(dir) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    v.sort();
                    v
                }
                Err(_) => continue,
            }
        };
        for file in files {
            if file.extension().and_then(|e| e.to_str()) != Some("py") {
                continue;
            }
            let Some(group) = file
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let data = load_group_data_file(&file, view.clone())?;
            out.entry(group).or_default().extend(data);
        }
    }
    Ok(out)
}

/// One group_data file's data.
pub fn load_group_data_file(path: &Path, inventory: Arc<InventoryView>) -> Result<Data, LangError> {
    let source = LangError::read_source(path)?;
    group_data_from_source(&path.display().to_string(), &source, inventory)
}

/// [`load_group_data_file`] on source text.
pub fn group_data_from_source(
    file: &str,
    source: &str,
    inventory: Arc<InventoryView>,
) -> Result<Data, LangError> {
    let globals = crate::simple_eval::data_globals_builder().build();
    let vars = eval_data_file_with(file, source, &globals, |m| {
        m.set(
            "inventory",
            m.heap().alloc(InventoryValue { view: inventory }),
        );
    })?;
    Ok(vars
        .values
        .into_iter()
        .filter(|(n, _)| n != "inventory")
        .map(|(n, (v, _))| (n, v))
        .collect())
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

/// `inventory` in deploy and group_data code.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct InventoryValue {
    #[allocative(skip)]
    pub(crate) view: Arc<InventoryView>,
}
starlark_simple_value!(InventoryValue);

impl fmt::Display for InventoryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<inventory of {} hosts>", self.view.hosts.len())
    }
}

fn names<'v>(heap: Heap<'v>, names: &[String]) -> Value<'v> {
    heap.alloc(AllocList(
        names.iter().map(|n| heap.alloc_str(n).to_value()),
    ))
}

#[starlark_value(type = "Inventory")]
impl<'v> StarlarkValue<'v> for InventoryValue {
    fn get_methods() -> Option<&'static Methods> {
        static RES: MethodsStatic = MethodsStatic::new("inventory_methods", inventory_methods);
        Some(RES.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        match attribute {
            "hosts" => Some(names(heap, &self.view.hosts)),
            "groups" => Some(
                heap.alloc(AllocList(
                    self.view
                        .groups
                        .keys()
                        .map(|g| heap.alloc_str(g).to_value()),
                )),
            ),
            _ => None,
        }
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        matches!(attribute, "hosts" | "groups")
    }

    fn dir_attr(&self) -> Vec<String> {
        vec!["hosts".into(), "groups".into()]
    }

    fn length(&self) -> starlark::Result<i32> {
        Ok(self.view.hosts.len() as i32)
    }
}

#[starlark_module]
fn inventory_methods(builder: &mut MethodsBuilder) {
    /// `inventory.get_group("web")`: the names of the group's hosts.
    fn get_group<'v>(
        #[starlark(this)] this: &InventoryValue,
        #[starlark(require = pos)] name: &str,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        match this.view.groups.get(name) {
            Some(hosts) => Ok(names(heap, hosts)),
            None if !default.is_none() => Ok(default),
            None => Err(crate::error::native_error(format!(
                "no group `{name}` in the inventory"
            ))),
        }
    }

    /// `inventory.get_host("web1")`: the name if the host exists, else `default`.
    fn get_host<'v>(
        #[starlark(this)] this: &InventoryValue,
        #[starlark(require = pos)] name: &str,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(if this.view.hosts.iter().any(|h| h == name) {
            heap.alloc_str(name).to_value()
        } else {
            default
        })
    }
}
