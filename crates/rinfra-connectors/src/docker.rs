//! `@docker/IMAGE_OR_CONTAINER` and `@podman/IMAGE_OR_CONTAINER`: run commands in containers.
//!
//! `rinfra @docker/debian:12 exec -- uname -a`
//!
//! `rinfra @podman/2beb8c15a1b1 deploy.py`
//!
//! As pyinfra's `DockerConnector` (podman is the same connector with the `podman` binary):
//!
//! * **connect**: `docker container inspect ID`. A container is used as is (started first if it
//!   is stopped) and left running at the end. Anything else is taken as an image:
//!   `docker run -d --pull=never [--platform P] [--arch A] IMAGE tail -f /dev/null`. rinfra never
//!   pulls implicitly (a mistyped name would otherwise reach out to a registry): a missing image
//!   is an error naming it.
//! * **commands**: `docker exec -i -e RINFRA_COMMAND CID sh -c 'eval "$RINFRA_COMMAND"'`, through
//!   the local process runner: the wrapped command travels in the `docker` CLI's environment,
//!   not its argv, so passwords in it do not show in the controller's process list. `_get_pty` gives `docker exec -t` (pyinfra's `-it` is refused by docker when rinfra's
//!   own stdin is not a terminal; with `_stdin` the command gets `-i`, which a pty cannot go
//!   with).
//! * **files**: `docker cp` to a temp path inside the container, then moved into place inside the
//!   container with the operation's `_sudo`/`_su_user` (pyinfra ignores them and copies straight
//!   onto the destination); downloads are copied inside the container first, then `docker cp`'d
//!   out.
//! * **disconnect**: a container made from an image is saved with `docker commit` (the new image
//!   id goes to the reporter's `notice`) and removed with `docker rm -f`.
//!
//! The CLI finds its daemon the usual way: `DOCKER_HOST`, `DOCKER_CONTEXT`, `CONTAINER_HOST`
//! and `CONTAINERS_CONF` are inherited from rinfra's environment.
//!
//! A container that disappears while rinfra uses it (`docker rm -f`, daemon restart) turns the
//! next command into [`ConnectionLost`](crate::ConnectorError::ConnectionLost) naming the
//! container.
//!
//! All of this is [`ContainerConnector`], shared with `@dockerssh` (the CLI on a host reached
//! over SSH); here it runs the CLI as a local process ([`LocalEngine`]).

use std::sync::Arc;

use serde::Deserialize;

use crate::base::{Connector, HostContext, InventoryConnector, NameData};
use crate::container::{
    ContainerCli, ContainerConnector, ContainerSource, LocalEngine, RunOptions,
};
use crate::error::{ConnectError, InventoryError};

/// Executes in a docker (or podman) container through the CLI on this machine.
pub type DockerConnector = ContainerConnector<LocalEngine>;

/// Host data of `@docker` and `@podman` hosts (pyinfra's names).
#[derive(Debug, Deserialize)]
pub struct DockerData {
    /// ID or name of the container, or the image, to start from.
    pub docker_identifier: String,
    /// Platform to use for the image (e.g. `linux/amd64`): `docker run --platform`.
    #[serde(default)]
    pub docker_platform: Option<String>,
    /// Architecture to use for the image (e.g. `amd64`, `arm64`): `docker run --arch`.
    #[serde(default)]
    pub docker_architecture: Option<String>,
}

/// `rinfra @docker/debian:12 ...`, `rinfra @podman/CONTAINER ...`: the `@docker` / `@podman`
/// inventory connector.
#[derive(Debug, Clone, Copy)]
pub struct DockerInventory {
    cli: ContainerCli,
}

impl DockerInventory {
    /// `@docker`.
    pub fn docker() -> Self {
        Self {
            cli: ContainerCli::Docker,
        }
    }

    /// `@podman`.
    pub fn podman() -> Self {
        Self {
            cli: ContainerCli::Podman,
        }
    }
}

impl InventoryConnector for DockerInventory {
    fn name(&self) -> &str {
        self.cli.binary()
    }

    fn description(&self) -> &str {
        match self.cli {
            ContainerCli::Docker => {
                "a docker container, or a new one from an image, saved with `docker commit` (@docker/IMAGE_OR_CONTAINER)"
            }
            ContainerCli::Podman => {
                "a podman container, or a new one from an image, saved with `podman commit` (@podman/IMAGE_OR_CONTAINER)"
            }
        }
    }

    fn handles_execution(&self) -> bool {
        true
    }

    fn make_names_data(&self, arg: Option<&str>) -> Result<Vec<NameData>, InventoryError> {
        let bin = self.cli.binary();
        let Some(id) = arg.filter(|a| !a.is_empty()) else {
            return Err(InventoryError::InvalidHost {
                host: format!("@{bin}"),
                reason: format!("no {bin} image or container given; write `@{bin}/IMAGE_OR_ID`"),
            });
        };
        // Never let a name become an option of the CLI (`@docker/--privileged`).
        if id.starts_with('-') {
            return Err(InventoryError::InvalidHost {
                host: format!("@{bin}/{id}"),
                reason: "image and container names cannot start with `-`".into(),
            });
        }
        let mut host = NameData::new(format!("@{bin}/{id}"), &[&format!("@{bin}")]);
        host.data
            .insert("docker_identifier".into(), serde_json::Value::from(id));
        Ok(vec![host])
    }

    fn new_connector(&self, host: HostContext) -> Result<Arc<dyn Connector>, ConnectError> {
        let data: DockerData = serde_json::from_value(serde_json::Value::Object(host.data.clone()))
            .map_err(|e| ConnectError::new(format!("invalid host data for {}: {e}", host.name)))?;
        let options = RunOptions {
            platform: data.docker_platform,
            architecture: data.docker_architecture,
        };
        Ok(Arc::new(DockerConnector::new(
            self.cli,
            host,
            LocalEngine,
            ContainerSource::ContainerOrImage(data.docker_identifier),
            options,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_data() {
        let hosts = DockerInventory::docker()
            .make_names_data(Some("debian:12"))
            .unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].name, "@docker/debian:12");
        assert_eq!(hosts[0].groups, ["@docker"]);
        assert_eq!(hosts[0].data["docker_identifier"], "debian:12");
        let hosts = DockerInventory::podman()
            .make_names_data(Some("abc"))
            .unwrap();
        assert_eq!(hosts[0].name, "@podman/abc");
        assert_eq!(hosts[0].groups, ["@podman"]);
        let err = DockerInventory::docker().make_names_data(None).unwrap_err();
        assert!(err.to_string().contains("@docker/IMAGE_OR_ID"), "{err}");
        assert!(DockerInventory::docker()
            .make_names_data(Some("--privileged"))
            .is_err());
    }
}
