//! `gpg.*` facts: keys in keyrings, from `gpg --with-colons` output.

use serde_json::{json, Map, Value};

use super::shell::raw;
use super::{arg_str, define_fact};

/// pyinfra's `GpgFactBase.process`: `{key id: {validity, length, fingerprint, uid, uid_hash,
/// subkeys: {id: {...}}}}` from colon records (`pub`/`sub`, `fpr`, `uid`).
/// A key being read: its id, details and finished subkeys.
type OpenKey = (String, Map<String, Value>, Map<String, Value>);

fn process_keys(lines: &[String], key_type: &str, sub_type: &str) -> Result<Value, String> {
    // (id, details) of finished keys, the current key and its current subkey
    let mut keys: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut current: Option<OpenKey> = None;
    let mut sub: Option<(String, Map<String, Value>)> = None;
    let finish = |current: &mut Option<OpenKey>,
                  sub: &mut Option<(String, Map<String, Value>)>,
                  keys: &mut Vec<(String, Map<String, Value>)>| {
        if let Some((id, mut key, mut subs)) = current.take() {
            if let Some((sid, s)) = sub.take() {
                subs.insert(sid, Value::Object(s));
            }
            key.insert("subkeys".into(), Value::Object(subs));
            keys.push((id, key));
        }
    };
    for line in lines.iter().filter(|l| !l.is_empty()) {
        let bits: Vec<&str> = line.split(':').collect();
        let field = |i: usize| bits.get(i).copied().unwrap_or("");
        if bits[0] == key_type || bits[0] == sub_type {
            let length: i64 = field(2)
                .parse()
                .map_err(|_| format!("unexpected key length in `{line}`"))?;
            let mut details = Map::new();
            details.insert("validity".into(), json!(field(1)));
            details.insert("length".into(), json!(length));
            let id = field(4).to_string();
            if bits[0] == key_type {
                finish(&mut current, &mut sub, &mut keys);
                current = Some((id, details, Map::new()));
            } else if let Some((_, _, subs)) = current.as_mut() {
                if let Some((sid, s)) = sub.take() {
                    subs.insert(sid, Value::Object(s));
                }
                sub = Some((id, details));
            }
        } else {
            let target = match (sub.as_mut(), current.as_mut()) {
                (Some((_, s)), _) => s,
                (None, Some((_, k, _))) => k,
                (None, None) => continue,
            };
            match bits[0] {
                "fpr" => {
                    target.insert("fingerprint".into(), json!(field(9)));
                }
                "uid" => {
                    target.insert("uid_hash".into(), json!(field(7)));
                    target.insert("uid".into(), json!(field(9)));
                }
                _ => {}
            }
        }
    }
    finish(&mut current, &mut sub, &mut keys);
    Ok(Value::Object(
        keys.into_iter()
            .map(|(id, k)| (id, Value::Object(k)))
            .collect(),
    ))
}

/// The directories argument: one path or a list.
fn directories(args: &rinfra_core::FactArgs) -> Result<Vec<String>, String> {
    match args.get("directories") {
        Some(Value::Array(a)) => Ok(a.iter().map(crate::python::python_str).collect()),
        _ => Ok(vec![arg_str(args, "directories")?]),
    }
}

/// `gpg.GpgKeyrings`'s command for `dirs` (shared with `apt.AptKeys`).
pub(super) fn keyrings_command(dirs: &[String]) -> super::CommandResult {
    // pyinfra double-quotes the directories; they are paths chosen by operations
    if dirs.iter().any(|d| d.contains(['"', '$', '`', '\\'])) {
        return Err("directories must not contain quotes, `$`, backquotes or backslashes".into());
    }
    let search = dirs
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(raw(&format!(
            "find {search} -type f \\( -name '*.gpg' -o -name '*.kbx' \\) 2>/dev/null -exec sh -c 'echo \"KEYRING:$1\"; gpg --list-keys --with-colons --keyring \"$1\" --no-default-keyring 2>/dev/null || true' _ {{}} \\; ; find {search} -type f -name '*.asc' 2>/dev/null -exec sh -c 'echo \"KEYRING:$1\"; gpg --with-colons \"$1\" 2>/dev/null || true' _ {{}} \\;"
        )))
}

