//! `uv.*` facts: uv's version, directories, tools, pip packages and Pythons.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::shell::raw;

/// A JSON list of objects as `{item[key]: [item[value]]}`, sorted by key; anything else gives
/// `{}` (pyinfra logs it).
fn json_map(lines: &[String], key: &str, value: &str) -> Value {
    let parsed: Option<Vec<Map<String, Value>>> = serde_json::from_str(&lines.join("\n")).ok();
    let mut items = parsed.unwrap_or_default();
    items.sort_by_key(|i| i.get(key).map(crate::python::python_str));
    let mut out = Map::new();
    for item in items {
        if let (Some(k), Some(v)) = (item.get(key), item.get(value)) {
            out.insert(crate::python::python_str(k), json!([v]));
        }
    }
    Value::Object(out)
}

/// The only line of output, or empty when there is none or more than one.
fn single_line(lines: &[String]) -> Value {
    match lines {
        [one] => json!(one),
        _ => json!(""),
    }
}

fn python_list(args: &rinfra_core::FactArgs, installed: bool) -> rinfra_connectors::StringCommand {
    let managed = match args.get("is_managed") {
        None | Some(Value::Null) => true,
        Some(v) => crate::python::truthy(v),
    };
    raw(&format!(
        "uv python list {} {} --output-format=json",
        if managed { "--managed-python" } else { "" },
        if installed { "--only-installed" } else { "" }
    ))
}

define_fact! {
    /// Packages in the current environment (`uv pip list`): `{name: [version]}`.
    UvPipPackages = "uv.UvPipPackages";
    params: [];
    command: |_| Ok(raw("uv pip list --format json"));
    process: |lines, _| Ok(json_map(lines, "name", "version"));
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Pythons uv can install, by implementation key: `{key: [version]}`.
    UvAvailablePythonsByImplementation = "uv.UvAvailablePythonsByImplementation";
    params: ["is_managed"];
    command: |args| Ok(python_list(args, false));
    process: |lines, _| Ok(json_map(lines, "key", "version"));
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Pythons uv can install, by version: `{version: [key]}`.
    UvAvailablePythonsByVersion = "uv.UvAvailablePythonsByVersion";
    params: ["is_managed"];
    command: |args| Ok(python_list(args, false));
    process: |lines, _| Ok(json_map(lines, "version", "key"));
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Installed Pythons, by implementation key: `{key: [version]}`.
    UvInstalledPythonsByImplementation = "uv.UvInstalledPythonsByImplementation";
    params: ["is_managed"];
    command: |args| Ok(python_list(args, true));
    process: |lines, _| Ok(json_map(lines, "key", "version"));
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Installed Pythons, by version: `{version: [key]}`.
    UvInstalledPythonsByVersion = "uv.UvInstalledPythonsByVersion";
    params: ["is_managed"];
    command: |args| Ok(python_list(args, true));
    process: |lines, _| Ok(json_map(lines, "version", "key"));
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Where uv keeps its Pythons.
    UvPythonDir = "uv.UvPythonDir";
    params: [];
    command: |_| Ok(raw("uv python dir 2>/dev/null"));
    process: |lines, _| Ok(single_line(lines));
    default: || json!("");
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Where uv installs tools' executables.
    UvToolDir = "uv.UvToolDir";
    params: [];
    command: |_| Ok(raw("uv tool dir 2>/dev/null"));
    process: |lines, _| Ok(single_line(lines));
    default: || json!("");
    requires: |_| Some("uv".into());
}

define_fact! {
    /// Installed tools: `{name: [version]}`.
    UvTools = "uv.UvTools";
    params: [];
    command: |_| Ok(raw("uv tool list 2>/dev/null"));
    process: |lines, _| {
        let mut tools = Map::new();
        for line in lines.iter().filter(|l| !l.starts_with("- ")) {
            let mut pieces = line.split(' ');
            if let (Some(name), Some(version)) = (pieces.next(), pieces.next()) {
                tools.insert(name.to_string(), json!([version.strip_prefix('v').unwrap_or(version)]));
            }
        }
        Ok(Value::Object(tools))
    };
    default: || json!({});
    requires: |_| Some("uv".into());
}

define_fact! {
    /// uv's version line (`uv 0.9.5`).
    UvVersion = "uv.UvVersion";
    params: [];
    command: |_| Ok(raw("uv --version"));
    process: |lines, _| Ok(single_line(lines));
    default: || json!("");
    requires: |_| Some("uv".into());
}
