//! `openrc.*` facts: service states and runlevels.

use rinfra_connectors::{quoted, Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::parse::{group, re_match};
use super::{arg_opt, define_fact};

fn runlevel(args: &rinfra_core::FactArgs) -> String {
    arg_opt(args, "runlevel").unwrap_or_else(|| "default".into())
}

define_fact! {
    /// Services of a runlevel: `{name: started}`.
    OpenrcStatus = "openrc.OpenrcStatus";
    params: ["runlevel"];
    command: |args| Ok(StringCommand::new([Bit::from("rc-status"), quoted(runlevel(args))]));
    process: |lines, _| {
        let mut services = Map::new();
        for line in lines {
            if let Some(m) = re_match(
                r"\s+([a-zA-Z0-9\-_.]+)\s+\[\s+([a-z]+)(?:\s(?:[0-9]+\sday\(s\)\s)?[0-9]+\:[0-9]+\:[0-9]+\s\([0-9]+\))?\s+\]",
                line,
            ) {
                services.insert(group(&m, 1).to_string(), json!(group(&m, 2) == "started"));
            }
        }
        Ok(Value::Object(services))
    };
    default: || json!({});
    requires: |_| Some("rc-status".into());
}

define_fact! {
    /// Whether each service is enabled in a runlevel: `{name: bool}`.
    OpenrcEnabled = "openrc.OpenrcEnabled";
    params: ["runlevel"];
    command: |_| Ok(StringCommand::from("rc-update show -v"));
    process: |lines, args| {
        let level = runlevel(args);
        let mut services = Map::new();
        for line in lines {
            let (name, levels) = line.split_once('|').ok_or_else(|| format!("unexpected rc-update line `{line}`"))?;
            services.insert(name.trim().to_string(), json!(levels.split_whitespace().any(|l| l == level)));
        }
        Ok(Value::Object(services))
    };
    default: || json!({});
    requires: |_| Some("rc-update".into());
}
