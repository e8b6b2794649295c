//! The CLI's error edge: usage errors (exit 2) versus run failures (exit 1).

/// An error that ends the CLI before or outside a run.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// Extra lines shown under the error (a source excerpt with the error underlined).
    pub(crate) details: Option<String>,
    pub(crate) code: u8,
}

impl CliError {
    /// Bad input from the user: nothing ran; exit code 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            details: None,
            code: 2,
        }
    }

    /// Add a `hint:` line saying what to do.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
