//! Errors from reading and evaluating deploy-language files.
//!
//! Every error that comes from a file carries its `file:line:col` and, when there is one, the
//! source line, so the CLI can print pyinfra-style "this line in your deploy" messages.

use starlark::codemap::FileSpan;
use std::fmt;

/// A position in a deploy-language file, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, as given to the loader (relative paths stay relative).
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// What kind of problem a [`LangError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    Io,
    /// The file does not parse.
    Syntax,
    /// Python that the deploy language does not support (`class`, `try`, imports...).
    Unsupported,
    /// An error while running the file: an unknown operation or argument, a type error,
    /// `fail()`, an undefined `host.data` key...
    Eval,
    /// The file ran, but what it defines is not a valid inventory, group_data or config.
    Invalid,
}

/// An error in an inventory, group_data, config or deploy file.
#[derive(Debug, Clone)]
pub struct LangError {
    kind: ErrorKind,
    location: Option<Location>,
    message: String,
    hint: Option<String>,
    diagnostic: Option<String>,
}

impl LangError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            location: None,
            message: message.into(),
            hint: None,
            diagnostic: None,
        }
    }

    pub(crate) fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a Starlark-like diagnostic: the message, `-->` location and the source line with
    /// `width` characters underlined from the location's column.
    pub(crate) fn with_source(mut self, source: &str, width: usize) -> Self {
        if let Some(loc) = &self.location {
            let line_text = source.lines().nth(loc.line.saturating_sub(1)).unwrap_or("");
            let num = loc.line.to_string();
            let pad = " ".repeat(num.len());
            let mut d = format!(
                "error: {}\n{pad}--> {loc}\n{pad} |\n{num} | {line_text}\n{pad} | {}{}\n{pad} |\n",
                self.message,
                " ".repeat(loc.column.saturating_sub(1)),
                "^".repeat(width.max(1)),
            );
            if let Some(h) = &self.hint {
                d.push_str(&format!("hint: {h}\n"));
            }
            self.diagnostic = Some(d);
        }
        self
    }

    /// Read a deploy, inventory or config file: UTF-8, as Python reads source by default; a
    /// byte that is not is a syntax error at its line and column.
    pub(crate) fn read_source(path: &std::path::Path) -> Result<String, Self> {
        let bytes = std::fs::read(path).map_err(|e| Self::io(path, &e))?;
        String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            // The valid prefix is UTF-8, so this cannot fail.
            let before = std::str::from_utf8(valid).unwrap_or_default();
            let bad = e.as_bytes()[valid.len()];
            Self::new(
                ErrorKind::Syntax,
                format!("the file is not valid UTF-8 (byte 0x{bad:02x})"),
            )
            .at(location_at(
                &path.display().to_string(),
                before,
                before.len(),
            ))
            .with_hint("save the file as UTF-8")
        })
    }

    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::new(
            ErrorKind::Io,
            format!("could not read `{}`: {e}", path.display()),
        )
    }

    /// Convert a Starlark error, keeping its span and its rendered diagnostic (the source line
    /// with the span underlined). `rewrite` may reword the message (e.g. name the host for a
    /// missing data key).
    pub(crate) fn from_starlark(e: &starlark::Error, rewrite: impl Fn(&str) -> String) -> Self {
        let kind = match e.kind() {
            starlark::ErrorKind::Parser(_) => ErrorKind::Syntax,
            _ => ErrorKind::Eval,
        };
        let raw = e.without_diagnostic().to_string();
        let message = rewrite(raw.trim());
        let location = e.span().map(location_of);
        // starlark-syntax 0.14.2 panics resolving a span that ends inside a character, and
        // an invalid escape in an f-string before a non-ASCII one gets such a span
        // (`f"\uՏ"`, found by fuzzing); render those without the underlined source line.
        let whole_chars = e.span().is_none_or(|s| {
            let source = s.file.source();
            [s.span.begin(), s.span.end()]
                .iter()
                .all(|p| source.is_char_boundary(p.get() as usize))
        });
        let mut diagnostic = if whole_chars {
            format!("{e}")
        } else {
            raw.trim().to_string()
        };
        if message != raw.trim() {
            diagnostic = diagnostic.replace(raw.trim(), &message);
        }
        let (message, hint) = split_hint(&message);
        Self {
            kind,
            location,
            message,
            hint,
            diagnostic: Some(diagnostic),
        }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where in which file, when known.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// The message, without location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to write instead, when there is a known fix.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Starlark's full diagnostic (message, `-->` location, the source line underlined, and the
    /// call stack for errors inside functions), when the error came from Starlark.
    pub fn diagnostic(&self) -> Option<&str> {
        self.diagnostic.as_deref()
    }
}

/// Messages built in this crate put their hint after a `\nhint: ` marker so that it survives
/// the trip through Starlark's error type.
const HINT_MARKER: &str = "\nhint: ";

/// Line and column (1-based, in characters) where `span` begins, computed here rather than
/// by Starlark's `resolve`, which panics on a span that starts inside a character: such a
/// position counts from the start of that character.
fn location_of(span: &FileSpan) -> Location {
    let at = span.span.begin().get() as usize;
    location_at(span.file.filename(), span.file.source(), at)
}

/// Line and column (1-based, in characters) of byte `at` of `source`; a byte inside a
/// character counts as that character's start.
fn location_at(file: &str, source: &str, at: usize) -> Location {
    let mut pos = at.min(source.len());
    while !source.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &source[..pos];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        file: file.to_string(),
        line: before.bytes().filter(|&b| b == b'\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

pub(crate) fn message_with_hint(message: &str, hint: &str) -> String {
    format!("{message}{HINT_MARKER}{hint}")
}

fn split_hint(message: &str) -> (String, Option<String>) {
    match message.split_once(HINT_MARKER) {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message.to_string(), None),
    }
}

impl fmt::Display for LangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for LangError {}

/// A Starlark error raised from a native function, with an optional hint.
pub(crate) fn native_error(message: impl Into<String>) -> starlark::Error {
    starlark::Error::new_other(NativeError(message.into()))
}

pub(crate) fn native_error_hint(message: &str, hint: &str) -> starlark::Error {
    native_error(message_with_hint(message, hint))
}

#[derive(Debug)]
struct NativeError(String);

impl fmt::Display for NativeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NativeError {}
