//! `_rinfra`: the native module rinfra's `pyinfra` package calls into.

use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rinfra_core::{
    is_global_argument, Condition, ConditionKind, EarlierOps, GlobalArguments, HostOpStatus,
    OpCall, Operation,
};
use serde_json::{Map, Value};

use crate::callables::{PyFunction, PyOperation};
use crate::convert::{display_json, to_json, to_python};
use crate::error::with_hint;
use crate::scope::{ask, with_current, Request, Scope};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(operations, m)?)?;
    m.add_function(wrap_pyfunction!(facts, m)?)?;
    m.add_function(wrap_pyfunction!(global_arguments, m)?)?;
    m.add_function(wrap_pyfunction!(is_global_argument_py, m)?)?;
    m.add_function(wrap_pyfunction!(config_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(check_config_name, m)?)?;
    m.add_function(wrap_pyfunction!(suggest_name, m)?)?;
    m.add_function(wrap_pyfunction!(record, m)?)?;
    m.add_function(wrap_pyfunction!(get_fact, m)?)?;
    m.add_function(wrap_pyfunction!(get_command_lines, m)?)?;
    m.add_function(wrap_pyfunction!(noop, m)?)?;
    m.add_function(wrap_pyfunction!(op_status, m)?)?;
    m.add_function(wrap_pyfunction!(op_output, m)?)?;
    m.add_function(wrap_pyfunction!(run_shell_command, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(log, m)?)?;
    m.add_function(wrap_pyfunction!(make_unix_command, m)?)?;
    m.add_class::<RustCommand>()?;
    // The boot code's hints are notes with the same prefix as the ones raised from Rust.
    m.add("HINT_NOTE", crate::error::HINT_NOTE)?;
    Ok(())
}

/// A command yielded by a Rust operation's `_inner(...)`, passed back unchanged when an
/// `@operation` generator yields it.
#[pyclass(frozen, module = "_rinfra")]
pub(crate) struct RustCommand {
    pub(crate) command: rinfra_core::OpCommand,
}

#[pymethods]
impl RustCommand {
    fn __repr__(&self) -> String {
        format!("RustCommand({})", self.command.describe())
    }
}

/// `(param, required, doc)`.
type ParamRow = (String, bool, String);

/// Keyword arguments that are not global arguments, in call order.
type OwnKwargs<'py> = Vec<(String, Bound<'py, PyAny>)>;

/// `(name, [param rows], doc, takes extra keywords)` of every Rust operation.
#[pyfunction]
fn operations() -> Vec<(String, Vec<ParamRow>, String, bool)> {
    let ops = &crate::interpreter::shared().ops;
    ops.names()
        .filter_map(|n| ops.get(n))
        .map(|op| {
            let params = op
                .params()
                .iter()
                .map(|p| (p.name.to_string(), p.required, p.doc.to_string()))
                .collect();
            (
                op.name().to_string(),
                params,
                op_doc(op.as_ref()),
                op.accepts_extra_kwargs(),
            )
        })
        .collect()
}

/// An operation's docstring: its doc, then one line per documented parameter.
fn op_doc(op: &dyn Operation) -> String {
    let mut doc = op.doc().to_string();
    if doc.is_empty() {
        doc = format!(
            "pyinfra's `{}` operation, implemented by rinfra.",
            op.name()
        );
    }
    let params: Vec<String> = op
        .params()
        .iter()
        .map(|p| {
            let req = if p.required { " (required)" } else { "" };
            if p.doc.is_empty() {
                format!("+ {}{req}", p.name)
            } else {
                format!("+ {}{req}: {}", p.name, p.doc)
            }
        })
        .collect();
    if !params.is_empty() {
        doc.push_str("\n\n");
        doc.push_str(&params.join("\n"));
    }
    doc
}

