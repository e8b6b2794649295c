//! Facts: a command run on a host plus a parser of its output (pyinfra's `FactBase`).
//!
//! A fact's value is JSON in exactly the shape pyinfra returns (the fact vectors in pyinfra's
//! `tests/facts/<module>.<Fact>/*.json` are the contract).

use std::collections::BTreeMap;
use std::sync::Arc;

use rinfra_connectors::StringCommand;
use serde_json::Value;

/// Keyword arguments of a fact (`path=...`), as JSON.
pub type FactArgs = serde_json::Map<String, Value>;

/// Why a fact could not be built or parsed.
#[derive(Debug, thiserror::Error)]
pub enum FactError {
    /// No fact has this name.
    #[error("unknown fact `{name}`")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The arguments do not fit the fact.
    #[error("invalid arguments for fact `{fact}`: {reason}")]
    InvalidArguments {
        /// The fact's name.
        fact: String,
        /// What is wrong.
        reason: String,
    },
    /// The output could not be parsed (pyinfra's `FactProcessError`).
    #[error("could not parse fact `{fact}`: {reason}")]
    Process {
        /// The fact's name.
        fact: String,
        /// What was unexpected.
        reason: String,
    },
    /// The command failed on the host.
    #[error("could not load fact `{fact}`: {reason}")]
    CommandFailed {
        /// The fact's name.
        fact: String,
        /// The error output or connection error.
        reason: String,
    },
}

/// A fact: pyinfra's `FactBase` subclass.
///
/// `command` builds the shell command from the arguments; `process` parses the stdout lines of a
/// successful run; `default` is the value when the command produced nothing or the required
/// command is missing.
pub trait Fact: Send + Sync {
    /// The pyinfra name, `<module>.<Class>`, e.g. `server.Hostname`.
    fn name(&self) -> &'static str;

    /// Argument names in order (pyinfra's `command()` parameters); positional arguments are
    /// mapped to these names.
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    /// What the fact returns (pyinfra's docstring); the Python API's fact classes carry it.
    fn doc(&self) -> &'static str {
        ""
    }

    /// The command that gathers the fact.
    fn command(&self, args: &FactArgs) -> Result<StringCommand, FactError>;

    /// A binary that must exist on the host; when it does not, the fact is its default
    /// (pyinfra's `requires_command`).
    fn requires_command(&self, _args: &FactArgs) -> Option<String> {
        None
    }

    /// Parse the stdout lines of a successful run.
    fn process(&self, stdout: &[String], args: &FactArgs) -> Result<Value, FactError>;

    /// Values the fact plausibly has, for loading ahead ([`crate::prefetch`]): operations are
    /// tried with each, to find the facts they would ask for next (a file's hash once the
    /// file is known to exist). Wrong guesses only cost a fact loaded for nothing. None by
    /// default: an operation asking for the fact stops being tried there.
    fn guesses(&self, _args: &FactArgs) -> Vec<Value> {
        Vec::new()
    }

    /// The value when there is no output (pyinfra's `default()`; `None` unless overridden).
    fn default(&self) -> Value {
        Value::Null
    }

    /// How this fact loads together with others of its kind in one command (one `stat` for
    /// many paths), when a batch asks for several; `None` for facts that always run alone.
    fn shared_load(&self) -> Option<&'static dyn SharedLoad> {
        None
    }
}

/// One command that loads a fact for many argument sets at once, where running the fact's own
/// command once per argument set would start one process each (`stat`, `sha1sum`).
///
/// Only an optimisation of batches: whenever [`SharedLoad::split`] cannot attribute the output
/// with certainty, it returns `None` and each fact then loads on its own, so a shared load never
/// gives a value the fact's own command would not.
pub trait SharedLoad: Send + Sync {
    /// Facts whose loaders have the same key share one command (`File`, `Directory` and `Link`
    /// share one `stat`).
    fn key(&self) -> &'static str;

    /// What the shared command needs of `args` (the path), or `None` when this argument set
    /// must load on its own (a path the output could not be matched back to).
    fn item(&self, args: &FactArgs) -> Option<String>;

    /// The one command for these items (distinct).
    fn command(&self, items: &[String]) -> StringCommand;

    /// Each item's stdout lines, exactly as the fact's own command would print them, from the
    /// shared command's exit code and stdout; `None` when that cannot be done with certainty.
    fn split(
        &self,
        items: &[String],
        exit_code: i32,
        stdout: &[String],
    ) -> Option<Vec<Vec<String>>>;
}

/// Every fact rinfra knows, by name.
#[derive(Clone, Default)]
pub struct FactRegistry {
    facts: BTreeMap<&'static str, Arc<dyn Fact>>,
}

impl FactRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a fact under its name.
    pub fn register(&mut self, fact: Arc<dyn Fact>) {
        self.facts.insert(fact.name(), fact);
    }

    /// The fact called `name` (`server.Hostname`; the alias `server.Os` resolves to
    /// `server.Kernel` if registered so).
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Fact>, FactError> {
        self.facts.get(name).ok_or_else(|| FactError::Unknown {
            name: name.to_string(),
        })
    }

    /// All fact names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.facts.keys().copied()
    }
}

/// Map positional arguments onto a fact's parameter names and merge the keyword arguments.
pub fn bind_fact_args(
    fact: &dyn Fact,
    positional: &[Value],
    kwargs: &FactArgs,
) -> Result<FactArgs, FactError> {
    let params = fact.params();
    if positional.len() > params.len() {
        return Err(FactError::InvalidArguments {
            fact: fact.name().into(),
            reason: format!(
                "takes {} positional argument(s), {} given",
                params.len(),
                positional.len()
            ),
        });
    }
    let mut args = FactArgs::new();
    for (name, value) in params.iter().zip(positional) {
        args.insert((*name).to_string(), value.clone());
    }
    for (k, v) in kwargs {
        if !params.contains(&k.as_str()) {
            return Err(FactError::InvalidArguments {
                fact: fact.name().into(),
                reason: format!("unexpected argument `{k}` (valid: {})", params.join(", ")),
            });
        }
        args.insert(k.clone(), v.clone());
    }
    Ok(args)
}

/// Wrap a fact command with its `requires_command` check, as pyinfra does: when the binary is
/// missing the command prints [`NO_COMMAND_MARKER`] instead.
pub fn fact_command_with_requirement(
    command: StringCommand,
    requires: Option<&str>,
) -> StringCommand {
    match requires {
        None => command,
        Some(bin) => StringCommand::new([
            rinfra_connectors::Bit::from("if command -v"),
            rinfra_connectors::quoted(bin),
            rinfra_connectors::Bit::from(">/dev/null 2>&1; then ("),
            command.into(),
            rinfra_connectors::Bit::from(format!("); else echo '{NO_COMMAND_MARKER}'; fi")),
        ]),
    }
}

/// Printed by a fact command whose required binary is missing.
pub const NO_COMMAND_MARKER: &str = "##PYINFRA_NOCMD##";
