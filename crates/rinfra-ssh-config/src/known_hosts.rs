//! `known_hosts` parsing, host key checking and appending, with OpenSSH semantics
//! (SSH_KNOWN_HOSTS FILE FORMAT in `sshd(8)`).
//!
//! Supported: plain host lists (`a,b,[c]:2222`), hashed names
//! (`|1|salt|hash`, HMAC-SHA1 of the lowercased `host` or `[host]:port`),
//! wildcards `*`/`?`, negated patterns (`!pattern` rejects the line),
//! `@cert-authority` and `@revoked` markers, comments and blank lines. Lines
//! that cannot be parsed are skipped and reported by [`KnownHosts::warnings`]
//! (OpenSSH also skips them) instead of failing the whole file.
//!
//! Lookup names follow OpenSSH: the host name lowercased, written
//! `[host]:port` when the port is not 22. With `HostKeyAlias`, the alias is
//! used without a port (see `ResolvedHost::known_hosts_target`).

mod append;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use append::append_entry;
pub use parse::{hash_host, Marker};

use parse::{decode_key, parse_line, Line};

/// Errors reading or writing known_hosts files.
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An entry to append is not valid.
    #[error("invalid known_hosts entry: {0}")]
    InvalidEntry(String),
}

/// A line that was skipped because it could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHostsWarning {
    /// The file (or origin label).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why the line was skipped.
    pub message: String,
}

impl fmt::Display for KnownHostsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The verdict on a host key presented by a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A line for this host has exactly this key.
    Match {
        /// File of the matching line.
        file: PathBuf,
        /// Its line number.
        line: usize,
    },
    /// The key is listed as `@revoked` for this host: never accept it.
    Revoked {
        /// File of the `@revoked` line.
        file: PathBuf,
        /// Its line number.
        line: usize,
    },
    /// Lines exist for this host but none has this key: possible
    /// man-in-the-middle. Points to a line with the same key type if there is
    /// one, else to the first line for the host.
    Changed {
        /// File of the line with the expected key.
        file: PathBuf,
        /// Its line number.
        line: usize,
        /// Key type of that line (e.g. `ssh-ed25519`).
        expected_key_type: String,
    },
    /// No line for this host (a new host).
    NotFound,
}

#[derive(Debug, Clone)]
struct Entry {
    line: Line,
    file: usize,
    number: usize,
}

/// A set of known_hosts entries, possibly from several files.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    files: Vec<PathBuf>,
    entries: Vec<Entry>,
    warnings: Vec<KnownHostsWarning>,
}

