//! rinfra's `pyinfra` package, embedded in the binary (the `python/` folder of this crate).

/// Filenames of embedded modules start with this (tracebacks show it; frames under it are
/// rinfra's, not the user's, when locating errors and ordering operations).
pub(crate) const PREFIX: &str = "<rinfra>";

/// The module the Rust side calls into (`python/pyinfra/_rinfra_shim.py`).
pub(crate) const SHIM: &str = "pyinfra._rinfra_shim";

/// The shim's function (or other attribute) `name`.
pub(crate) fn shim<'py>(
    py: pyo3::Python<'py>,
    name: &str,
) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
    use pyo3::types::PyAnyMethods;
    py.import(SHIM)?.getattr(name)
}

/// The import-hook module, run once at start.
pub(crate) const BOOT: &str = include_str!("../python/_rinfra_boot.py");

/// `(module name, source, is a package)`.
pub(crate) const MODULES: &[(&str, &str, bool)] = &[
    (
        "pyinfra",
        include_str!("../python/pyinfra/__init__.py"),
        true,
    ),
    (
        "pyinfra._rinfra_shim",
        include_str!("../python/pyinfra/_rinfra_shim.py"),
        false,
    ),
    (
        "pyinfra.api",
        include_str!("../python/pyinfra/api/__init__.py"),
        true,
    ),
    (
        "pyinfra.api.arguments",
        include_str!("../python/pyinfra/api/arguments.py"),
        false,
    ),
    (
        "pyinfra.api.command",
        include_str!("../python/pyinfra/api/command.py"),
        false,
    ),
    (
        "pyinfra.api.config",
        include_str!("../python/pyinfra/api/config.py"),
        false,
    ),
    (
        "pyinfra.api.deploy",
        include_str!("../python/pyinfra/api/deploy.py"),
        false,
    ),
    (
        "pyinfra.api.exceptions",
        include_str!("../python/pyinfra/api/exceptions.py"),
        false,
    ),
    (
        "pyinfra.api.facts",
        include_str!("../python/pyinfra/api/facts.py"),
        false,
    ),
    (
        "pyinfra.api.host",
        include_str!("../python/pyinfra/api/host.py"),
        false,
    ),
    (
        "pyinfra.api.inventory",
        include_str!("../python/pyinfra/api/inventory.py"),
        false,
    ),
    (
        "pyinfra.api.operation",
        include_str!("../python/pyinfra/api/operation.py"),
        false,
    ),
    (
        "pyinfra.api.state",
        include_str!("../python/pyinfra/api/state.py"),
        false,
    ),
    (
        "pyinfra.api.util",
        include_str!("../python/pyinfra/api/util.py"),
        false,
    ),
    (
        "pyinfra.connectors",
        include_str!("../python/pyinfra/connectors/__init__.py"),
        true,
    ),
    (
        "pyinfra.connectors.base",
        include_str!("../python/pyinfra/connectors/base.py"),
        false,
    ),
    (
        "pyinfra.connectors.util",
        include_str!("../python/pyinfra/connectors/util.py"),
        false,
    ),
    (
        "pyinfra.context",
        include_str!("../python/pyinfra/context.py"),
        false,
    ),
    (
        "pyinfra.facts",
        include_str!("../python/pyinfra/facts/__init__.py"),
        true,
    ),
    (
        "pyinfra.local",
        include_str!("../python/pyinfra/local.py"),
        false,
    ),
    (
        "pyinfra.operations",
        include_str!("../python/pyinfra/operations/__init__.py"),
        true,
    ),
    (
        "pyinfra.operations.python",
        include_str!("../python/pyinfra/operations/python.py"),
        false,
    ),
    (
        "pyinfra.operations.util",
        include_str!("../python/pyinfra/operations/util/__init__.py"),
        true,
    ),
    (
        "pyinfra.operations.util.files",
        include_str!("../python/pyinfra/operations/util/files.py"),
        false,
    ),
    (
        "pyinfra.progress",
        include_str!("../python/pyinfra/progress.py"),
        false,
    ),
    (
        "pyinfra.version",
        include_str!("../python/pyinfra/version.py"),
        false,
    ),
];
