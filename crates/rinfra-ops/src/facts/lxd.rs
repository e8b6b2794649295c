//! `lxd.*` facts.

use serde_json::{json, Value};

use super::define_fact;

define_fact! {
    /// The containers as `lxc list --format json` describes them (a list of objects).
    LxdContainers = "lxd.LxdContainers";
    params: [];
    command: |_| Ok(super::shell::raw("lxc list --format json --fast"));
    process: |lines, _| serde_json::from_str::<Value>(&lines.join("\n"))
        .map_err(|e| format!("lxc did not print JSON: {e}"));
    default: || json!([]);
    requires: |_| Some("lxc".into());
}
