//! Typed access to an operation's JSON arguments, with pyinfra's defaults and errors that name
//! the operation and the argument.

use rinfra_core::{OpArgs, OperationError};
use serde_json::Value;

use crate::python::{python_str, truthy};

/// An operation's arguments plus its name, for error messages.
pub(crate) struct Args<'a> {
    pub(crate) op: &'static str,
    args: &'a OpArgs,
}

impl<'a> Args<'a> {
    pub(crate) fn new(op: &'static str, args: &'a OpArgs) -> Self {
        Self { op, args }
    }

    /// All arguments as given.
    pub(crate) fn raw(&self) -> &'a OpArgs {
        self.args
    }

    /// An `InvalidArgument` error for `arg`.
    pub(crate) fn invalid(&self, arg: &str, reason: impl Into<String>) -> OperationError {
        OperationError::InvalidArgument {
            op: self.op.into(),
            arg: arg.into(),
            reason: reason.into(),
        }
    }

    /// The raw value; `None` when absent or `None`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.args.get(name).filter(|v| !v.is_null())
    }

    /// A required string (numbers are turned into text as Python's `str()` does).
    pub(crate) fn str(&self, name: &str) -> Result<String, OperationError> {
        self.opt_str(name)
            .ok_or_else(|| self.invalid(name, "missing required argument"))
    }

    /// An optional string.
    pub(crate) fn opt_str(&self, name: &str) -> Option<String> {
        self.get(name).map(python_str)
    }

    /// An optional non-empty string (pyinfra often tests `if user:`).
    pub(crate) fn nonempty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| truthy(v)).map(python_str)
    }

    /// A boolean by Python truthiness, with the default when absent.
    pub(crate) fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.args.get(name) {
            None => default,
            Some(v) => truthy(v),
        }
    }

    /// An integer (or numeric string), with the default when absent.
    pub(crate) fn int_or(&self, name: &str, default: i64) -> Result<i64, OperationError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| self.invalid(name, "must be an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| self.invalid(name, format!("must be an integer, got `{s}`"))),
            Some(other) => Err(self.invalid(name, format!("must be an integer, got {other}"))),
        }
    }

    /// A list of strings; a single string becomes a one-item list.
    pub(crate) fn list(&self, name: &str) -> Result<Vec<String>, OperationError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().map(python_str).collect()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(other) => Err(self.invalid(name, format!("must be a list, got {other}"))),
        }
    }

    /// A file mode (pyinfra's `ensure_mode_int`): `644`, `"0644"` and `"0o644"` become `644`;
    /// symbolic modes (`u+x`) pass through; other digits are an error.
    pub(crate) fn mode(&self, name: &str) -> Result<Option<Mode>, OperationError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let digits = match v {
            Value::Bool(_) => return Ok(None),
            Value::Number(n) => n.to_string(),
            Value::String(s) => {
                let d = s.trim().to_lowercase();
                let d = d.strip_prefix("0o").unwrap_or(&d).to_string();
                if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit()) {
                    if s.is_empty() {
                        return Ok(None);
                    }
                    // chmod's symbolic syntax (`u+x`, `go-w,a+r`, `=rw`): anything else would
                    // only fail on the host, after the file was already changed
                    let clause = r"(?:[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+|[-+=]?[0-7]+)";
                    let symbolic = format!("^{clause}(?:,{clause})*$");
                    if crate::facts::parse::re_match(&symbolic, s).is_some() {
                        return Ok(Some(Mode::Symbolic(s.clone())));
                    }
                    return Err(self.invalid(
                        name,
                        format!(
                            "invalid file mode `{s}`: expected octal digits (644, '0644', '0o644') or a symbolic mode (u+x)"
                        ),
                    ));
                }
                d
            }
            other => return Err(self.invalid(name, format!("invalid file mode {other}"))),
        };
        if !digits.chars().all(|c| ('0'..='7').contains(&c)) {
            return Err(self.invalid(
                name,
                format!(
                    "invalid file mode `{}`: expected octal digits 0-7, eg 644, '0644' or '0o644'",
                    python_str(v)
                ),
            ));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| self.invalid(name, format!("invalid file mode `{digits}`")))?;
        Ok(if n == 0 {
            Some(Mode::Octal(0))
        } else {
            Some(Mode::Octal(n))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mode(v: Value) -> Result<Option<Mode>, OperationError> {
        let mut args = OpArgs::new();
        args.insert("mode".into(), v);
        Args::new("files.put", &args).mode("mode")
    }

    #[test]
    fn modes() {
        assert_eq!(mode(json!("0644")).unwrap(), Some(Mode::Octal(644)));
        assert_eq!(mode(json!(755)).unwrap(), Some(Mode::Octal(755)));
        assert_eq!(
            mode(json!("u+x,go-w")).unwrap(),
            Some(Mode::Symbolic("u+x,go-w".into()))
        );
        assert_eq!(
            mode(json!("+x")).unwrap(),
            Some(Mode::Symbolic("+x".into()))
        );
        let err = mode(json!("9x")).unwrap_err().to_string();
        assert!(err.contains("invalid file mode `9x`"), "{err}");
        assert!(mode(json!("799")).is_err());
        assert!(mode(json!("rwx")).is_err());
    }
}

/// A normalised file mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Octal digits read as a decimal number (`644`), as facts report modes.
    Octal(i64),
    /// A symbolic mode for `chmod` (`u+x`).
    Symbolic(String),
}

impl Mode {
    /// Python truthiness of the normalised mode (`0` is false, as in pyinfra's `if mode:`).
    pub(crate) fn is_set(&self) -> bool {
        !matches!(self, Mode::Octal(0))
    }

    /// Whether a fact's `mode` differs.
    pub(crate) fn differs_from(&self, fact_mode: Option<&Value>) -> bool {
        match self {
            Mode::Octal(n) => fact_mode.and_then(Value::as_i64) != Some(*n),
            Mode::Symbolic(_) => true,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Octal(n) => write!(f, "{n}"),
            Mode::Symbolic(s) => f.write_str(s),
        }
    }
}
