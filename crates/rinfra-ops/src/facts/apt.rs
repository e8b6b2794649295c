//! `apt.AptSources`: repositories from `sources.list`, `*.list` and deb822 `*.sources` files.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{group, re_match};
use super::shell::raw;

const SOURCES_COMMAND: &str = "sh -c 'for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -e \"$f\" ] || continue; echo \"##PYINFRA_FILE $f\"; cat \"$f\"; echo; done'";

define_fact! {
    /// Apt repositories: `[{type, url, distribution, components, options}]`.
    AptSources = "apt.AptSources";
    params: [];
    command: |_| Ok(raw(SOURCES_COMMAND));
    process: |lines, _| {
        let mut repos = Vec::new();
        let mut current: Option<String> = None;
        let mut buffer: Vec<String> = Vec::new();
        let flush = |current: &Option<String>, buffer: &mut Vec<String>, repos: &mut Vec<Value>| {
            if let Some(file) = current {
                if file.ends_with(".sources") {
                    repos.extend(parse_sources_file(buffer));
                } else {
                    repos.extend(buffer.iter().filter_map(|l| {
                        let l = l.trim();
                        if l.is_empty() || l.starts_with('#') { None } else { parse_apt_repo(l) }
                    }));
                }
            }
            buffer.clear();
        };
        for line in lines {
            if let Some(file) = line.strip_prefix("##PYINFRA_FILE ") {
                flush(&current, &mut buffer, &mut repos);
                current = Some(file.trim().to_string());
                continue;
            }
            buffer.push(line.clone());
        }
        flush(&current, &mut buffer, &mut repos);
        Ok(Value::Array(repos))
    };
    default: || json!([]);
    requires: |_| Some("apt".into());
}

/// One `deb [opts] url suite components` line, `None` if it is not one.
pub(crate) fn parse_apt_repo(line: &str) -> Option<Value> {
    let m = re_match(
        r"^(deb(?:-src)?)(?:\s+\[([^\]]+)\])?\s+([^\s]+)\s+([^\s]+)(?:\s+([a-z-\s\d]+))?\s*$",
        line,
    )?;
    let mut options = Map::new();
    if let Some(opts) = m.get(2) {
        for option in opts.as_str().split_whitespace() {
            let (k, v) = option.split_once('=')?;
            let value = if v.contains(',') {
                json!(v.split(',').collect::<Vec<_>>())
            } else {
                json!(v)
            };
            options.insert(k.to_string(), value);
        }
    }
    let components: Vec<&str> = m
        .get(5)
        .map(|c| c.as_str().split_whitespace().collect())
        .unwrap_or_default();
    Some(json!({
        "type": group(&m, 1),
        "url": group(&m, 3),
        "distribution": group(&m, 4),
        "components": components,
        "options": options,
    }))
}

/// A deb822 `.sources` file: stanzas separated by blank lines, each expanded to one repo per
/// type × URI × suite.
fn parse_sources_file(lines: &[String]) -> Vec<Value> {
    let mut repos = Vec::new();
    let mut stanza: Vec<&str> = Vec::new();
    for line in lines.iter().map(String::as_str).chain([""]) {
        if line.trim().is_empty() {
            if !stanza.is_empty() {
                repos.extend(parse_stanza(&stanza));
                stanza.clear();
            }
            continue;
        }
        stanza.push(line);
    }
    repos
}

fn parse_stanza(lines: &[&str]) -> Vec<Value> {
    let mut data: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = data.last_mut() {
                let cont = &line[1..];
                value.push('\n');
                if cont != "." {
                    value.push_str(cont);
                }
                continue;
            }
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_string();
            match data.iter_mut().find(|(n, _)| *n == k) {
                Some(e) => e.1 = v.trim().to_string(),
                None => data.push((k, v.trim().to_string())),
            }
        }
    }
    let get = |k: &str| data.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if ["Types", "URIs", "Suites"].iter().any(|k| get(k).is_none()) {
        return Vec::new();
    }
    if get("Enabled").unwrap_or("yes").to_lowercase() != "yes" {
        return Vec::new();
    }
    let words = |k: &str| {
        get(k)
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let one_or_many = |v: Vec<String>| if v.len() > 1 { json!(v) } else { json!(v[0]) };
    let mut options = Map::new();
    let arches = words("Architectures");
    if !arches.is_empty() {
        options.insert("arch".into(), one_or_many(arches));
    }
    let signed_by = get("Signed-By").unwrap_or("").trim();
    if !signed_by.is_empty() {
        if signed_by.contains("-----BEGIN PGP") {
            options.insert("signed-by".into(), json!(signed_by));
        } else {
            options.insert(
                "signed-by".into(),
                one_or_many(signed_by.split_whitespace().map(String::from).collect()),
            );
        }
    }
    if let Some(t) = get("Trusted").filter(|t| !t.is_empty()) {
        options.insert("trusted".into(), json!(t.to_lowercase()));
    }
    let components = words("Components");
    let mut repos = Vec::new();
    for t in words("Types") {
        for uri in words("URIs") {
            for suite in words("Suites") {
                repos.push(json!({
                    "type": t,
                    "url": uri,
                    "distribution": suite,
                    "components": components,
                    "options": options,
                }));
            }
        }
    }
    repos
}

