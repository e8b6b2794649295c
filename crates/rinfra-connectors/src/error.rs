//! Errors of connectors: connecting, running, inventory expansion.

use std::time::Duration;

/// A host could not be connected to. The message says why, for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// What went wrong, e.g. `Could not connect (Connection refused)`.
    pub message: String,
}

impl ConnectError {
    /// A connect error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A command or file transfer could not be completed (as opposed to a command that ran and
/// failed, which is `Ok((false, output))`).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The command ran longer than `_timeout`; it was killed.
    #[error("command timed out after {}s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The connection to the host was lost or could not be used.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// A local or remote I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file transfer failed; the message holds the target's error output.
    #[error("{0}")]
    Transfer(String),
    /// Any other failure, described for the operator.
    #[error("{0}")]
    Other(String),
}

impl ConnectorError {
    /// An I/O error with a short description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// An inventory connector could not produce hosts, or a host name is malformed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// `@name` names no known connector.
    #[error("unknown connector `@{name}`")]
    UnknownConnector {
        /// The connector name as written.
        name: String,
        /// Known connector names, for the hint.
        known: Vec<String>,
    },
    /// The connector exists but is not built yet.
    #[error("the {0} connector is not available yet")]
    NotAvailable(String),
    /// The argument after `@name/` is invalid for this connector.
    #[error("invalid host `{host}`: {reason}")]
    InvalidHost {
        /// The host name as written.
        host: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The connector ran a tool (terraform, vagrant, ...) that failed.
    #[error("{0}")]
    Other(String),
}

impl crate::Hint for InventoryError {
    fn hints(&self) -> Vec<String> {
        match self {
            InventoryError::UnknownConnector { known, .. } => vec![format!(
                "known connectors: {}; or put an executable `{}NAME` on PATH",
                known
                    .iter()
                    .map(|k| format!("`@{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                crate::EXTERNAL_CONNECTOR_PREFIX
            )],
            InventoryError::NotAvailable(_) => {
                vec!["use `@local`, `@fake/NAME` or another `@connector/arg` host".to_string()]
            }
            InventoryError::InvalidHost { .. } | InventoryError::Other(_) => Vec::new(),
        }
    }
}
