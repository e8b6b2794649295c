//! The connector registry: resolves pyinfra's host names (`@local`, `@name/arg`, bare names for
//! SSH) to connectors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::base::{Connector, HostContext, InventoryConnector, NameData};
use crate::error::{ConnectError, InventoryError};

/// A host name split the way pyinfra splits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostName<'a> {
    /// `@name` or `@name/arg`.
    Connector {
        /// The connector name after `@`.
        name: &'a str,
        /// The argument after the first `/`.
        arg: Option<&'a str>,
    },
    /// Any other name: an SSH host.
    Ssh(&'a str),
}

impl<'a> HostName<'a> {
    /// Split `name` into connector and argument.
    pub fn parse(name: &'a str) -> Self {
        match name.strip_prefix('@') {
            Some(rest) => match rest.split_once('/') {
                Some((name, arg)) => HostName::Connector {
                    name,
                    arg: Some(arg),
                },
                None => HostName::Connector {
                    name: rest,
                    arg: None,
                },
            },
            None => HostName::Ssh(name),
        }
    }
}

/// The connectors rinfra knows, by name.
///
/// A registry made by [`with_builtins`](Self::with_builtins) also resolves an unknown `@NAME`
/// to an external connector, the executable `rinfra-connector-NAME` on PATH (see
/// [`find_external_connectors`](crate::find_external_connectors)); registered connectors always
/// win over PATH.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: BTreeMap<String, Arc<dyn InventoryConnector>>,
    /// Look unknown names up on PATH (`rinfra-connector-NAME`).
    external: bool,
    /// External connectors already found, so each is asked `hello` once.
    found: Arc<Mutex<BTreeMap<String, Arc<dyn InventoryConnector>>>>,
}

impl std::fmt::Debug for ConnectorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.connectors.keys()).finish()
    }
}

/// The name of the connector that executes bare host names and inventory-only hosts.
pub const SSH: &str = "ssh";

