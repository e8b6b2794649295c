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
    let v = Value::Object(out);
    if as_json {
        output::json_stdout(&v);
    } else {
        output::section("Inventory:");
        for l in serde_json::to_string_pretty(&v).unwrap_or_default().lines() {
            output::line(&format!("    {l}"));
        }
    }
}
