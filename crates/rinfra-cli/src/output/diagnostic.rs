//! Errors as the operator reads them, in uv's shape: `error:` and the message, one
//! `Caused by:` line per cause, then each hint once after a blank line. Continuation lines of
//! a multi-line message are indented under its first line.

use super::{line, style};
use crate::error::CliError;

/// The whole error: message, causes, details (a traceback with `-v`) and hints.
pub(crate) fn print_error(e: &CliError) {
    error(&e.to_string());
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let label = "Caused by";
        line(&format!(
            "  {}: {}",
            style::bold_red(label),
            indent(&c.to_string(), 2 + label.len() + 2)
        ));
        cause = c.source();
    }
    if let Some(details) = e.details() {
        for l in details.lines() {
            line(&format!("    {l}"));
        }
    }
    for h in e.hints() {
        line("");
        line(&format!(
            "{}{} {}",
            style::bold_cyan("hint"),
            style::bold(":"),
            indent(h, "hint: ".len())
        ));
    }
}

/// One `error:` line (and its continuation lines), also for errors that do not end the run
/// (`No hosts remaining!` before the results).
pub(crate) fn error(message: &str) {
    line(&format!(
        "{}{} {}",
        style::bold_red("error"),
        style::bold(":"),
        indent(message, "error: ".len())
    ));
}

/// `text` with every line after the first indented by `by` spaces.
fn indent(text: &str, by: usize) -> String {
    text.trim_end()
        .replace('\n', &format!("\n{}", " ".repeat(by)))
}

#[cfg(test)]
mod tests {
    use super::indent;

    #[test]
    fn continuation_lines_are_indented() {
        assert_eq!(indent("a\nb\n", 2), "a\n  b");
        assert_eq!(indent("a", 2), "a");
    }
}
