//! `ssh_config(5)` parsing and per-host resolution with OpenSSH semantics.
//!
//! Parse once with [`SshConfig::parse_file`] (or [`SshConfig::parse_str`]),
//! then call [`SshConfig::resolve`] for each host alias. Resolution walks the
//! file(s) top to bottom exactly once, the way `ssh` does:
//!
//! * `Host` patterns are matched against the alias given by the caller
//!   (case-sensitive, `*`/`?` wildcards, `!negation` vetoes the whole line);
//! * `Match` criteria `all`, `host`, `originalhost`, `user`, `localuser`
//!   (combined with AND, each optionally negated with `!`) are evaluated at
//!   the point where the `Match` line appears. `Match host` compares against
//!   the `HostName` obtained *so far* (with `%h` expanded), or the alias if no
//!   `HostName` was obtained yet; `Match user` compares against the `User`
//!   obtained so far (or the override, or the local user). This is OpenSSH's
//!   own single-pass behaviour; the simplification is that rinfra never does
//!   the extra passes OpenSSH performs for `CanonicalizeHostname` or
//!   `Match final`, so those (and `exec`, `localnetwork`, `tagged`, `version`,
//!   `sessiontype`, `command`) yield [`ConfigError::Unsupported`] when they are
//!   reached. A criterion is reached only if all criteria before it on the same
//!   line matched (OpenSSH also skips `exec` after a failed criterion), so
//!   `Match host special exec "…"` only fails resolution for `special`.
//! * For each option the first obtained value wins, except the accumulating
//!   ones (`IdentityFile`, `CertificateFile`, `LocalForward`, `RemoteForward`,
//!   `DynamicForward`, `SendEnv`). `ProxyJump` and `ProxyCommand` compete:
//!   whichever is obtained first disables the other.
//! * `Include` is expanded at parse time (globs in lexical order, `~`, paths
//!   relative to `~/.ssh` for user configuration or `/etc/ssh` for the system
//!   one; nesting depth limited to 16 and loops reported). An `Include` inside a
//!   `Host`/`Match` block only takes effect when that block is active, and the
//!   block's state is restored after the included files, as in OpenSSH.
//!
//! Unknown keywords are accepted and kept, raw, in [`ResolvedHost::other`]
//! (OpenSSH would reject them unless listed in `IgnoreUnknown`).

mod expand;
mod lexer;
mod parse;
mod resolve;
mod resolved;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_include;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use resolved::{
    default_identity_files, ForwardAgent, IdentityAgent, JumpHost, RawOption, ResolvedHost,
    StrictHostKeyChecking,
};

/// A position in a configuration file (1-based line number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file (or the origin label given to [`SshConfig::parse_str`]).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Errors from parsing or resolving ssh configuration. Every variant but
/// [`ConfigError::Io`] names the file and line at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file could not be read.
    #[error("{}: cannot read ssh config: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed (missing argument, bad quotes, bad Match syntax…).
    #[error("{location}: {message}")]
    Syntax {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// An option has a value that cannot be used (bad port, bad time, bad token…).
    #[error("{location}: bad value for {keyword}: {message}")]
    InvalidValue {
        /// Where.
        location: Location,
        /// The keyword, as written.
        keyword: String,
        /// What is wrong.
        message: String,
    },
    /// A `Match` criterion rinfra does not evaluate was reached for this host.
    #[error(
        "{location}: Match {criterion} is not supported by rinfra's ssh config resolver \
         (rewrite the block with Host/Match host/user, or use the openssh connector)"
    )]
    Unsupported {
        /// Where.
        location: Location,
        /// The criterion (`exec`, `canonical`, `final`, `tagged`…).
        criterion: String,
    },
    /// `Include` nesting is deeper than the limit (16, as OpenSSH).
    #[error("{location}: Include nested too deeply (more than {max} levels)")]
    IncludeDepth {
        /// The Include line that went too deep.
        location: Location,
        /// The limit.
        max: usize,
    },
    /// A file includes itself, directly or indirectly.
    #[error("{location}: Include loop: {} is already being read", path.display())]
    IncludeLoop {
        /// The Include line that closes the loop.
        location: Location,
        /// The file included again.
        path: PathBuf,
    },
}

impl ConfigError {
    /// The file and line at fault, if any.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { location, .. }
            | ConfigError::InvalidValue { location, .. }
            | ConfigError::Unsupported { location, .. }
            | ConfigError::IncludeDepth { location, .. }
            | ConfigError::IncludeLoop { location, .. } => Some(location),
        }
    }
}

/// How to treat `Include` paths while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Home directory used for `~` in `Include` paths.
    pub home_dir: PathBuf,
    /// Directory against which relative `Include` paths are resolved:
    /// `~/.ssh` for a user configuration, `/etc/ssh` for the system one.
    pub include_dir: PathBuf,
    /// Whether `~` is expanded in `Include` paths (OpenSSH: user configuration only).
    pub expand_tilde: bool,
}

impl ParseOptions {
    /// Options for a user configuration (`~/.ssh/config` or a file given with `-F`).
    pub fn user(home_dir: impl Into<PathBuf>) -> Self {
        let home_dir = home_dir.into();
        ParseOptions {
            include_dir: home_dir.join(".ssh"),
            home_dir,
            expand_tilde: true,
        }
    }

