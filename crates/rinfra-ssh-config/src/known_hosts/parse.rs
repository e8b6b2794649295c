//! Parsing known_hosts lines and hashed host names.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::pattern::{match_comma_list, ListMatch};

/// Length of a SHA-1 digest, the size of both salt and hash in `|1|` entries.
const SHA1_LEN: usize = 20;

/// The marker at the start of a known_hosts line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// No marker: a host key.
    None,
    /// `@cert-authority`: a CA key trusted to sign host certificates.
    CertAuthority,
    /// `@revoked`: a key that must never be accepted.
    Revoked,
}

/// The host-name field of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hosts {
    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// A comma-separated pattern list (`a,*.b,!c,[d]:2222`).
    Patterns(String),
}

impl Hosts {
    /// Does the (lowercased) lookup name match this field?
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Hosts::Hashed { salt, hash } => hmac_sha1(salt, name) == *hash,
            Hosts::Patterns(list) => match_comma_list(name, list, true) == ListMatch::Match,
        }
    }
}

/// One valid line.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) marker: Marker,
    pub(crate) hosts: Hosts,
    pub(crate) key_type: String,
    pub(crate) key_base64: String,
    pub(crate) key_blob: Vec<u8>,
}

fn hmac_sha1(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The hashed form (`|1|salt|hash`) of a lookup name with the given salt.
///
/// `name` is what OpenSSH hashes: the lowercased host, or `[host]:port` for
/// a port other than 22 (see [`super::host_pattern`]).
pub fn hash_host(name: &str, salt: &[u8]) -> String {
    format!(
        "|1|{}|{}",
        B64.encode(salt),
        B64.encode(hmac_sha1(salt, name))
    )
}

/// Decode a base64 key, tolerating missing padding.
pub(crate) fn decode_key(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok().or_else(|| {
        let padded = format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
        B64.decode(padded).ok()
    })
}

/// The key type embedded at the start of an SSH public key blob.
fn blob_key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4usize.checked_add(len)?)?).ok()
}

fn parse_hashed(field: &str) -> Result<Hosts, String> {
    let parts: Vec<&str> = field.split('|').collect();
    match parts.as_slice() {
        ["", "1", salt, hash] => {
            let salt = B64
                .decode(salt)
                .map_err(|_| "bad base64 salt in hashed host")?;
            let hash = B64
                .decode(hash)
                .map_err(|_| "bad base64 hash in hashed host")?;
            if salt.len() != SHA1_LEN || hash.len() != SHA1_LEN {
                return Err("hashed host has a salt or hash of the wrong length".to_string());
            }
            Ok(Hosts::Hashed { salt, hash })
        }
        ["", magic, ..] => Err(format!("unsupported host hash type `|{magic}|`")),
        _ => Err("malformed hashed host".to_string()),
    }
}

fn next_field(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Parse one line. `Ok(None)` for blank lines and comments; `Err` explains a
/// line that must be skipped.
pub(crate) fn parse_line(raw: &str) -> Result<Option<Line>, String> {
    let line = raw.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (mut field, mut rest) = next_field(trimmed);
    let marker = match field {
        "@cert-authority" => Marker::CertAuthority,
        "@revoked" => Marker::Revoked,
        m if m.starts_with('@') => return Err(format!("unknown marker `{m}`")),
        _ => Marker::None,
    };
    if marker != Marker::None {
        (field, rest) = next_field(rest);
        if field.is_empty() {
            return Err("marker without host names".to_string());
        }
    }
    let hosts = if field.starts_with('|') {
        parse_hashed(field)?
    } else {
        if field.split(',').any(str::is_empty) {
            return Err("empty host name in list".to_string());
        }
        Hosts::Patterns(field.to_string())
    };
    let (key_type, rest) = next_field(rest);
    if key_type.is_empty() || key_type.starts_with('#') {
        return Err("missing key type".to_string());
    }
    if key_type.bytes().all(|b| b.is_ascii_digit()) {
        return Err("SSH protocol 1 (RSA1) keys are not supported".to_string());
    }
    let (key_base64, _comment) = next_field(rest);
    if key_base64.is_empty() || key_base64.starts_with('#') {
        return Err("missing key".to_string());
    }
    let key_blob = decode_key(key_base64).ok_or("key is not valid base64")?;
    match blob_key_type(&key_blob) {
        Some(t) if t == key_type => {}
        Some(t) => {
            return Err(format!(
                "key type `{key_type}` does not match the key (`{t}`)"
            ))
        }
        None => return Err("key blob is truncated".to_string()),
    }
    Ok(Some(Line {
        marker,
        hosts,
        key_type: key_type.to_string(),
        key_base64: key_base64.to_string(),
        key_blob,
    }))
}
