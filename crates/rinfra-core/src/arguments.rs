//! Global arguments (`_sudo`, `_env`, `name`, `_ignore_errors`, `_serial`, ...): their names,
//! their types, and pyinfra's precedence: operation kwarg > `@deploy` kwargs > host data >
//! config.

use std::time::Duration;

use rinfra_connectors::{ConnectorArguments, EnvValue, Secret};
use serde_json::{Map, Value};

/// Where a global argument acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgumentLayer {
    /// Passed to the connector with each command (`_sudo`, `_env`, `_timeout`, ...).
    Connector,
    /// How the operation is reported and how its failure counts (`name`, `_if`, ...).
    Meta,
    /// Must be the same on every host for one operation (`_serial`, `_run_once`, ...).
    Execution,
}

/// One global argument: the one table that the engine ([`GlobalArguments::set`]), the Python
/// API (`pyinfra.api.arguments`), config files (`SUDO = True`) and error messages read.
#[derive(Clone, Copy, Debug)]
pub struct GlobalArgument {
    /// pyinfra's name, `_sudo`.
    pub name: &'static str,
    /// Where it acts.
    pub layer: ArgumentLayer,
    /// The config name whose value is its default (`SUDO`), if any.
    pub config: Option<&'static str>,
    /// Its default as pyinfra shows it (`False`, `None`, `5`).
    pub default: &'static str,
    /// What it does.
    pub help: &'static str,
}

const fn arg(
    name: &'static str,
    layer: ArgumentLayer,
    config: Option<&'static str>,
    default: &'static str,
    help: &'static str,
) -> GlobalArgument {
    GlobalArgument {
        name,
        layer,
        config,
        default,
        help,
    }
}

use ArgumentLayer::{Connector as C, Execution as X, Meta as M};

/// Every global argument pyinfra 3.10 has, in pyinfra's order.
pub const GLOBAL_ARGUMENTS: &[GlobalArgument] = &[
    arg(
        "_sudo",
        C,
        Some("SUDO"),
        "False",
        "Execute/apply any changes with sudo.",
    ),
    arg(
        "_sudo_user",
        C,
        Some("SUDO_USER"),
        "None",
        "Execute/apply any changes with sudo as this user.",
    ),
    arg(
        "_use_sudo_login",
        C,
        Some("USE_SUDO_LOGIN"),
        "False",
        "Execute sudo with a login shell.",
    ),
    arg(
        "_sudo_password",
        C,
        Some("SUDO_PASSWORD"),
        "None",
        "Password to sudo with (sent through an askpass script, never shown).",
    ),
    arg(
        "_preserve_sudo_env",
        C,
        Some("PRESERVE_SUDO_ENV"),
        "False",
        "Keep the connecting user's environment under sudo.",
    ),
    arg(
        "_su_user",
        C,
        Some("SU_USER"),
        "None",
        "Execute/apply any changes as this user, with su.",
    ),
    arg(
        "_use_su_login",
        C,
        Some("USE_SU_LOGIN"),
        "False",
        "Execute su with a login shell.",
    ),
    arg(
        "_preserve_su_env",
        C,
        Some("PRESERVE_SU_ENV"),
        "False",
        "Keep the connecting user's environment under su.",
    ),
    arg(
        "_su_shell",
        C,
        Some("SU_SHELL"),
        "None",
        "The shell su runs (for users whose login shell is nologin).",
    ),
    arg(
        "_su_password",
        C,
        Some("SU_PASSWORD"),
        "None",
        "Password to su with (never shown).",
    ),
    arg(
        "_doas",
        C,
        Some("DOAS"),
        "False",
        "Execute/apply any changes with doas.",
    ),
    arg(
        "_doas_user",
        C,
        Some("DOAS_USER"),
        "None",
        "Execute/apply any changes with doas as this user.",
    ),
    arg(
        "_dzdo",
        C,
        Some("DZDO"),
        "False",
        "Execute/apply any changes with dzdo.",
    ),
    arg(
        "_dzdo_user",
        C,
        Some("DZDO_USER"),
        "None",
        "Execute/apply any changes with dzdo as this user.",
    ),
    arg(
        "_shell_executable",
        C,
        Some("SHELL"),
        "sh",
        "The shell that runs commands (`None`: no wrapping shell).",
    ),
    arg(
        "_chdir",
        C,
        None,
        "None",
        "Directory to change to before each command.",
    ),
    arg(
        "_env",
        C,
        Some("ENV"),
        "{}",
        "Environment variables to set for each command.",
    ),
    arg(
        "_success_exit_codes",
        C,
        None,
        "[0]",
        "Exit codes that count as success.",
    ),
    arg(
        "_timeout",
        C,
        None,
        "None",
        "Timeout in seconds for each command of the operation.",
    ),
    arg(
        "_get_pty",
        C,
        None,
        "False",
        "Run commands in a pseudo-terminal.",
    ),
    arg(
        "_stdin",
        C,
        None,
        "None",
        "Lines sent to each command's stdin.",
    ),
    arg(
        "_retries",
        C,
        Some("RETRY"),
        "0",
        "How many times to retry a failed operation.",
    ),
    arg(
        "_retry_delay",
        C,
        Some("RETRY_DELAY"),
        "5",
        "Seconds between retries.",
    ),
    arg(
        "_retry_until",
        C,
        None,
        "None",
        "A function of the output: retry while it returns True.",
    ),
    arg(
        "_temp_dir",
        C,
        Some("TEMP_DIR"),
        "None",
        "Remote directory for temporary files.",
    ),
    arg(
        "name",
        M,
        None,
        "None",
        "The operation's label in output (does not change what runs).",
    ),
    arg(
        "_ignore_errors",
        M,
        Some("IGNORE_ERRORS"),
        "False",
        "A failure does not fail the host.",
    ),
    arg(
        "_continue_on_error",
        M,
        None,
        "False",
        "With _ignore_errors, run the remaining commands after a failure.",
    ),
    arg(
        "_if",
        M,
        None,
        "[]",
        "Run only when these functions (or operation results) are true.",
    ),
    arg(
        "_parallel",
        X,
        Some("PARALLEL"),
        "None",
        "How many hosts run this operation at once.",
    ),
    arg(
        "_run_once",
        X,
        None,
        "False",
        "Run this operation on one host only.",
    ),
    arg(
        "_serial",
        X,
        None,
        "False",
        "Run this operation on one host at a time.",
    ),
];

