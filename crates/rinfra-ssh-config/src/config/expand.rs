//! `~`, `${VAR}` and `%x` token expansion (see TOKENS and ENVIRONMENT
//! VARIABLES in `ssh_config(5)`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `$HOME`, or `/` when unset.
pub(crate) fn env_home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The kernel's host name, or `localhost`.
pub(crate) fn local_hostname() -> String {
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    "localhost".to_string()
}

/// The uid owning this process (Linux: owner of `/proc/self`).
pub(crate) fn local_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Home directory of `user` from `/etc/passwd`.
fn passwd_home(user: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[0] == user).then(|| PathBuf::from(fields[5]))
    })
}

/// The user name of `uid` from `/etc/passwd`.
pub(crate) fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    let uid = uid.to_string();
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 3 && fields[2] == uid).then(|| fields[0].to_string())
    })
}

/// Expand a leading `~` or `~user`.
pub(crate) fn expand_tilde(
    s: &str,
    home: &Path,
    local_user: Option<&str>,
) -> Result<String, String> {
    let Some(rest) = s.strip_prefix('~') else {
        return Ok(s.to_string());
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let base = if user.is_empty() || Some(user) == local_user {
        home.to_path_buf()
    } else {
        passwd_home(user).ok_or_else(|| format!("unknown user `{user}` in `{s}`"))?
    };
    let base = base.to_string_lossy();
    let base = base.trim_end_matches('/');
    Ok(format!("{base}{tail}"))
}

/// Expand `${NAME}` references. A missing variable is an error (as OpenSSH).
pub(crate) fn expand_env(s: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated ${{ in `{s}`"))?;
        let name = &after[..end];
        if name.is_empty() {
            return Err(format!("empty ${{}} in `{s}`"));
        }
        let value = env
            .get(name)
            .ok_or_else(|| format!("environment variable `{name}` is not set"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Values for the `%` tokens. A `None` makes that token unavailable.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tokens {
    pub(crate) values: HashMap<char, String>,
}

impl Tokens {
    pub(crate) fn set(&mut self, token: char, value: impl Into<String>) {
        self.values.insert(token, value.into());
    }

    /// Expand `%x` tokens; only those listed in `allowed` are accepted.
    /// `%%` is always accepted. Unknown or unavailable tokens are errors.
    pub(crate) fn expand(&self, s: &str, allowed: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some(t) if allowed.contains(t) => match self.values.get(&t) {
                    Some(v) => out.push_str(v),
                    None => return Err(format!("token %{t} has no value here")),
                },
                Some(t) => return Err(format!("unknown or unsupported token %{t}")),
                None => return Err("`%` at end of value".to_string()),
            }
        }
        Ok(out)
    }
}

/// Tokens accepted by IdentityFile, CertificateFile, IdentityAgent,
/// UserKnownHostsFile, ControlPath, LocalForward, RemoteForward, RemoteCommand.
pub(crate) const PATH_TOKENS: &str = "CdhikLlnpru";
/// Tokens accepted by ProxyCommand and ProxyJump.
pub(crate) const PROXY_TOKENS: &str = "hnpr";
/// Tokens accepted by HostName.
pub(crate) const HOSTNAME_TOKENS: &str = "h";

/// Expand `HostName`'s `%h` (the alias) and `%%`.
pub(crate) fn expand_hostname(value: &str, alias: &str) -> Result<String, String> {
    let mut t = Tokens::default();
    t.set('h', alias);
    t.expand(value, HOSTNAME_TOKENS)
}

/// Lowercase hex SHA-1, used for `%C`.
pub(crate) fn sha1_hex(data: &str) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde() {
        let home = Path::new("/home/me");
        assert_eq!(expand_tilde("~", home, None).unwrap(), "/home/me");
        assert_eq!(
            expand_tilde("~/.ssh/id", home, None).unwrap(),
            "/home/me/.ssh/id"
        );
        assert_eq!(
            expand_tilde("~me/x", home, Some("me")).unwrap(),
            "/home/me/x"
        );
        assert_eq!(expand_tilde("/abs/~x", home, None).unwrap(), "/abs/~x");
        assert_eq!(expand_tilde("~root/x", home, None).unwrap(), "/root/x");
        assert!(expand_tilde("~no-such-user-rinfra/x", home, None).is_err());
        assert_eq!(expand_tilde("~/x", Path::new("/"), None).unwrap(), "/x");
    }

    #[test]
    fn passwd_lookup() {
        assert_eq!(passwd_name(0).as_deref(), Some("root"));
        assert_eq!(passwd_name(4_000_000_000), None);
    }

    #[test]
    fn env() {
        let mut env = HashMap::new();
        env.insert("A".to_string(), "alpha".to_string());
        assert_eq!(expand_env("${A}/x/${A}", &env).unwrap(), "alpha/x/alpha");
        assert_eq!(expand_env("$A/x", &env).unwrap(), "$A/x");
        assert!(expand_env("${B}", &env).is_err());
        assert!(expand_env("${A", &env).is_err());
    }

    #[test]
    fn tokens() {
        let mut t = Tokens::default();
        t.set('h', "host");
        t.set('p', "22");
        assert_eq!(t.expand("%h:%p %% 100%%", "hp").unwrap(), "host:22 % 100%");
        assert!(t.expand("%r", "hpr").is_err());
        assert!(t.expand("%x", "hp").is_err());
        assert!(t.expand("%h", "p").is_err());
        assert!(t.expand("50%", "hp").is_err());
        assert_eq!(
            expand_hostname("%h.example.com", "web1").unwrap(),
            "web1.example.com"
        );
        assert!(expand_hostname("%p.example.com", "web1").is_err());
    }

    #[test]
    fn sha1() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
