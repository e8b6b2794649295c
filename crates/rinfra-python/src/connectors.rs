//! Connectors written in Python, as pyinfra's founding document describes them: classes
//! registered as `pyinfra.connectors` entry points of the environment. `@NAME/arg` calls the
//! class's `make_names_data(arg)`; when the class `handles_execution`, each host gets an
//! instance (`cls(state, host)`) whose `connect`, `run_shell_command`, `put_file`, `get_file`
//! and `disconnect` the engine calls. A built-in connector of the same name wins (pyinfra's
//! own entry points name rinfra's built-ins).

use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rinfra_connectors::{
    Bit, CommandOutput, ConnectError, Connector, ConnectorArguments, ConnectorError, EnvValue,
    FileSource, GetFile, HostContext, InventoryConnector, InventoryError, NameData, PutFile,
    RawCommand, Stream, StringCommand,
};
use serde_json::Value;

use crate::convert::{display_json, to_python};
use crate::error::PythonError;
use crate::sources::shim;

/// The environment's Python connectors whose names are not in `builtin`.
pub fn python_connectors(
    builtin: &[String],
) -> Result<Vec<Arc<dyn InventoryConnector>>, PythonError> {
    Python::attach(|py| {
        let found: Vec<(String, String)> = shim(py, "connector_entry_points")
            .and_then(|f| f.call0())
            .and_then(|r| r.extract())
            .map_err(|e| PythonError::from_py(py, &e))?;
        Ok(found
            .into_iter()
            .filter(|(name, _)| !builtin.contains(name))
            .map(|(name, value)| {
                Arc::new(PyInventoryConnector {
                    description: format!("Python connector {value}"),
                    name,
                    value,
                    class: OnceLock::new(),
                }) as Arc<dyn InventoryConnector>
            })
            .collect())
    })
}

/// A `pyinfra.connectors` entry point.
struct PyInventoryConnector {
    name: String,
    value: String,
    description: String,
    /// The class, imported on first use (or why it could not be).
    class: OnceLock<Result<Arc<Py<PyAny>>, String>>,
}

impl PyInventoryConnector {
    fn class(&self) -> Result<Arc<Py<PyAny>>, String> {
        self.class
            .get_or_init(|| {
                Python::attach(|py| {
                    shim(py, "load_connector")
                        .and_then(|f| f.call1((&self.value,)))
                        .map(|c| Arc::new(c.unbind()))
                        .map_err(|e| {
                            format!(
                                "cannot load connector @{} ({}): {}",
                                self.name,
                                self.value,
                                PythonError::from_py(py, &e)
                            )
                        })
                })
            })
            .clone()
    }
}

impl InventoryConnector for PyInventoryConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn handles_execution(&self) -> bool {
        let Ok(class) = self.class() else {
            return false;
        };
        Python::attach(|py| {
            class
                .bind(py)
                .getattr("handles_execution")
                .and_then(|v| v.is_truthy())
                .unwrap_or(false)
        })
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let class = self.class().map_err(InventoryError::Other)?;
        Python::attach(|py| {
            let run = || -> PyResult<Vec<NameData>> {
                let rows = shim(py, "connector_names_data")?.call1((class.bind(py), arg))?;
                let mut out = Vec::new();
                for row in rows.cast::<PyList>()?.iter() {
                    let (name, data, groups): (String, Bound<'_, PyDict>, Vec<String>) =
                        row.extract()?;
                    let mut d = rinfra_connectors::HostData::new();
                    for (k, v) in data.iter() {
                        // Values that are not data (a tool's own objects) are kept as text.
                        d.insert(k.str()?.to_string(), display_json(&v));
                    }
                    out.push(NameData {
                        name,
                        data: d,
                        groups,
                    });
                }
                Ok(out)
            };
            run().map_err(|e| {
                InventoryError::Other(format!(
                    "@{}: make_names_data failed: {}",
                    self.name,
                    PythonError::from_py(py, &e)
                ))
            })
        })
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let class = self.class().map_err(ConnectError::new)?;
        Ok(Arc::new(PyConnector {
            name: self.name.clone(),
            class,
            host,
            instance: Mutex::new(None),
        }))
    }
}

/// One host's instance of a Python connector.
struct PyConnector {
    name: String,
    class: Arc<Py<PyAny>>,
    host: HostContext,
    instance: Mutex<Option<Arc<Py<PyAny>>>>,
}