/// The table's row for `name`.
pub fn global_argument(name: &str) -> Option<&'static GlobalArgument> {
    GLOBAL_ARGUMENTS.iter().find(|a| a.name == name)
}

/// Whether `name` is a global argument.
pub fn is_global_argument(name: &str) -> bool {
    global_argument(name).is_some()
}

/// Every global argument name, for error messages.
pub fn all_global_arguments() -> impl Iterator<Item = &'static str> {
    GLOBAL_ARGUMENTS.iter().map(|a| a.name)
}

/// A global argument with a value of the wrong type.
#[derive(Debug, thiserror::Error)]
#[error("global argument `{name}` must be {expected}, got {got}")]
pub struct ArgumentError {
    /// The argument name.
    pub name: String,
    /// The type it must have.
    pub expected: &'static str,
    /// What it had (secrets are never shown).
    pub got: String,
}

/// Resolved global arguments for one operation on one host.
#[derive(Clone, Debug, Default)]
pub struct GlobalArguments {
    /// What goes to the connector.
    pub connector: ConnectorArguments,
    /// `name`: the operation's label.
    pub name: Option<String>,
    /// `_ignore_errors`.
    pub ignore_errors: bool,
    /// `_continue_on_error`.
    pub continue_on_error: bool,
    /// `_retries`.
    pub retries: u32,
    /// `_retry_delay`, seconds.
    pub retry_delay: Duration,
    /// `_parallel`: how many hosts run this operation at once.
    pub parallel: Option<usize>,
    /// `_run_once`.
    pub run_once: bool,
    /// `_serial`.
    pub serial: bool,
}

fn describe(v: &Value, secret: bool) -> String {
    if secret {
        return "a value".into();
    }
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => format!("bool {}", if *b { "True" } else { "False" }),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("str {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a dict".into(),
    }
}

fn err(name: &str, expected: &'static str, v: &Value) -> ArgumentError {
    let secret = crate::is_secret_argument(name);
    ArgumentError {
        name: name.into(),
        expected,
        got: describe(v, secret),
    }
}

fn as_bool(name: &str, v: &Value) -> Result<bool, ArgumentError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(err(name, "a bool", v)),
    }
}

fn as_opt_string(name: &str, v: &Value) -> Result<Option<String>, ArgumentError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(err(name, "a string", v)),
    }
}

