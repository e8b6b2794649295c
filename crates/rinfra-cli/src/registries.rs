//! The connectors, facts and operations this binary ships.

use rinfra_connectors::ConnectorRegistry;
use rinfra_core::{FactRegistry, OperationRegistry};

/// Every built-in connector.
pub(crate) fn connectors() -> ConnectorRegistry {
    let mut registry = ConnectorRegistry::with_builtins();
    registry.register(std::sync::Arc::new(rinfra_ssh::SshInventory::default()));
    rinfra_ssh::DockerSshInventory::register_both(&mut registry);
    registry
}

/// Every built-in fact and operation.
pub(crate) fn facts_and_ops() -> (FactRegistry, OperationRegistry) {
    let mut facts = FactRegistry::new();
    let mut ops = OperationRegistry::new();
    rinfra_ops::register_all(&mut facts, &mut ops);
    (facts, ops)
}
