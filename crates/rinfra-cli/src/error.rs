//! The CLI's error edge: an error that ends the CLI before or outside a run, with the errors
//! that caused it and what to change, rendered once by `output::print_error` in uv's shape:
//!
//! ```text
//! error: cannot load the inventory `@nope/x`
//!   Caused by: unknown connector `@nope`
//!
//! hint: known connectors: `@local`, `@ssh`, ...
//! ```

use rinfra_connectors::Hint;

/// A cause kept as the error's `source` (its own chain is kept too).
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// An error that ends the CLI: what failed (the message), why (the `source` chain, one
/// `Caused by:` line each), what to change (the hints) and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CliError {
    message: String,
    #[source]
    source: Option<Cause>,
    hints: Vec<String>,
    /// Extra lines shown under the causes (a Python traceback with `-v`).
    details: Option<String>,
    code: u8,
}

impl CliError {
    /// Bad input from the user (arguments, inventory, config, deploy code): exit code 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
            hints: Vec::new(),
            details: None,
            code: 2,
        }
    }

    /// The run could not go on (no host left): exit code 1, as for a failed host.
    pub(crate) fn run_failed(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            ..Self::usage(message)
        }
    }

    /// Add a `hint:` saying what to change (a hint already given is not repeated).
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        if !self.hints.contains(&hint) {
            self.hints.push(hint);
        }
        self
    }

    /// Keep `cause` as the reason for this error (shown as `Caused by:`).
    pub(crate) fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        self.source = Some(cause.into());
        self
    }

    /// Keep `cause` as the reason for this error, with its hints.
    pub(crate) fn caused_by_hinted<E>(self, cause: E) -> Self
    where
        E: std::error::Error + Hint + Send + Sync + 'static,
    {
        let hints = cause.hints();
        hints
            .into_iter()
            .fold(self.caused_by(cause), CliError::with_hint)
    }

    /// Lines to show under the causes.
    pub(crate) fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// What to change, in order, each once.
    pub(crate) fn hints(&self) -> &[String] {
        &self.hints
    }

    /// Extra lines to show under the causes.
    pub(crate) fn details(&self) -> Option<&str> {
        self.details.as_deref()
    }

    /// The process's exit code for this error.
    pub(crate) fn code(&self) -> u8 {
        self.code
    }

    /// The message and its causes on one line (`a: b: c`), for where a line is all there is
    /// (`--support`'s Python version when Python cannot start).
    pub(crate) fn one_line(&self) -> String {
        let mut text = self.message.clone();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] Inner);

    impl Hint for Middle {
        fn hints(&self) -> Vec<String> {
            vec!["change this".into(), "change this".into()]
        }
    }

    #[test]
    fn keeps_the_whole_chain_and_each_hint_once() {
        let e = CliError::usage("outer")
            .with_hint("change this")
            .caused_by_hinted(Middle(Inner));
        assert_eq!(e.to_string(), "outer");
        assert_eq!(e.one_line(), "outer: middle: inner");
        assert_eq!(e.hints(), ["change this"]);
        assert_eq!(e.code(), 2);
        assert_eq!(CliError::run_failed("x").code(), 1);
    }
}
