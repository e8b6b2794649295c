//! The per-host evaluation state native functions reach through `Evaluator::extra`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rinfra_core::{Condition, FactRegistry, OpCall, OperationRegistry};
use serde_json::{Map, Value as Json};
use starlark::eval::Evaluator;
use starlark::values::ProvidesStaticType;

use crate::error::native_error;
use crate::facts::FactProvider;

/// One file being evaluated (the deploy file, or a file it `local.include`s).
#[derive(Clone, Debug)]
pub(crate) struct FileFrame {
    /// The file on disk.
    pub(crate) path: PathBuf,
    /// Its name in locations and errors (as Starlark's codemap knows it).
    pub(crate) display: String,
}

/// An enclosing `@deploy` call or `local.include` (pyinfra's `host.deploy(...)` context).
#[derive(Clone, Debug, Default)]
pub(crate) struct DeployFrame {
    /// The deploy's name (an included file's path); `None` for `host.when`/`host.arguments`.
    pub(crate) name: Option<String>,
    /// Global arguments given when calling the deploy function.
    pub(crate) args: Map<String, Json>,
    /// `_if` conditions given when calling the deploy function.
    pub(crate) conditions: Vec<Condition>,
    /// `_retry_until` given when calling the deploy function.
    pub(crate) retry_until: Option<Arc<crate::python_call::DeployCallable>>,
}

/// Host data as deploy code sees it: runtime overrides (`host.data.x = 1`) over the host's
/// merged inventory data over the innermost deploy's data defaults.
#[derive(Debug, Default)]
pub(crate) struct HostDataLayers {
    pub(crate) overrides: Mutex<Map<String, Json>>,
    pub(crate) base: Map<String, Json>,
    /// One entry per enclosing `@deploy`/include; the innermost `Some` one is used.
    pub(crate) deploy_data: Mutex<Vec<Option<Map<String, Json>>>>,
}

impl HostDataLayers {
    pub(crate) fn get(&self, key: &str) -> Option<Json> {
        if let Some(v) = lock(&self.overrides).get(key) {
            return Some(v.clone());
        }
        if let Some(v) = self.base.get(key) {
            return Some(v.clone());
        }
        let dd = lock(&self.deploy_data);
        dd.iter()
            .rev()
            .flatten()
            .next()
            .and_then(|d| d.get(key).cloned())
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.overrides).keys().cloned().collect();
        keys.extend(self.base.keys().cloned());
        if let Some(d) = lock(&self.deploy_data).iter().rev().flatten().next() {
            keys.extend(d.keys().cloned());
        }
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }

    /// Everything merged, highest precedence winning (`host.data.dict()`).
    pub(crate) fn merged(&self) -> Map<String, Json> {
        let mut out = Map::new();
        for k in self.keys() {
            if let Some(v) = self.get(&k) {
                out.insert(k, v);
            }
        }
        out
    }
}

/// A mutex that is never poisoned in practice (evaluation is single-threaded); recover anyway.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the native functions of one host's evaluation share.
#[derive(ProvidesStaticType)]
pub(crate) struct EvalState<'e> {
    pub(crate) ops: &'e OperationRegistry,
    pub(crate) facts: &'e FactRegistry,
    pub(crate) fact_provider: &'e dyn FactProvider,
    pub(crate) host_name: String,
    pub(crate) host_groups: Vec<String>,
    pub(crate) data: Arc<HostDataLayers>,
    pub(crate) inventory: Arc<crate::inventory::InventoryView>,
    pub(crate) globals: &'e starlark::environment::Globals,
    /// The directory relative paths are resolved against (pyinfra's `state.cwd`).
    pub(crate) cwd: PathBuf,
    pub(crate) calls: RefCell<Vec<OpCall>>,
    /// How many calls had each base order so far (pyinfra's duplicate op hashes in loops).
    pub(crate) seen_orders: RefCell<HashMap<Vec<u64>, u64>>,
    /// Positions of the enclosing `host.loop(...)` loops (pyinfra's `host.loop_position`).
    pub(crate) loop_position: Arc<Mutex<Vec<u64>>>,
    pub(crate) deploys: Arc<Mutex<Vec<DeployFrame>>>,
    pub(crate) files: RefCell<Vec<FileFrame>>,
    /// Order prefix of the file being evaluated: `[file_index]`, then for an included file the
    /// lines of the frames that led to the `local.include` call.
    pub(crate) order_prefix: RefCell<Vec<u64>>,
    pub(crate) config: Arc<Mutex<Map<String, Json>>>,
    /// Commands yielded by the `@operation()` functions being called, innermost last.
    pub(crate) yields: RefCell<Vec<Vec<Json>>>,
    pub(crate) messages: RefCell<Vec<String>>,
    /// Include depth guard.
    pub(crate) include_depth: RefCell<usize>,
    /// An error inside an included file, reported as is instead of at the include call.
    pub(crate) inner_error: RefCell<Option<crate::error::LangError>>,
    /// `python.call` bookkeeping (prepare, or replay at execute time).
    pub(crate) python: crate::python_call::PythonCalls,
}

/// The state of the evaluation `eval` belongs to.
pub(crate) fn state<'a, 'e>(
    eval: &'a Evaluator<'_, '_, 'e>,
) -> starlark::Result<&'a EvalState<'e>> {
    eval.extra
        .and_then(|e| e.downcast_ref::<EvalState<'e>>())
        .ok_or_else(|| native_error("this function is only available in deploy files"))
}

impl EvalState<'_> {
    pub(crate) fn current_file(&self) -> FileFrame {
        self.files
            .borrow()
            .last()
            .cloned()
            .unwrap_or_else(|| FileFrame {
                path: self.cwd.join("<deploy>"),
                display: "<deploy>".into(),
            })
    }

    /// Resolve a local path as pyinfra's `get_file_path`: absolute stays; `./x` is relative to
    /// the current file; anything else relative to `cwd`, falling back to the current file's
    /// directory when it does not exist there.
    pub(crate) fn local_path(&self, path: &str) -> PathBuf {
        let p = std::path::Path::new(path);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let file = self.current_file();
        let file_dir = file
            .path
            .parent()
            .map(|d| d.to_path_buf())
            .unwrap_or_else(|| self.cwd.clone());
        if path.starts_with("./") {
            return file_dir.join(path);
        }
        let from_cwd = self.cwd.join(path);
        if from_cwd.exists() {
            return from_cwd;
        }
        let from_file = file_dir.join(path);
        if from_file.exists() {
            from_file
        } else {
            from_cwd
        }
    }
}