    /// Options for the system configuration (`/etc/ssh/ssh_config`).
    pub fn system(home_dir: impl Into<PathBuf>) -> Self {
        ParseOptions {
            home_dir: home_dir.into(),
            include_dir: PathBuf::from("/etc/ssh"),
            expand_tilde: false,
        }
    }
}

impl Default for ParseOptions {
    /// User-configuration options with `$HOME` (or `/` if unset).
    fn default() -> Self {
        ParseOptions::user(expand::env_home())
    }
}

/// A parsed configuration: one or more files (with their includes), read in order.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    files: Vec<parse::ConfigFile>,
}

impl SshConfig {
    /// Parse a user configuration file (relative `Include`s resolved against `~/.ssh`).
    pub fn parse_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::parse_file_with(path, &ParseOptions::default())
    }

    /// Parse a file with explicit [`ParseOptions`].
    pub fn parse_file_with(
        path: impl AsRef<Path>,
        options: &ParseOptions,
    ) -> Result<Self, ConfigError> {
        let file = parse::Parser::new(options).parse_top_file(path.as_ref())?;
        Ok(SshConfig { files: vec![file] })
    }

    /// Parse configuration text; `origin` labels it in error messages.
    pub fn parse_str(text: &str, origin: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::parse_str_with(text, origin, &ParseOptions::default())
    }

    /// Parse configuration text with explicit [`ParseOptions`].
    pub fn parse_str_with(
        text: &str,
        origin: impl AsRef<Path>,
        options: &ParseOptions,
    ) -> Result<Self, ConfigError> {
        let file = parse::Parser::new(options).parse_top_text(text, origin.as_ref())?;
        Ok(SshConfig { files: vec![file] })
    }

    /// What `ssh` reads by default: `~/.ssh/config` then `/etc/ssh/ssh_config`,
    /// each skipped if it does not exist.
    pub fn load_default(home_dir: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let home = home_dir.as_ref();
        let mut config = SshConfig::default();
        let user = home.join(".ssh").join("config");
        if user.exists() {
            config.append(Self::parse_file_with(&user, &ParseOptions::user(home))?);
        }
        let system = Path::new("/etc/ssh/ssh_config");
        if system.exists() {
            config.append(Self::parse_file_with(system, &ParseOptions::system(home))?);
        }
        Ok(config)
    }

    /// Append another configuration, read after this one (so it has lower
    /// priority under "first obtained value wins").
    pub fn append(&mut self, other: SshConfig) {
        self.files.extend(other.files);
    }

    /// Every file read, includes included, in reading order.
    pub fn files(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        for f in &self.files {
            f.collect_paths(&mut out);
        }
        out
    }

    /// Resolve the options for `host` (the alias as the user wrote it).
    pub fn resolve(&self, host: &str, ctx: &ResolveContext) -> Result<ResolvedHost, ConfigError> {
        resolve::resolve(&self.files, host, ctx)
    }
}

/// Facts about the local side needed for resolution, plus command-line style
/// overrides (which, as `ssh -l`/`-p`, beat any configuration file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveContext {
    /// Local user name (`%u`, `Match localuser`, default remote user).
    pub local_user: String,
    /// Local home directory (`~`, `%d`).
    pub home_dir: PathBuf,
    /// Local host name including the domain (`%l`); `%L` is its first label.
    pub local_hostname: String,
    /// Local numeric user id (`%i`); `None` makes `%i` an error.
    pub local_uid: Option<u32>,
    /// Remote user that beats `User` (inventory `ssh_user`, `ssh -l`). Also
    /// what `Match user` sees.
    pub user_override: Option<String>,
    /// Port that beats `Port` (inventory `ssh_port`, `ssh -p`).
    pub port_override: Option<u16>,
    /// Environment used for `${VAR}` expansion and `IdentityAgent $VAR`.
    pub env: HashMap<String, String>,
}

impl ResolveContext {
    /// A context with the given user and home, no overrides, and an empty environment.
    pub fn new(local_user: impl Into<String>, home_dir: impl Into<PathBuf>) -> Self {
        ResolveContext {
            local_user: local_user.into(),
            home_dir: home_dir.into(),
            local_hostname: "localhost".to_string(),
            local_uid: None,
            user_override: None,
            port_override: None,
            env: HashMap::new(),
        }
    }

    /// A context describing this process: `$USER` (or `$LOGNAME`, or the
    /// passwd name of the process uid), `$HOME`, the kernel host name, the uid
    /// owning `/proc/self`, and the process environment.
    pub fn from_env() -> Self {
        let env: HashMap<String, String> = std::env::vars().collect();
        let local_uid = expand::local_uid();
        let local_user = env
            .get("USER")
            .or_else(|| env.get("LOGNAME"))
            .filter(|u| !u.is_empty())
            .cloned()
            .or_else(|| local_uid.and_then(expand::passwd_name))
            .unwrap_or_else(|| "root".to_string());
        ResolveContext {
            local_user,
            home_dir: expand::env_home(),
            local_hostname: expand::local_hostname(),
            local_uid,
            user_override: None,
            port_override: None,
            env,
        }
    }

    /// Builder-style setter for [`ResolveContext::user_override`].
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user_override = Some(user.into());
        self
    }

    /// Builder-style setter for [`ResolveContext::port_override`].
    pub fn with_port(mut self, port: u16) -> Self {
        self.port_override = Some(port);
        self
    }
}
