//! Turning CLI arguments into run settings: global-argument defaults, `--data` values.

use rinfra_core::RunConfig;
use serde_json::{Map, Value};

use crate::args::Args;
use crate::error::CliError;

/// Parse a CLI value as pyinfra's `parse_cli_arg`: `true`/`false` (any case) → bool, then int,
/// then JSON, else the string itself.
pub(crate) fn parse_cli_value(s: &str) -> Value {
    match s.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(v) = serde_json::from_str::<Value>(s) {
        return v;
    }
    Value::String(s.to_string())
}

/// `key=value` as an ad-hoc operation's or a deploy function's keyword argument (else it is
/// positional: `echo a=b` with a space in front of `=` is a value).
pub(crate) fn as_keyword_argument(item: &str) -> Option<(String, Value)> {
    let (k, v) = item.split_once('=')?;
    (!k.is_empty() && !k.contains(' ')).then(|| (k.to_string(), parse_cli_value(v)))
}

/// Split `key=value` (the value parsed with [`parse_cli_value`]).
pub(crate) fn parse_key_value(s: &str, what: &str) -> Result<(String, Value), CliError> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), parse_cli_value(v))),
        _ => Err(CliError::usage(format!(
            "invalid {what} `{s}`: expected key=value"
        ))),
    }
}

/// `--data` overrides, plus the SSH flags, which are data too (`--user` → `ssh_user`).
pub(crate) fn data_overrides(args: &Args) -> Result<Map<String, Value>, CliError> {
    let mut data = Map::new();
    for d in &args.data {
        let (k, v) = parse_key_value(d, "--data")?;
        data.insert(k, v);
    }
    let mut set = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            data.insert(k.to_string(), v);
        }
    };
    set("ssh_user", args.user.clone().map(Value::String));
    set("ssh_port", args.port.map(Value::from));
    set("ssh_key", args.key.clone().map(Value::String));
    set(
        "ssh_key_password",
        args.key_password.clone().map(Value::String),
    );
    set("ssh_password", args.password.clone().map(Value::String));
    set("ssh_connect_timeout", args.connect_timeout.map(Value::from));
    Ok(data)
}

/// The run settings from the flags (config-file values are merged in by the caller first).
pub(crate) fn run_config(args: &Args, mut defaults: Map<String, Value>) -> RunConfig {
    let mut set = |k: &str, v: Value| {
        // The flags set rows of the one global-argument table (a misspelt name would be
        // silently ignored by the engine).
        debug_assert!(rinfra_core::is_global_argument(k), "{k}");
        defaults.insert(k.to_string(), v);
    };
    if args.sudo {
        set("_sudo", Value::Bool(true));
    }
    if let Some(u) = &args.sudo_user {
        set("_sudo_user", Value::String(u.clone()));
    }
    if args.use_sudo_login {
        set("_use_sudo_login", Value::Bool(true));
    }
    if let Some(u) = &args.su_user {
        set("_su_user", Value::String(u.clone()));
    }
    if args.doas {
        set("_doas", Value::Bool(true));
    }
    if let Some(u) = &args.doas_user {
        set("_doas_user", Value::String(u.clone()));
    }
    if args.dzdo {
        set("_dzdo", Value::Bool(true));
        // As pyinfra: the user only with --dzdo.
        if let Some(u) = &args.dzdo_user {
            set("_dzdo_user", Value::String(u.clone()));
        }
    }
    if let Some(s) = &args.shell_executable {
        let v = if s == "None" || s == "null" {
            Value::Null
        } else {
            Value::String(s.clone())
        };
        set("_shell_executable", v);
    }
    if let Some(r) = args.retry {
        set("_retries", Value::from(r));
    }
    if let Some(d) = args.retry_delay {
        set("_retry_delay", Value::from(d));
    }
    RunConfig {
        global_defaults: defaults,
        parallel: args.parallel.unwrap_or(0),
        fail_percent: args.fail_percent,
        diff: args.diff,
        skip_change_detection: args.yes && !args.dry,
        serial: args.serial,
        no_wait: args.no_wait,
        print_input: args.verbose >= 2,
        print_output: args.verbose >= 3,
        deploy_dir: std::path::PathBuf::from("."),
    }
}

/// Run settings from `config.py` that are not global arguments (`PARALLEL`, `FAIL_PERCENT`);
/// CLI flags given explicitly win.
pub(crate) fn apply_config_file(config: &mut RunConfig, file: &Map<String, Value>) {
    if config.parallel == 0 {
        if let Some(n) = file.get("PARALLEL").and_then(Value::as_u64) {
            config.parallel = n as usize;
        }
    }
    if config.fail_percent.is_none() {
        config.fail_percent = file.get("FAIL_PERCENT").and_then(Value::as_f64);
    }
    if !config.diff {
        config.diff = file.get("DIFF").and_then(Value::as_bool).unwrap_or(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cli_values_as_pyinfra() {
        assert_eq!(parse_cli_value("True"), json!(true));
        assert_eq!(parse_cli_value("false"), json!(false));
        assert_eq!(parse_cli_value("755"), json!(755));
        assert_eq!(parse_cli_value("[0, 3]"), json!([0, 3]));
        assert_eq!(parse_cli_value("/srv/x"), json!("/srv/x"));
        assert_eq!(parse_cli_value("{\"a\": 1}"), json!({"a": 1}));
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("a=b=c", "x").unwrap(),
            ("a".into(), json!("b=c"))
        );
        assert!(parse_key_value("novalue", "--data").is_err());
    }
}
