//! rinfra's deploy language: pyinfra's inventory, group_data, config and deploy files (Python
//! syntax) evaluated with Starlark.
mod compat;
mod error;

pub use compat::{rewrite as compat_rewrite, CompatOutput};
pub use error::{ErrorKind, LangError, Location};
