//! Live Python objects the engine calls at prepare and execute time: `_if` functions,
//! `_retry_until`, `@operation` generators and the functions they yield (`python.call`).
//! Each runs on a blocking thread with the host current, its requests answered by the
//! engine's host (see `scope.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use rinfra_connectors::{quoted, Bit, FileSource, Secret, StringCommand};
use rinfra_core::{
    ArgOverrides, Callback, ConditionCallback, EarlierOps, ExecHost, OpArgs, OpCommand, OpHost,
    OpOutcome, Operation, OperationError, Param, RetryUntil,
};
use serde_json::Value;

use crate::convert::{to_json, to_python};
use crate::error::PythonError;
use crate::scope::{run_bridged, Serving};
use crate::sources::shim;

/// Call `function(*args, **kwargs)` with host `index` current: whether the result is true;
/// an error as a message with the deploy code's location.
fn call_for_host(
    index: usize,
    function: &Py<PyAny>,
    args: Option<&Py<PyAny>>,
    kwargs: Option<&Py<PyAny>>,
) -> Result<bool, String> {
    Python::attach(|py| {
        let args = match args {
            Some(a) => a.bind(py).clone(),
            None => PyTuple::empty(py).into_any(),
        };
        let kwargs = match kwargs {
            Some(k) => k.bind(py).clone(),
            None => PyDict::new(py).into_any(),
        };
        shim(py, "call_for_host")
            .and_then(|f| f.call1((index, function.bind(py), args, kwargs)))
            .and_then(|r| r.is_truthy())
            .map_err(|e| PythonError::from_py(py, &e).to_string())
    })
}

/// Where a Python function is defined, `deploy.py:12`, for messages.
fn describe(function: &Py<PyAny>) -> String {
    Python::attach(|py| {
        let f = function.bind(py);
        let code = f.getattr("__code__").ok();
        match code {
            Some(c) => {
                let file: String = c
                    .getattr("co_filename")
                    .and_then(|x| x.extract())
                    .unwrap_or_default();
                let line: usize = c
                    .getattr("co_firstlineno")
                    .and_then(|x| x.extract())
                    .unwrap_or_default();
                format!("{}:{line}", crate::error::display_path(&file))
            }
            None => f.repr().map(|r| r.to_string()).unwrap_or_default(),
        }
    })
}

/// An `_if` or `_retry_until` function: called at execute time, its result taken as a bool.
pub(crate) struct PyFunction {
    host_index: usize,
    function: Arc<Py<PyAny>>,
}

impl PyFunction {
    pub(crate) fn new(host_index: usize, function: Py<PyAny>) -> Self {
        Self {
            host_index,
            function: Arc::new(function),
        }
    }

    /// Call it with `arg` (if any) on the host; `role` names it in errors (`_if`).
    async fn truthy(
        &self,
        host: &dyn ExecHost,
        earlier: EarlierOps,
        arg: Option<Value>,
        role: &str,
    ) -> Result<bool, String> {
        let (index, function) = (self.host_index, Arc::clone(&self.function));
        let work = move || {
            let args = match arg {
                None => None,
                Some(v) => Some(
                    Python::attach(|py| -> PyResult<Py<PyAny>> {
                        Ok(PyTuple::new(py, [to_python(py, &v)?])?.into_any().unbind())
                    })
                    .map_err(|e| e.to_string())?,
                ),
            };
            call_for_host(index, &function, args.as_ref(), None)
        };
        run_bridged(Some(earlier), Serving::Exec(host), work)
            .await?
            .0
            .map_err(|e| format!("error in the `{role}` function: {e}"))
    }
}

#[async_trait]
impl ConditionCallback for PyFunction {
    fn describe(&self) -> String {
        describe(&self.function)
    }

    async fn check(&self, host: &dyn ExecHost, earlier: EarlierOps) -> Result<bool, String> {
        self.truthy(host, earlier, None, "_if").await
    }
}

#[async_trait]
impl RetryUntil for PyFunction {
    fn describe(&self) -> String {
        describe(&self.function)
    }

    async fn retry(
        &self,
        host: &dyn ExecHost,
        earlier: EarlierOps,
        output: Value,
    ) -> Result<bool, String> {
        self.truthy(host, earlier, Some(output), "_retry_until")
            .await
    }
}

/// A function an `@operation` generator yielded (`FunctionCommand`, what `python.call`
/// yields), called at execute time.
pub(crate) struct PyFunctionCallback {
    host_index: usize,
    function: Arc<Py<PyAny>>,
    args: Arc<Py<PyAny>>,
    kwargs: Arc<Py<PyAny>>,
}

#[async_trait]
impl Callback for PyFunctionCallback {
    fn describe(&self) -> String {
        format!("call {}", describe(&self.function))
    }

    async fn call(&self, host: &dyn ExecHost) -> Result<(), String> {
        let index = self.host_index;
        let (function, args, kwargs) = (
            Arc::clone(&self.function),
            Arc::clone(&self.args),
            Arc::clone(&self.kwargs),
        );
        let work = move || call_for_host(index, &function, Some(&args), Some(&kwargs));
        run_bridged(None, Serving::Exec(host), work).await?.0?;
        Ok(())
    }
}

