//! `vzctl.*` facts (OpenVZ).

use serde_json::{json, Map, Value};

use super::define_fact;

define_fact! {
    /// The containers (`vzlist -a -j`) by CTID: `{ctid: {ip, ostemplate, ...}}`.
    OpenvzContainers = "vzctl.OpenvzContainers";
    params: [];
    command: |_| Ok(super::shell::raw("vzlist -a -j"));
    process: |lines, _| {
        let list: Vec<Map<String, Value>> = serde_json::from_str(&lines.concat())
            .map_err(|e| format!("vzlist did not print a JSON list: {e}"))?;
        let mut containers = Map::new();
        for mut vz in list {
            let ctid = vz
                .remove("ctid")
                .and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
                .ok_or("a container without a numeric ctid")?;
            containers.insert(ctid.to_string(), Value::Object(vz));
        }
        Ok(Value::Object(containers))
    };
    default: || json!({});
    requires: |_| Some("vzlist".into());
}
