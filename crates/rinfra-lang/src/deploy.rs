//! Deploy files: evaluated once per host, producing that host's ordered [`OpCall`]s.
//!
//! # The ordering key
//!
//! `OpCall.order` follows pyinfra's `get_operation_order_from_stack`: the deploy file's index
//! (its position on the command line), then the line of every Starlark call frame from the
//! deploy file's top level down to the operation call (`Evaluator::call_stack()`: each frame
//! carries the location of the call that entered it). For a file run by `local.include`, the
//! lines leading to the `include` call come first, so an included file's operations sort at
//! the include site. A call whose key was already produced on this host (a loop) gets the
//! number of earlier ones appended (`[0, 7]`, `[0, 7, 1]`, `[0, 7, 2]`), as pyinfra appends its
//! duplicate count.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rinfra_core::{FactRegistry, OpCall, OperationRegistry};
use serde_json::{Map, Value as Json};
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, Module};
use starlark::eval::{Evaluator, FileLoader};
use starlark::syntax::AstModule;
use starlark::PrintHandler;

use crate::compat::CompatOutput;
use crate::config::{ConfigMap, ConfigValue};
use crate::context::{EvalState, FileFrame, HostDataLayers};
use crate::error::{ErrorKind, LangError, Location};
use crate::facts::{fact_globals, FactProvider, FactRef};
use crate::host::{HostValue, HOST_DATA_TYPE};
use crate::inventory::{InventoryValue, InventoryView};
use crate::local::{display_path, local_module};
use crate::operations::{condition_globals, OpFunction};
use crate::simple_eval::{parse, EXTENSIONS};

/// A deploy file read from disk and run through the compatibility pass (once; it is parsed
/// again for each host, which is cheap).
#[derive(Debug, Clone)]
pub struct LoadedFile {
    path: PathBuf,
    display: String,
    source: String,
    compat: Arc<CompatOutput>,
}

impl LoadedFile {
    /// Read `path`; `display` is its name in locations and errors (`deploy.py`).
    pub fn load(path: &Path, display: &str) -> Result<Self, LangError> {
        let source = LangError::read_source(path)?;
        Self::from_source(path, display, &source)
    }

    /// A deploy file from source text (`path` is used to resolve relative paths).
    pub fn from_source(path: &Path, display: &str, source: &str) -> Result<Self, LangError> {
        // Parse once now so syntax errors surface before any host is evaluated. The tree is
        // dropped on the same deep stack: dropping it recurses too.
        let compat =
            rinfra_core::with_deep_stack(|| parse(display, source).map(|(_ast, compat)| compat))?;
        Ok(Self {
            path: path.to_path_buf(),
            display: display.to_string(),
            source: source.to_string(),
            compat: Arc::new(compat),
        })
    }

    /// The path on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn ast(&self) -> Result<AstModule, LangError> {
        AstModule::parse(
            &self.display,
            self.compat.source.clone(),
            &crate::simple_eval::dialect(),
        )
        .map_err(|e| LangError::from_starlark(&e, |m| m.to_string()))
    }
}

/// What deploy code knows about the host it runs for.
#[derive(Debug, Clone, Default)]
pub struct HostContext {
    /// The host's name (`host.name`).
    pub name: String,
    /// Its groups in pyinfra's order (`host.groups`).
    pub groups: Vec<String>,
    /// Its merged data: `--data` > host > groups > all > connector (see
    /// [`crate::merge_host_data`]).
    pub data: Map<String, Json>,
    /// The config from `config.py` and the CLI (`config.SUDO`...).
    pub config: ConfigMap,
    /// The inventory (`inventory.get_group(...)`).
    pub inventory: Arc<InventoryView>,
}

/// The result of evaluating a deploy file for one host.
#[derive(Debug, Clone, Default)]
pub struct DeployOutput {
    /// The host's operation calls, in call order.
    pub calls: Vec<OpCall>,
    /// The config after the file ran (`config.X = ...` in deploy code).
    pub config: ConfigMap,
    /// What `print()` printed, in order.
    pub messages: Vec<String>,
}

