//! `pipx.*` facts.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{parse_packages, re_match};

define_fact! {
    /// Applications installed with pipx: `{name: [version]}`.
    PipxPackages = "pipx.PipxPackages";
    params: [];
    command: |_| Ok(super::shell::raw("pipx list --short"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z0-9_\-\+\.]+)\s+([0-9\.]+[a-z0-9\-]*)$", lines));
    default: || json!({});
    requires: |_| Some("pipx".into());
}

define_fact! {
    /// pipx's settings (`pipx environment`): `{PIPX_HOME, PIPX_BIN_DIR, ...}`.
    PipxEnvironment = "pipx.PipxEnvironment";
    params: [];
    command: |_| Ok(super::shell::raw("pipx environment"));
    process: |lines, _| {
        let mut vars = Map::new();
        for line in lines {
            if let Some(m) = re_match(r"([A-Z_]+)=(.*)$", line) {
                vars.insert(m[1].to_string(), json!(&m[2]));
            }
        }
        Ok(Value::Object(vars))
    };
    default: || json!({});
    requires: |_| Some("pipx".into());
}
