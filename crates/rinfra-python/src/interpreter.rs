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

/// The environment to run in.
enum Environment {
    /// Start as this `python` would (a virtualenv of the linked installation, or that
    /// installation's own `python3`).
    Executable(PathBuf),
    /// A virtualenv of another installation of the same version: start as the linked
    /// installation, then add this `site-packages` (its standard library would not match the
    /// linked libpython: Debian builds `math` into libpython, pyenv as a module).
    SitePackages(PathBuf),
    /// The linked installation as it is.
    Linked,
}

/// Which environment: see the module docs.
fn environment() -> Result<Environment, String> {
    let linked = linked_prefix();
    let same_installation = |prefix: &Path| {
        linked
            .as_deref()
            .is_some_and(|l| canonical(prefix) == canonical(l))
    };
    let own_venv = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .filter(|venv| venv.join("pyvenv.cfg").is_file());
    let active = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
    if let Some(venv) = own_venv.or(active) {
        if let Some(v) = venv_version(&venv) {
            let linked = linked_version();
            if v != linked {
                return Err(format!(
                    "the virtualenv at {} is Python {v}, rinfra is built for Python {linked}",
                    venv.display()
                ));
            }
        }
        let python = venv.join("bin").join("python");
        // pyvenv.cfg's `home` is the bin directory of the installation that made the venv.
        let home = venv_setting(&venv, "home").map(PathBuf::from);
        return Ok(match home.as_deref().and_then(Path::parent) {
            Some(prefix) if same_installation(prefix) && python.exists() => {
                Environment::Executable(python)
            }
            _ => match site_packages(&venv) {
                Some(sp) => Environment::SitePackages(sp),
                None => Environment::Linked,
            },
        });
    }
    // python3 on PATH, when it is the linked installation (pyenv's shim is a script; another
    // installation of the same version would bring its own standard library).
    let Some(path) = std::env::var_os("PATH") else {
        return Ok(Environment::Linked);
    };
    let python3 = std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file());
    Ok(match python3 {
        Some(p)
            if canonical(&p)
                .parent()
                .and_then(Path::parent)
                .is_some_and(same_installation) =>
        {
            Environment::Executable(p)
        }
        _ => Environment::Linked,
    })
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The installation prefix of the libpython this process runs: found from where the loader
/// put the library (`<prefix>/lib/libpython3.11.so.1.0`, or Debian's
/// `/usr/lib/x86_64-linux-gnu/...`), as the directory above it with `lib/python3.X/os.py`.
fn linked_prefix() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let symbol = pyo3::ffi::Py_GetVersion as *const libc::c_void;
    if unsafe { libc::dladdr(symbol, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    let lib = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let lib = canonical(Path::new(&*lib.to_string_lossy()));
    let stdlib = format!("lib/python{}/os.py", linked_version());
    lib.ancestors()
        .skip(1)
        .take(4)
        .find(|dir| dir.join(&stdlib).is_file())
        .map(Path::to_path_buf)
}

/// `<venv>/lib/python3.X/site-packages`, if there.
fn site_packages(venv: &Path) -> Option<PathBuf> {
    let sp = venv
        .join("lib")
        .join(format!("python{}", linked_version()))
        .join("site-packages");
    sp.is_dir().then_some(sp)
}

/// A setting of a virtualenv's pyvenv.cfg.
fn venv_setting(venv: &Path, key: &str) -> Option<String> {
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    cfg.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
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

/// The `major.minor` a virtualenv was made with (`version = 3.11.7` in pyvenv.cfg).
fn venv_version(venv: &Path) -> Option<String> {
    let v = venv_setting(venv, "version").or_else(|| venv_setting(venv, "version_info"))?;
    let mut it = v.split('.');
    Some(format!("{}.{}", it.next()?, it.next()?))
}

unsafe fn init() -> Result<(), String> {
    use pyo3::ffi;
    pyo3::append_to_inittab!(rinfra_native);
    let environment = environment()?;
    let python = match &environment {
        Environment::Executable(p) => Some(p.clone()),
        _ => None,
    };
    let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
    ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
    let mut config = config.assume_init();
    // Ctrl-C stays rinfra's (tokio's handler), not Python's KeyboardInterrupt.
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    // What deploy code prints appears at once, between rinfra's own lines (and is not lost:
    // the process ends without finalising Python, which would flush a buffer).
    config.buffered_stdio = 0;
    // Start as the environment's `python`; otherwise from the linked installation's own
    // prefix (`home`): left to itself, Python would look for `python3` on PATH and could pair
    // another installation's standard library with this libpython.
    let (field, value): (*mut *mut libc::wchar_t, _) = match (&python, linked_prefix()) {
        (Some(p), _) => (&mut config.executable, Some(p.clone())),
        (None, prefix) => (&mut config.home, prefix),
    };
    if let Some(value) = value {
        let c = CString::new(value.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        let status = ffi::PyConfig_SetBytesString(&mut config, field, c.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(&mut config);
            return Err("cannot set where Python starts from".into());
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
    Python::attach(|py| {
        if let Environment::SitePackages(sp) = &environment {
            add_site_packages(py, sp)?;
        }
        install_modules(py)
    })
    .map_err(|e| Python::attach(|py| PythonError::from_py(py, &e).to_string()))
}

/// What `--support` reports about the embedded Python (after [`start`]).
pub fn support_info() -> Result<SupportInfo, PythonError> {
    Python::attach(|py| -> PyResult<SupportInfo> {
        let platform = py.import("platform")?;
        let call = |name: &str| -> PyResult<String> { platform.call_method0(name)?.extract() };
        Ok(SupportInfo {
            python: format!(
                "{} ({}, {})",
                call("python_version")?,
                call("python_implementation")?,
                call("python_compiler")?
            ),
            platform: call("platform")?,
            pyinfra_api: py.import("pyinfra")?.getattr("__version__")?.extract()?,
        })
    })
    .map_err(|e| Python::attach(|py| PythonError::from_py(py, &e)))
}

/// What `--support` reports about the embedded Python, as pyinfra's `--support` does.
#[derive(Clone, Debug)]
pub struct SupportInfo {
    /// `3.11.7 (CPython, GCC 12.2.0)`.
    pub python: String,
    /// Python's `platform.platform()`: `Linux-6.1.0-x86_64-with-glibc2.36`.
    pub platform: String,
    /// The version of pyinfra's API rinfra implements (`pyinfra.__version__`).
    pub pyinfra_api: String,
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

/// A virtualenv's packages (and its `.pth` files), ahead of the installation's own.
fn add_site_packages(py: Python<'_>, sp: &Path) -> PyResult<()> {
    let sys_path = py
        .import("sys")?
        .getattr("path")?
        .cast_into::<pyo3::types::PyList>()?;
    let before = sys_path.len();
    py.import("site")?
        .call_method1("addsitedir", (sp.display().to_string(),))?;
    // addsitedir appends; the venv's packages should win over the installation's.
    let added = sys_path.get_slice(before, sys_path.len());
    sys_path.del_slice(before, sys_path.len())?;
    for (i, p) in added.iter().enumerate() {
        sys_path.insert(i, p)?;
    }
    Ok(())
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