/// Everything deploy files are evaluated with: the operations and facts to predeclare. Build
/// once (it is `Send + Sync`) and evaluate files for many hosts, on any threads.
#[derive(Clone)]
pub struct DeployEnv {
    inner: Arc<EnvInner>,
}

/// What [`DeployEnv`] shares with `python.call` callbacks (they evaluate again at execute
/// time).
pub(crate) struct EnvInner {
    pub(crate) globals: Globals,
    pub(crate) ops: Arc<OperationRegistry>,
    pub(crate) facts: Arc<FactRegistry>,
    pub(crate) cwd: PathBuf,
}

impl std::fmt::Debug for DeployEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployEnv")
            .field("cwd", &self.inner.cwd)
            .finish_non_exhaustive()
    }
}

impl DeployEnv {
    /// Predeclare `ops` as modules (`files.put`), `facts` as names (`LinuxName`, and
    /// `server.LinuxName`), `local`, `os`, `deploy`, `operation`, `any_changed`, `all_changed`
    /// and `fact`. `cwd` is pyinfra's `state.cwd`: relative paths are resolved against it.
    pub fn new(ops: Arc<OperationRegistry>, facts: Arc<FactRegistry>, cwd: PathBuf) -> Self {
        let mut b = GlobalsBuilder::extended_by(EXTENSIONS);
        fact_globals(&mut b);
        condition_globals(&mut b);
        crate::decorators::decorator_globals(&mut b);
        b.namespace("local", local_module);
        crate::os::register_os(&mut b);
        b.namespace("python", crate::python_call::python_module);

        // Operation modules, with the facts of the same module name as attributes.
        let mut modules: std::collections::BTreeMap<&str, ModuleMembers<'_>> = Default::default();
        for name in ops.names() {
            if let Some((m, short)) = name.split_once('.') {
                modules.entry(m).or_default().0.push((short, name));
            }
        }
        let mut short_facts: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for name in facts.names() {
            if let Some((m, short)) = name.split_once('.') {
                modules.entry(m).or_default().1.push((short, name));
                short_facts.entry(short).or_default().push(name);
            }
        }
        for (module, (module_ops, module_facts)) in &modules {
            if *module == "python" {
                continue;
            }
            b.namespace(module, |b| {
                for (short, full) in module_facts {
                    b.set(
                        short,
                        FactRef {
                            name: full.to_string(),
                        },
                    );
                }
                for (short, full) in module_ops {
                    if let Some(op) = ops.get(full) {
                        b.set(short, OpFunction { op: op.clone() });
                    }
                }
            });
        }
        // Fact classes by their short name, when unambiguous (an import line picks one).
        for (short, full) in &short_facts {
            if full.len() == 1 && !modules.contains_key(short) {
                b.set(
                    short,
                    FactRef {
                        name: full[0].to_string(),
                    },
                );
            }
        }
        Self {
            inner: Arc::new(EnvInner {
                globals: b.build(),
                ops,
                facts,
                cwd,
            }),
        }
    }

    /// Evaluate `file` for one host. `file_index` is the file's position among the deploy
    /// files (the first element of every order key).
    pub fn evaluate(
        &self,
        file: &LoadedFile,
        file_index: u64,
        host: &HostContext,
        facts: &dyn FactProvider,
    ) -> Result<DeployOutput, LangError> {
        // Unknown operation modules in import lines are errors at that line.
        for (module, line) in &file.compat.op_module_imports {
            // `python` is built in (`python.call`).
            let known = module == "python"
                || self
                    .inner
                    .ops
                    .names()
                    .any(|n| n.split_once('.').is_some_and(|(m, _)| m == module));
            if !known {
                let mut modules: Vec<&str> = self
                    .inner
                    .ops
                    .names()
                    .filter_map(|n| n.split_once('.').map(|(m, _)| m))
                    .collect();
                modules.dedup();
                let mut hint = format!("operation modules: {}", modules.join(", "));
                if let Some(best) = crate::operations::did_you_mean(module, modules.iter().copied())
                {
                    hint = format!("did you mean `{best}`? {hint}");
                }
                return Err(LangError::new(
                    ErrorKind::Eval,
                    format!("unknown operation module `{module}`"),
                )
                .at(Location {
                    file: file.display.clone(),
                    line: *line,
                    column: column_of(&file.source, *line, module),
                })
                .with_hint(hint)
                .with_source(&file.source, module.chars().count()));
            }
        }
        let origin = Arc::new(crate::python_call::Origin {
            env: self.inner.clone(),
            file: file.clone(),
            file_index,
            host: host.clone(),
        });
        let state = new_state(
            &self.inner,
            file,
            file_index,
            host,
            facts,
            crate::python_call::PythonCalls::prepare(origin),
        );
        eval_file(&state, file)?;
        let config = crate::context::lock(&state.config).clone();
        Ok(DeployOutput {
            calls: state.calls.into_inner(),
            config,
            messages: state.messages.into_inner(),
        })
    }