/// `(name, [params], doc)` of every Rust fact.
#[pyfunction]
fn facts() -> Vec<(String, Vec<String>, String)> {
    let facts = &crate::interpreter::shared().facts;
    facts
        .names()
        .filter_map(|n| facts.get(n).ok())
        .map(|f| {
            let params = f.params().iter().map(|p| p.to_string()).collect();
            let doc = if f.doc().is_empty() {
                format!("pyinfra's `{}` fact, implemented by rinfra.", f.name())
            } else {
                f.doc().to_string()
            };
            (f.name().to_string(), params, doc)
        })
        .collect()
}

/// `(name, "connector" | "execution" | "meta", config name, default, help)`: rinfra's
/// global-argument table.
#[pyfunction]
fn global_arguments() -> Vec<ArgumentRow> {
    rinfra_core::GLOBAL_ARGUMENTS
        .iter()
        .map(|a| {
            let layer = match a.layer {
                rinfra_core::ArgumentLayer::Connector => "connector",
                rinfra_core::ArgumentLayer::Meta => "meta",
                rinfra_core::ArgumentLayer::Execution => "execution",
            };
            (a.name, layer, a.config, a.default, a.help)
        })
        .collect()
}

/// A row of [`global_arguments`].
type ArgumentRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

#[pyfunction]
#[pyo3(name = "is_global_argument")]
fn is_global_argument_py(name: &str) -> bool {
    is_global_argument(name)
}

#[pyfunction]
fn config_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for name in crate::CONFIG_NAMES {
        d.set_item(name, to_python(py, &crate::config_default(name))?)?;
    }
    Ok(d)
}

#[pyfunction]
fn check_config_name(py: Python<'_>, name: &str) -> PyResult<()> {
    if crate::CONFIG_NAMES.contains(&name) {
        return Ok(());
    }
    let hint = crate::did_you_mean(name, crate::CONFIG_NAMES.iter().copied())
        .map(|b| format!("did you mean `{b}`?"));
    Err(with_hint(
        py,
        PyValueError::new_err(format!("unknown config name `{name}`")),
        hint,
    ))
}

/// A close-in-meaning suggestion for a mistyped `module.name` among `candidates`
/// ([`crate::did_you_mean_name`]).
#[pyfunction]
fn suggest_name(word: &str, candidates: Vec<String>) -> Option<String> {
    crate::did_you_mean_name(word, candidates.iter().map(String::as_str)).map(str::to_string)
}

/// Split global arguments off keyword arguments, type-checked as the engine will read them.
fn split_globals<'py>(
    op: &str,
    kwargs: &Bound<'py, PyDict>,
) -> PyResult<(Map<String, Value>, OwnKwargs<'py>)> {
    let mut globals = Map::new();
    let mut rest = Vec::new();
    for (k, v) in kwargs.iter() {
        let k: String = k.extract()?;
        if is_global_argument(&k) {
            let j = to_json(&v, &format!("global argument `{k}`"))?;
            GlobalArguments::default()
                .set(&k, &j)
                .map_err(|e| PyTypeError::new_err(e.to_string()))?;
            globals.insert(k, j);
        } else if k.starts_with('_') {
            let all: Vec<&str> = rinfra_core::all_global_arguments().collect();
            let hint = crate::did_you_mean(&k, all.iter().copied())
                .map(|b| format!("did you mean `{b}`?"))
                .unwrap_or_else(|| format!("global arguments: {}", all.join(", ")));
            return Err(with_hint(
                kwargs.py(),
                PyTypeError::new_err(format!("unknown global argument `{k}` for `{op}`")),
                Some(hint),
            ));
        } else {
            rest.push((k, v));
        }
    }
    Ok((globals, rest))
}

