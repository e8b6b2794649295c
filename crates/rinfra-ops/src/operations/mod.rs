//! Operations, one module per pyinfra operation module.

use rinfra_core::OperationRegistry;

/// Register every operation of this crate.
pub fn register_operations(_registry: &mut OperationRegistry) {}
