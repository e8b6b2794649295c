//! Starting the embedded CPython in the user's Python environment, once per process.
//!
//! Which environment: the virtualenv rinfra is installed in (`pip install .` puts the binary
//! in `<venv>/bin`), else the active one (`VIRTUAL_ENV`), else `python3` on PATH when it is an
//! installation of the same Python version; else the Python rinfra was built against. The
//! interpreter starts as that environment's `python` would (`sys.prefix`, `site-packages`), so
//! deploy code imports what is installed there.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rinfra_core::{FactRegistry, OperationRegistry};

use crate::error::PythonError;

/// What native functions need from the run (registries), set once.
pub(crate) struct Shared {
    pub(crate) ops: Arc<OperationRegistry>,
    pub(crate) facts: Arc<FactRegistry>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

/// The registries the interpreter was started with.
pub(crate) fn shared() -> &'static Shared {
    SHARED
        .get()
        .expect("the Python front end is started before deploy code runs")
}

/// Start Python (once; later calls return the first outcome).
pub fn start(ops: Arc<OperationRegistry>, facts: Arc<FactRegistry>) -> Result<(), PythonError> {
    let _ = SHARED.set(Shared { ops, facts });
    STARTED
        .get_or_init(|| unsafe { init() })
        .clone()
        .map_err(|message| PythonError::Start {
            message,
            hint: Some(
                "rinfra runs deploy code with the Python it was built against; activate a \
                 virtualenv of that version (or unset VIRTUAL_ENV)"
                    .into(),
            ),
        })
}

/// The `python` executable of the environment to run in, if one is found.
fn environment_python() -> Option<PathBuf> {
    let own_venv = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .filter(|venv| venv.join("pyvenv.cfg").is_file());
    let active = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
    if let Some(venv) = own_venv.or(active) {
        let python = venv.join("bin").join("python");
        return python.exists().then_some(python);
    }
    // python3 on PATH, when it is a real installation (pyenv's shim is a script) of the
    // version rinfra links.
    let path = std::env::var_os("PATH")?;
    let python3 = std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())?;
    let real = std::fs::canonicalize(&python3).ok()?;
    let prefix = real.parent()?.parent()?;
    let version = linked_version();
    prefix
        .join("lib")
        .join(format!("python{version}"))
        .join("os.py")
        .is_file()
        .then_some(python3)
}

/// `3.11`: the Python version rinfra is linked against.
fn linked_version() -> String {
    let v = unsafe { std::ffi::CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    let v = v.to_string_lossy();
    let mut parts = v.split(['.', ' ']);
    format!(
        "{}.{}",
        parts.next().unwrap_or("3"),
        parts.next().unwrap_or("0")
    )
}

/// The version a virtualenv was made with (`version = 3.11.7` in pyvenv.cfg).
fn venv_version(python: &Path) -> Option<String> {
    let cfg = std::fs::read_to_string(python.parent()?.parent()?.join("pyvenv.cfg")).ok()?;
    cfg.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        let k = k.trim();
        (k == "version" || k == "version_info").then(|| {
            let mut it = v.trim().split('.');
            format!("{}.{}", it.next().unwrap_or(""), it.next().unwrap_or(""))
        })
    })
}

unsafe fn init() -> Result<(), String> {
    use pyo3::ffi;
    pyo3::append_to_inittab!(rinfra_native);
    let python = environment_python();
    if let Some(p) = &python {
        if let Some(v) = venv_version(p) {
            let linked = linked_version();
            if v != linked {
                return Err(format!(
                    "the virtualenv at {} is Python {v}, rinfra is built for Python {linked}",
                    p.parent().and_then(Path::parent).unwrap_or(p).display()
                ));
            }
        }
    }
    let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
    ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
    let mut config = config.assume_init();
    // Ctrl-C stays rinfra's (tokio's handler), not Python's KeyboardInterrupt.
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    if let Some(p) = &python {
        let c = CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        let status = ffi::PyConfig_SetBytesString(&mut config, &mut config.executable, c.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(&mut config);
            return Err("cannot set the Python executable".into());
        }
    }
    let status = ffi::Py_InitializeFromConfig(&config);
    ffi::PyConfig_Clear(&mut config);
    if ffi::PyStatus_Exception(status) != 0 {
        let msg = if status.err_msg.is_null() {
            "initialisation failed".to_string()
        } else {
            std::ffi::CStr::from_ptr(status.err_msg)
                .to_string_lossy()
                .into_owned()
        };
        return Err(msg);
    }
    // The main thread holds the GIL after initialising; release it, as PyO3 expects.
    ffi::PyEval_SaveThread();
    Python::attach(|py| install_modules(py).map_err(|e| PythonError::from_py(py, &e).to_string()))
}

/// Send what deploy code prints (`print(...)`) to stderr: with `--json`, stdout is the JSON
/// document alone.
pub fn print_to_stderr() -> Result<(), PythonError> {
    Python::attach(|py| {
        let sys = py.import("sys")?;
        sys.setattr("stdout", sys.getattr("stderr")?)
    })
    .map_err(|e| Python::attach(|py| PythonError::from_py(py, &e)))
}

/// Put `dir` first on `sys.path` (once), so the deploy's own modules import (`tasks.py`).
pub(crate) fn add_to_sys_path(py: Python<'_>, dir: &Path) -> PyResult<()> {
    let sys_path = py.import("sys")?.getattr("path")?;
    let dir = dir.display().to_string();
    if !sys_path.contains(&dir)? {
        sys_path.call_method1("insert", (0, &dir))?;
    }
    Ok(())
}

/// Run the import hook that serves rinfra's `pyinfra` package.
fn install_modules(py: Python<'_>) -> PyResult<()> {
    let sources = PyDict::new(py);
    for (name, source, is_pkg) in crate::sources::MODULES {
        sources.set_item(name, (source, is_pkg))?;
    }
    let boot = PyModule::from_code(
        py,
        &CString::new(crate::sources::BOOT)?,
        &CString::new(format!("{}/_rinfra_boot.py", crate::sources::PREFIX))?,
        c"_rinfra_boot",
    )?;
    boot.getattr("install")?.call1((sources,))?;
    Ok(())
}

#[pymodule]
#[pyo3(name = "_rinfra")]
fn rinfra_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crate::native::register(m)
}