/// Map positional and keyword arguments onto a Rust operation's parameters.
fn bind_args(
    op: &dyn Operation,
    args: &Bound<'_, PyTuple>,
    kwargs: OwnKwargs<'_>,
) -> PyResult<Map<String, Value>> {
    let params = op.params();
    let valid: Vec<&str> = params.iter().map(|p| p.name).collect();
    let name = op.name();
    if args.len() > params.len() {
        return Err(PyTypeError::new_err(format!(
            "{name}() takes at most {} positional arguments ({} given); arguments: {}",
            params.len(),
            args.len(),
            valid.join(", ")
        )));
    }
    let mut out = Map::new();
    for (p, v) in params.iter().zip(args.iter()) {
        out.insert(
            p.name.into(),
            to_json(&v, &format!("argument `{}` of {name}", p.name))?,
        );
    }
    for (k, v) in kwargs {
        if !valid.contains(&k.as_str()) && !op.accepts_extra_kwargs() {
            let candidates = valid
                .iter()
                .copied()
                .chain(rinfra_core::all_global_arguments());
            let hint = crate::did_you_mean(&k, candidates)
                .map(|b| format!("did you mean `{b}`?"))
                .unwrap_or_else(|| format!("arguments of `{name}`: {}", valid.join(", ")));
            return Err(with_hint(
                args.py(),
                PyTypeError::new_err(format!("unknown argument `{k}` for `{name}`")),
                Some(hint),
            ));
        }
        if out.contains_key(&k) {
            return Err(PyTypeError::new_err(format!(
                "{name}() got multiple values for argument `{k}`"
            )));
        }
        let j = to_json(&v, &format!("argument `{k}` of {name}"))?;
        out.insert(k, j);
    }
    if let Some(p) = params
        .iter()
        .find(|p| p.required && !out.contains_key(p.name))
    {
        return Err(PyTypeError::new_err(format!(
            "{name}() missing required argument `{}`; arguments: {}",
            p.name,
            valid.join(", ")
        )));
    }
    Ok(out)
}

/// `_if` items as the engine's conditions (see `_conditions` in api/operation.py).
fn conditions(host_index: usize, items: &Bound<'_, PyList>) -> PyResult<Vec<Condition>> {
    let mut out = Vec::new();
    for item in items.iter() {
        out.push(condition(host_index, &item)?);
    }
    Ok(out)
}

fn condition(host_index: usize, item: &Bound<'_, PyAny>) -> PyResult<Condition> {
    if let Ok(b) = item.extract::<bool>() {
        return Ok(Condition::Constant(b));
    }
    if let Ok(t) = item.cast::<PyTuple>() {
        let tag: String = t.get_item(0)?.extract()?;
        if tag == "op" {
            let index: usize = t.get_item(1)?.extract()?;
            let kind = match t.get_item(2)?.extract::<String>()?.as_str() {
                "did_change" => ConditionKind::DidChange,
                "did_not_change" => ConditionKind::DidNotChange,
                "did_succeed" => ConditionKind::DidSucceed,
                _ => ConditionKind::DidError,
            };
            return Ok(Condition::Op {
                call_index: index,
                kind,
            });
        }
        let inner = t.get_item(1)?;
        let inner = conditions(host_index, inner.cast::<PyList>()?)?;
        return Ok(if tag == "any" {
            Condition::Any(inner)
        } else {
            Condition::All(inner)
        });
    }
    Ok(Condition::Callable(Arc::new(PyFunction::new(
        host_index,
        item.clone().unbind(),
    ))))
}

