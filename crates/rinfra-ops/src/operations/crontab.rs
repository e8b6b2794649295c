//! `crontab.crontab`: entries of a user's crontab, edited through a temp copy.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Map, Value};

use super::files::text::Sed;
use super::{define_op, fact, q, Args, Out};
use crate::facts::parse::try_int;
use crate::python::python_str;

/// Crontab entries as a list; the vectors give pyinfra's older `{command: entry}` shape.
fn entries(value: Value) -> Vec<Map<String, Value>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|i| i.as_object().cloned())
            .collect(),
        Value::Object(by_command) => by_command
            .into_iter()
            .map(|(command, v)| {
                let mut item = v.as_object().cloned().unwrap_or_default();
                item.insert("command".into(), json!(command));
                item
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A schedule field: lists are joined with commas; `None` stays `None`.
fn schedule(a: &Args<'_>, name: &str) -> Option<String> {
    match a.get(name)? {
        Value::Array(items) => Some(items.iter().map(python_str).collect::<Vec<_>>().join(",")),
        v => Some(python_str(v)),
    }
}

define_op! {
    /// Add, remove or update a crontab entry, found by its command or by `cron_name`.
    ///
    /// Deploy example: `crontab.crontab(command="/usr/local/bin/backup", cron_name="backup", hour=1, minute=0)`
    Crontab = "crontab.crontab";
    params: [required "command" = "the command cron runs (with `cron_name`, the entry is found by name)",
             optional "present" = "whether the entry should exist (default True)",
             optional "user" = "whose crontab (default: the connecting user's)",
             optional "cron_name" = "a name for the entry, so its command can change",
             optional "minute" = "cron's minute field (default `*`)",
             optional "hour" = "cron's hour field (default `*`)",
             optional "month" = "cron's month field (default `*`)",
             optional "day_of_week" = "cron's day-of-week field (default `*`)",
             optional "day_of_month" = "cron's day-of-month field (default `*`)",
             optional "special_time" = "`@reboot`, `@daily`... instead of the time fields",
             optional "interpolate_variables" = "let the shell expand `$VARS` in the text"];
    generate: crontab;
}

async fn crontab(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let command = a.str("command")?;
    let present = a.bool_or("present", true);
    let user = a.nonempty("user");
    let cron_name = a.opt_str("cron_name");
    let special_time = a.nonempty("special_time");
    let interpolate = a.bool_or("interpolate_variables", false);
    let mut fields: Vec<(&str, Option<String>)> =
        ["minute", "hour", "month", "day_of_week", "day_of_month"]
            .into_iter()
            .map(|k| (k, schedule(a, k)))
            .collect();
    let items = entries(
        fact(
            host,
            &crate::facts::crontab::Crontab,
            &[("user", json!(user))],
        )
        .await?,
    );
    let name_comment = format!("# pyinfra-name={}", cron_name.as_deref().unwrap_or("None"));
    let existing = items.iter().find(|item| {
        let Some(c) = item.get("command") else {
            return false;
        };
        (cron_name.is_none() && *c == json!(command))
            || item
                .get("comments")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.contains(&json!(name_comment)))
    });
    let existing_command = existing
        .and_then(|e| e.get("command"))
        .map_or_else(|| command.clone(), python_str);
    let exists_name = existing.is_some_and(|e| {
        e.get("comments")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.contains(&json!(name_comment)))
    });
    let temp = crate::pinned::temp_filename(
        &host.temp_dir(),
        &format!("crontab{:?}", std::time::SystemTime::now()),
    );
    let mut new_line = match &special_time {
        Some(t) => format!("{t} {command}"),
        None => {
            for (_, v) in fields.iter_mut() {
                v.get_or_insert_with(|| "*".into());
            }
            let f = |k: &str| {
                fields
                    .iter()
                    .find(|(n, _)| *n == k)
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            format!(
                "{} {} {} {} {} {command}",
                f("minute"),
                f("hour"),
                f("day_of_month"),
                f("month"),
                f("day_of_week")
            )
        }
    };
    let sed = Sed {
        filename: &temp,
        flags: &[],
        backup: false,
        interpolate_variables: interpolate,
        extended_regex: false,
    };
    let match_line = format!(".*{existing_command}.*");
    let mut edits: Vec<StringCommand> = Vec::new();
    match (present, existing) {
        (false, Some(_)) => edits.push(sed.delete(&match_line)),
        (true, None) => {
            if !items.is_empty() {
                edits.push(StringCommand::from(format!("echo '' >> {temp}")));
            }
            if cron_name.is_some() {
                edits.push(StringCommand::new([
                    Bit::from("echo"),
                    q(&name_comment),
                    Bit::from(">>"),
                    Bit::from(temp.as_str()),
                ]));
            }
            edits.push(StringCommand::new([
                Bit::from("echo"),
                q(&new_line),
                Bit::from(">>"),
                Bit::from(temp.as_str()),
            ]));
        }
        (true, Some(e)) => {
            let get = |k: &str| e.get(k).cloned().unwrap_or(Value::Null);
            let schedule_differs = fields
                .iter()
                .any(|(k, v)| v.as_deref().map_or(Value::Null, try_int) != get(k));
            let differs = exists_name != cron_name.is_some()
                || special_time.as_ref().map_or(Value::Null, |t| json!(t)) != get("special_time")
                || schedule_differs
                || existing_command != command;
            if differs {
                if !exists_name && cron_name.is_some() {
                    // a literal `\n`: sed turns it into a newline
                    new_line = format!("{name_comment}\\n{new_line}");
                }
                edits.push(sed.replace(&match_line, &new_line));
            }
        }
        (false, None) => {}
    }
    if edits.is_empty() {
        let state = if present { "exists" } else { "does not exist" };
        out.noop(format!("crontab {command} {state}"));
        return Ok(());
    }
    let mut user_args: Vec<Bit> = Vec::new();
    if let Some(u) = &user {
        user_args.extend([Bit::from("-u"), q(u)]);
    }
    if !items.is_empty() {
        let mut bits = vec![Bit::from("crontab -l")];
        bits.extend(user_args.iter().cloned());
        bits.extend([Bit::from(">"), q(&temp)]);
        out.shell(StringCommand::new(bits));
    }
    for e in edits {
        out.shell(e);
    }
    let mut bits = vec![Bit::from("crontab")];
    bits.extend(user_args);
    bits.push(q(&temp));
    out.shell(StringCommand::new(bits));
    Ok(())
}
