//! Host key verification: a [`HostKeyVerifier`] looks keys up, [`verify_host_key`] applies the
//! `StrictHostKeyChecking` policy and words the refusal as OpenSSH does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rinfra_ssh_config::{HostKeyStatus as KhStatus, KnownHosts};
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Certificate, HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::data::StrictHostKeyChecking;

/// What the known_hosts files say about a host's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A matching key, or a valid certificate from a trusted `@cert-authority`.
    Known,
    /// Nothing is recorded for this host.
    Unknown,
    /// Other keys are recorded for the host: possible man-in-the-middle.
    Changed {
        /// The file holding the recorded key.
        file: PathBuf,
        /// Its line number (1-based).
        line: usize,
    },
    /// The key (or the certificate's authority) is marked `@revoked`.
    Revoked {
        /// The file holding the `@revoked` line.
        file: PathBuf,
        /// Its line number (1-based).
        line: usize,
    },
    /// A certificate from a trusted authority that is not valid for this host (expired, wrong
    /// principal, not a host certificate, bad signature).
    Untrusted(String),
}

/// What a client should offer in key exchange for a host, given what known_hosts holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostKeyPreferences {
    /// Key types already recorded for the host (`ssh-ed25519`, ...), in file order: offered
    /// first, so a server with several keys presents the one we know (as OpenSSH does).
    pub known_key_types: Vec<String>,
    /// Whether a `@cert-authority` line covers the host: then host certificates are asked for.
    pub cert_authority: bool,
}

/// Looks host keys up in known_hosts files and records new ones.
///
/// `host` and `port` are what known_hosts stores ([`ResolvedTarget::known_hosts_target`]:
/// the `HostKeyAlias` with port 22, or the hostname and port); implementations write
/// `[host]:port` for ports other than 22.
///
/// [`ResolvedTarget::known_hosts_target`]: crate::ResolvedTarget::known_hosts_target
pub trait HostKeyVerifier: Send + Sync {
    /// What `files` say about `key` for `host:port`. `Err` holds a reason a file could not be
    /// read (a missing file is not an error: nothing is known).
    fn check(
        &self,
        files: &[PathBuf],
        host: &str,
        port: u16,
        key: &PublicKeyOrCertificate,
    ) -> Result<HostKeyStatus, String>;

    /// Append `key` for `host:port` to `file` (creating it and its directory if needed),
    /// unless the file already has it.
    fn add(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()>;

    /// What to offer in key exchange for this host (default: no preference).
    fn preferences(&self, _files: &[PathBuf], _host: &str, _port: u16) -> HostKeyPreferences {
        HostKeyPreferences::default()
    }
}

/// The known_hosts verifier: plain and hashed names, wildcards and negations, `[host]:port`,
/// `@cert-authority` and `@revoked`, as OpenSSH reads them (rinfra-ssh-config). Files are
/// parsed once and re-read only when they change.
#[derive(Default)]
pub struct KnownHostsVerifier {
    cache: Mutex<HashMap<Vec<PathBuf>, CachedFiles>>,
}

struct CachedFiles {
    stamps: Vec<Option<(SystemTime, u64)>>,
    known: Arc<KnownHosts>,
}

impl std::fmt::Debug for KnownHostsVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownHostsVerifier").finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// `(type, base64)` of a key, as known_hosts writes it.
fn openssh_parts(key: &PublicKey) -> Option<(String, String)> {
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().ok()?;
    let mut parts = text.split_whitespace();
    Some((parts.next()?.to_string(), parts.next()?.to_string()))
}

impl KnownHostsVerifier {
    /// A verifier with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn load(&self, files: &[PathBuf]) -> Result<Arc<KnownHosts>, String> {
        let stamps: Vec<_> = files.iter().map(|f| stamp(f)).collect();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(files) {
            if c.stamps == stamps {
                return Ok(c.known.clone());
            }
        }
        let known = KnownHosts::load(files).map_err(|e| e.to_string())?;
        for w in known.warnings() {
            tracing::debug!(file = %w.file.display(), line = w.line, "skipping known_hosts line: {}", w.message);
        }
        let known = Arc::new(known);
        cache.insert(
            files.to_vec(),
            CachedFiles {
                stamps,
                known: known.clone(),
            },
        );
        Ok(known)
    }
}

fn plain_status(known: &KnownHosts, host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
    let Some((ty, b64)) = openssh_parts(key) else {
        return HostKeyStatus::Untrusted("the key cannot be encoded".into());
    };
    match known.check(host, port, &ty, &b64) {
        KhStatus::Match { .. } => HostKeyStatus::Known,
        KhStatus::NotFound => HostKeyStatus::Unknown,
        KhStatus::Changed { file, line, .. } => HostKeyStatus::Changed { file, line },
        KhStatus::Revoked { file, line } => HostKeyStatus::Revoked { file, line },
    }
}