/// pyinfra's `noninteractive_apt`: `apt-get -y` without prompts, keeping existing config files.
pub(crate) fn noninteractive_apt(command: &str, force: bool) -> String {
    let force = if force { " --force-yes" } else { "" };
    format!(
        "DEBIAN_FRONTEND=noninteractive apt-get -y{force} -o Dpkg::Options::=\"--force-confdef\" -o Dpkg::Options::=\"--force-confold\" {command}"
    )
}

define_fact! {
    /// What an `apt-get` command would change, from its `--dry-run` summary line:
    /// `{upgraded, newly_installed, removed, not_upgraded}`.
    SimulateOperationWillChange = "apt.SimulateOperationWillChange";
    params: ["command"];
    // the command is one of apt's own verbs chosen by the operation, inserted as pyinfra does
    command: |args| Ok(raw(&format!(
        "LC_ALL=C {}",
        noninteractive_apt(&format!("{} --dry-run", super::arg_str(args, "command")?), false)
    )));
    process: |lines, _| {
        for line in lines {
            if let Some(m) = re_match(
                r"^(\d+) upgraded, (\d+) newly installed, (\d+) to remove and (\d+) not upgraded.$",
                line,
            ) {
                let n = |i| group(&m, i).parse::<i64>().unwrap_or(0);
                return Ok(json!({
                    "upgraded": n(1),
                    "newly_installed": n(2),
                    "removed": n(3),
                    "not_upgraded": n(4),
                }));
            }
        }
        Err("did not find proposed changes in output".into())
    };
    requires: |_| Some("apt-get".into());
}

define_fact! {
    /// Installed packages as apt lists them (`apt list --installed`): `{name: [version]}`;
    /// names keep an architecture suffix (`libc6:i386`).
    AptPackages = "apt.AptPackages";
    params: [];
    command: |_| Ok(raw("apt list --installed 2>/dev/null"));
    process: |lines, _| Ok(super::parse::parse_packages(
        r"^([a-zA-Z0-9\+\-\.]+(?::[a-zA-Z0-9]+)?)/\S+\s+([a-zA-Z0-9:~\.\-\+]+)\s+\S+\s+\[installed",
        lines,
    ));
    default: || json!({});
    requires: |_| Some("apt".into());
}

define_fact! {
    /// The keys apt trusts, from the keyrings in `directories` (default
    /// `/etc/apt/trusted.gpg.d`, `/etc/apt/keyrings`, `/usr/share/keyrings`): `{key id: details}`
    /// as `gpg.GpgKeys` (a key in several keyrings: the last one read wins).
    AptKeys = "apt.AptKeys";
    params: ["directories"];
    command: |args| {
        let dirs: Vec<String> = match args.get("directories") {
            None | Some(Value::Null) => vec![
                "/etc/apt/trusted.gpg.d".into(),
                "/etc/apt/keyrings".into(),
                "/usr/share/keyrings".into(),
            ],
            Some(Value::Array(a)) if a.is_empty() => vec![
                "/etc/apt/trusted.gpg.d".into(),
                "/etc/apt/keyrings".into(),
                "/usr/share/keyrings".into(),
            ],
            Some(Value::Array(a)) => a.iter().map(crate::python::python_str).collect(),
            Some(v) => vec![crate::python::python_str(v)],
        };
        super::gpg::keyrings_command(&dirs)
    };
    process: |lines, _| {
        let mut keys = Map::new();
        if let Value::Object(keyrings) = super::gpg::keyrings_process(lines)? {
            for (_, keyring) in keyrings {
                if let Some(Value::Object(k)) = keyring.get("keys") {
                    keys.extend(k.clone());
                }
            }
        }
        Ok(Value::Object(keys))
    };
    default: || json!({});
    requires: |_| Some("gpg".into());
}