/// `ConnectorArguments` as pyinfra's keyword arguments (`_sudo=True`, ...).
fn arguments_dict<'py>(py: Python<'py>, a: &ConnectorArguments) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let opt = |d: &Bound<'py, PyDict>, k: &str, v: &Option<String>| -> PyResult<()> {
        if let Some(v) = v {
            d.set_item(k, v)?;
        }
        Ok(())
    };
    for (k, v) in [
        ("_sudo", a.sudo),
        ("_use_sudo_login", a.use_sudo_login),
        ("_preserve_sudo_env", a.preserve_sudo_env),
        ("_use_su_login", a.use_su_login),
        ("_preserve_su_env", a.preserve_su_env),
        ("_doas", a.doas),
        ("_dzdo", a.dzdo),
        ("_get_pty", a.get_pty),
    ] {
        if v {
            d.set_item(k, v)?;
        }
    }
    opt(&d, "_sudo_user", &a.sudo_user)?;
    opt(&d, "_su_user", &a.su_user)?;
    opt(&d, "_su_shell", &a.su_shell)?;
    opt(&d, "_doas_user", &a.doas_user)?;
    opt(&d, "_dzdo_user", &a.dzdo_user)?;
    opt(&d, "_shell_executable", &a.shell_executable)?;
    opt(&d, "_chdir", &a.chdir)?;
    opt(&d, "_temp_dir", &a.temp_dir)?;
    if let Some(p) = &a.sudo_password {
        d.set_item("_sudo_password", p.expose())?;
    }
    if let Some(p) = &a.su_password {
        d.set_item("_su_password", p.expose())?;
    }
    if !a.env.is_empty() {
        let env = PyDict::new(py);
        for (k, v) in &a.env {
            let v = match v {
                EnvValue::Plain(s) => s.as_str(),
                EnvValue::Hidden(s) => s.expose(),
            };
            env.set_item(k, v)?;
        }
        d.set_item("_env", env)?;
    }
    if let Some(codes) = &a.success_exit_codes {
        d.set_item("_success_exit_codes", codes.clone())?;
    }
    if let Some(t) = a.timeout {
        d.set_item("_timeout", t.as_secs_f64())?;
    }
    if let Some(stdin) = &a.stdin {
        d.set_item("_stdin", stdin.clone())?;
    }
    Ok(d)
}

/// rinfra's command as pyinfra's `StringCommand` (quoted parts `QuoteString`, secrets
/// `MaskString`).
pub(crate) fn to_py_command<'py>(
    py: Python<'py>,
    command: &StringCommand,
) -> PyResult<Bound<'py, PyAny>> {
    let m = py.import("pyinfra.api.command")?;
    fn bit<'py>(py: Python<'py>, m: &Bound<'py, PyModule>, b: &Bit) -> PyResult<Bound<'py, PyAny>> {
        Ok(match b {
            Bit::Raw(s) => s.into_pyobject(py)?.into_any(),
            Bit::Quoted(inner) => m.getattr("QuoteString")?.call1((bit(py, m, inner)?,))?,
            Bit::Hidden(s) => m.getattr("MaskString")?.call1((s.expose(),))?,
            Bit::Command(c) => to_py_command(py, c)?,
        })
    }
    let bits = command
        .bits()
        .iter()
        .map(|b| bit(py, &m, b))
        .collect::<PyResult<Vec<_>>>()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("_separator", command.separator())?;
    m.getattr("StringCommand")?
        .call(pyo3::types::PyTuple::new(py, bits)?, Some(&kwargs))
}