/// Record an operation call for the host being evaluated; returns its index.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn record(
    op_name: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
    order: Vec<u64>,
    location: (String, usize),
    deploy_names: Vec<String>,
    deploy_args: &Bound<'_, PyDict>,
    conditions_: &Bound<'_, PyList>,
    retry_until: &Bound<'_, PyAny>,
    operation: &Bound<'_, PyAny>,
    config: &Bound<'_, PyDict>,
) -> PyResult<usize> {
    let host_index = with_current(|s| match s {
        Scope::Evaluating(e) => Ok(e.host_index),
        Scope::Bridged(_) => Err(PyRuntimeError::new_err(format!(
            "`{op_name}` called at execute time; operations are called by deploy code"
        ))),
    })?;
    let (globals, rest) = split_globals(op_name, kwargs)?;
    let (op_args, own_operation): (Map<String, Value>, Option<Arc<dyn Operation>>) =
        if operation.is_none() {
            let shared = crate::interpreter::shared();
            let op =
                shared.ops.get(op_name).cloned().ok_or_else(|| {
                    PyValueError::new_err(format!("unknown operation `{op_name}`"))
                })?;
            (bind_args(op.as_ref(), args, rest)?, None)
        } else {
            let mut shown = Map::new();
            for (n, v) in args.iter().enumerate() {
                shown.insert(format!("{n}"), display_json(&v));
            }
            for (k, v) in &rest {
                shown.insert(k.clone(), display_json(v));
            }
            let op = PyOperation::new(op_name, host_index, operation.clone().unbind())?;
            (shown, Some(Arc::new(op) as Arc<dyn Operation>))
        };
    let (dglobals, _) = split_globals(op_name, deploy_args)?;
    let conds = conditions(host_index, conditions_)?;
    let retry = if retry_until.is_none() {
        None
    } else if retry_until.is_callable() {
        Some(
            Arc::new(PyFunction::new(host_index, retry_until.clone().unbind()))
                as Arc<dyn rinfra_core::RetryUntil>,
        )
    } else {
        return Err(PyTypeError::new_err(
            "`_retry_until` must be a function: `_retry_until=lambda output: ...`",
        ));
    };
    let config = match to_json(config, "config")? {
        Value::Object(m) => crate::config_to_global_args(&m),
        _ => Map::new(),
    };
    let (file, line) = location;
    let location = format!("{}:{line}", crate::error::display_path(&file));
    with_current(|s| {
        let Scope::Evaluating(e) = s else {
            unreachable!("checked above")
        };
        let mut key = vec![e.file_index];
        key.extend(order);
        let seen = e.seen.entry(key.clone()).or_insert(0);
        if *seen > 0 {
            key.push(*seen);
        }
        *seen += 1;
        let mut call = OpCall::new(op_name, op_args, key, location);
        call.global_args = globals;
        call.deploy_args = dglobals;
        call.config_args = config;
        call.deploy_names = deploy_names;
        call.conditions = conds;
        call.retry_until = retry;
        call.operation = own_operation;
        e.calls.push(call);
        Ok(e.calls.len() - 1)
    })
}

/// Bind a fact's positional arguments to its parameter names.
fn fact_args(
    name: &str,
    params: &[String],
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<Map<String, Value>> {
    if args.len() > params.len() {
        return Err(PyTypeError::new_err(format!(
            "fact {name} takes at most {} arguments ({}), {} given",
            params.len(),
            params.join(", "),
            args.len()
        )));
    }
    let mut out = Map::new();
    for (p, v) in params.iter().zip(args.iter()) {
        out.insert(
            p.clone(),
            to_json(&v, &format!("argument `{p}` of fact {name}"))?,
        );
    }
    for (k, v) in kwargs.iter() {
        let k: String = k.extract()?;
        if !params.contains(&k) {
            return Err(PyTypeError::new_err(format!(
                "fact {name} has no argument `{k}` (arguments: {})",
                params.join(", ")
            )));
        }
        let j = to_json(&v, &format!("argument `{k}` of fact {name}"))?;
        out.insert(k, j);
    }
    Ok(out)
}

/// Load a fact (blocking this host's deploy; the GIL is released while it loads).
fn load_fact(
    py: Python<'_>,
    name: &str,
    args: Map<String, Value>,
    globals: Map<String, Value>,
    shown_as: &str,
) -> PyResult<Value> {
    enum Via {
        /// With the calls made since the deploy last waited for a fact.
        Source(Arc<dyn crate::scope::FactSource>, Vec<rinfra_core::OpCall>),
        Bridge,
    }
    let via = with_current(|s| {
        Ok(match s {
            Scope::Evaluating(e) => {
                let calls = e.calls[e.ahead..].to_vec();
                e.ahead = e.calls.len();
                Via::Source(Arc::clone(&e.facts), calls)
            }
            Scope::Bridged(_) => Via::Bridge,
        })
    })?;
    let result = match via {
        Via::Source(facts, calls) => {
            py.detach(|| facts.get_fact_ahead(name, &args, &globals, &calls))
        }
        Via::Bridge => ask(py, |reply| Request::Fact {
            name: name.to_string(),
            args,
            reply,
        })?,
    };
    result.map_err(|e| {
        // A Python fact runs through `server.Command`; its errors name the user's fact.
        let e = e.replace(&format!("`{name}`"), &format!("`{shown_as}`"));
        let err = py
            .import("pyinfra.api.exceptions")
            .and_then(|m| m.getattr("FactError"))
            .and_then(|c| c.call1((e.clone(),)));
        match err {
            Ok(instance) => PyErr::from_value(instance),
            Err(_) => PyRuntimeError::new_err(e),
        }
    })
}

#[pyfunction]
fn get_fact<'py>(
    py: Python<'py>,
    name: &str,
    params: Vec<String>,
    args: &Bound<'py, PyTuple>,
    kwargs: &Bound<'py, PyDict>,
    globals: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let fargs = fact_args(name, &params, args, kwargs)?;
    let (globals, rest) = split_globals(name, globals)?;
    if let Some((k, _)) = rest.first() {
        return Err(PyTypeError::new_err(format!(
            "unknown global argument `{k}`"
        )));
    }
    let value = load_fact(py, name, fargs, globals, name)?;
    to_python(py, &value)
}

