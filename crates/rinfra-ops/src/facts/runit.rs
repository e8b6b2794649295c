//! `runit.*` facts: services under a runit service directory.

use serde_json::{json, Map, Value};

use super::shell::{double_quoted, raw};
use super::{arg_opt, define_fact};

fn svdir(args: &rinfra_core::FactArgs) -> String {
    arg_opt(args, "svdir").unwrap_or_else(|| "/var/service".into())
}

define_fact! {
    /// Service → status under `svdir` (default `/var/service`): True running, False down,
    /// None otherwise (failing); `service` limits it to one.
    RunitStatus = "runit.RunitStatus";
    params: ["service", "svdir"];
    command: |args| {
        let dir = double_quoted(&svdir(args));
        Ok(raw(&match arg_opt(args, "service") {
            None => format!(
                "export SVDIR={dir} && cd \"$SVDIR\" && find * -maxdepth 0 -exec sv status {{}} + 2>/dev/null"
            ),
            Some(s) => format!("SVDIR={dir} sv status {}", double_quoted(&s)),
        }))
    };
    process: |lines, _| {
        let mut services = Map::new();
        for line in lines {
            let mut parts = line.splitn(3, ": ");
            let (Some(status), Some(name)) = (parts.next(), parts.next()) else {
                return Err(format!("unexpected sv status line {line:?}"));
            };
            let state = match status {
                "run" => json!(true),
                "down" => json!(false),
                _ => Value::Null,
            };
            services.insert(name.to_string(), state);
        }
        Ok(Value::Object(services))
    };
    default: || json!({});
    requires: |_| Some("sv".into());
}

define_fact! {
    /// The services runit manages (links in `svdir`, default `/var/service`), sorted;
    /// `service` limits it to one.
    RunitManaged = "runit.RunitManaged";
    params: ["service", "svdir"];
    command: |args| {
        let dir = double_quoted(&svdir(args));
        Ok(raw(&match arg_opt(args, "service") {
            None => format!(
                "[ -d {dir} ] && cd {dir} && find -mindepth 1 -maxdepth 1 -type l -printf \"%f\\n\" || true"
            ),
            Some(s) => {
                let s = double_quoted(&s);
                format!("cd {dir} && test -h {s} && echo {s} || true")
            }
        }))
    };
    process: |lines, _| {
        let mut names: Vec<&str> = lines.iter().map(String::as_str).filter(|l| !l.is_empty()).collect();
        names.sort_unstable();
        names.dedup();
        Ok(json!(names))
    };
    default: || json!([]);
    requires: |_| Some("sv".into());
}