fn certificate_status(
    known: &KnownHosts,
    host: &str,
    port: u16,
    cert: &Certificate,
) -> HostKeyStatus {
    let ca = PublicKey::from(cert.signature_key().clone());
    let plain = PublicKey::from(cert.public_key().clone());
    for key in [&ca, &plain] {
        if let HostKeyStatus::Revoked { file, line } = plain_status(known, host, port, key) {
            return HostKeyStatus::Revoked { file, line };
        }
    }
    let Some((ca_type, ca_b64)) = openssh_parts(&ca) else {
        return HostKeyStatus::Untrusted("the certificate authority key cannot be encoded".into());
    };
    let trusted = known
        .cert_authorities(host, port)
        .iter()
        .any(|(t, b)| *t == ca_type && *b == ca_b64);
    if !trusted {
        // As OpenSSH: no authority for it, so judge the certified key as a plain key.
        return plain_status(known, host, port, &plain);
    }
    if cert.cert_type() != CertType::Host {
        return HostKeyStatus::Untrusted("it is a user certificate, not a host certificate".into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let fingerprint = ca.fingerprint(HashAlg::Sha256);
    if let Err(e) = cert.validate_at(now, [&fingerprint]) {
        return HostKeyStatus::Untrusted(format!("certificate check failed: {e}"));
    }
    let principals = cert.valid_principals();
    if !principals.is_empty() && !principals.iter().any(|p| p.eq_ignore_ascii_case(host)) {
        return HostKeyStatus::Untrusted(format!(
            "the certificate is for {}, not `{host}`",
            principals.join(", ")
        ));
    }
    HostKeyStatus::Known
}

impl HostKeyVerifier for KnownHostsVerifier {
    fn check(
        &self,
        files: &[PathBuf],
        host: &str,
        port: u16,
        key: &PublicKeyOrCertificate,
    ) -> Result<HostKeyStatus, String> {
        let known = self.load(files)?;
        Ok(match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => plain_status(&known, host, port, key),
            PublicKeyOrCertificate::Certificate(cert) => {
                certificate_status(&known, host, port, cert)
            }
        })
    }

    fn add(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        let (ty, b64) =
            openssh_parts(key).ok_or_else(|| std::io::Error::other("cannot encode the key"))?;
        rinfra_ssh_config::append_entry(file, host, port, &ty, &b64)
            .map(|_| ())
            .map_err(std::io::Error::other)
    }

    fn preferences(&self, files: &[PathBuf], host: &str, port: u16) -> HostKeyPreferences {
        let Ok(known) = self.load(files) else {
            return HostKeyPreferences::default();
        };
        let mut known_key_types = Vec::new();
        for (ty, _) in known.host_keys(host, port) {
            if !known_key_types.contains(&ty) {
                known_key_types.push(ty);
            }
        }
        HostKeyPreferences {
            known_key_types,
            cert_authority: !known.cert_authorities(host, port).is_empty(),
        }
    }
}

/// The key itself: for a host certificate, the key it certifies.
pub fn plain_key(key: &PublicKeyOrCertificate) -> PublicKey {
    match key {
        PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
        PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
    }
}

/// OpenSSH's short key type name (`ED25519`, `RSA`, `ECDSA`).
pub fn key_type_name(key: &PublicKey) -> String {
    let alg = key.algorithm();
    let name = alg.as_str();
    match name {
        "ssh-ed25519" => "ED25519".into(),
        "ssh-rsa" => "RSA".into(),
        "ssh-dss" => "DSA".into(),
        n if n.starts_with("ecdsa-") => "ECDSA".into(),
        n => n.to_ascii_uppercase(),
    }
}

/// `host` or `[host]:port`, as known_hosts and `ssh-keygen -R` write it.
pub fn known_hosts_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Serialises accept-new appends in this process, so two connections to one host (or a jump
/// host shared by many targets) never write the same line twice.
static APPEND_LOCK: Mutex<()> = Mutex::new(());

/// Apply `policy` to the key a server presented. `Err` is the refusal, worded for the operator.
pub fn verify_host_key(
    verifier: &dyn HostKeyVerifier,
    files: &[PathBuf],
    host: &str,
    port: u16,
    policy: StrictHostKeyChecking,
    key: &PublicKeyOrCertificate,
) -> Result<(), String> {
    let plain = plain_key(key);
    let kind = key_type_name(&plain);
    let fingerprint = plain.fingerprint(HashAlg::Sha256);
    let name = known_hosts_name(host, port);
    let first_file = files
        .first()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "~/.ssh/known_hosts".into());

    let status = verifier.check(files, host, port, key)?;
    match status {
        HostKeyStatus::Known => Ok(()),
        HostKeyStatus::Untrusted(why) => Err(format!(
            "the host certificate of `{name}` is signed by a trusted authority but not \
             accepted: {why}"
        )),
        HostKeyStatus::Revoked { file, line } => Err(format!(
            "the {kind} host key of `{name}` ({fingerprint}) is marked @revoked in `{}:{line}`; \
             refusing to connect",
            file.display()
        )),
        HostKeyStatus::Changed { file, line } => Err(format!(
            "REMOTE HOST IDENTIFICATION HAS CHANGED for `{name}`: the {kind} key it sent \
             ({fingerprint}) differs from the one in `{file}:{line}`; someone could be \
             eavesdropping (man-in-the-middle attack), or the host key has just been changed. \
             If the change is expected, remove the old key with `ssh-keygen -f \"{file}\" -R \
             \"{name}\"`",
            file = file.display()
        )),
        HostKeyStatus::Unknown => match policy {
            StrictHostKeyChecking::No => {
                tracing::warn!(host = %name, %fingerprint, "accepting unknown host key");
                Ok(())
            }
            StrictHostKeyChecking::Yes => Err(format!(
                "no host key is known for `{name}` ({kind} key {fingerprint}) and strict host \
                 key checking is on; add it to `{first_file}` or set \
                 `ssh_strict_host_key_checking` to `accept-new`"
            )),
            StrictHostKeyChecking::AcceptNew => {
                let Some(file) = files.first() else {
                    return Err(format!(
                        "no known_hosts file to record the key of `{name}` in"
                    ));
                };
                let _guard = APPEND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
                // Another connection may have added it while we waited.
                match verifier.check(files, host, port, key)? {
                    HostKeyStatus::Unknown => {}
                    HostKeyStatus::Known => return Ok(()),
                    _ => return verify_host_key(verifier, files, host, port, policy, key),
                }
                verifier.add(file, host, port, &plain).map_err(|e| {
                    format!(
                        "cannot record the host key of `{name}` in `{}`: {e}",
                        file.display()
                    )
                })?;
                tracing::info!(host = %name, %fingerprint, file = %file.display(),
                    "permanently added host key");
                Ok(())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIIS+pWPaK0tj8iSzB6w6KM0MM/inxsV2MfsryYWE60Og";
    const K2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIPlIlTseRhabZxIyPyqbxeoF6D0XlBtrpm4ZAvB+7n9d";

    fn keys() -> (PublicKey, PublicKey) {
        let k = |b| russh::keys::parse_public_key_base64(b).unwrap();
        (k(K1), k(K2))
    }

    fn pk(k: &PublicKey) -> PublicKeyOrCertificate {
        PublicKeyOrCertificate::from(k.clone())
    }

    #[test]
    fn accept_new_records_once_then_refuses_a_changed_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/known_hosts");
        let files = vec![file.clone()];
        let (k1, k2) = keys();
        let v = KnownHostsVerifier::new();
        let policy = StrictHostKeyChecking::AcceptNew;
        verify_host_key(&v, &files, "h1", 2222, policy, &pk(&k1)).unwrap();
        verify_host_key(&v, &files, "h1", 2222, policy, &pk(&k1)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("[h1]:2222 ssh-ed25519 "), "{text}");

        let err = verify_host_key(&v, &files, "h1", 2222, policy, &pk(&k2)).unwrap_err();
        assert!(
            err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{err}"
        );
        assert!(err.contains(&format!("{}:1", file.display())), "{err}");
        assert!(err.contains("ssh-keygen -f"), "{err}");
        // Another port is another host.
        verify_host_key(&v, &files, "h1", 22, policy, &pk(&k2)).unwrap();
    }

    #[test]
    fn strict_yes_refuses_unknown_and_no_accepts_without_recording() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![dir.path().join("known_hosts")];
        let (k, _) = keys();
        let err = verify_host_key(
            &KnownHostsVerifier::new(),
            &files,
            "h",
            22,
            StrictHostKeyChecking::Yes,
            &pk(&k),
        )
        .unwrap_err();
        assert!(err.contains("no host key is known for `h`"), "{err}");
        verify_host_key(
            &KnownHostsVerifier::new(),
            &files,
            "h",
            22,
            StrictHostKeyChecking::No,
            &pk(&k),
        )
        .unwrap();
        assert!(!files[0].exists());
    }
}
