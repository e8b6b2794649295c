//! Inventory, group_data and config files, run as Python: their top-level names are the data.

use std::path::Path;

use crate::{ConfigMap, Data, GroupSpec, InventorySpec};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::to_json;
use crate::error::PythonError;

fn data_of(d: &Bound<'_, PyDict>, what: &str) -> PyResult<Data> {
    let mut out = Data::new();
    for (k, v) in d.iter() {
        let k: String = k.extract()?;
        let j = to_json(&v, &format!("{what} `{k}`"))?;
        out.insert(k, j);
    }
    Ok(out)
}

/// One group_data file's data (pyinfra's rules: see the shim's `group_data_names`).
pub fn load_group_data_file(path: &Path) -> Result<Data, PythonError> {
    Python::attach(|py| {
        let run = || -> PyResult<Data> {
            let shim = py.import(crate::sources::SHIM)?;
            let path = path.display().to_string();
            let scope = shim.getattr("exec_data_file")?.call1((&path,))?;
            let names = shim.getattr("group_data_names")?.call1((scope, &path))?;
            data_of(names.cast::<PyDict>()?, "group data")
        };
        run().map_err(|e| PythonError::from_py(py, &e))
    })
}

/// A `config.py`: what it sets on `config` (`config.SUDO = True`, pyinfra 3's form) and its
/// uppercase top-level names (`SUDO = True`, pyinfra 2's form, which pyinfra 3 ignores: rinfra
/// applies it), the first winning. Names pyinfra does not know are kept (plugins read their
/// own), but a close typo of a known one is an error.
pub fn load_config_file(path: &Path) -> Result<ConfigMap, PythonError> {
    Python::attach(|py| {
        let run = || -> PyResult<ConfigMap> {
            let shim = py.import(crate::sources::SHIM)?;
            let (set, names): (Bound<'_, PyDict>, Bound<'_, PyDict>) = shim
                .getattr("exec_config_file")?
                .call1((path.display().to_string(),))?
                .extract()?;
            let mut out = ConfigMap::new();
            for (k, v) in names.iter().chain(set.iter()) {
                let k: String = k.extract()?;
                if k != k.to_uppercase() {
                    continue;
                }
                if !crate::CONFIG_NAMES.contains(&k.as_str()) {
                    if let Some(best) = crate::did_you_mean(&k, crate::CONFIG_NAMES.iter().copied())
                    {
                        return Err(crate::error::with_hint(
                            py,
                            pyo3::exceptions::PyNameError::new_err(format!(
                                "unknown config name `{k}`"
                            )),
                            Some(format!("did you mean `{best}`?")),
                        ));
                    }
                }
                out.insert(k.clone(), to_json(&v, &format!("config `{k}`"))?);
            }
            Ok(out)
        };
        run().map_err(|e| PythonError::from_py(py, &e))
    })
}

/// An `inventory.py`: every public top-level list (or `(list, dict)` tuple) is a group of
/// host names or `(name, data)` tuples; `all`, when given, is the whole inventory; the file's
/// name is a group of all its hosts (pyinfra's rules).
pub fn load_inventory_file(path: &Path) -> Result<InventorySpec, PythonError> {
    Python::attach(|py| {
        let run = || -> PyResult<InventorySpec> {
            let shim = py.import(crate::sources::SHIM)?;
            let scope = shim
                .getattr("exec_data_file")?
                .call1((path.display().to_string(),))?;
            let found = shim.getattr("inventory_groups")?.call1((scope,))?;
            let display = crate::error::display_path(&path.display().to_string());
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            spec_from_groups(&found, &display, Some(stem))
        };
        run().map_err(|e| PythonError::from_py(py, &e))
    })
}

/// A `module:function` or `module.attr` inventory (pyinfra's import form): the function
/// returns `{group: hosts or (hosts, data)}`, or the attribute is a list of hosts. `cwd` goes
/// on `sys.path` first. `Ok(None)` when no module has it.
pub fn load_inventory_function(
    path: &str,
    cwd: &Path,
) -> Result<Option<InventorySpec>, PythonError> {
    Python::attach(|py| {
        let run = || -> PyResult<Option<InventorySpec>> {
            crate::interpreter::add_to_sys_path(py, cwd)?;
            let shim = py.import(crate::sources::SHIM)?;
            let value = shim.getattr("import_attribute")?.call1((path,))?;
            if value.is_none() {
                return Ok(None);
            }
            let found = shim.getattr("inventory_from_function")?.call1((value,))?;
            spec_from_groups(&found, path, None).map(Some)
        };
        run().map_err(|e| PythonError::from_py(py, &e))
    })
}

/// An inventory from `(groups, ignored)` as the shim's `inventory_groups` returns them.
fn spec_from_groups(
    found: &Bound<'_, PyAny>,
    display: &str,
    file_group: Option<&str>,
) -> PyResult<InventorySpec> {
    let (groups, ignored): (Bound<'_, PyList>, Vec<String>) = found.extract()?;
    let mut spec = InventorySpec::default();
    for name in ignored {
        spec.warnings.push(format!(
            "ignoring host group `{name}` ({display}): groups may only contain names or \
             (name, data) tuples"
        ));
    }
    let mut all = None;
    for g in groups.iter() {
        let (name, hosts, data): (String, Bound<'_, PyList>, Bound<'_, PyDict>) = g.extract()?;
        let mut group = GroupSpec {
            hosts: Vec::new(),
            data: data_of(&data, &format!("data of group `{name}`"))?,
        };
        for h in hosts.iter() {
            let (host, hdata): (String, Bound<'_, PyDict>) = h.extract()?;
            let hdata = data_of(&hdata, &format!("data of host `{host}`"))?;
            group.hosts.push((host, hdata));
        }
        if name == "all" {
            all = Some(group);
        } else {
            spec.groups.insert(name, group);
        }
    }
    spec.all = all.unwrap_or_else(|| {
        let mut a = GroupSpec::default();
        let mut seen = std::collections::HashSet::new();
        for g in spec.groups.values() {
            for (h, _) in &g.hosts {
                if seen.insert(h.clone()) {
                    a.hosts.push((h.clone(), Data::new()));
                }
            }
        }
        a
    });
    if let Some(stem) = file_group.filter(|s| !s.is_empty() && *s != "all") {
        if !spec.groups.contains_key(stem) {
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
