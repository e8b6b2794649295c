//! OpenSSH semantics for `~/.ssh/config` and `known_hosts`, for rinfra's SSH
//! connector.
//!
//! This crate is pure logic: it reads files and computes what `ssh` would,
//! but never opens a network connection, runs a command or talks to an agent.
//!
//! * [`config`]: parse `ssh_config(5)` files (`Host`, `Match`, `Include`,
//!   quoting, comments, first-value-wins) and resolve one host alias into a
//!   typed [`ResolvedHost`] (host name, user, port, identity files with tokens
//!   expanded, ProxyJump hops, known-hosts files, …). Constructs rinfra cannot
//!   honour (`Match exec`, `Match canonical`/`final`, …) are reported as
//!   [`ConfigError::Unsupported`] with the file and line, never ignored.
//! * [`known_hosts`]: parse known_hosts files (plain, hashed, wildcards,
//!   negation, `[host]:port`, `@cert-authority`, `@revoked`), check a
//!   presented host key ([`HostKeyStatus`]), list trusted CAs, and append new
//!   keys without ever rewriting or duplicating lines.
//! * [`pattern`]: the wildcard and pattern-list matching both use.
//!
//! # Differences from OpenSSH (deliberate simplifications)
//!
//! * One resolution pass: no `CanonicalizeHostname` and no final pass, so
//!   `Match canonical`/`final`, and also `exec`, `localnetwork`, `tagged`,
//!   `version`, `sessiontype` and `command`, are [`ConfigError::Unsupported`]
//!   when they are reached (a criterion after a failed one is not reached).
//! * Unknown keywords are kept (in [`ResolvedHost::other`]) rather than
//!   rejected; `IgnoreUnknown` is therefore not needed.
//! * `Include` files are read when the configuration is parsed; missing
//!   files and globs without matches are ignored, unreadable files are errors.
//!   Permissions of configuration files are not checked.
//! * A `ForwardAgent` socket path is returned raw (not expanded).
//! * known_hosts: `CheckHostIP` lookups, `RevokedHostKeys` (KRL) files and
//!   `KnownHostsCommand` are not implemented; new entries are always written
//!   unhashed. As in OpenSSH, a presented key of a type not listed for the
//!   host is [`HostKeyStatus::Changed`] when the host has other keys: prefer
//!   the key types from [`KnownHosts::host_keys`] during key exchange.
//!
//! # Example
//!
//! ```
//! use rinfra_ssh_config::{
//!     HostKeyStatus, KnownHosts, ParseOptions, ResolveContext, SshConfig,
//! };
//!
//! let config = SshConfig::parse_str_with(
//!     "Host web*\n  HostName %h.example.com\n  User deploy\n  ProxyJump bastion\n\
//!      Match host *.example.com\n  IdentityFile ~/.ssh/id_%r\n",
//!     "inline",
//!     &ParseOptions::user("/home/alice"),
//! )?;
//! let ctx = ResolveContext::new("alice", "/home/alice");
//! let host = config.resolve("web1", &ctx)?;
//! assert_eq!(host.hostname, "web1.example.com");
//! assert_eq!(host.user, "deploy");
//! assert_eq!(host.port, 22);
//! assert_eq!(host.identity_files, vec![std::path::PathBuf::from("/home/alice/.ssh/id_deploy")]);
//! assert_eq!(host.proxy_jump[0].host, "bastion");
//!
//! let key = "AAAAC3NzaC1lZDI1NTE5AAAAIPBKih+sLXhs4d+kxeRwe4UfoFJH/tWNRtq53ns9mHDC";
//! let known = KnownHosts::parse_str(&format!("*.example.com ssh-ed25519 {key}\n"), "known_hosts");
//! let (name, port) = host.known_hosts_target();
//! assert!(matches!(
//!     known.check(name, port, "ssh-ed25519", key),
//!     HostKeyStatus::Match { line: 1, .. }
//! ));
//! # Ok::<(), rinfra_ssh_config::ConfigError>(())
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod known_hosts;
pub mod pattern;

pub use config::{
    default_identity_files, ConfigError, ForwardAgent, IdentityAgent, JumpHost, Location,
    ParseOptions, RawOption, ResolveContext, ResolvedHost, SshConfig, StrictHostKeyChecking,
};
pub use known_hosts::{
    append_entry, hash_host, host_pattern, HostKeyStatus, KnownHosts, KnownHostsError,
    KnownHostsWarning, Marker,
};
