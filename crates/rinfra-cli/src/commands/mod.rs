//! One module per CLI form.

pub(crate) mod debug_inventory;
pub(crate) mod deploy;
pub(crate) mod exec;
pub(crate) mod fact;
pub(crate) mod op;
pub(crate) mod prepare;
pub(crate) mod run;
