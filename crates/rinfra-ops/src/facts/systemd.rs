//! `systemd.*` facts: which units are active or enabled.

use rinfra_connectors::{quoted, Bit, StringCommand};
use rinfra_core::FactArgs;
use serde_json::{json, Map, Value};

use super::parse::re_match;
use super::{arg_bool, arg_opt, define_fact, CommandResult, ProcessResult};

const UNIT_NAME_REGEX: &str = r"[a-zA-Z0-9\:\-\_\.\\\@]+\.(?:service|socket|device|mount|automount|swap|target|path|timer|slice|scope)";

/// `systemctl [--user] [--machine=...]`, shared by the facts and `systemd.service`.
pub(crate) fn systemctl_command(
    user_mode: bool,
    machine: Option<&str>,
    user_name: Option<&str>,
) -> StringCommand {
    let mut bits = vec![Bit::from(if user_mode {
        "systemctl --user"
    } else {
        "systemctl"
    })];
    // pyinfra inserts these unquoted; quoting the whole flag is identical for plain names
    match (machine, user_name) {
        (Some(m), Some(u)) => bits.push(quoted(format!("--machine={u}@{m}"))),
        (Some(m), None) => bits.push(quoted(format!("--machine={m}"))),
        (None, Some(u)) => bits.push(quoted(format!("--machine={u}@.host"))),
        (None, None) => {}
    }
    StringCommand::new(bits)
}

fn show_command(args: &FactArgs, state_key: &str) -> CommandResult {
    let user_mode = arg_bool(args, "user_mode");
    let base = systemctl_command(
        user_mode,
        arg_opt(args, "machine").as_deref(),
        arg_opt(args, "user_name").as_deref(),
    );
    let services: Vec<Bit> = match args.get("services") {
        None | Some(Value::Null) => vec![quoted("*")],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| quoted(crate::python::python_str(s)))
            .collect(),
        Some(v) => vec![quoted(crate::python::python_str(v))],
    };
    let mut bits: Vec<Bit> = vec![base.into()];
    bits.extend(["show", "--all", "--property", "Id", "--property", state_key].map(Bit::from));
    bits.extend(services);
    let cmd = StringCommand::new(bits);
    if user_mode {
        // user managers may not exist yet while planning: do not fail the fact
        return Ok(StringCommand::new([
            Bit::from("("),
            cmd.into(),
            Bit::from("2>/dev/null"),
            Bit::from("||"),
            Bit::from("true"),
            Bit::from(")"),
        ]));
    }
    Ok(cmd)
}

fn show_process(lines: &[String], state_key: &str, values: &[&str]) -> ProcessResult {
    let mut services = Map::new();
    let mut current: Option<String> = None;
    for line in lines {
        let Some((key, value)) = line.trim().split_once('=') else {
            current = None;
            continue;
        };
        if key == "Id" && re_match(UNIT_NAME_REGEX, value).is_some() {
            current = Some(value.to_string());
            continue;
        }
        if key == state_key {
            if let Some(unit) = &current {
                services.insert(unit.clone(), json!(values.contains(&value)));
            }
        }
    }
    Ok(Value::Object(services))
}

define_fact! {
    /// Units → whether they are active (running, waiting, exited, listening or mounted).
    SystemdStatus = "systemd.SystemdStatus";
    params: ["user_mode", "machine", "user_name", "services"];
    command: |args| show_command(args, "SubState");
    process: |lines, _| show_process(lines, "SubState", &["running", "waiting", "exited", "listening", "mounted"]);
    default: || json!({});
    requires: |_| Some("systemctl".into());
}

define_fact! {
    /// Units → whether they are enabled (or static).
    SystemdEnabled = "systemd.SystemdEnabled";
    params: ["user_mode", "machine", "user_name", "services"];
    command: |args| show_command(args, "UnitFileState");
    process: |lines, _| show_process(lines, "UnitFileState", &["enabled", "static"]);
    default: || json!({});
    requires: |_| Some("systemctl".into());
}
