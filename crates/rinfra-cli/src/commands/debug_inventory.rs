//! `rinfra INVENTORY debug-inventory`: hosts, groups and resolved data.

use serde_json::{json, Map, Value};

use crate::inventory::InventoryHost;
use crate::output;

/// Print every host with its groups and merged data (secrets masked).
pub(crate) fn run(hosts: &[InventoryHost], as_json: bool) {
    let mut out = Map::new();
    for h in hosts {
        let data: Map<String, Value> = h
            .data
            .iter()
            .map(|(k, v)| {
                let v = if k.contains("password") {
                    json!(rinfra_connectors::MASKED)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        out.insert(
            h.name.clone(),
            json!({"groups": h.groups, "data": data, "connector": h.connector}),
        );
    }
    if as_json {
        output::json_stdout(&Value::Object(out));
        return;
    }
    // pyinfra's layout: each host, its groups and its data (the connector is in --json).
    for (name, host) in &out {
        output::line("");
        output::line(&format!("[{name}]"));
        let groups: Vec<&str> = host["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        output::line(&format!("--> Groups: {}", groups.join(", ")));
        output::line("--> Data:");
        output::line(&output::json_indented(&host["data"]));
    }
}
