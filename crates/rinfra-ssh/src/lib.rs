//! rinfra's SSH connector: pyinfra's `@ssh`, on [russh](https://docs.rs/russh).
//!
//! Bare host names in an inventory (`web1.example.net`) and `@ssh/HOST` execute through this
//! crate. Each host gets **one** SSH connection ([`SshConnector`]). Commands run one after
//! another in one persistent `sh` on one channel of it (each in a subshell: an exec channel
//! costs the target an sshd session and a login shell per command); a command with stdin, a
//! pty, agent forwarding or no wrapping shell, or one arriving while the shell is busy, gets a
//! channel of its own. At most [`MAX_CHANNELS_PER_CONNECTION`] channels are open at once, each
//! closed as soon as its command ends (sshd's `MaxSessions` is 10). Across all hosts, at most
//! 128 connections are connecting (TCP, key exchange, authentication) at once, and each one's
//! `ssh_connect_timeout` starts with its turn: a thousand hosts at once do not time out queueing
//! for CPU.
//!
//! * [`SshInventory`] registers as connector `ssh`; [`SshData`] is its host data
//!   (`ssh_hostname`, `ssh_user`, `ssh_key`, `ssh_password`, `ssh_proxy_jump`, ...) with
//!   pyinfra's names and defaults.
//! * [`TargetResolver`] decides where to connect and how to log in ([`ResolvedTarget`]); the
//!   default [`SshConfigResolver`] lays host data over `~/.ssh/config` (`Host`, `Match`,
//!   `Include`, `ProxyJump`, `IdentityFile`, ...).
//! * [`HostKeyVerifier`] looks host keys up in known_hosts ([`KnownHostsVerifier`]: hashed
//!   names, wildcards, `@cert-authority`, `@revoked`); [`verify_host_key`] applies
//!   `ssh_strict_host_key_checking` (`accept-new` by default, as pyinfra).
//!
//! * [`DockerSshInventory`] registers `@dockerssh/[USER@]HOST:IMAGE` and `@podmanssh/...`: a
//!   container on a host reached over SSH ([`DockerSshConnector`] is `@docker`'s
//!   [`ContainerConnector`](rinfra_connectors::ContainerConnector) with an [`SshEngine`]: an
//!   [`SshConnector`] that runs `docker run/exec/cp/commit` there).
//!
//! Commands arrive already wrapped for `_sudo`/`_su_user`/`_env` (see
//! [`rinfra_connectors::Connector::run_shell_command`]). Files move over SFTP, or `cat` over exec
//! when the server has no SFTP; always into a temp file first (beside the destination, or in
//! the temp dir when an escalation installs it), then moved into place
//! ([`rinfra_connectors::move_into_place_command`], [`rinfra_connectors::install_command`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use rinfra_connectors::*;
//! use rinfra_ssh::SshInventory;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = ConnectorRegistry::with_builtins();
//! registry.register(Arc::new(SshInventory::default()));
//! let (connector, hosts) = registry.make_names_data("web1.example.net")?;
//! let mut data = hosts[0].data.clone();
//! data.insert("ssh_user".into(), "deploy".into());
//! let host = HostContext::new(&hosts[0].name, data, Arc::new(SilentReporter));
//! let conn = registry.new_connector(&connector, host)?;
//! conn.connect().await?;
//! let (ok, output) = conn
//!     .run_shell_command(&"uptime".into(), false, false, &ConnectorArguments::default())
//!     .await?;
//! assert!(ok, "{}", output.stderr());
//! conn.disconnect().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
mod connector;
mod data;
mod dockerssh;
mod error;
mod exec;
mod host_keys;
mod jumps;
mod resolver;
mod round_trips;
mod session;
mod shell;
mod target;
mod transfer;

pub use connector::{SshConnector, SshInventory};
pub use data::{
    ssh_data_keys, unknown_key_notices, FileTransferProtocol, SshData, StrictHostKeyChecking,
};
pub use dockerssh::{DockerSshConnector, DockerSshData, DockerSshInventory, SshEngine};
pub use host_keys::{
    key_type_name, known_hosts_name, plain_key, verify_host_key, HostKeyPreferences, HostKeyStatus,
    HostKeyVerifier, KnownHostsVerifier,
};
pub use jumps::JumpPool;
pub use resolver::SshConfigResolver;
pub use session::MAX_CHANNELS_PER_CONNECTION;
pub use target::{
    expand_tilde, parse_proxy_jump, AgentSource, AuthSettings, JumpSpec, Proxy, ResolvedTarget,
    Retries, TargetResolver, DEFAULT_CONNECT_TIMEOUT, DEFAULT_SERVER_ALIVE_COUNT_MAX,
    DEFAULT_SERVER_ALIVE_INTERVAL,
};

/// Re-exported so resolvers and verifiers can name russh's key types without a direct
/// dependency (and so at the same pinned version).
pub use russh::keys::{PublicKey, PublicKeyOrCertificate};
