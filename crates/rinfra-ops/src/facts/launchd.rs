//! `launchd.*` facts.

use serde_json::{json, Map, Value};

use super::define_fact;

define_fact! {
    /// launchd jobs (`launchctl list`) → whether each is running (has a PID).
    LaunchdStatus = "launchd.LaunchdStatus";
    params: [];
    command: |_| Ok(super::shell::raw("launchctl list"));
    process: |lines, _| {
        let mut services = Map::new();
        for line in lines {
            let bits: Vec<&str> = line.split_whitespace().collect();
            if bits.is_empty() || bits[0] == "PID" {
                continue;
            }
            let Some(name) = bits.get(2) else {
                return Err(format!("unexpected launchctl line {line:?}"));
            };
            services.insert((*name).to_string(), json!(bits[0].parse::<i64>().is_ok()));
        }
        Ok(Value::Object(services))
    };
    default: || json!({});
    requires: |_| Some("launchctl".into());
}
