//! Global arguments (`_sudo`, `_env`, `name`, `_ignore_errors`, `_serial`, ...): their names,
//! their types, and pyinfra's precedence: operation kwarg > `@deploy` kwargs > host data >
//! config.

use std::time::Duration;

use rinfra_connectors::{ConnectorArguments, EnvValue, Secret};
use serde_json::{Map, Value};

/// Arguments passed to the connector with each command.
pub const CONNECTOR_ARGUMENTS: &[&str] = &[
    "_sudo",
    "_sudo_user",
    "_use_sudo_login",
    "_sudo_password",
    "_preserve_sudo_env",
    "_su_user",
    "_use_su_login",
    "_preserve_su_env",
    "_su_shell",
    "_su_password",
    "_doas",
    "_doas_user",
    "_dzdo",
    "_dzdo_user",
    "_shell_executable",
    "_chdir",
    "_env",
    "_success_exit_codes",
    "_timeout",
    "_get_pty",
    "_stdin",
    "_retries",
    "_retry_delay",
    "_retry_until",
    "_temp_dir",
];

/// Arguments about how the operation is reported and how its failure counts.
pub const META_ARGUMENTS: &[&str] = &["name", "_ignore_errors", "_continue_on_error", "_if"];

/// Arguments that must be the same on every host for one operation.
pub const EXECUTION_ARGUMENTS: &[&str] = &["_parallel", "_run_once", "_serial"];

/// Whether `name` is a global argument (any of the three groups).
pub fn is_global_argument(name: &str) -> bool {
    CONNECTOR_ARGUMENTS.contains(&name)
        || META_ARGUMENTS.contains(&name)
        || EXECUTION_ARGUMENTS.contains(&name)
}

/// Every global argument name, for error messages.
pub fn all_global_arguments() -> impl Iterator<Item = &'static str> {
    CONNECTOR_ARGUMENTS
        .iter()
        .chain(META_ARGUMENTS)
        .chain(EXECUTION_ARGUMENTS)
        .copied()
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
    let secret = name.ends_with("password");
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
            // Callables, handled by the deploy language layer.
            "_if" | "_retry_until" => {}
            _ => {}
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
