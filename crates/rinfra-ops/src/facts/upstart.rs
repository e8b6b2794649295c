//! `upstart.UpstartStatus`: which upstart jobs are running.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{group, re_match};
use super::shell::raw;

define_fact! {
    /// Upstart jobs: `{name: running}`.
    UpstartStatus = "upstart.UpstartStatus";
    params: [];
    command: |_| Ok(raw("initctl list"));
    process: |lines, _| {
        let mut services = Map::new();
        for line in lines {
            if let Some(m) = re_match(r"^([a-z\-]+) [a-z]+/([a-z]+)", line) {
                services.insert(group(&m, 1).to_string(), json!(group(&m, 2) == "running"));
            }
        }
        Ok(Value::Object(services))
    };
    default: || json!({});
    requires: |_| Some("initctl".into());
}