impl ConnectorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the connectors built into this crate.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        r.register(Arc::new(crate::local::LocalInventory));
        r.register(Arc::new(crate::fake::FakeInventory));
        r.register(Arc::new(crate::docker::DockerInventory::docker()));
        r.register(Arc::new(crate::docker::DockerInventory::podman()));
        r.register(Arc::new(crate::chroot::ChrootInventory));
        r.register(Arc::new(crate::terraform::TerraformInventory::default()));
        r.register(Arc::new(crate::vagrant::VagrantInventory::default()));
        r.external = true;
        r
    }

    /// Whether unknown `@NAME`s are looked up on PATH as `rinfra-connector-NAME` (on in
    /// [`with_builtins`](Self::with_builtins), off in [`new`](Self::new)).
    pub fn set_external_lookup(&mut self, enabled: bool) {
        self.external = enabled;
    }

    /// Add (or replace) a connector under its [`name`](InventoryConnector::name).
    pub fn register(&mut self, connector: Arc<dyn InventoryConnector>) {
        self.connectors
            .insert(connector.name().to_string(), connector);
    }

    /// The connector called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn InventoryConnector>> {
        self.connectors.get(name)
    }

    /// Every registered connector, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn InventoryConnector>> {
        self.connectors.values()
    }

    fn lookup(&self, name: &str) -> Result<Arc<dyn InventoryConnector>, InventoryError> {
        if let Some(c) = self.connectors.get(name) {
            return Ok(c.clone());
        }
        if self.external && name != SSH {
            let mut found = self.found.lock().expect("not poisoned");
            if let Some(c) = found.get(name) {
                return Ok(c.clone());
            }
            if let Some(c) = crate::external::find_external_connector(name) {
                let c: Arc<dyn InventoryConnector> = Arc::new(c);
                found.insert(name.to_string(), c.clone());
                return Ok(c);
            }
        }
        Err({
            if name == SSH {
                InventoryError::NotAvailable(SSH.into())
            } else {
                InventoryError::UnknownConnector {
                    name: name.to_string(),
                    known: self.connectors.keys().cloned().collect(),
                }
            }
        })
    }

    /// Expand one inventory host name into hosts: `@name/arg` through that connector's
    /// `make_names_data`, a bare name into one SSH host. Returns the connector name with them.
    pub fn make_names_data(
        &self,
        host_name: &str,
    ) -> Result<(String, Vec<NameData>), InventoryError> {
        match HostName::parse(host_name) {
            HostName::Connector { name, arg } => {
                if name.is_empty() {
                    return Err(InventoryError::InvalidHost {
                        host: host_name.into(),
                        reason: "no connector name after `@`".into(),
                    });
                }
                let connector = self.lookup(name)?;
                let mut hosts = connector.make_names_data(arg)?;
                if name == SSH {
                    // pyinfra keeps the name as written: `@ssh/web1` stays `@ssh/web1` (the SSH
                    // connector sees the same argument for `web1` and `@ssh/web1`).
                    for h in &mut hosts {
                        if Some(h.name.as_str()) == arg {
                            h.name = host_name.to_string();
                        }
                    }
                }
                Ok((name.to_string(), hosts))
            }
            HostName::Ssh(name) => {
                if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(InventoryError::InvalidHost {
                        host: host_name.into(),
                        reason: "host names cannot be empty or contain spaces".into(),
                    });
                }
                let connector = self.lookup(SSH)?;
                Ok((SSH.to_string(), connector.make_names_data(Some(name))?))
            }
        }
    }

    /// The executing connector for a host made by connector `connector_name`: that connector
    /// if it handles execution, SSH otherwise (as pyinfra does for `@terraform`/`@vagrant`).
    pub fn new_connector(
        &self,
        connector_name: &str,
        host: HostContext,
    ) -> Result<Arc<dyn Connector>, ConnectError> {
        let connector = self
            .lookup(connector_name)
            .map_err(|e| ConnectError::new(e.to_string()))?;
        if connector.handles_execution() {
            connector.new_connector(host)
        } else {
            self.lookup(SSH)
                .map_err(|e| ConnectError::new(e.to_string()))?
                .new_connector(host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(
            HostName::parse("@local"),
            HostName::Connector {
                name: "local",
                arg: None
            }
        );
        assert_eq!(
            HostName::parse("@docker/debian:12"),
            HostName::Connector {
                name: "docker",
                arg: Some("debian:12")
            }
        );
        assert_eq!(
            HostName::parse("@chroot/srv/root"),
            HostName::Connector {
                name: "chroot",
                arg: Some("srv/root")
            }
        );
        assert_eq!(HostName::parse("web1.net"), HostName::Ssh("web1.net"));
    }

    #[test]
    fn resolves_builtins_and_reports_unknown() {
        let r = ConnectorRegistry::with_builtins();
        let (name, hosts) = r.make_names_data("@local").unwrap();
        assert_eq!(name, "local");
        assert_eq!(hosts[0].name, "@local");
        assert_eq!(hosts[0].groups, ["@local"]);
        let (_, hosts) = r.make_names_data("@fake/a,b").unwrap();
        assert_eq!(
            hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["@fake/a", "@fake/b"]
        );
        assert!(matches!(
            r.make_names_data("@nope/x"),
            Err(InventoryError::UnknownConnector { .. })
        ));
        assert!(r.make_names_data("@local/x").is_err());
        let err = r.make_names_data("web1").unwrap_err();
        assert_eq!(err.to_string(), "the ssh connector is not available yet");
    }

    #[test]
    fn builtins_and_external_lookup() {
        let r = ConnectorRegistry::with_builtins();
        for name in ["chroot", "docker", "podman", "terraform", "vagrant"] {
            assert_eq!(r.get(name).map(|c| c.name()), Some(name));
        }
        assert!(r.get("docker").unwrap().handles_execution());
        assert!(!r.get("terraform").unwrap().handles_execution());
        // `sh` is on every PATH, but `rinfra-connector-sh` is what would be looked for.
        assert!(matches!(
            r.make_names_data("@sh/x"),
            Err(InventoryError::UnknownConnector { .. })
        ));
        let mut plain = ConnectorRegistry::new();
        plain.set_external_lookup(false);
        assert!(plain.make_names_data("@local").is_err());
    }
}