    /// [`LoadedFile::load`] with the file's name relative to `cwd`.
    pub fn load_file(&self, path: &Path) -> Result<LoadedFile, LangError> {
        let display = display_path(path, &self.inner.cwd);
        LoadedFile::load(path, &display)
    }
}

/// The evaluation state for one host and file.
pub(crate) fn new_state<'e>(
    env: &'e EnvInner,
    file: &LoadedFile,
    file_index: u64,
    host: &HostContext,
    facts: &'e dyn FactProvider,
    python: crate::python_call::PythonCalls,
) -> EvalState<'e> {
    EvalState {
        ops: &env.ops,
        facts: &env.facts,
        fact_provider: facts,
        host_name: host.name.clone(),
        host_groups: host.groups.clone(),
        data: Arc::new(HostDataLayers {
            base: host.data.clone(),
            ..Default::default()
        }),
        inventory: host.inventory.clone(),
        globals: &env.globals,
        cwd: env.cwd.clone(),
        calls: Default::default(),
        seen_orders: Default::default(),
        loop_position: Default::default(),
        deploys: Default::default(),
        files: std::cell::RefCell::new(vec![FileFrame {
            path: file.path.clone(),
            display: file.display.clone(),
        }]),
        order_prefix: std::cell::RefCell::new(vec![file_index]),
        config: Arc::new(Mutex::new(host.config.clone())),
        yields: Default::default(),
        messages: Default::default(),
        include_depth: Default::default(),
        inner_error: Default::default(),
        python,
    }
}

/// `(short, full)` names of a module's operations and facts.
type ModuleMembers<'a> = (Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);

/// Prints from data files are dropped (they run before any output is set up).
pub(crate) struct IgnorePrints;

impl PrintHandler for IgnorePrints {
    fn println(&self, _text: &str) -> starlark::Result<()> {
        Ok(())
    }
}

struct CollectPrints<'a, 'e>(&'a EvalState<'e>);

impl PrintHandler for CollectPrints<'_, '_> {
    fn println(&self, text: &str) -> starlark::Result<()> {
        self.0.messages.borrow_mut().push(text.to_string());
        Ok(())
    }
}

/// Evaluate one file (the deploy file or an included one) for the host of `state`.
pub(crate) fn eval_file(state: &EvalState<'_>, file: &LoadedFile) -> Result<(), LangError> {
    let result = rinfra_core::with_deep_stack(|| {
        Module::with_temp_heap(|module| run_file(state, file, &module))
    });
    // An error inside an included file is reported where it happened.
    if let Some(inner) = state.inner_error.borrow_mut().take() {
        return Err(inner);
    }
    result
}