impl PyConnector {
    /// Run `f` with the host's instance (made and connected on first use) on a blocking
    /// thread; a Python exception becomes the connector's message.
    async fn with_instance<R: Send + 'static>(
        &self,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> PyResult<R> + Send + 'static,
    ) -> Result<R, String> {
        let instance = self.instance.lock().expect("not poisoned").clone();
        let Some(instance) = instance else {
            return Err(format!("@{}: not connected", self.name));
        };
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || {
            Python::attach(|py| {
                f(py, instance.bind(py))
                    .map_err(|e| format!("@{name} connector: {}", PythonError::from_py(py, &e)))
            })
        })
        .await
        .map_err(|e| format!("@{}: {e}", self.name))?
    }

    async fn run(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
        arguments: Option<&ConnectorArguments>,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        let command = command.clone();
        let arguments = arguments.cloned();
        let (ok, lines) = self
            .with_instance(move |py, instance| {
                let cmd = to_py_command(py, &command)?;
                let kwargs = match &arguments {
                    Some(a) => arguments_dict(py, a)?,
                    None => PyDict::new(py),
                };
                kwargs.set_item("print_output", print_output)?;
                kwargs.set_item("print_input", print_input)?;
                let r = instance.call_method("run_shell_command", (cmd,), Some(&kwargs))?;
                let (ok, output): (bool, Bound<'_, PyAny>) = r.extract()?;
                let lines: Vec<(String, String)> = shim(py, "command_output_lines")?
                    .call1((output,))?
                    .extract()?;
                Ok((ok, lines))
            })
            .await
            .map_err(ConnectorError::Other)?;
        let mut output = CommandOutput::default();
        for (stream, line) in lines {
            let stream = if stream == "stderr" {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            output.push(stream, line);
        }
        // A Python connector says success or failure, not the exit code.
        output.exit_code = Some(if ok { 0 } else { 1 });
        Ok((ok, output))
    }
}

#[async_trait]
impl Connector for PyConnector {
    fn host(&self) -> &HostContext {
        &self.host
    }

    async fn connect(&self) -> Result<(), ConnectError> {
        let (class, name, data) = (
            Arc::clone(&self.class),
            self.host.name.clone(),
            Value::Object(self.host.data.clone()),
        );
        let connector = self.name.clone();
        let instance = tokio::task::spawn_blocking(move || {
            Python::attach(|py| -> Result<Py<PyAny>, String> {
                let make = || -> PyResult<Py<PyAny>> {
                    let data = to_python(py, &data)?;
                    let groups: Vec<String> = Vec::new();
                    let instance =
                        shim(py, "new_connector")?.call1((class.bind(py), name, data, groups))?;
                    instance.call_method0("connect")?;
                    Ok(instance.unbind())
                };
                make().map_err(|e| {
                    format!("@{connector} connector: {}", PythonError::from_py(py, &e))
                })
            })
        })
        .await
        .map_err(|e| ConnectError::new(e.to_string()))?
        .map_err(ConnectError::new)?;
        *self.instance.lock().expect("not poisoned") = Some(Arc::new(instance));
        Ok(())
    }

    async fn disconnect(&self) {
        let _ = self
            .with_instance(|_, instance| instance.call_method0("disconnect").map(|_| ()))
            .await;
    }

    async fn execute(&self, command: RawCommand<'_>) -> Result<CommandOutput, ConnectorError> {
        self.run(command.command, command.print_output, false, None)
            .await
            .map(|(_, out)| out)
    }

    async fn run_shell_command(
        &self,
        command: &StringCommand,
        print_output: bool,
        print_input: bool,
        arguments: &ConnectorArguments,
    ) -> Result<(bool, CommandOutput), ConnectorError> {
        self.run(command, print_output, print_input, Some(arguments))
            .await
    }

    async fn put_file(&self, request: PutFile<'_>) -> Result<bool, ConnectorError> {
        let PutFile {
            src,
            remote,
            remote_temp,
            print_output,
            print_input,
            arguments,
        } = request;
        let (src, remote, temp, args) = (
            src.clone(),
            remote.to_string(),
            remote_temp.map(str::to_string),
            arguments.clone(),
        );
        self.with_instance(move |py, instance| {
            let source = match &src {
                FileSource::Path(p) => p.display().to_string().into_pyobject(py)?.into_any(),
                FileSource::Bytes(b) => py
                    .import("io")?
                    .getattr("BytesIO")?
                    .call1((pyo3::types::PyBytes::new(py, b),))?,
            };
            let kwargs = arguments_dict(py, &args)?;
            kwargs.set_item("remote_temp_filename", temp)?;
            kwargs.set_item("print_output", print_output)?;
            kwargs.set_item("print_input", print_input)?;
            instance
                .call_method("put_file", (source, remote), Some(&kwargs))?
                .is_truthy()
        })
        .await
        .map_err(ConnectorError::Transfer)
    }

    async fn get_file(&self, request: GetFile<'_>) -> Result<bool, ConnectorError> {
        let GetFile {
            remote,
            dst,
            remote_temp,
            print_output,
            print_input,
            arguments,
        } = request;
        let (remote, dst, temp, args) = (
            remote.to_string(),
            dst.display().to_string(),
            remote_temp.map(str::to_string),
            arguments.clone(),
        );
        self.with_instance(move |py, instance| {
            let kwargs = arguments_dict(py, &args)?;
            kwargs.set_item("remote_temp_filename", temp)?;
            kwargs.set_item("print_output", print_output)?;
            kwargs.set_item("print_input", print_input)?;
            instance
                .call_method("get_file", (remote, dst), Some(&kwargs))?
                .is_truthy()
        })
        .await
        .map_err(ConnectorError::Transfer)
    }
}
