//! Values that must never be printed: passwords, tokens, masked command parts.

use std::fmt;

/// The text shown wherever a [`Secret`] would otherwise be printed.
pub const MASKED: &str = "*MASKED*";

/// A secret string (pyinfra's `HiddenValue`).
///
/// `Debug` and `Display` print `*MASKED*`; only [`Secret::expose`] gives the real value, and
/// only code that sends the value to a target should call it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value. Never print or log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (pyinfra treats `""` as "no password").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASKED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASKED)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), MASKED);
        assert_eq!(format!("{s:?}"), MASKED);
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(*MASKED*)");
        assert_eq!(s.expose(), "hunter2");
    }
}
