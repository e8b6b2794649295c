//! `crontab.Crontab`: a user's crontab as a list of entries.

use rinfra_connectors::{quoted, Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::parse::{re_match, split_ws_n, try_int};
use super::{arg_opt, define_fact};

const ENV_LINE: &str = r#"\s*(?:"[^"]*"|'[^']*'|[A-Za-z_][A-Za-z0-9_]*)\s*="#;

define_fact! {
    /// Entries of a crontab, in order: `command` with schedule fields or `special_time`, or
    /// `env` for variable lines; each with the comment lines above it.
    Crontab = "crontab.Crontab";
    params: ["user"];
    command: |args| Ok(match arg_opt(args, "user").filter(|u| !u.is_empty()) {
        Some(user) => StringCommand::new([Bit::from("crontab -l -u"), quoted(user), Bit::from("|| true")]),
        None => StringCommand::from("crontab -l || true"),
    });
    process: |lines, _| {
        let mut items = Vec::new();
        let mut comments: Vec<Value> = Vec::new();
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                comments.push(json!(line));
                continue;
            }
            let comments_now = Value::Array(std::mem::take(&mut comments));
            if line.starts_with('@') {
                let parts = split_ws_n(line, 1);
                let [special, command] = parts[..] else {
                    return Err(format!("unexpected crontab line `{line}`"));
                };
                items.push(json!({"command": command, "special_time": special, "comments": comments_now}));
            } else if re_match(ENV_LINE, line).is_some() {
                items.push(json!({"env": line, "comments": comments_now}));
            } else {
                let parts = split_ws_n(line, 5);
                let [minute, hour, dom, month, dow, command] = parts[..] else {
                    return Err(format!("unexpected crontab line `{line}`"));
                };
                items.push(json!({
                    "command": command,
                    "minute": try_int(minute),
                    "hour": try_int(hour),
                    "month": try_int(month),
                    "day_of_month": try_int(dom),
                    "day_of_week": try_int(dow),
                    "comments": comments_now,
                }));
            }
        }
        Ok(Value::Array(items))
    };
    default: || json!([]);
    requires: |_| Some("crontab".into());
}

/// One crontab entry as crontab lines (pyinfra's `CrontabFile.format_item`).
pub fn format_crontab_item(item: &Map<String, Value>) -> String {
    let s = |k: &str| {
        item.get(k)
            .map(crate::python::python_str)
            .unwrap_or_default()
    };
    let mut lines: Vec<String> = item
        .get("comments")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(crate::python::python_str).collect())
        .unwrap_or_default();
    if item.contains_key("env") {
        lines.push(s("env"));
    } else if item.contains_key("special_time") {
        lines.push(format!("{} {}", s("special_time"), s("command")));
    } else {
        lines.push(format!(
            "{} {} {} {} {} {}",
            s("minute"),
            s("hour"),
            s("day_of_month"),
            s("month"),
            s("day_of_week"),
            s("command")
        ));
    }
    lines.join("\n")
}