fn as_seconds(name: &str, v: &Value) -> Result<Option<Duration>, ArgumentError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(s) if s >= 0.0 && s.is_finite() => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(err(name, "a non-negative number of seconds", v)),
        },
        _ => Err(err(name, "a number of seconds", v)),
    }
}

impl GlobalArguments {
    /// Resolve every global argument from `layers`, highest precedence first (operation
    /// kwargs, deploy kwargs, host data, config). The first layer that sets a name wins.
    pub fn resolve(layers: &[&Map<String, Value>]) -> Result<Self, ArgumentError> {
        let mut out = GlobalArguments {
            retry_delay: Duration::from_secs(5),
            ..Default::default()
        };
        for name in all_global_arguments() {
            if let Some(v) = layers.iter().find_map(|l| l.get(name)) {
                out.set(name, v)?;
            }
        }
        Ok(out)
    }

    /// pyinfra's precedence, the one place it is written down, highest first: the operation
    /// call's own arguments and its enclosing `@deploy` / `host.arguments(...)` ones (`call`,
    /// in that order), the host's data (`_sudo` in inventory or group data), the command line's
    /// (`--sudo`), then the config's (`SUDO = True`).
    pub fn for_host(
        call: &[&Map<String, Value>],
        host_data: &Map<String, Value>,
        cli: &Map<String, Value>,
        config: &Map<String, Value>,
    ) -> Result<Self, ArgumentError> {
        let mut layers: Vec<&Map<String, Value>> = call.to_vec();
        layers.extend([host_data, cli, config]);
        Self::resolve(&layers)
    }

