//! The result of resolving one host: typed fields plus raw leftovers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Location;

/// Everything the configuration says about one host.
///
/// Paths (`identity_files`, `certificate_files`, known-hosts files, the
/// `IdentityAgent` socket) have `~`, `${VAR}` and `%` tokens expanded;
/// `proxy_command` and `proxy_jump` have their tokens (`%h %n %p %r %%`)
/// expanded. Values in [`ResolvedHost::other`] are raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedHost {
    /// The alias given to [`super::SshConfig::resolve`] (`%n`).
    pub original_host: String,
    /// The host to connect to: `HostName` (with `%h` expanded) or the alias,
    /// lowercased as OpenSSH does (`%h`).
    pub hostname: String,
    /// Remote user: the override, else `User`, else the local user (`%r`).
    pub user: String,
    /// Remote port: the override, else `Port`, else 22 (`%p`).
    pub port: u16,
    /// `IdentityFile`s in order, duplicates removed. Empty when none is
    /// configured: OpenSSH then tries [`default_identity_files`].
    pub identity_files: Vec<PathBuf>,
    /// `IdentitiesOnly`, if set.
    pub identities_only: Option<bool>,
    /// `IdentityAgent`, if set.
    pub identity_agent: Option<IdentityAgent>,
    /// `CertificateFile`s in order, duplicates removed.
    pub certificate_files: Vec<PathBuf>,
    /// `ProxyJump` hops in the order they are visited (first = connected to
    /// first). Empty when unset or `none`. Each hop is itself resolved with
    /// [`super::SshConfig::resolve`] (with the hop's user/port as overrides).
    pub proxy_jump: Vec<JumpHost>,
    /// `ProxyCommand` with tokens expanded (`None` when unset or `none`).
    /// To be run with the user's shell (`sh -c`).
    pub proxy_command: Option<String>,
    /// `ConnectTimeout`.
    pub connect_timeout: Option<Duration>,
    /// `ServerAliveInterval` (zero means disabled).
    pub server_alive_interval: Option<Duration>,
    /// `ServerAliveCountMax` (OpenSSH's default is 3).
    pub server_alive_count_max: Option<u32>,
    /// `StrictHostKeyChecking`, if set.
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    /// `UserKnownHostsFile` (default `~/.ssh/known_hosts ~/.ssh/known_hosts2`;
    /// empty for `none`).
    pub user_known_hosts_files: Vec<PathBuf>,
    /// `GlobalKnownHostsFile` (default `/etc/ssh/ssh_known_hosts
    /// /etc/ssh/ssh_known_hosts2`; empty for `none`).
    pub global_known_hosts_files: Vec<PathBuf>,
    /// `HostKeyAlias`, lowercased, if set.
    pub host_key_alias: Option<String>,
    /// `ForwardAgent`, if set.
    pub forward_agent: Option<ForwardAgent>,
    /// Every other option that applied, keyed by lowercase keyword (OpenSSH
    /// aliases mapped to their canonical name). First-wins options hold one
    /// value; `LocalForward`, `RemoteForward`, `DynamicForward` and `SendEnv`
    /// hold one value per occurrence.
    pub other: BTreeMap<String, Vec<RawOption>>,
}

impl ResolvedHost {
    /// First argument of the first value of another option, e.g. `get("batchmode")`.
    /// The keyword is matched case-insensitively.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.other
            .get(&super::values::canonical_keyword(keyword))
            .and_then(|v| v.first())
            .and_then(|o| o.args.first())
            .map(String::as_str)
    }

    /// The name and port under which this host's key is looked up in (and
    /// added to) known_hosts: `HostKeyAlias` as is (OpenSSH adds no port to an
    /// alias, so the port returned is 22), otherwise `(hostname, port)`.
    /// Pass them to `KnownHosts::check` / `append_entry`.
    pub fn known_hosts_target(&self) -> (&str, u16) {
        match &self.host_key_alias {
            Some(alias) => (alias.as_str(), 22),
            None => (self.hostname.as_str(), self.port),
        }
    }

    /// All known-hosts files to read: user files, then global ones.
    pub fn known_hosts_files(&self) -> Vec<PathBuf> {
        self.user_known_hosts_files
            .iter()
            .chain(&self.global_known_hosts_files)
            .cloned()
            .collect()
    }
}

/// OpenSSH's default identity files under `home`, in the order it tries them.
pub fn default_identity_files(home: &std::path::Path) -> Vec<PathBuf> {
    [
        "id_rsa",
        "id_ecdsa",
        "id_ecdsa_sk",
        "id_ed25519",
        "id_ed25519_sk",
        "id_xmss",
        "id_dsa",
    ]
    .iter()
    .map(|n| home.join(".ssh").join(n))
    .collect()
}

/// A raw option value with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    /// Arguments after quote removal (inline comments stripped).
    pub args: Vec<String>,
    /// The text after the keyword, verbatim (what OpenSSH uses for
    /// `LocalCommand`, `RemoteCommand`, `KnownHostsCommand`).
    pub raw: String,
    /// Where the value was read.
    pub location: Location,
}

/// `StrictHostKeyChecking` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// `yes`: never add keys, refuse unknown and changed hosts.
    Yes,
    /// `no` or `off`: add new keys, allow changed keys (with restrictions).
    No,
    /// `accept-new`: add new keys, refuse changed ones.
    AcceptNew,
    /// `ask` (OpenSSH's default): ask the user about new keys.
    Ask,
}

/// `ForwardAgent` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardAgent {
    /// `no`.
    No,
    /// `yes`: forward the agent at `SSH_AUTH_SOCK`.
    Yes,
    /// A socket path or `$VAR` naming one (raw, not expanded).
    Socket(String),
}

/// `IdentityAgent` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityAgent {
    /// `none`: do not use an agent.
    Disabled,
    /// Read the socket path from this environment variable
    /// (`SSH_AUTH_SOCK` or `$NAME`).
    Env(String),
    /// This socket path (`~`, `${VAR}` and tokens expanded).
    Path(PathBuf),
}

/// One `ProxyJump` hop, `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHost {
    /// User, if given.
    pub user: Option<String>,
    /// Host (an alias that may itself have configuration; IPv6 without brackets).
    pub host: String,
    /// Port, if given.
    pub port: Option<u16>,
}

impl JumpHost {
    /// Build a hop.
    pub fn new(user: Option<&str>, host: &str, port: Option<u16>) -> Self {
        JumpHost {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
    }
}

impl fmt::Display for JumpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        let bracket = self.host.contains(':');
        match (bracket, self.port) {
            (true, Some(p)) => write!(f, "[{}]:{p}", self.host),
            (false, Some(p)) => write!(f, "{}:{p}", self.host),
            (_, None) => write!(f, "{}", self.host),
        }
    }
}
