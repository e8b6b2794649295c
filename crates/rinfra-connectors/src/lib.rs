//! rinfra's connector layer: how commands and files reach a host.
//!
//! This crate is pyinfra's connector API (the seed document `writing-connectors`) in Rust:
//!
//! * [`InventoryConnector`]: `@name/arg` → hosts, with
//!   [`make_names_data`](InventoryConnector::make_names_data) yielding name, data and groups;
//! * [`Connector`]: one host's execution: `connect`, [`run_shell_command`](Connector::run_shell_command),
//!   [`put_file`](Connector::put_file), [`get_file`](Connector::get_file), `disconnect`;
//! * [`StringCommand`]: commands as data, with quoted and secret bits;
//! * [`make_unix_command`]: pyinfra's wrapping for `_sudo`, `_su_user`, `_doas`, `_env`, `_chdir`...;
//! * [`ConnectorRegistry`]: resolves host names (`@local`, `@docker/IMAGE`, bare names = SSH).
//!
//! # Writing a connector
//!
//! Implement [`InventoryConnector`] (names and hosts) and [`Connector`] (execution). A connector
//! implements [`Connector::execute`], which receives a command *already wrapped* for sudo/su/env,
//! and the two file transfers; everything pyinfra does around a command (askpass, sudo password
//! prompt and retry, `_success_exit_codes`) comes from the provided
//! [`Connector::run_shell_command`]. Register it with [`ConnectorRegistry::register`].
//!
//! ```
//! use std::sync::Arc;
//! use rinfra_connectors::*;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = ConnectorRegistry::with_builtins();
//! let (connector_name, hosts) = registry.make_names_data("@local")?;
//! let host = HostContext::new(&hosts[0].name, hosts[0].data.clone(), Arc::new(SilentReporter));
//! let conn = registry.new_connector(&connector_name, host)?;
//! conn.connect().await?;
//! let (ok, output) = conn
//!     .run_shell_command(&"echo hi".into(), false, false, &ConnectorArguments::default())
//!     .await?;
//! assert!(ok);
//! assert_eq!(output.stdout(), "hi");
//! conn.disconnect().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
#![deny(missing_docs)]

mod arguments;
mod base;
mod chroot;
mod command;
mod container;
mod docker;
mod error;
mod exec_template;
mod external;
mod fake;
mod hint;
mod local;
mod local_shell;
mod output;
mod process;
mod quote;
mod registry;
mod secret;
mod shell;
mod staged;
mod terraform;
mod transfer;
mod vagrant;
mod wrap;

pub use arguments::{ConnectorArguments, EnvValue};
pub use base::{
    Connector, FileSource, GetFile, HostContext, HostData, InventoryConnector, NameData, PutFile,
    RawCommand, Reporter, SilentReporter,
};
pub use chroot::{ChrootConnector, ChrootData, ChrootInventory};
pub use command::{quoted, Bit, StringCommand};
pub use container::{
    exec_tty, ContainerCli, ContainerConnector, ContainerEngine, ContainerSource, LocalEngine,
    RunOptions,
};
pub use docker::{DockerConnector, DockerData, DockerInventory};
pub use error::{ConnectError, ConnectorError, InventoryError};
pub use exec_template::{load_exec_templates, ExecTemplateConnector, ExecTemplateError};
pub use external::{
    find_external_connector, find_external_connectors, ExternalConnector, ExternalInventory,
    EXTERNAL_CONNECTOR_PREFIX, EXTERNAL_PROTOCOL_VERSION,
};
pub use fake::{FakeConnector, FakeInventory};
pub use hint::Hint;
pub use local::{LocalConnector, LocalInventory};
pub use local_shell::{run_local_shell, shell_and_command, COMMAND_ENV_VAR, SH_COMMAND_FROM_ENV};
pub use output::{CommandOutput, OutputLine, Stream};
pub use process::{run_local_process, run_local_process_with_env, LocalProcess};
pub use quote::quote;
pub use registry::{ConnectorRegistry, HostName, SSH};
pub use secret::{Secret, MASKED};
pub use shell::DEFAULT_TEMP_DIR;
pub use terraform::{TerraformInventory, DEFAULT_TERRAFORM_KEY};
pub use transfer::{
    install_command, move_into_place_command, temp_path_beside, write_file_command,
    write_local_atomically, LocalContent, MAX_INLINE_UPLOAD,
};
pub use vagrant::VagrantInventory;
pub use wrap::{
    askpass_script_command, make_unix_command, sudo_password_required, AskpassPaths,
    SUDO_ASKPASS_ENV_VAR, SUDO_PASSWORD_REQUIRED_LINES, SU_ASKPASS_ENV_VAR,
};