    /// Set one global argument from a JSON value, checking its type.
    pub fn set(&mut self, name: &str, v: &Value) -> Result<(), ArgumentError> {
        let c = &mut self.connector;
        match name {
            "_sudo" => c.sudo = as_bool(name, v)?,
            "_sudo_user" => c.sudo_user = as_opt_string(name, v)?,
            "_use_sudo_login" => c.use_sudo_login = as_bool(name, v)?,
            "_sudo_password" => c.sudo_password = as_opt_string(name, v)?.map(Secret::new),
            "_preserve_sudo_env" => c.preserve_sudo_env = as_bool(name, v)?,
            "_su_user" => c.su_user = as_opt_string(name, v)?,
            "_use_su_login" => c.use_su_login = as_bool(name, v)?,
            "_preserve_su_env" => c.preserve_su_env = as_bool(name, v)?,
            "_su_shell" => c.su_shell = as_opt_string(name, v)?,
            "_su_password" => c.su_password = as_opt_string(name, v)?.map(Secret::new),
            "_doas" => c.doas = as_bool(name, v)?,
            "_doas_user" => c.doas_user = as_opt_string(name, v)?,
            "_dzdo" => c.dzdo = as_bool(name, v)?,
            "_dzdo_user" => c.dzdo_user = as_opt_string(name, v)?,
            "_shell_executable" => {
                c.shell_executable = match as_opt_string(name, v)? {
                    // pyinfra's CLI: "None"/"null" disable the wrapping shell.
                    Some(s) if s == "None" || s == "null" => None,
                    other => other,
                }
            }
            "_chdir" => c.chdir = as_opt_string(name, v)?,
            "_env" => {
                c.env = match v {
                    Value::Null => Vec::new(),
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| {
                            let s = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), EnvValue::Plain(s))
                        })
                        .collect(),
                    _ => return Err(err(name, "a dict of strings", v)),
                }
            }
            "_success_exit_codes" => {
                c.success_exit_codes = match v {
                    Value::Null => None,
                    Value::Number(n) => Some(vec![n
                        .as_i64()
                        .ok_or_else(|| err(name, "a list of ints", v))?
                        as i32]),
                    Value::Array(a) => Some(
                        a.iter()
                            .map(|x| {
                                x.as_i64()
                                    .map(|i| i as i32)
                                    .ok_or_else(|| err(name, "a list of ints", v))
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(err(name, "a list of ints", v)),
                }
            }
            "_timeout" => c.timeout = as_seconds(name, v)?,
            "_get_pty" => c.get_pty = as_bool(name, v)?,
            "_stdin" => {
                c.stdin = match v {
                    Value::Null => None,
                    Value::String(s) => Some(vec![s.clone()]),
                    Value::Array(a) => Some(
                        a.iter()
                            .map(|x| {
                                x.as_str()
                                    .map(str::to_string)
                                    .ok_or_else(|| err(name, "a string or list of strings", v))
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(err(name, "a string or list of strings", v)),
                }
            }
            "_temp_dir" => c.temp_dir = as_opt_string(name, v)?,
            "_retries" => {
                self.retries = match v {
                    Value::Null => 0,
                    _ => v
                        .as_u64()
                        .ok_or_else(|| err(name, "a non-negative int", v))?
                        as u32,
                }
            }
            "_retry_delay" => {
                self.retry_delay = as_seconds(name, v)?.unwrap_or(Duration::from_secs(5))
            }
            "name" => self.name = as_opt_string(name, v)?,
            "_ignore_errors" => self.ignore_errors = as_bool(name, v)?,
            "_continue_on_error" => self.continue_on_error = as_bool(name, v)?,
            "_parallel" => {
                self.parallel = match v {
                    Value::Null => None,
                    _ => Some(
                        v.as_u64()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| err(name, "a positive int", v))?
                            as usize,
                    ),
                }
            }
            "_run_once" => self.run_once = as_bool(name, v)?,
            "_serial" => self.serial = as_bool(name, v)?,
            // Callables, handled by the deploy front end.
            "_if" | "_retry_until" => {}
            _ => {
                return Err(ArgumentError {
                    name: name.into(),
                    expected: "one of the global arguments (GLOBAL_ARGUMENTS)",
                    got: "an unknown name".into(),
                })
            }
        }
        Ok(())
    }
}

/// Apply per-command overrides on top of an operation's connector arguments.
pub fn apply_overrides(
    base: &ConnectorArguments,
    overrides: &Map<String, Value>,
) -> Result<ConnectorArguments, ArgumentError> {
    if overrides.is_empty() {
        return Ok(base.clone());
    }
    let mut g = GlobalArguments {
        connector: base.clone(),
        ..Default::default()
    };
    for (k, v) in overrides {
        g.set(k, v)?;
    }
    Ok(g.connector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn precedence_first_layer_wins() {
        let op = map(json!({"_sudo": false}));
        let deploy = map(json!({"_sudo": true, "_sudo_user": "deploy"}));
        let data = map(json!({"_sudo_user": "data", "_chdir": "/srv"}));
        let config = map(json!({"_chdir": "/cfg", "_timeout": 5}));
        let g = GlobalArguments::resolve(&[&op, &deploy, &data, &config]).unwrap();
        assert!(!g.connector.sudo);
        assert_eq!(g.connector.sudo_user.as_deref(), Some("deploy"));
        assert_eq!(g.connector.chdir.as_deref(), Some("/srv"));
        assert_eq!(g.connector.timeout, Some(Duration::from_secs(5)));
        assert_eq!(g.retry_delay, Duration::from_secs(5));
    }

    #[test]
    fn type_errors_name_the_argument_and_hide_secrets() {
        let e = GlobalArguments::resolve(&[&map(json!({"_sudo": "yes"}))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "global argument `_sudo` must be a bool, got str \"yes\""
        );
        let e =
            GlobalArguments::resolve(&[&map(json!({"_sudo_password": ["hunter2"]}))]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn shell_executable_none() {
        let g = GlobalArguments::resolve(&[&map(json!({"_shell_executable": null}))]).unwrap();
        assert_eq!(g.connector.shell_executable, None);
        let g = GlobalArguments::resolve(&[&map(json!({"_shell_executable": "None"}))]).unwrap();
        assert_eq!(g.connector.shell_executable, None);
        let g = GlobalArguments::resolve(&[]).unwrap();
        assert_eq!(g.connector.shell_executable.as_deref(), Some("sh"));
    }

    /// Every row of the table is an argument `set` knows (a name missing from its match is an
    /// error), and a name outside the table is refused.
    #[test]
    fn the_table_and_set_agree() {
        for a in GLOBAL_ARGUMENTS {
            let mut g = GlobalArguments::default();
            g.set(a.name, &Value::Null).unwrap();
        }
        assert!(is_global_argument("_sudo") && !is_global_argument("sudo"));
        assert!(GlobalArguments::default()
            .set("_sudoo", &Value::Bool(true))
            .is_err());
    }

    #[test]
    fn overrides() {
        let base = ConnectorArguments {
            sudo: true,
            ..Default::default()
        };
        let o = apply_overrides(&base, &map(json!({"_sudo": false}))).unwrap();
        assert!(!o.sudo);
    }
}