/// The stdout lines of a Python fact's command, or `None` when there was no output or the
/// required command is missing (the fact's `default()` then).
#[pyfunction]
fn get_command_lines(
    py: Python<'_>,
    fact_name: &str,
    command: &Bound<'_, PyAny>,
    requires: Option<String>,
    globals: &Bound<'_, PyDict>,
) -> PyResult<Option<Vec<String>>> {
    let text: String = if command.hasattr("get_raw_value")? {
        command.call_method0("get_raw_value")?.extract()?
    } else {
        command.extract()?
    };
    let command = match &requires {
        None => text,
        Some(bin) => rinfra_core::fact_command_with_requirement(
            rinfra_connectors::StringCommand::new([text]),
            Some(bin),
        )
        .get_raw_value(),
    };
    let (globals, _) = split_globals(fact_name, globals)?;
    let mut args = Map::new();
    args.insert("command".into(), Value::String(command));
    let value = load_fact(py, "server.Command", args, globals, fact_name)?;
    Ok(match value {
        Value::String(s) if s.lines().any(|l| l == rinfra_core::NO_COMMAND_MARKER) => None,
        Value::String(s) if !s.is_empty() => Some(s.lines().map(str::to_string).collect()),
        _ => None,
    })
}

#[pyfunction]
fn noop(reason: String) -> PyResult<()> {
    with_current(|s| {
        if let Scope::Bridged(b) = s {
            b.noop = Some(reason);
        }
        Ok(())
    })
}

/// The status of this host's call `index` at execute time: `"changed"`, `"no change"`,
/// `"error"`, `"skipped"`, or `None` when it has not run.
#[pyfunction]
#[pyo3(signature = (index, raise_if_not_complete))]
fn op_status(index: usize, raise_if_not_complete: bool) -> PyResult<Option<&'static str>> {
    let earlier: Option<EarlierOps> = with_current(|s| {
        Ok(match s {
            Scope::Bridged(b) => b.earlier.clone(),
            Scope::Evaluating(_) => None,
        })
    })
    .unwrap_or(None);
    let status = earlier
        .as_ref()
        .and_then(|e| e.status(index))
        .map(|s| match s {
            HostOpStatus::Success { commands, .. } if *commands > 0 => "changed",
            HostOpStatus::Success { .. } | HostOpStatus::NoChange => "no change",
            HostOpStatus::Error { .. } => "error",
            _ => "skipped",
        });
    if status.is_none() && raise_if_not_complete && earlier.is_none() {
        return Err(PyRuntimeError::new_err(
            "Cannot evaluate operation result before execution (pass the function itself: \
             `_if=op.did_change`, not `_if=op.did_change()`)",
        ));
    }
    Ok(status)
}

