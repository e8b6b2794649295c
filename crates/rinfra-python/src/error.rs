//! Errors of deploy code, located where they were raised.

use pyo3::prelude::*;
use pyo3::types::PyTracebackMethods;

/// What went wrong running Python for rinfra.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// The embedded interpreter could not start (no usable Python environment).
    #[error("cannot start Python: {message}")]
    Start {
        /// What failed.
        message: String,
        /// What to change.
        hint: Option<String>,
    },
    /// An exception in deploy, inventory, group_data or config code (a syntax error, a failed
    /// import, anything raised).
    #[error("{}{kind}: {message}", location.as_deref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Raised {
        /// `file:line` of the innermost frame in the user's code (not rinfra's modules).
        location: Option<String>,
        /// The exception's type, `NameError`.
        kind: String,
        /// Its message.
        message: String,
        /// The whole traceback, for `-v`.
        traceback: String,
        /// What to change: the exception's notes that start with [`HINT_NOTE`] (rinfra adds
        /// them to the errors it raises in deploy code, so a suggestion shows in a Python
        /// traceback too without being part of the message).
        hints: Vec<String>,
    },
}

/// The start of an exception note (PEP 678's `add_note`) that is a hint: rinfra's own
/// suggestions, such as `hint: did you mean `shell`?`.
pub(crate) const HINT_NOTE: &str = "hint: ";

/// `err` with `hint` as a note (see [`HINT_NOTE`]), when there is one.
pub(crate) fn with_hint(py: Python<'_>, err: PyErr, hint: Option<String>) -> PyErr {
    if let Some(h) = hint {
        // A failing add_note only loses the hint, never the error.
        let _ = err
            .value(py)
            .call_method1("add_note", (format!("{HINT_NOTE}{h}"),));
    }
    err
}

impl PythonError {
    /// Whether this is a fact that could not be loaded (`FactError` from `host.get_fact`): it
    /// fails that host only, as in pyinfra, rather than the run.
    pub fn is_fact_error(&self) -> bool {
        matches!(self, PythonError::Raised { kind, .. } if kind == "FactError")
    }

    /// The traceback (empty for start errors).
    pub fn traceback(&self) -> &str {
        match self {
            PythonError::Raised { traceback, .. } => traceback,
            PythonError::Start { .. } => "",
        }
    }

    /// From a Python exception.
    pub(crate) fn from_py(py: Python<'_>, err: &PyErr) -> Self {
        let value = err.value(py);
        let kind = err
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        let mut message = value.str().map(|s| s.to_string()).unwrap_or_default();
        let mut location = None;
        // A SyntaxError's location is its own (filename, lineno), not a frame's.
        if let (Ok(file), Ok(line)) = (
            value
                .getattr("filename")
                .and_then(|f| f.extract::<String>()),
            value.getattr("lineno").and_then(|l| l.extract::<usize>()),
        ) {
            if kind.ends_with("Error") && value.hasattr("offset").unwrap_or(false) {
                let column = value
                    .getattr("offset")
                    .and_then(|o| o.extract::<usize>())
                    .map(|c| format!(":{c}"))
                    .unwrap_or_default();
                location = Some(format!("{}:{line}{column}", display_path(&file)));
                if let Ok(msg) = value.getattr("msg").and_then(|m| m.extract::<String>()) {
                    message = msg;
                }
            }
        }
        let mut traceback = String::new();
        if let Some(tb) = err.traceback(py) {
            traceback = tb.format().unwrap_or_default();
            if location.is_none() {
                location = innermost_user_frame(&tb);
            }
        }
        let hints = value
            .getattr("__notes__")
            .and_then(|n| n.extract::<Vec<String>>())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| n.strip_prefix(HINT_NOTE).map(str::to_string))
            .collect();
        PythonError::Raised {
            location,
            kind,
            message,
            traceback,
            hints,
        }
    }
}

impl rinfra_connectors::Hint for PythonError {
    fn hints(&self) -> Vec<String> {
        match self {
            PythonError::Start { hint, .. } => hint.iter().cloned().collect(),
            PythonError::Raised {
                kind,
                message,
                hints,
                ..
            } => {
                let mut out = hints.clone();
                if kind == "ModuleNotFoundError" && !message.contains("pyinfra") {
                    out.push(
                        "install the package into the Python environment rinfra runs in (the \
                         active virtualenv, or the one rinfra is installed in)"
                            .into(),
                    );
                }
                out
            }
        }
    }
}

/// `file:line` of the innermost traceback entry outside rinfra's own modules.
fn innermost_user_frame(tb: &Bound<'_, pyo3::types::PyTraceback>) -> Option<String> {
    let mut found = None;
    let mut current = Some(tb.clone().into_any());
    while let Some(entry) = current {
        if entry.is_none() {
            break;
        }
        let frame = entry.getattr("tb_frame").ok()?;
        let file: String = frame
            .getattr("f_code")
            .and_then(|c| c.getattr("co_filename"))
            .and_then(|f| f.extract())
            .ok()?;
        let line: usize = entry.getattr("tb_lineno").and_then(|l| l.extract()).ok()?;
        if !file.starts_with(crate::sources::PREFIX) && !file.starts_with('<') {
            found = Some(format!("{}:{line}", display_path(&file)));
        }
        current = entry.getattr("tb_next").ok();
    }
    found
}

/// A path as users see it in messages: relative to the working directory when under it.
pub(crate) fn display_path(path: &str) -> String {
    let p = std::path::Path::new(path);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(|r| r.display().to_string()))
        .unwrap_or_else(|| path.to_string())
}
