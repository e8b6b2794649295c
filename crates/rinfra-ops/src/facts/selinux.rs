//! `selinux.*` facts: booleans, file contexts and port types.

use rinfra_connectors::quoted;
use serde_json::{json, Map, Value};

use super::parse::re_match;
use super::shell::formatted;
use super::{arg_str, define_fact};

/// An SELinux context `user:role:type:level` as a map.
fn context(user: &str, role: &str, kind: &str, level: &str) -> Value {
    json!({"user": user, "role": role, "type": kind, "level": level})
}

define_fact! {
    /// A boolean's value, `on` or `off`.
    SEBoolean = "selinux.SEBoolean";
    params: ["boolean"];
    command: |args| Ok(formatted("getsebool {0}", &[quoted(arg_str(args, "boolean")?.as_str())]));
    process: |lines, _| {
        let line = lines.first().map(String::as_str).unwrap_or_default();
        line.split(" --> ")
            .nth(1)
            .map(|v| json!(v))
            .ok_or_else(|| format!("unexpected getsebool output {line:?}"))
    };
    default: || json!("");
    requires: |_| Some("getsebool".into());
}

define_fact! {
    /// A path's context `{user, role, type, level}`; None when the path is missing or has none.
    FileContext = "selinux.FileContext";
    params: ["path"];
    command: |args| Ok(formatted("stat -c %C {0} || exit 0", &[quoted(arg_str(args, "path")?.as_str())]));
    process: |lines, _| {
        let parts: Vec<&str> = lines.first().map(|l| l.split(':').collect()).unwrap_or_default();
        Ok(match parts[..] {
            [user, role, kind, level, ..] => context(user, role, kind, level),
            _ => Value::Null,
        })
    };
}

define_fact! {
    /// The file-context mapping (`semanage fcontext`) for exactly `target`:
    /// `{user, role, type, level}`, empty when none.
    FileContextMapping = "selinux.FileContextMapping";
    params: ["target"];
    command: |args| Ok(formatted(
        "set -o pipefail && semanage fcontext -n -l | (grep {0} || true)",
        &[quoted(format!("^{}", arg_str(args, "target")?).as_str())],
    ));
    process: |lines, _| Ok(match lines {
        [one] => re_match(r".*\s+(\w+):(\w+):(\w+):(\w+)", one)
            .map_or_else(|| json!({}), |m| context(&m[1], &m[2], &m[3], &m[4])),
        _ => json!({}),
    });
    default: || json!({});
    requires: |_| Some("semanage".into());
}

define_fact! {
    /// Port types by protocol: `{"tcp": {port: type}, ...}` (`unreserved_port_t` left out).
    SEPorts = "selinux.SEPorts";
    params: [];
    command: |_| Ok(super::shell::raw("semanage port -ln"));
    process: |lines, _| {
        let mut labels: Map<String, Value> = Map::new();
        for line in lines {
            let Some(m) = re_match(r"([\w_]+)\s+(\w+)\s+([\w\-,\s]+)$", line) else {
                continue;
            };
            if &m[1] == "unreserved_port_t" {
                continue;
            }
            let ports = labels.entry(m[2].to_string()).or_insert_with(|| json!({}));
            for item in m[3].split(',').map(str::trim) {
                let (start, stop) = item.split_once('-').unwrap_or((item, item));
                let (Ok(start), Ok(stop)) = (start.trim().parse::<u32>(), stop.trim().parse::<u32>()) else {
                    return Err(format!("unexpected port range {item:?} in {line:?}"));
                };
                if let Value::Object(p) = ports {
                    for port in start..=stop {
                        p.insert(port.to_string(), json!(&m[1]));
                    }
                }
            }
        }
        Ok(Value::Object(labels))
    };
    default: || json!({});
    requires: |_| Some("semanage".into());
}

define_fact! {
    /// The type of one port (`sepolicy network`), empty when it has none of its own.
    SEPort = "selinux.SEPort";
    params: ["protocol", "port"];
    command: |args| Ok(formatted(
        "(sepolicy network -p {0} 2>/dev/null || true) | grep {1}",
        &[quoted(arg_str(args, "port")?.as_str()), quoted(arg_str(args, "protocol")?.as_str())],
    ));
    process: |lines, _| Ok(if lines.len() > 1 {
        json!(lines[0].split(' ').nth(2).unwrap_or_default())
    } else {
        json!("")
    });
    default: || json!("");
    requires: |_| Some("sepolicy".into());
}