/// The name OpenSSH looks up (and writes) for a host and port: the lowercased
/// host, or `[host]:port` when the port is not 22.
pub fn host_pattern(host: &str, port: u16) -> String {
    let host = host.to_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

impl KnownHosts {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read files in order (user files first, then global ones, as OpenSSH).
    /// Missing files are skipped; other read errors are returned.
    pub fn load<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, KnownHostsError> {
        let mut kh = Self::new();
        for p in paths {
            let p = p.as_ref();
            match std::fs::read_to_string(p) {
                Ok(text) => kh.add_str(&text, p),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(KnownHostsError::Io {
                        path: p.to_path_buf(),
                        source,
                    })
                }
            }
        }
        Ok(kh)
    }

    /// Parse text; `origin` names it in results and warnings.
    pub fn parse_str(text: &str, origin: impl AsRef<Path>) -> Self {
        let mut kh = Self::new();
        kh.add_str(text, origin);
        kh
    }

    /// Add the entries of more text, after those already present.
    pub fn add_str(&mut self, text: &str, origin: impl AsRef<Path>) {
        let file = self.files.len();
        self.files.push(origin.as_ref().to_path_buf());
        for (idx, raw) in text.lines().enumerate() {
            match parse_line(raw) {
                Ok(Some(line)) => self.entries.push(Entry {
                    line,
                    file,
                    number: idx + 1,
                }),
                Ok(None) => {}
                Err(message) => self.warnings.push(KnownHostsWarning {
                    file: origin.as_ref().to_path_buf(),
                    line: idx + 1,
                    message,
                }),
            }
        }
    }

    /// Lines skipped because they could not be parsed.
    pub fn warnings(&self) -> &[KnownHostsWarning] {
        &self.warnings
    }

    /// Number of valid entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no valid entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn matching<'a>(
        &'a self,
        host: &str,
        port: u16,
        marker: Marker,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        let name = host_pattern(host, port);
        self.entries
            .iter()
            .filter(move |e| e.line.marker == marker && e.line.hosts.matches(&name))
    }

    /// Check the key a server presented for `host` on `port`.
    ///
    /// `@revoked` beats everything; then a line with the same key is a
    /// [`HostKeyStatus::Match`]; lines for the host with other keys only give
    /// [`HostKeyStatus::Changed`]. `@cert-authority` lines are not used here
    /// (see [`KnownHosts::cert_authorities`]).
    pub fn check(&self, host: &str, port: u16, key_type: &str, key_base64: &str) -> HostKeyStatus {
        let blob = decode_key(key_base64);
        let same_key = |e: &Entry| {
            e.line.key_type == key_type
                && match &blob {
                    Some(b) => *b == e.line.key_blob,
                    None => e.line.key_base64 == key_base64,
                }
        };
        if let Some(e) = self
            .matching(host, port, Marker::Revoked)
            .find(|e| same_key(e))
        {
            return HostKeyStatus::Revoked {
                file: self.files[e.file].clone(),
                line: e.number,
            };
        }
        let mut changed: Option<&Entry> = None;
        for e in self.matching(host, port, Marker::None) {
            if same_key(e) {
                return HostKeyStatus::Match {
                    file: self.files[e.file].clone(),
                    line: e.number,
                };
            }
            let better = match changed {
                None => true,
                Some(c) => c.line.key_type != key_type && e.line.key_type == key_type,
            };
            if better {
                changed = Some(e);
            }
        }
        match changed {
            Some(e) => HostKeyStatus::Changed {
                file: self.files[e.file].clone(),
                line: e.number,
                expected_key_type: e.line.key_type.clone(),
            },
            None => HostKeyStatus::NotFound,
        }
    }

    /// `(key_type, key_base64)` of every `@cert-authority` line matching the
    /// host, in file order. A host certificate is acceptable if it is signed by
    /// one of these keys (and is not `@revoked`; the connector checks the
    /// certificate itself).
    pub fn cert_authorities(&self, host: &str, port: u16) -> Vec<(String, String)> {
        self.matching(host, port, Marker::CertAuthority)
            .map(|e| (e.line.key_type.clone(), e.line.key_base64.clone()))
            .collect()
    }

    /// `(key_type, key_base64)` of the plain host keys known for the host, in
    /// file order (useful to prefer those key types during key exchange, as
    /// OpenSSH does).
    pub fn host_keys(&self, host: &str, port: u16) -> Vec<(String, String)> {
        self.matching(host, port, Marker::None)
            .map(|e| (e.line.key_type.clone(), e.line.key_base64.clone()))
            .collect()
    }

    /// Whether a plain (unmarked) line for the host has exactly this key.
    pub(crate) fn has_host_key(
        &self,
        host: &str,
        port: u16,
        key_type: &str,
        key_base64: &str,
    ) -> bool {
        let blob = decode_key(key_base64);
        self.matching(host, port, Marker::None).any(|e| {
            e.line.key_type == key_type && blob.as_deref() == Some(e.line.key_blob.as_slice())
        })
    }

    /// Whether a `@revoked` line for the host lists this key (e.g. a CA key).
    pub fn is_revoked(&self, host: &str, port: u16, key_type: &str, key_base64: &str) -> bool {
        let blob = decode_key(key_base64);
        self.matching(host, port, Marker::Revoked).any(|e| {
            e.line.key_type == key_type && blob.as_deref() == Some(e.line.key_blob.as_slice())
        })
    }
}
