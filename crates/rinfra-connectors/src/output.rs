//! `CommandOutput`: what a command printed, stdout and stderr interleaved in arrival order.

use serde::Serialize;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of output, without its trailing newline (pyinfra's `OutputLine`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputLine {
    /// The stream the line was read from.
    pub stream: Stream,
    /// The line, decoded as UTF-8 with invalid bytes replaced.
    pub line: String,
}

/// The output of one command: interleaved lines plus the exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommandOutput {
    /// Every line in the order it arrived, each tagged with its stream.
    pub combined_lines: Vec<OutputLine>,
    /// The exit code; `None` when the command was killed or the connection lost it.
    pub exit_code: Option<i32>,
}

impl CommandOutput {
    /// Output made of the given stdout lines and an exit code.
    pub fn from_stdout(lines: &[&str], exit_code: i32) -> Self {
        Self {
            combined_lines: lines
                .iter()
                .map(|l| OutputLine {
                    stream: Stream::Stdout,
                    line: l.to_string(),
                })
                .collect(),
            exit_code: Some(exit_code),
        }
    }

    /// Append a line.
    pub fn push(&mut self, stream: Stream, line: impl Into<String>) {
        self.combined_lines.push(OutputLine {
            stream,
            line: line.into(),
        });
    }

    /// Every line's text, both streams, in arrival order.
    pub fn output_lines(&self) -> Vec<&str> {
        self.combined_lines
            .iter()
            .map(|l| l.line.as_str())
            .collect()
    }

    /// The stdout lines.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.lines_of(Stream::Stdout)
    }

    /// The stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.lines_of(Stream::Stderr)
    }

    /// All of stdout, lines joined with `\n`.
    pub fn stdout(&self) -> String {
        self.stdout_lines().join("\n")
    }

    /// All of stderr, lines joined with `\n`.
    pub fn stderr(&self) -> String {
        self.stderr_lines().join("\n")
    }

    /// Both streams, lines joined with `\n`.
    pub fn output(&self) -> String {
        self.output_lines().join("\n")
    }

    fn lines_of(&self, stream: Stream) -> Vec<&str> {
        self.combined_lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.line.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_splits_streams() {
        let mut out = CommandOutput::default();
        out.push(Stream::Stdout, "a");
        out.push(Stream::Stderr, "b");
        out.push(Stream::Stdout, "c");
        assert_eq!(out.output_lines(), ["a", "b", "c"]);
        assert_eq!(out.stdout(), "a\nc");
        assert_eq!(out.stderr(), "b");
    }
}
