//! `StringCommand`: a shell command built from bits, some quoted, some secret.
//!
//! As in pyinfra (`pyinfra/api/command.py`), a command is data until it is sent: the raw value
//! goes to the target, the masked value (secrets as `*MASKED*`) is what gets printed.

use crate::quote::quote;
use crate::secret::{Secret, MASKED};

/// One piece of a [`StringCommand`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bit {
    /// Inserted as is (pyinfra: a plain `str`).
    Raw(String),
    /// Shell-quoted at render time (pyinfra: `QuoteString(obj)`).
    Quoted(Box<Bit>),
    /// A secret: its real value in the raw command, `*MASKED*` when printed
    /// (pyinfra: `HiddenValue` / `MaskString`).
    Hidden(Secret),
    /// A nested command, rendered with its own separator.
    Command(StringCommand),
}

impl Bit {
    fn render(&self, raw: bool) -> String {
        match self {
            Bit::Raw(s) => s.clone(),
            Bit::Quoted(inner) => quote(&inner.render(raw)),
            Bit::Hidden(secret) if raw => secret.expose().to_string(),
            Bit::Hidden(_) => MASKED.to_string(),
            Bit::Command(cmd) => cmd.render(raw),
        }
    }
}

impl From<&str> for Bit {
    fn from(s: &str) -> Self {
        Bit::Raw(s.to_string())
    }
}

impl From<String> for Bit {
    fn from(s: String) -> Self {
        Bit::Raw(s)
    }
}

impl From<StringCommand> for Bit {
    fn from(c: StringCommand) -> Self {
        Bit::Command(c)
    }
}

impl From<Secret> for Bit {
    fn from(s: Secret) -> Self {
        Bit::Hidden(s)
    }
}

/// Quote a value at render time (pyinfra's `QuoteString`).
pub fn quoted(bit: impl Into<Bit>) -> Bit {
    Bit::Quoted(Box::new(bit.into()))
}

/// A shell command made of [`Bit`]s joined by a separator (a space unless said otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringCommand {
    bits: Vec<Bit>,
    separator: String,
}

impl StringCommand {
    /// A command of `bits` joined by spaces.
    pub fn new<I, B>(bits: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bit>,
    {
        Self::with_separator(bits, " ")
    }

    /// A command of `bits` joined by `separator` (pyinfra's `_separator`).
    pub fn with_separator<I, B>(bits: I, separator: &str) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bit>,
    {
        Self {
            bits: bits.into_iter().map(Into::into).collect(),
            separator: separator.to_string(),
        }
    }

    /// The bits of this command.
    pub fn bits(&self) -> &[Bit] {
        &self.bits
    }

    /// What the bits are joined with (a space unless built with [`Self::with_separator`]).
    pub fn separator(&self) -> &str {
        &self.separator
    }

    /// The real command, secrets included: only for sending to a target.
    pub fn get_raw_value(&self) -> String {
        self.render(true)
    }

    /// The command with secrets replaced by `*MASKED*`: for printing and logs.
    pub fn get_masked_value(&self) -> String {
        self.render(false)
    }

    /// Whether any bit (at any depth) is a secret.
    pub fn has_secret(&self) -> bool {
        fn bit_has(b: &Bit) -> bool {
            match b {
                Bit::Raw(_) => false,
                Bit::Hidden(_) => true,
                Bit::Quoted(inner) => bit_has(inner),
                Bit::Command(c) => c.has_secret(),
            }
        }
        self.bits.iter().any(bit_has)
    }

    fn render(&self, raw: bool) -> String {
        let parts: Vec<String> = self.bits.iter().map(|b| b.render(raw)).collect();
        parts.join(&self.separator)
    }
}

impl From<&str> for StringCommand {
    /// A plain string command; like pyinfra, surrounding whitespace is stripped.
    fn from(s: &str) -> Self {
        StringCommand::new([s.trim()])
    }
}

impl From<String> for StringCommand {
    fn from(s: String) -> Self {
        StringCommand::from(s.as_str())
    }
}

/// Displays the masked value, so a command can be printed without leaking secrets.
impl std::fmt::Display for StringCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.get_masked_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_masked_values() {
        let cmd = StringCommand::new([
            Bit::from("echo"),
            quoted("a b"),
            Bit::Hidden(Secret::new("s3cret")),
            quoted(Secret::new("p w")),
        ]);
        assert_eq!(cmd.get_raw_value(), "echo 'a b' s3cret 'p w'");
        assert_eq!(cmd.get_masked_value(), "echo 'a b' *MASKED* '*MASKED*'");
        assert_eq!(cmd.to_string(), cmd.get_masked_value());
        assert!(!format!("{cmd:?}").contains("s3cret"));
        assert!(cmd.has_secret());
    }

    #[test]
    fn nested_commands_and_separators() {
        let inner = StringCommand::with_separator(["K", "v v"], "=");
        let cmd = StringCommand::new([Bit::from("export"), quoted(inner)]);
        assert_eq!(cmd.get_raw_value(), "export 'K=v v'");
    }

    #[test]
    fn strings_are_trimmed() {
        assert_eq!(StringCommand::from("  ls -la \n").get_raw_value(), "ls -la");
    }
}
