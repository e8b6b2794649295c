//! The connectors, facts and operations this binary ships.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rinfra_connectors::{ConnectorRegistry, InventoryConnector};

use crate::error::CliError;
use rinfra_core::{FactRegistry, OperationRegistry};

/// Every built-in connector, plus the exec-template connectors of `templates` (a
/// `rinfra.toml`). External `rinfra-connector-NAME` executables are found on PATH on demand.
pub(crate) fn connectors(templates: Option<&Path>) -> Result<ConnectorRegistry, CliError> {
    let mut registry = ConnectorRegistry::with_builtins();
    registry.register(Arc::new(rinfra_ssh::SshInventory::default()));
    rinfra_ssh::DockerSshInventory::register_both(&mut registry);
    if let Some(path) = templates {
        let loaded = rinfra_connectors::load_exec_templates(path).map_err(|e| {
            CliError::usage(format!(
                "cannot load the connector templates `{}`",
                path.display()
            ))
            .caused_by(e)
        })?;
        for t in loaded {
            if registry.get(t.name()).is_some() {
                return Err(CliError::usage(format!(
                    "{}: connector `{}` is built in; give the template another name",
                    path.display(),
                    t.name()
                )));
            }
            registry.register(Arc::new(t));
        }
    }
    Ok(registry)
}

/// The exec-template file: `--config x.toml`, else `rinfra.toml` next to the first deploy file,
/// else in the working directory.
pub(crate) fn templates_file(config: Option<&str>, deploy: Option<&str>) -> Option<PathBuf> {
    if let Some(c) = config.filter(|c| c.ends_with(".toml")) {
        return Some(PathBuf::from(c));
    }
    let beside = deploy
        .and_then(|d| Path::new(d).parent())
        .map(|d| d.join("rinfra.toml"));
    beside
        .into_iter()
        .chain(std::iter::once(PathBuf::from("rinfra.toml")))
        .find(|p| p.is_file())
}

/// Every built-in fact and operation.
pub(crate) fn facts_and_ops() -> (FactRegistry, OperationRegistry) {
    let mut facts = FactRegistry::new();
    let mut ops = OperationRegistry::new();
    rinfra_ops::register_all(&mut facts, &mut ops);
    (facts, ops)
}
