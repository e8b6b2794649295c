//! Host key verification: a [`HostKeyVerifier`] looks keys up, [`verify_host_key`] applies the
//! `StrictHostKeyChecking` policy and words the refusal as OpenSSH does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use russh::keys::{HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::data::StrictHostKeyChecking;

/// What the known_hosts files say about a host's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A matching key (or a trusted `@cert-authority` for a certificate) is recorded.
    Known,
    /// Nothing is recorded for this host and key type.
    Unknown,
    /// A different key of the same type is recorded: possible man-in-the-middle.
    Changed {
        /// The file holding the recorded key.
        file: PathBuf,
        /// Its line number (1-based).
        line: usize,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// The file holding the `@revoked` line.
        file: PathBuf,
        /// Its line number (1-based).
        line: usize,
    },
}

/// Looks host keys up in known_hosts files and records new ones.
///
/// `host` is the name as known_hosts stores it (the `HostKeyAlias` or the hostname); the
/// implementation adds the `[host]:port` form for ports other than 22.
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

    /// Append `key` for `host:port` to `file` (creating it and its directory if needed).
    fn add(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()>;
}

/// A verifier over plain and hashed known_hosts entries, exact host names and `[host]:port`
/// (russh's own matcher). No wildcards, `@cert-authority` or `@revoked`: the ssh-config
/// crate's verifier handles those.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicKnownHosts;

impl HostKeyVerifier for BasicKnownHosts {
    fn check(
        &self,
        files: &[PathBuf],
        host: &str,
        port: u16,
        key: &PublicKeyOrCertificate,
    ) -> Result<HostKeyStatus, String> {
        let key = plain_key(key);
        for file in files {
            let recorded = russh::keys::known_hosts::known_host_keys_path(host, port, file)
                .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
            for (line, known) in &recorded {
                if known.algorithm() == key.algorithm() {
                    if known.key_data() == key.key_data() {
                        return Ok(HostKeyStatus::Known);
                    }
                    return Ok(HostKeyStatus::Changed {
                        file: file.clone(),
                        line: real_line_number(file, *line),
                    });
                }
            }
        }
        Ok(HostKeyStatus::Unknown)
    }

    fn add(&self, file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        append_known_host(file, &known_hosts_name(host, port), key)
    }
}

/// Append `NAME KEYTYPE BASE64` to `file`, creating it (and its directory, 0700 as OpenSSH
/// makes `~/.ssh`) when needed; a file not ending in a newline gets one first.
pub fn append_known_host(file: &Path, name: &str, key: &PublicKey) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(file)?;
    let mut line = String::new();
    if f.metadata()?.len() > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::End(-1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    let mut key = key.clone();
    key.set_comment("");
    let encoded = key.to_openssh().map_err(std::io::Error::other)?;
    line.push_str(&format!("{name} {}\n", encoded.trim_end()));
    f.write_all(line.as_bytes())
}

/// russh numbers known_hosts lines without counting `#` comment lines; give the real number.
fn real_line_number(file: &Path, russh_line: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(file) else {
        return russh_line;
    };
    let mut counted = 0;
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with('#') {
            counted += 1;
            if counted == russh_line {
                return i + 1;
            }
        }
    }
    russh_line
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
        let v = BasicKnownHosts;
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
            &BasicKnownHosts,
            &files,
            "h",
            22,
            StrictHostKeyChecking::Yes,
            &pk(&k),
        )
        .unwrap_err();
        assert!(err.contains("no host key is known for `h`"), "{err}");
        verify_host_key(
            &BasicKnownHosts,
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
