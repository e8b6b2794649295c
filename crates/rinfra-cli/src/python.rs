//! The Python front end as the CLI uses it: started once, when a `.py` file is involved, and
//! its errors as CLI errors.

use std::path::Path;
use std::sync::Arc;

use rinfra_core::{FactRegistry, OperationRegistry};

use crate::error::CliError;

/// `-v` count, for how much of a Python error to show.
static VERBOSE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Start the embedded Python with the binary's operations and facts.
pub(crate) fn start(
    ops: &OperationRegistry,
    facts: &FactRegistry,
    verbose: u8,
    json: bool,
) -> Result<(), CliError> {
    rinfra_python::set_verbosity(verbose);
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
    rinfra_python::start(Arc::new(ops.clone()), Arc::new(facts.clone())).map_err(python_error)?;
    if json {
        rinfra_python::print_to_stderr().map_err(python_error)?;
    }
    Ok(())
}

/// A Python error on its own (the interpreter could not start): its message, its hints and,
/// with `-v`, the traceback; exit 2.
pub(crate) fn python_error(e: rinfra_python::PythonError) -> CliError {
    let err = hinted(CliError::usage(e.to_string()), &e);
    with_traceback(err, &e)
}

/// A Python error as the cause of `context` (`cannot load the config file ...`), located
/// (`config.py:3: NameError: ...`), with its hints and, with `-v`, the traceback; exit 2.
pub(crate) fn python_cause(
    context: impl Into<String>,
) -> impl FnOnce(rinfra_python::PythonError) -> CliError {
    let context = context.into();
    move |e| {
        let err = with_traceback(CliError::usage(context), &e);
        err.caused_by_hinted(e)
    }
}

fn hinted(err: CliError, e: &rinfra_python::PythonError) -> CliError {
    use rinfra_connectors::Hint;
    e.hints().into_iter().fold(err, CliError::with_hint)
}

fn with_traceback(err: CliError, e: &rinfra_python::PythonError) -> CliError {
    if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) >= 1 && !e.traceback().is_empty() {
        err.with_details(e.traceback().trim_end())
    } else {
        err
    }
}

/// Every group_data file of `dirs` (`*.py`, in name order; later directories override
/// earlier ones): the group named after the file gets the file's top-level names.
pub(crate) fn load_group_data(
    dirs: &[std::path::PathBuf],
) -> Result<indexmap::IndexMap<String, rinfra_python::Data>, CliError> {
    let mut out: indexmap::IndexMap<String, rinfra_python::Data> = Default::default();
    for dir in dirs {
        let files: Vec<std::path::PathBuf> = if dir.is_file() {
            vec![dir.clone()]
        } else {
            match std::fs::read_dir(dir) {
                Ok(rd) => {
                    let mut v: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    v.sort();
                    v
                }
                Err(_) => continue,
            }
        };
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "py"))
        {
            let Some(group) = file.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let data = rinfra_python::load_group_data_file(file).map_err(python_cause(format!(
                "cannot load the group data file `{}`",
                file.display()
            )))?;
            out.entry(group.to_string()).or_default().extend(data);
        }
    }
    Ok(out)
}

/// Whether `path` is a Python file to run.
pub(crate) fn is_python_file(path: &str) -> bool {
    Path::new(path).extension().is_some_and(|e| e == "py")
}

/// Register the environment's Python connectors (`pyinfra.connectors` entry points) whose
/// names no built-in connector has: a built-in of the same name wins.
pub(crate) fn add_connectors(
    registry: &mut rinfra_connectors::ConnectorRegistry,
) -> Result<(), CliError> {
    // Once per run, whoever asks first.
    static ADDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ADDED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let builtin: Vec<String> = registry.iter().map(|c| c.name().to_string()).collect();
    for c in rinfra_python::python_connectors(&builtin)
        .map_err(python_cause("cannot load the Python connectors"))?
    {
        registry.register(c);
    }
    Ok(())
}

/// Whether a host list names an `@connector` the registry does not have (it may be a Python
/// connector).
pub(crate) fn names_unknown_connector(
    registry: &rinfra_connectors::ConnectorRegistry,
    inventory: &str,
) -> bool {
    inventory.split(',').any(|n| {
        n.trim()
            .strip_prefix('@')
            .map(|rest| rest.split('/').next().unwrap_or(""))
            .is_some_and(|name| registry.get(name).is_none())
    })
}

/// Whether an inventory argument may name a Python function or attribute (`inventories:web`,
/// `inventories.web`): not a file, not a host list, not a connector (pyinfra's test).
pub(crate) fn may_be_inventory_function(arg: &str) -> bool {
    !arg.is_empty()
        && !Path::new(arg).exists()
        && !arg.contains(',')
        && !arg.contains('@')
        && (arg.contains(':') || arg.contains('.'))
}
