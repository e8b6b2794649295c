//! User authentication, in OpenSSH's order: the explicit key (alone, as pyinfra does when
//! `ssh_key` is set), else agent keys then key files; then the password (`password`, then
//! `keyboard-interactive` answering every prompt with it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::MethodKind;
use tokio::net::UnixStream;

use crate::error::ConnectFailure;
use crate::session::ClientHandler;
use crate::target::{AgentSource, ResolvedTarget};

/// Running record of what was tried, for the error message.
struct Attempts {
    tried: Vec<String>,
    methods: Option<russh::MethodSet>,
    /// The server hung up (russh then reports a failure with no methods left).
    closed: bool,
}

impl Attempts {
    fn record(&mut self, what: String, result: &AuthResult) -> bool {
        match result {
            AuthResult::Success => true,
            AuthResult::Failure {
                remaining_methods, ..
            } if remaining_methods.is_empty() => {
                self.closed = true;
                false
            }
            AuthResult::Failure {
                remaining_methods, ..
            } => {
                self.tried.push(what);
                self.methods = Some(remaining_methods.clone());
                false
            }
        }
    }

    /// Whether the server still accepts `kind` (unknown before the first failure: try it).
    fn allows(&self, kind: MethodKind) -> bool {
        !self.closed && self.methods.as_ref().is_none_or(|m| m.contains(&kind))
    }
}

fn protocol_error(target: &ResolvedTarget, e: impl std::fmt::Display) -> ConnectFailure {
    ConnectFailure::Handshake {
        addr: target.display(),
        reason: format!("during authentication: {e}"),
    }
}

/// Connect to the agent socket.
pub(crate) async fn connect_agent(source: &AgentSource) -> Option<AgentClient<UnixStream>> {
    let path = match source {
        AgentSource::Disabled => return None,
        AgentSource::Env => PathBuf::from(std::env::var_os("SSH_AUTH_SOCK")?),
        AgentSource::Path(p) => p.clone(),
    };
    match AgentClient::connect_uds(&path).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::debug!(socket = %path.display(), error = %e, "cannot reach the ssh-agent");
            None
        }
    }
}