/// `gpg.GpgKeyrings`'s parser: `{path: {format, keys}}`.
pub(super) fn keyrings_process(lines: &[String]) -> super::ProcessResult {
    let mut keyrings = Map::new();
    let mut current: Option<String> = None;
    let mut output: Vec<String> = Vec::new();
    let mut flush = |current: &Option<String>, output: &mut Vec<String>| -> Result<(), String> {
        if let (Some(path), false) = (current, output.is_empty()) {
            let format = path.rsplit('.').next().unwrap_or("").to_lowercase();
            let keys = process_keys(output, "pub", "sub")?;
            keyrings.insert(path.clone(), json!({"format": format, "keys": keys}));
        }
        output.clear();
        Ok(())
    };
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if let Some(path) = line.strip_prefix("KEYRING:") {
            flush(&current, &mut output)?;
            current = Some(path.to_string());
        } else {
            output.push(line.to_string());
        }
    }
    flush(&current, &mut output)?;
    Ok(Value::Object(keyrings))
}

define_fact! {
    /// Keys of every keyring (`*.gpg`, `*.kbx`, `*.asc`) under `directories`:
    /// `{path: {format, keys}}`.
    GpgKeyrings = "gpg.GpgKeyrings";
    params: ["directories"];
    command: |args| keyrings_command(&directories(args)?);
    process: |lines, _| keyrings_process(lines);
    default: || json!({});
    requires: |_| Some("gpg".into());
}

define_fact! {
    /// Keys in the default keyring or in `keyring`.
    GpgKeys = "gpg.GpgKeys";
    params: ["keyring"];
    command: |args| Ok(match super::arg_opt(args, "keyring").filter(|k| !k.is_empty()) {
        None => raw("gpg --list-keys --with-colons"),
        Some(k) => rinfra_connectors::StringCommand::new([
            rinfra_connectors::Bit::from("gpg --list-keys --with-colons --keyring"),
            rinfra_connectors::quoted(k),
            rinfra_connectors::Bit::from("--no-default-keyring"),
        ]),
    });
    process: |lines, _| process_keys(lines, "pub", "sub");
    default: || json!({});
    requires: |_| Some("gpg".into());
}

define_fact! {
    /// Keys in a key file on the host or at a URL (downloaded with wget or curl).
    GpgKey = "gpg.GpgKey";
    params: ["src"];
    command: |args| {
        let src = arg_str(args, "src")?;
        let quoted = rinfra_connectors::quoted(src.as_str());
        Ok(if super::parse::has_scheme(&src) {
            super::shell::formatted(
                "(wget -O - {0} || curl -sSLf {0}) | gpg --with-colons",
                &[quoted],
            )
        } else {
            rinfra_connectors::StringCommand::new([
                rinfra_connectors::Bit::from("gpg --with-colons"),
                quoted,
            ])
        })
    };
    process: |lines, _| process_keys(lines, "pub", "sub");
    default: || json!({});
    requires: |_| Some("gpg".into());
}

define_fact! {
    /// Secret keys in the default keyring or in `keyring`.
    GpgSecretKeys = "gpg.GpgSecretKeys";
    params: ["keyring"];
    command: |args| Ok(match super::arg_opt(args, "keyring").filter(|k| !k.is_empty()) {
        None => raw("gpg --list-secret-keys --with-colons"),
        Some(k) => rinfra_connectors::StringCommand::new([
            rinfra_connectors::Bit::from("gpg --list-secret-keys --with-colons --keyring"),
            rinfra_connectors::quoted(k),
            rinfra_connectors::Bit::from("--no-default-keyring"),
        ]),
    });
    process: |lines, _| process_keys(lines, "sec", "ssb");
    default: || json!({});
    requires: |_| Some("gpg".into());
}
