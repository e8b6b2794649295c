//! `efibootmgr.*` facts: UEFI boot variables.

use serde_json::{json, Map, Value};

use super::define_fact;

fn hex(s: &str, line: &str) -> Result<i64, String> {
    i64::from_str_radix(s.trim(), 16).map_err(|_| format!("not a hex number in {line:?}"))
}

/// `efibootmgr`'s output, in the order it prints it: BootNext, BootCurrent, Timeout,
/// BootOrder, then one `BootXXXX[*] name` line per entry.
fn process_efibootmgr(lines: &[String]) -> Result<Value, String> {
    let mut it = lines.iter().map(String::as_str).peekable();
    if it.peek().is_none() {
        // not a UEFI system: efibootmgr printed its complaint on stderr
        return Ok(Value::Null);
    }
    let mut info = Map::new();
    let mut take = |prefix: &str| {
        it.next_if(|l| l.starts_with(prefix))
            .map(|l| &l[prefix.len()..])
    };
    let boot_next = take("BootNext: ").map(|v| hex(v, v)).transpose()?;
    let boot_current = take("BootCurrent: ").map(|v| hex(v, v)).transpose()?;
    let timeout = take("Timeout: ")
        .map(|v| {
            let n = v.strip_suffix(" seconds").unwrap_or(v);
            n.trim()
                .parse::<i64>()
                .map_err(|_| format!("unexpected timeout {v:?}"))
        })
        .transpose()?;
    let order = match take("BootOrder: ") {
        Some(v) => v
            .split(',')
            .map(|x| hex(x, v))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    info.insert("BootNext".into(), json!(boot_next));
    info.insert("BootCurrent".into(), json!(boot_current));
    info.insert("Timeout".into(), json!(timeout));
    info.insert("BootOrder".into(), json!(order));
    let mut entries = Map::new();
    for line in it {
        let number = line
            .strip_prefix("Boot")
            .and_then(|rest| rest.get(..4))
            .ok_or_else(|| format!("Unexpected line '{line}' while parsing"))?;
        let number = hex(number, line)?;
        let active = line.get(8..9) == Some("*");
        let name = line.get(10..).unwrap_or_default();
        entries.insert(number.to_string(), json!([active, name]));
    }
    info.insert("Entries".into(), Value::Object(entries));
    Ok(Value::Object(info))
}

define_fact! {
    /// The UEFI boot variables: `{BootNext, BootCurrent, Timeout, BootOrder: [numbers],
    /// Entries: {number: [active, name]}}`; None on a host without UEFI.
    EFIBootMgr = "efibootmgr.EFIBootMgr";
    params: [];
    command: |_| Ok(super::shell::raw("efibootmgr || true"));
    process: |lines, _| process_efibootmgr(lines);
    requires: |_| Some("efibootmgr".into());
}
