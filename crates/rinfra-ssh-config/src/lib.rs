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