/// Operation names live as long as the process (the engine's names are `&'static str`); each
/// distinct name of an `@operation` function is kept once.
fn static_name(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .expect("not poisoned");
    if let Some(n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// An `@operation()` function written in Python, bound to one call's arguments on one host.
pub(crate) struct PyOperation {
    name: &'static str,
    host_index: usize,
    /// `(function, args, kwargs, is_idempotent)` from `@operation`'s wrapper.
    spec: Arc<Py<PyAny>>,
    idempotent: bool,
}

impl PyOperation {
    pub(crate) fn new(name: &str, host_index: usize, spec: Py<PyAny>) -> PyResult<Self> {
        let idempotent =
            Python::attach(|py| -> PyResult<bool> { spec.bind(py).get_item(3)?.is_truthy() })?;
        Ok(Self {
            name: static_name(name),
            host_index,
            spec: Arc::new(spec),
            idempotent,
        })
    }
}

#[async_trait]
impl Operation for PyOperation {
    fn name(&self) -> &'static str {
        self.name
    }

    fn params(&self) -> &'static [Param] {
        &[]
    }

    fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    fn accepts_extra_kwargs(&self) -> bool {
        true
    }

    async fn generate(
        &self,
        _args: &OpArgs,
        host: &dyn OpHost,
    ) -> Result<OpOutcome, OperationError> {
        let index = self.host_index;
        let spec = Arc::clone(&self.spec);
        let work = move || -> Result<Vec<OpCommand>, String> {
            Python::attach(|py| {
                let spec = spec.bind(py);
                let run = || -> PyResult<Vec<OpCommand>> {
                    let yielded = shim(py, "run_operation")?.call1((
                        index,
                        spec.get_item(0)?,
                        spec.get_item(1)?,
                        spec.get_item(2)?,
                    ))?;
                    let list = yielded.cast::<PyList>()?;
                    list.iter().map(|c| op_command(index, &c)).collect()
                };
                run().map_err(|e| PythonError::from_py(py, &e).to_string())
            })
        };
        let (commands, bridge) = run_bridged(None, Serving::Op(host), work)
            .await
            .map_err(OperationError::Other)?;
        let commands = commands.map_err(OperationError::Other)?;
        Ok(OpOutcome {
            noop: if commands.is_empty() {
                bridge.noop
            } else {
                None
            },
            commands,
            diffs: Vec::new(),
        })
    }
}

/// A pyinfra `StringCommand` (or a `str`) as rinfra's: its parts stay parts (quoted parts
/// are quoted when run, masked parts are secrets, nested commands keep their separators).
pub(crate) fn string_command(value: &Bound<'_, PyAny>) -> PyResult<StringCommand> {
    if let Ok(s) = value.extract::<String>() {
        if !value.get_type().name()?.to_str()?.eq("MaskString") {
            return Ok(StringCommand::new([s.trim().to_string()]));
        }
    }
    if !value.hasattr("bits")? || !value.hasattr("separator")? {
        return Err(PyTypeError::new_err(format!(
            "expected a command (str or StringCommand), got {}",
            value.get_type().name()?
        )));
    }
    let separator: String = value.getattr("separator")?.extract()?;
    let mut bits = Vec::new();
    for b in value.getattr("bits")?.try_iter()? {
        bits.push(command_bit(&b?)?);
    }
    Ok(StringCommand::with_separator(bits, &separator))
}

fn command_bit(b: &Bound<'_, PyAny>) -> PyResult<Bit> {
    let class = b.get_type().name()?.to_string();
    Ok(match class.as_str() {
        "MaskString" => Bit::Hidden(Secret::new(b.extract::<String>()?)),
        "QuoteString" => quoted(command_bit(&b.getattr("obj")?)?),
        "StringCommand" => Bit::Command(string_command(b)?),
        _ => Bit::Raw(b.str()?.to_string()),
    })
}

/// One item an `@operation` generator yielded, as the engine's command.
fn op_command(host_index: usize, item: &Bound<'_, PyAny>) -> PyResult<OpCommand> {
    if let Ok(rc) = item.cast::<crate::native::RustCommand>() {
        return Ok(rc.get().command.clone());
    }
    let class: String = item.get_type().name()?.extract()?;
    let overrides = || -> PyResult<ArgOverrides> {
        match item.getattr("connector_arguments") {
            Ok(a) => match to_json(&a, "command arguments")? {
                Value::Object(m) => Ok(m),
                _ => Ok(ArgOverrides::new()),
            },
            Err(_) => Ok(ArgOverrides::new()),
        }
    };
    Ok(match class.as_str() {
        "FileUploadCommand" => {
            let src = item.getattr("src")?;
            let src = match to_json(&src, "upload source")? {
                Value::Object(o) => FileSource::Bytes(
                    o.get("content")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec(),
                ),
                Value::String(p) => FileSource::Path(p.into()),
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "FileUploadCommand: bad source {other}"
                    )))
                }
            };
            OpCommand::Upload {
                src,
                dest: item.getattr("dest")?.extract()?,
                remote_temp: item.getattr("remote_temp_filename")?.extract()?,
            }
        }
        "FileDownloadCommand" => OpCommand::Download {
            src: item.getattr("src")?.extract()?,
            dest: item.getattr("dest")?.extract::<String>()?.into(),
        },
        "FunctionCommand" => OpCommand::Callback(Arc::new(PyFunctionCallback {
            host_index,
            function: Arc::new(item.getattr("function")?.unbind()),
            args: Arc::new(
                PyTuple::new(
                    py_of(item),
                    item.getattr("args")?
                        .try_iter()?
                        .collect::<PyResult<Vec<_>>>()?,
                )?
                .into_any()
                .unbind(),
            ),
            kwargs: Arc::new(item.getattr("kwargs")?.unbind()),
        })),
        _ => OpCommand::Shell {
            command: string_command(item)?,
            overrides: overrides()?,
        },
    })
}

fn py_of<'py>(item: &Bound<'py, PyAny>) -> Python<'py> {
    item.py()
}
