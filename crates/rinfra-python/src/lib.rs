//! rinfra's front end: deploy, inventory, group_data and config files run as real Python
//! (CPython embedded with PyO3), with pyinfra's Python API implemented over rinfra's engine.
//!
//! Python is the front end; everything under `pyinfra.api` is Rust. Deploy code imports
//! rinfra's `pyinfra` package (embedded in the binary, ahead of any installed pyinfra); its
//! `pyinfra.operations.<module>` and `pyinfra.facts.<module>` are generated from the Rust
//! registries. Calling an operation records an [`rinfra_core::OpCall`] for the current host;
//! `host.get_fact(...)` blocks only that host's evaluation while the Rust fact engine loads
//! it. `_if` functions, `_retry_until` and `@operation` generators stay live Python objects
//! the engine calls at prepare and execute time.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn run(facts: Arc<dyn rinfra_python::FactSource>) -> Result<(), rinfra_python::PythonError> {
//! use rinfra_core::{FactRegistry, OperationRegistry};
//! rinfra_python::start(Arc::new(OperationRegistry::new()), Arc::new(FactRegistry::new()))?;
//! let deploy = rinfra_python::Deploy::load(&["deploy.py".into()])?;
//! let host = rinfra_python::InventoryHost {
//!     name: "web1".into(),
//!     groups: vec![],
//!     data: Default::default(),
//! };
//! rinfra_python::Deploy::setup(&[host], &[], ".".as_ref(), &Default::default())?;
//! let calls = deploy.evaluate(0, &Default::default(), facts)?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod callables;
mod config;
mod connectors;
mod convert;
mod data_files;
mod deploy;
mod error;
mod interpreter;
mod inventory;
mod native;
mod scope;
mod sources;
mod suggest;

use std::sync::atomic::AtomicU8;

pub use config::{
    config_argument, config_arguments, config_default, config_to_global_args, ConfigMap,
    CONFIG_NAMES,
};
pub use connectors::python_connectors;
pub use data_files::{
    load_config_file, load_group_data_file, load_inventory_file, load_inventory_function,
};
pub use deploy::{Deploy, InventoryHost};
pub use error::PythonError;
pub use interpreter::{print_to_stderr, start, support_info, SupportInfo};
pub use inventory::{
    group_data_dirs, merge_host_data, Data, DataLayers, GroupSpec, HostEntry, InventorySpec,
    InventoryView,
};
pub use scope::FactSource;
pub use suggest::{did_you_mean, did_you_mean_name};

/// How verbose output is (`-v` count): the `pyinfra` logger's debug records show at 3.
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// Set how verbose output is (`-v` count).
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, std::sync::atomic::Ordering::Relaxed);
}
