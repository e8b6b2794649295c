//! Where and how to connect: the seam between host data (+ ssh_config) and the connection code.
//!
//! [`TargetResolver`] turns an inventory host and its [`SshData`] into a [`ResolvedTarget`]:
//! everything the connection needs, already decided. [`SshConfigResolver`] combines host data
//! and ssh_config; embedders (and tests) can implement the trait to decide differently.
//!
//! [`SshConfigResolver`]: crate::SshConfigResolver

use std::path::{Path, PathBuf};
use std::time::Duration;

use rinfra_connectors::{ConnectError, Secret};

use crate::data::{FileTransferProtocol, SshData, StrictHostKeyChecking};

/// pyinfra's `CONNECT_TIMEOUT` default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keepalive interval when neither data nor ssh_config sets `ServerAliveInterval`.
///
/// OpenSSH sends none by default; russh neither. Without one a NAT or firewall that drops idle
/// flows silently breaks a connection that waits on a long command (lablup/bssh#121).
pub const DEFAULT_SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// OpenSSH's `ServerAliveCountMax` default.
pub const DEFAULT_SERVER_ALIVE_COUNT_MAX: usize = 3;

/// Which ssh-agent to ask for keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSource {
    /// `SSH_AUTH_SOCK` from the environment.
    Env,
    /// A socket path (ssh_config `IdentityAgent`).
    Path(PathBuf),
    /// No agent (`IdentityAgent none`, `ssh_allow_agent: false`, or `ssh_key` set).
    Disabled,
}

/// How to authenticate, in the order tried: `explicit_key`, agent, `identity_files`, password.
#[derive(Clone, Default)]
pub struct AuthSettings {
    /// `ssh_key`: the only key tried when set (pyinfra turns agent and default keys off).
    pub explicit_key: Option<PathBuf>,
    /// Passphrase for encrypted key files.
    pub key_password: Option<Secret>,
    /// `ssh_password`.
    pub password: Option<Secret>,
    /// ssh_config `IdentityFile`s, then (unless `identities_only` or `look_for_keys` is off)
    /// OpenSSH's default files, in order.
    pub identity_files: Vec<PathBuf>,
    /// ssh_config `CertificateFile`s, offered with the key they certify.
    pub certificate_files: Vec<PathBuf>,
    /// The agent to use.
    pub agent: Option<AgentSource>,
    /// ssh_config `IdentitiesOnly`: only agent keys matching `identity_files` are offered.
    pub identities_only: bool,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("explicit_key", &self.explicit_key)
            .field("key_password", &self.key_password)
            .field("password", &self.password)
            .field("identity_files", &self.identity_files)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

/// How the TCP stream to the target is made.
#[derive(Clone, Debug, Default)]
pub enum Proxy {
    /// Connect directly.
    #[default]
    Direct,
    /// Through these jump hosts, first one first (each reached through the previous one with a
    /// `direct-tcpip` channel).
    Jump(Vec<ResolvedTarget>),
    /// Through the stdin/stdout of this shell command (tokens already expanded).
    Command(String),
}

/// Everything needed to reach and log into one SSH server.
#[derive(Clone, Debug)]
pub struct ResolvedTarget {
    /// What to call it in messages: the inventory name, or the jump spec.
    pub label: String,
    /// Address or DNS name to connect to.
    pub hostname: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Name to look up in known_hosts instead of `hostname` (ssh_config `HostKeyAlias`).
    pub host_key_alias: Option<String>,
    /// Authentication settings.
    pub auth: AuthSettings,
    /// How to reach the server.
    pub proxy: Proxy,
    /// Limit for each of TCP connect, SSH handshake and authentication.
    pub connect_timeout: Duration,
    /// Keepalive interval (`ServerAliveInterval`); `None` disables keepalives.
    pub server_alive_interval: Option<Duration>,
    /// Unanswered keepalives before the connection is declared dead.
    pub server_alive_count_max: usize,
    /// Forward the local agent to the target.
    pub forward_agent: bool,
    /// known_hosts files to read; new keys go to the first.
    pub known_hosts_files: Vec<PathBuf>,
    /// Policy for unknown host keys.
    pub strict_host_key_checking: StrictHostKeyChecking,
    /// Connection retries: count, and the range the pause is drawn from.
    pub retries: Retries,
    /// How files move.
    pub file_transfer: FileTransferProtocol,
}

/// `ssh_connect_retries` with its delays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retries {
    /// Extra attempts after the first.
    pub count: u32,
    /// Shortest pause.
    pub min_delay: Duration,
    /// Longest pause.
    pub max_delay: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            count: 0,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        }
    }
}

impl ResolvedTarget {
    /// `user@host:port`, for messages.
    pub fn display(&self) -> String {
        format!("{}@{}:{}", self.user, self.hostname, self.port)
    }

    /// The name and port looked up in (and added to) known_hosts: `HostKeyAlias` with port 22
    /// (OpenSSH adds no port to an alias), else the hostname and port.
    pub fn known_hosts_target(&self) -> (&str, u16) {
        match &self.host_key_alias {
            Some(alias) => (alias, 22),
            None => (&self.hostname, self.port),
        }
    }
}

/// Builds the [`ResolvedTarget`] for an inventory host.
pub trait TargetResolver: Send + Sync {
    /// Resolve host `name` with its `ssh_*` data.
    fn resolve(&self, name: &str, data: &SshData) -> Result<ResolvedTarget, ConnectError>;
}

/// Expand a leading `~/` to `home`.
pub fn expand_tilde(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if path == "~" => home.to_path_buf(),
        None => PathBuf::from(path),
    }
}

/// One `[user@]host[:port]` element of a ProxyJump list (also `ssh://user@host:port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpSpec {
    /// User, if given.
    pub user: Option<String>,
    /// Host.
    pub host: String,
    /// Port, if given.
    pub port: Option<u16>,
}

/// Parse a ProxyJump value (`none` means no jump).
pub fn parse_proxy_jump(value: &str) -> Result<Vec<JumpSpec>, ConnectError> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value.split(',').map(|s| parse_jump(s.trim())).collect()
}

fn parse_jump(spec: &str) -> Result<JumpSpec, ConnectError> {
    let bad = |why: &str| ConnectError::new(format!("invalid jump host `{spec}`: {why}"));
    let rest = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(bad("empty user")),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        // [v6addr]:port
        let (h, after) = inner.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad("junk after `]`")),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| bad("bad port")))
        .transpose()?;
    Ok(JumpSpec {
        user,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jump_specs() {
        assert_eq!(parse_proxy_jump("none").unwrap(), vec![]);
        let j = parse_proxy_jump("a, bob@b:2222,ssh://c@[::1]:23,[fe80::1]").unwrap();
        assert_eq!(
            j,
            vec![
                JumpSpec {
                    user: None,
                    host: "a".into(),
                    port: None
                },
                JumpSpec {
                    user: Some("bob".into()),
                    host: "b".into(),
                    port: Some(2222)
                },
                JumpSpec {
                    user: Some("c".into()),
                    host: "::1".into(),
                    port: Some(23)
                },
                JumpSpec {
                    user: None,
                    host: "fe80::1".into(),
                    port: None
                },
            ]
        );
        assert!(parse_proxy_jump("a:notaport").is_err());
        assert!(parse_proxy_jump("@b").is_err());
    }
}
