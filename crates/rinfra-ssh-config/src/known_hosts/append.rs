//! Appending one entry to a known_hosts file without rewriting it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use super::parse::decode_key;
use super::{host_pattern, KnownHosts, KnownHostsError};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KnownHostsError + '_ {
    move |source| KnownHostsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_parent(path: &Path) -> std::io::Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(parent)
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Append `host key_type key_base64` to the known_hosts file at `path`.
///
/// The host is written as OpenSSH does with `HashKnownHosts no`: lowercased,
/// `[host]:port` when the port is not 22. The file is created with mode 0600
/// (and missing parent directories with 0700). Existing lines are never
/// rewritten. If the file already has a line for this host with this key
/// (plain or hashed), nothing is written and `Ok(false)` is returned;
/// otherwise `Ok(true)`. The check and the write happen under an exclusive
/// lock on the file, so concurrent callers do not duplicate lines.
pub fn append_entry(
    path: impl AsRef<Path>,
    host: &str,
    port: u16,
    key_type: &str,
    key_base64: &str,
) -> Result<bool, KnownHostsError> {
    let path = path.as_ref();
    let bad = |m: &str| Err(KnownHostsError::InvalidEntry(m.to_string()));
    let blank = |s: &str| s.is_empty() || s.contains(|c: char| c.is_whitespace());
    if blank(host) || host.contains(',') || host.starts_with(['|', '@', '#', '!']) {
        return bad("host must be a single name without blanks or commas");
    }
    if host.contains(['*', '?']) {
        return bad("host must not contain wildcards");
    }
    if blank(key_type) || blank(key_base64) {
        return bad("key type and key must be non-empty and without blanks");
    }
    if decode_key(key_base64).is_none() {
        return bad("key is not valid base64");
    }

    create_parent(path).map_err(io(path))?;
    let mut file = open(path).map_err(io(path))?;
    file.lock().map_err(io(path))?;
    let mut existing = String::new();
    file.read_to_string(&mut existing).map_err(io(path))?;
    let known = KnownHosts::parse_str(&existing, path);
    if known.has_host_key(host, port, key_type, key_base64) {
        return Ok(false);
    }
    let mut line = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        // Do not glue our entry onto an unterminated last line.
        line.push('\n');
    }
    line.push_str(&format!(
        "{} {key_type} {key_base64}\n",
        host_pattern(host, port)
    ));
    file.write_all(line.as_bytes()).map_err(io(path))?;
    file.flush().map_err(io(path))?;
    Ok(true)
}