/// Load a private key file; the error says why in the operator's terms.
pub(crate) fn load_key(path: &Path, password: Option<&str>) -> Result<PrivateKey, KeyLoadError> {
    match russh::keys::load_secret_key(path, password) {
        Ok(k) => Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(KeyLoadError::Encrypted),
        Err(russh::keys::Error::IO(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(KeyLoadError::Missing)
        }
        Err(e) => {
            let text = e.to_string();
            // Wrong passphrases surface as decryption/padding/corruption errors.
            if password.is_some() {
                Err(KeyLoadError::BadPassphrase(text))
            } else if text.to_ascii_lowercase().contains("encrypt") {
                Err(KeyLoadError::Encrypted)
            } else {
                Err(KeyLoadError::Other(text))
            }
        }
    }
}

#[derive(Debug)]
pub(crate) enum KeyLoadError {
    Missing,
    Encrypted,
    BadPassphrase(String),
    Other(String),
}

fn key_error_message(path: &Path, e: KeyLoadError) -> String {
    let p = path.display();
    match e {
        KeyLoadError::Missing => format!("private key file `{p}` does not exist"),
        KeyLoadError::Encrypted => {
            format!("private key `{p}` is encrypted; give its passphrase in `ssh_key_password`")
        }
        KeyLoadError::BadPassphrase(why) => format!(
            "cannot decrypt private key `{p}` with `ssh_key_password` (wrong passphrase?): {why}"
        ),
        KeyLoadError::Other(why) => format!("cannot read private key `{p}`: {why}"),
    }
}

/// A certificate for `key`: `KEY-cert.pub` beside it, or one of the `CertificateFile`s, that
/// certifies this very key.
fn certificate_for(
    key_path: &Path,
    key: &PublicKey,
    extra: &[PathBuf],
) -> Option<(PathBuf, Certificate)> {
    let mut candidates = vec![PathBuf::from(format!("{}-cert.pub", key_path.display()))];
    candidates.extend(extra.iter().cloned());
    for path in candidates {
        if !path.exists() {
            continue;
        }
        match russh::keys::load_openssh_certificate(&path) {
            Ok(cert) if cert.public_key() == key.key_data() => return Some((path, cert)),
            Ok(_) => {}
            Err(e) => tracing::debug!(cert = %path.display(), error = %e, "unusable certificate"),
        }
    }
    None
}

fn hash_for(key: &PublicKey, rsa_hash: Option<HashAlg>) -> Option<HashAlg> {
    if key.algorithm().is_rsa() {
        rsa_hash
    } else {
        None
    }
}

/// Try a key loaded from a file (with its certificate first, when there is one).
async fn try_key_file(
    handle: &mut Handle<ClientHandler>,
    target: &ResolvedTarget,
    path: &Path,
    key: PrivateKey,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> Result<bool, ConnectFailure> {
    let key = Arc::new(key);
    if let Some((cert_path, cert)) =
        certificate_for(path, key.public_key(), &target.auth.certificate_files)
    {
        let r = handle
            .authenticate_openssh_cert(&target.user, key.clone(), cert)
            .await
            .map_err(|e| protocol_error(target, e))?;
        if attempts.record(format!("certificate `{}`", cert_path.display()), &r) {
            return Ok(true);
        }
    }
    let hash = hash_for(key.public_key(), rsa_hash);
    let r = handle
        .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(|e| protocol_error(target, e))?;
    Ok(attempts.record(format!("key `{}`", path.display()), &r))
}

/// Authenticate `handle` as `target.user`.
pub(crate) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    target: &ResolvedTarget,
) -> Result<(), ConnectFailure> {
    let auth = &target.auth;
    let mut attempts = Attempts {
        tried: Vec::new(),
        methods: None,
        closed: false,
    };
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let key_password = auth.key_password.as_ref().map(|s| s.expose());

    if let Some(path) = &auth.explicit_key {
        // pyinfra: an explicit key that cannot be loaded is an error, not a skip.
        let key = load_key(path, key_password)
            .map_err(|e| ConnectFailure::Key(key_error_message(path, e)))?;
        if try_key_file(handle, target, path, key, rsa_hash, &mut attempts).await? {
            return Ok(());
        }
    } else {
        let mut offered: Vec<PublicKey> = Vec::new();
        if let Some(source) = &auth.agent {
            if try_agent(
                handle,
                target,
                source,
                rsa_hash,
                &mut attempts,
                &mut offered,
            )
            .await?
            {
                return Ok(());
            }
        }
        for path in &auth.identity_files {
            if !attempts.allows(MethodKind::PublicKey) {
                break;
            }
            if !path.exists() {
                continue;
            }
            let key = match load_key(path, key_password) {
                Ok(k) => k,
                Err(e) => {
                    tracing::debug!(key = %path.display(), "skipping key: {}", key_error_message(path, e));
                    continue;
                }
            };
            // The agent may already have offered the same key.
            if offered
                .iter()
                .any(|k| k.key_data() == key.public_key().key_data())
            {
                continue;
            }
            offered.push(key.public_key().clone());
            if try_key_file(handle, target, path, key, rsa_hash, &mut attempts).await? {
                return Ok(());
            }
        }
    }

    if let Some(password) = &auth.password {
        if attempts.allows(MethodKind::Password) {
            let r = handle
                .authenticate_password(&target.user, password.expose())
                .await
                .map_err(|e| protocol_error(target, e))?;
            if attempts.record("password".into(), &r) {
                return Ok(());
            }
        }
        if attempts.allows(MethodKind::KeyboardInteractive)
            && try_keyboard_interactive(handle, target, password.expose(), &mut attempts).await?
        {
            return Ok(());
        }
    }

    let closed = attempts.closed || handle.is_closed();
    Err(ConnectFailure::Auth {
        target: target.display(),
        closed_after: closed.then_some(attempts.tried.len()),
        tried: attempts.tried,
        methods: attempts.methods.map(|m| {
            m.iter()
                .map(<&str>::from)
                .filter(|m| *m != "none")
                .collect::<Vec<_>>()
                .join(",")
        }),
    })
}

async fn try_agent(
    handle: &mut Handle<ClientHandler>,
    target: &ResolvedTarget,
    source: &AgentSource,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
    offered: &mut Vec<PublicKey>,
) -> Result<bool, ConnectFailure> {
    let Some(mut agent) = connect_agent(source).await else {
        return Ok(false);
    };
    let identities = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::debug!(error = %e, "the ssh-agent did not list its keys");
            return Ok(false);
        }
    };
    for identity in identities {
        if !attempts.allows(MethodKind::PublicKey) {
            break;
        }
        let (result, label, key) = match identity {
            AgentIdentity::PublicKey { key, comment } => {
                if target.auth.identities_only && !matches_identity_file(&key, target) {
                    continue;
                }
                let hash = hash_for(&key, rsa_hash);
                let r = handle
                    .authenticate_publickey_with(&target.user, key.clone(), hash, &mut agent)
                    .await;
                (r, comment, key)
            }
            AgentIdentity::Certificate {
                certificate,
                comment,
            } => {
                let key = PublicKey::from(certificate.public_key().clone());
                if target.auth.identities_only && !matches_identity_file(&key, target) {
                    continue;
                }
                let hash = hash_for(&key, rsa_hash);
                let r = handle
                    .authenticate_certificate_with(&target.user, certificate, hash, &mut agent)
                    .await;
                (r, comment, key)
            }
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let short = fingerprint.get(..15).unwrap_or(&fingerprint);
        offered.push(key);
        let label = if label.is_empty() {
            format!("agent key {short}…")
        } else {
            format!("agent key `{label}` ({short}…)")
        };
        match result {
            Ok(r) => {
                if attempts.record(label, &r) {
                    return Ok(true);
                }
            }
            Err(e) => {
                // The agent refused to sign (locked, confirm denied): try the next method.
                tracing::debug!(error = %e, "agent signing failed");
                attempts
                    .tried
                    .push(format!("{label} (agent refused to sign)"));
                if handle.is_closed() {
                    return Err(protocol_error(target, e));
                }
            }
        }
    }
    Ok(false)
}

