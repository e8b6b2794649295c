//! `yum.*` facts, and the `.repo` file parser `dnf.DnfRepositories` shares.

use rinfra_connectors::StringCommand;
use serde_json::{json, Map, Value};

use super::define_fact;

/// The line announcing which file the following lines come from.
const FILENAME_MARKER: &str = "#pyinfra-filename:";

/// Print each existing file of `globs`, after a marker line naming it.
pub(super) fn cat_files_with_markers(globs: &[&str]) -> StringCommand {
    StringCommand::from(format!(
        "for f in {}; do [ -f \"$f\" ] && {{ printf \"{FILENAME_MARKER} %s\\n\" \"$f\"; cat \"$f\"; }}; done || true",
        globs.join(" ")
    ))
}

/// `.repo` (INI) sections as a list of `{repoid, name, filename, key: value...}`.
pub(super) fn parse_repositories(lines: &[String]) -> Value {
    let mut repos: Vec<Value> = Vec::new();
    let mut current: Map<String, Value> = Map::new();
    let mut file: Option<String> = None;
    let mut flush = |current: &mut Map<String, Value>| {
        if !current.is_empty() {
            repos.push(Value::Object(std::mem::take(current)));
        }
    };
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix(FILENAME_MARKER) {
            flush(&mut current);
            file = Some(name.trim().to_string()).filter(|f| !f.is_empty());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            flush(&mut current);
            let id = line
                .get(1..line.len().saturating_sub(1))
                .unwrap_or_default();
            current.insert("repoid".into(), json!(id));
            current.insert("name".into(), json!(id));
            if let Some(f) = &file {
                current.insert("filename".into(), json!(f));
            }
        }
        if !current.is_empty() {
            if let Some((k, v)) = line.split_once('=') {
                current.insert(k.trim_end().to_string(), json!(v.trim_start()));
            }
        }
    }
    flush(&mut current);
    Value::Array(repos)
}

define_fact! {
    /// The yum repositories configured in `/etc/yum.conf` and `/etc/yum.repos.d/*.repo`: a
    /// list of `{repoid, name, filename, baseurl, enabled...}` (values as written).
    YumRepositories = "yum.YumRepositories";
    params: [];
    command: |_| Ok(cat_files_with_markers(&["/etc/yum.conf", "/etc/yum.repos.d/*.repo"]));
    process: |lines, _| Ok(parse_repositories(lines));
    default: || json!([]);
    requires: |_| Some("yum".into());
}
