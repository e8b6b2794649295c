//! Deploy files: compiled once, run once per host (on threads of their own; the GIL is
//! released while a host waits for a fact), each run producing that host's [`OpCall`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rinfra_core::OpCall;
use serde_json::{Map, Value};

use crate::convert::to_python;
use crate::error::PythonError;
use crate::scope::{with_scope, Evaluation, FactSource, Scope};
use crate::sources::shim;

/// A host as deploy code sees it through `inventory`.
#[derive(Clone, Debug)]
pub struct InventoryHost {
    /// Its name.
    pub name: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// Its merged data.
    pub data: Map<String, Value>,
}

/// Deploy code ready to run for each host: files, or a function given on the command line.
pub struct Deploy {
    files: Vec<(String, Py<PyAny>)>,
    /// `rinfra INVENTORY tasks.install key=value`: the function and its arguments.
    function: Option<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>,
}

impl Deploy {
    /// Compile `files` (a syntax error stops here, before any host is touched).
    pub fn load(files: &[PathBuf]) -> Result<Self, PythonError> {
        Python::attach(|py| {
            let compile = shim(py, "compile_file").map_err(|e| PythonError::from_py(py, &e))?;
            let mut out = Vec::new();
            for f in files {
                let path = std::path::absolute(f).unwrap_or_else(|_| f.clone());
                let path = path.display().to_string();
                let code = compile
                    .call1((&path,))
                    .map_err(|e| PythonError::from_py(py, &e))?;
                out.push((path, code.unbind()));
            }
            Ok(Self {
                files: out,
                function: None,
            })
        })
    }

    /// A deploy function named on the command line (`tasks.install`, `tasks:install`, or an
    /// operation module's function), found as pyinfra finds it: the local module first, then
    /// `pyinfra.operations.<module>`. `cwd` goes on `sys.path` first. `Ok(None)` when no module
    /// has it.
    pub fn function(
        path: &str,
        cwd: &Path,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Option<Self>, PythonError> {
        Python::attach(|py| {
            let run = || -> PyResult<Option<Self>> {
                crate::interpreter::add_to_sys_path(py, cwd)?;
                let f = shim(py, "import_attribute")?.call1((path, "pyinfra.operations"))?;
                if f.is_none() {
                    return Ok(None);
                }
                if !f.is_callable() {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "`{path}` is not a function"
                    )));
                }
                let a = pyo3::types::PyTuple::new(
                    py,
                    args.iter()
                        .map(|v| to_python(py, v))
                        .collect::<PyResult<Vec<_>>>()?,
                )?;
                let k = to_python(py, &Value::Object(kwargs.clone()))?;
                Ok(Some(Self {
                    files: Vec::new(),
                    function: Some((f.unbind(), a.into_any().unbind(), k.unbind())),
                }))
            };
            run().map_err(|e| PythonError::from_py(py, &e))
        })
    }

    /// Set up the run as deploy code sees it: `state`, `inventory` (the hosts, in the
    /// engine's order, and the groups), `state.cwd` (on `sys.path`, so local packages import)
    /// and the config.
    pub fn setup(
        hosts: &[InventoryHost],
        groups: &[(String, Vec<String>)],
        cwd: &Path,
        config: &Map<String, Value>,
    ) -> Result<(), PythonError> {
        Python::attach(|py| {
            let run = || -> PyResult<()> {
                let list = PyList::empty(py);
                for h in hosts {
                    list.append((
                        &h.name,
                        &h.groups,
                        to_python(py, &Value::Object(h.data.clone()))?,
                    ))?;
                }
                let g = PyDict::new(py);
                for (name, members) in groups {
                    g.set_item(name, members)?;
                }
                let config = to_python(py, &Value::Object(config.clone()))?;
                shim(py, "setup")?.call1((list, g, cwd.display().to_string(), config))?;
                Ok(())
            };
            run().map_err(|e| PythonError::from_py(py, &e))
        })
    }

    /// Run the deploy files for host `index` (of [`Deploy::setup`]'s hosts); blocks the
    /// calling thread. `config` is the config at the start of the deploy.
    pub fn evaluate(
        &self,
        index: usize,
        config: &Map<String, Value>,
        facts: Arc<dyn FactSource>,
    ) -> Result<Vec<OpCall>, PythonError> {
        let evaluation = Evaluation {
            host_index: index,
            file_index: 0,
            calls: Vec::new(),
            ahead: 0,
            seen: HashMap::new(),
            facts,
        };
        let (result, scope) = with_scope(Scope::Evaluating(evaluation), || {
            Python::attach(|py| {
                let run = || -> PyResult<()> {
                    let config = to_python(py, &Value::Object(config.clone()))?;
                    shim(py, "begin_host")?.call1((index, config))?;
                    let run_file = shim(py, "run_file")?;
                    let mut result = Ok(());
                    for (n, (path, code)) in self.files.iter().enumerate() {
                        crate::scope::with_current(|s| {
                            if let Scope::Evaluating(e) = s {
                                e.file_index = n as u64;
                            }
                            Ok(())
                        })?;
                        result = run_file.call1((path, code.bind(py), n)).map(|_| ());
                        if result.is_err() {
                            break;
                        }
                    }
                    if let Some((f, a, k)) = &self.function {
                        result = shim(py, "run_function")?
                            .call1((f.bind(py), a.bind(py), k.bind(py)))
                            .map(|_| ());
                    }
                    shim(py, "end_host")?.call0()?;
                    result
                };
                run().map_err(|e| PythonError::from_py(py, &e))
            })
        });
        result?;
        match scope {
            Scope::Evaluating(e) => Ok(e.calls),
            Scope::Bridged(_) => unreachable!("set as evaluating above"),
        }
    }
}