/// With `IdentitiesOnly`, an agent key is offered only when one of the identity files (or its
/// `.pub`) holds the same public key.
fn matches_identity_file(key: &PublicKey, target: &ResolvedTarget) -> bool {
    target.auth.identity_files.iter().any(|f| {
        let pubfile = PathBuf::from(format!("{}.pub", f.display()));
        russh::keys::load_public_key(&pubfile)
            .map(|k| k.key_data() == key.key_data())
            .unwrap_or(false)
    })
}

async fn try_keyboard_interactive(
    handle: &mut Handle<ClientHandler>,
    target: &ResolvedTarget,
    password: &str,
    attempts: &mut Attempts,
) -> Result<bool, ConnectFailure> {
    let mut response = handle
        .authenticate_keyboard_interactive_start(&target.user, None::<String>)
        .await
        .map_err(|e| protocol_error(target, e))?;
    // Bounded: a server that keeps asking is not going to accept.
    for _ in 0..5 {
        match response {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure {
                remaining_methods,
                partial_success,
            } => {
                let r = AuthResult::Failure {
                    remaining_methods,
                    partial_success,
                };
                return Ok(attempts.record("keyboard-interactive".into(), &r));
            }
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                response = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(|e| protocol_error(target, e))?;
            }
        }
    }
    attempts.tried.push("keyboard-interactive".into());
    Ok(false)
}
