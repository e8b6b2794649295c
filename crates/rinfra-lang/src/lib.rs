//! rinfra's deploy language: pyinfra's inventory, group_data, config and deploy files (Python
//! syntax) evaluated with [Starlark](https://github.com/facebook/starlark-rust).
//!
//! Where it sits in a run: the CLI loads `config.py` ([`load_config_file`]) and the inventory
//! ([`InventorySpec::load`], [`load_group_data`], [`merge_host_data`]); the engine expands
//! `@connector` names; then each deploy file is evaluated once per host
//! ([`DeployEnv::evaluate`]) into that host's ordered [`rinfra_core::OpCall`]s.
//!
//! Every file first goes through a compatibility pass ([`compat_rewrite`]) that turns the
//! Python-only forms pyinfra files use (`from pyinfra... import`, `is None`, `@deploy`) into
//! Starlark with the same line numbers, and rejects the rest with `file:line:col` and a hint.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rinfra_core::{FactRegistry, OperationRegistry};
//! use rinfra_lang::{DeployEnv, HostContext, NoFacts};
//!
//! # fn run() -> Result<(), rinfra_lang::LangError> {
//! let env = DeployEnv::new(
//!     Arc::new(OperationRegistry::new()),
//!     Arc::new(FactRegistry::new()),
//!     std::env::current_dir().unwrap(),
//! );
//! let file = env.load_file("deploy.py".as_ref())?;
//! let host = HostContext { name: "web1".into(), ..Default::default() };
//! let out = env.evaluate(&file, 0, &host, &NoFacts)?;
//! for call in out.calls {
//!     println!("{} {:?} at {}", call.op, call.order, call.location);
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod compat;
mod config;
mod context;
mod convert;
mod decorators;
mod deploy;
mod error;
mod evaluating;
mod facts;
mod host;
mod inventory;
mod local;
mod operations;
pub use operations::did_you_mean;
mod os;
mod python_call;
mod simple_eval;

pub use compat::{rewrite as compat_rewrite, CompatOutput};
pub use config::{
    config_argument, config_default, config_to_global_args, eval_config_source, load_config_file,
    ConfigMap, CONFIG_ARGUMENTS, CONFIG_NAMES,
};
pub use deploy::{DeployEnv, DeployOutput, HostContext, LoadedFile};
pub use error::{ErrorKind, LangError, Location};
pub use evaluating::with_current_evaluation;
pub use facts::{FactProvider, NoFacts};
pub use inventory::{
    group_data_dirs, group_data_from_source, load_group_data, load_group_data_file,
    merge_host_data, Data, DataLayers, GroupSpec, HostEntry, InventorySpec, InventoryView,
};
