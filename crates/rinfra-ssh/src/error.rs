//! Why a connection failed, worded for the operator (then flattened into a `ConnectError`).

use std::io;
use std::time::Duration;

use rinfra_connectors::ConnectError;

/// One failed connection attempt.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectFailure {
    #[error("could not resolve hostname `{host}`: {}", describe_io(.source))]
    Resolve { host: String, source: io::Error },
    #[error("could not connect to `{addr}`: {}", describe_io(.source))]
    Tcp { addr: String, source: io::Error },
    #[error("{phase} `{addr}` timed out after {}s", fmt_secs(*.after))]
    Timeout {
        phase: &'static str,
        addr: String,
        after: Duration,
    },
    #[error("ssh handshake with `{addr}` failed: {reason}")]
    Handshake { addr: String, reason: String },
    #[error("{0}")]
    HostKey(String),
    #[error(
        "authentication failed for `{target}`: tried {}{}{}",
        tried_list(.tried),
        server_methods(.methods),
        hung_up(*.closed_after)
    )]
    Auth {
        target: String,
        tried: Vec<String>,
        methods: Option<String>,
        /// The server closed the connection after this many attempts.
        closed_after: Option<usize>,
    },
    #[error("{0}")]
    Key(String),
    #[error("proxy command `{command}` failed: {reason}")]
    ProxyCommand { command: String, reason: String },
    #[error("{inner} (through {hop})")]
    Via {
        hop: String,
        inner: Box<ConnectFailure>,
    },
}

impl ConnectFailure {
    /// Worth another attempt (pyinfra retries socket errors, SSH protocol errors and EOF; an
    /// authentication or host key refusal will not change).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Resolve { .. }
            | Self::Tcp { .. }
            | Self::Timeout { .. }
            | Self::Handshake { .. }
            | Self::ProxyCommand { .. } => true,
            Self::Via { inner, .. } => inner.is_transient(),
            Self::HostKey(_) | Self::Auth { .. } | Self::Key(_) => false,
        }
    }

    pub(crate) fn via(self, hop: &str) -> Self {
        Self::Via {
            hop: hop.to_string(),
            inner: Box::new(self),
        }
    }
}

impl From<ConnectFailure> for ConnectError {
    fn from(f: ConnectFailure) -> Self {
        ConnectError::new(f.to_string())
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.1}")
    }
}

/// An I/O error as a short lowercase phrase (`connection refused`), the OS text otherwise.
pub(crate) fn describe_io(e: &io::Error) -> String {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by peer".into(),
        K::HostUnreachable => "no route to host".into(),
        K::NetworkUnreachable => "network is unreachable".into(),
        K::AddrNotAvailable => "address not available".into(),
        K::TimedOut => "timed out".into(),
        K::UnexpectedEof => "connection closed by the server".into(),
        _ => {
            let text = e.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

fn tried_list(tried: &[String]) -> String {
    if tried.is_empty() {
        "no method (no agent key, key file or password was available)".into()
    } else {
        tried.join(", ")
    }
}

fn hung_up(closed_after: Option<usize>) -> String {
    match closed_after {
        Some(n) => format!(
            "; the server closed the connection after {n} attempts (sshd's MaxAuthTries counts \
             every key offered: set `ssh_key`, or `IdentitiesOnly yes` with an `IdentityFile` in \
             ssh_config)"
        ),
        None => String::new(),
    }
}

fn server_methods(methods: &Option<String>) -> String {
    match methods {
        Some(m) if !m.is_empty() => format!("; the server accepts: {m}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_cause() {
        let e = ConnectFailure::Tcp {
            addr: "127.0.2.250:22".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(
            e.to_string(),
            "could not connect to `127.0.2.250:22`: connection refused"
        );
        assert!(e.is_transient());
        let e = ConnectFailure::Timeout {
            phase: "connecting to",
            addr: "10.0.0.1:22".into(),
            after: Duration::from_secs(10),
        };
        assert_eq!(
            e.to_string(),
            "connecting to `10.0.0.1:22` timed out after 10s"
        );
        let e = ConnectFailure::Auth {
            target: "tester@h:22".into(),
            tried: vec!["key `/k`".into(), "password".into()],
            methods: Some("publickey,password".into()),
            closed_after: None,
        }
        .via("jump host j");
        assert_eq!(
            e.to_string(),
            "authentication failed for `tester@h:22`: tried key `/k`, password; the server \
             accepts: publickey,password (through jump host j)"
        );
        assert!(!e.is_transient());
    }
}