/// Predeclare the per-host names in `module` and evaluate `file` in it.
fn run_file<'v>(
    state: &EvalState<'_>,
    file: &LoadedFile,
    module: &Module<'v>,
) -> Result<(), LangError> {
    let ast = file.ast()?;
    let heap = module.heap();
    module.set(
        "host",
        heap.alloc(HostValue {
            name: state.host_name.clone(),
            groups: state.host_groups.clone(),
            data: state.data.clone(),
        }),
    );
    module.set(
        "config",
        heap.alloc(ConfigValue {
            config: state.config.clone(),
        }),
    );
    module.set(
        "inventory",
        heap.alloc(InventoryValue {
            view: state.inventory.clone(),
        }),
    );
    module.set(
        "__file__",
        heap.alloc_str(&file.path.display().to_string()).to_value(),
    );
    for (name, fact) in &file.compat.fact_imports {
        if state.facts.get(fact).is_err() {
            let line = file
                .source
                .lines()
                .position(|l| l.contains("import") && l.contains(name.as_str()))
                .map_or(1, |i| i + 1);
            let short = fact.rsplit('.').next().unwrap_or(fact);
            return Err(
                LangError::new(ErrorKind::Eval, format!("unknown fact `{fact}`"))
                    .at(Location {
                        file: file.display.clone(),
                        line,
                        column: column_of(&file.source, line, short),
                    })
                    .with_source(&file.source, short.chars().count()),
            );
        }
        module.set(name, heap.alloc(FactRef { name: fact.clone() }));
    }
    let printer = CollectPrints(state);
    let loader = LocalModules { state };
    let _evaluating = crate::evaluating::Evaluating::enter(&file.display, &state.host_name);
    let mut eval = Evaluator::new(module);
    eval.extra = Some(state);
    eval.set_print_handler(&printer);
    eval.set_loader(&loader);
    eval.eval_module(ast, state.globals)
        .map(|_| ())
        .map_err(|e| LangError::from_starlark(&e, |m| reword(m, &state.host_name)))
}

/// Loads local helper files for `from utils import helper` (rewritten to
/// `load("utils.py", "helper")`): `<module path>.py` relative to the deploy directory, or
/// failing that to the importing file. A helper sees the same `host`, `config` and predeclared
/// names; operations it calls are recorded like any others.
struct LocalModules<'s, 'e> {
    state: &'s EvalState<'e>,
}

impl FileLoader for LocalModules<'_, '_> {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        let st = self.state;
        let module_name = path.trim_end_matches(".py").replace('/', ".");
        let resolved = st.local_path(path);
        if !resolved.is_file() {
            return Err(crate::error::native_error_hint(
                &format!("cannot import `{module_name}`: no file `{path}` in the deploy directory"),
                "deploy files can import pyinfra's modules (`pyinfra`, `pyinfra.operations`, `pyinfra.facts.<module>`, `pyinfra.api`), `os`, `os.path` and local `.py` helper files; Python packages are not available",
            ));
        }
        let display = display_path(&resolved, &st.cwd);
        let stash = |e: LangError| {
            let message = e.to_string();
            st.inner_error.borrow_mut().get_or_insert(e);
            crate::error::native_error(format!("in imported file: {message}"))
        };
        let file = LoadedFile::load(&resolved, &display).map_err(stash)?;
        st.files.borrow_mut().push(FileFrame {
            path: resolved,
            display,
        });
        let result = Module::with_temp_heap(|module| {
            run_file(st, &file, &module)?;
            module
                .freeze()
                .map_err(|e| LangError::new(ErrorKind::Eval, format!("`{path}`: {e:?}")))
        });
        st.files.borrow_mut().pop();
        result.map_err(stash)
    }
}

/// The 1-based column of `word` on `line` (1 when absent).
fn column_of(source: &str, line: usize, word: &str) -> usize {
    source
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.find(word).map(|i| l[..i].chars().count() + 1))
        .unwrap_or(1)
}

/// Make Starlark's messages about our objects speak pyinfra.
fn reword(message: &str, host: &str) -> String {
    let prefix = format!("Object of type `{HOST_DATA_TYPE}` has no attribute `");
    if let Some(rest) = message.strip_prefix(&prefix) {
        let (key, suggestion) = match rest.split_once('`') {
            Some((key, tail)) => (key, tail.split('`').nth(1)),
            None => (rest, None),
        };
        let mut hint = format!(
            "set `{key}` in the inventory, group_data or with `--data {key}=...`, or use `host.data.get(\"{key}\", default)`"
        );
        if let Some(s) = suggestion {
            hint = format!("did you mean `{s}`? {hint}");
        }
        return crate::error::message_with_hint(
            &format!("host `{host}` has no data `{key}`"),
            &hint,
        );
    }
    message.to_string()
}