#[pyfunction]
fn op_output(_index: usize) -> PyResult<(Vec<String>, Vec<String>)> {
    Err(PyRuntimeError::new_err(
        "an earlier operation's output is not kept by rinfra yet; run the command with \
         host.run_shell_command in a python.call function instead",
    ))
}

/// Run a command on the host at execute time: `(success, [(stream, line)])`.
#[pyfunction]
fn run_shell_command(
    py: Python<'_>,
    command: &Bound<'_, PyAny>,
    arguments: &Bound<'_, PyDict>,
) -> PyResult<(bool, Vec<(String, String)>)> {
    let command = crate::callables::string_command(command)?;
    let mut overrides = Map::new();
    for (k, v) in arguments.iter() {
        let k: String = k.extract()?;
        // pyinfra's run_shell_command takes `sudo=True` as well as `_sudo=True`.
        let key = if k.starts_with('_') {
            k
        } else {
            format!("_{k}")
        };
        if is_global_argument(&key) {
            overrides.insert(key.clone(), to_json(&v, &key)?);
        }
    }
    let (ok, output) = ask(py, |reply| Request::Shell {
        command,
        overrides,
        reply,
    })?
    .map_err(PyRuntimeError::new_err)?;
    let lines = output
        .combined_lines
        .iter()
        .map(|l| {
            let stream = match l.stream {
                rinfra_connectors::Stream::Stderr => "stderr",
                _ => "stdout",
            };
            (stream.to_string(), l.line.clone())
        })
        .collect();
    Ok((ok, lines))
}

/// A Rust operation's commands for the current host, inside an `@operation` generator.
#[pyfunction]
fn generate(
    py: Python<'_>,
    op_name: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<Vec<RustCommand>> {
    let op = crate::interpreter::shared()
        .ops
        .get(op_name)
        .cloned()
        .ok_or_else(|| PyValueError::new_err(format!("unknown operation `{op_name}`")))?;
    let (_, rest) = split_globals(op_name, kwargs)?;
    let op_args = bind_args(op.as_ref(), args, rest)?;
    let commands = ask(py, |reply| Request::Generate {
        op: op_name.to_string(),
        args: op_args,
        reply,
    })?
    .map_err(PyRuntimeError::new_err)?;
    Ok(commands
        .into_iter()
        .map(|command| RustCommand { command })
        .collect())
}

/// A record of the `pyinfra` logger, printed by rinfra's output.
#[pyfunction]
#[pyo3(signature = (level, message, host=None))]
fn log(level: u32, message: &str, host: Option<&str>) {
    let prefix = host.map(|h| format!("[{h}] ")).unwrap_or_default();
    // DEBUG records only at -vvv (pyinfra prints them with --debug).
    if level < 20 && crate::VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) < 3 {
        return;
    }
    let label = match level {
        l if l >= 40 => "error: ",
        l if l >= 30 => "warning: ",
        _ => "",
    };
    for line in message.lines() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("    {prefix}{label}{line}");
        }
    }
}

/// pyinfra's `make_unix_command_for_host`: `command` wrapped with the global arguments
/// (`_sudo`, `_env`, ...), by rinfra's wrapping (the same bytes pyinfra makes).
#[pyfunction]
fn make_unix_command<'py>(
    py: Python<'py>,
    command: &Bound<'py, PyAny>,
    arguments: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let command = crate::callables::string_command(command)?;
    let mut args = GlobalArguments::default();
    for (k, v) in arguments.iter() {
        let k: String = k.extract()?;
        if is_global_argument(&k) {
            args.set(&k, &to_json(&v, &k)?)
                .map_err(|e| PyTypeError::new_err(e.to_string()))?;
        }
    }
    let wrapped = rinfra_connectors::make_unix_command(
        &command,
        &args.connector,
        &rinfra_connectors::AskpassPaths::default(),
    );
    crate::connectors::to_py_command(py, &wrapped)
}
