//! What a user can change to fix an error, kept beside the error instead of inside its
//! message (uv's `Hint` trait): the message says what went wrong, the hints what to do about
//! it, and the CLI prints each hint once, as a `hint:` line after the error and its causes.

/// An error that can say what to change.
pub trait Hint {
    /// What to change, one sentence each (lowercase, no final period); empty when there is
    /// nothing useful to say.
    fn hints(&self) -> Vec<String> {
        Vec::new()
    }
}
