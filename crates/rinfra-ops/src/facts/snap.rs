//! `snap.*` facts.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::re_match;

/// `key: value` fields of `snap info`/`flatpak info` output picked by regexes.
pub(super) fn info_fields(lines: &[String], fields: &[(&str, &str)]) -> Value {
    let mut data = Map::new();
    for line in lines {
        for (name, pattern) in fields {
            if let Some(m) = re_match(pattern, line) {
                data.insert((*name).to_string(), json!(&m[1]));
            }
        }
    }
    Value::Object(data)
}

define_fact! {
    /// `snap info` of one snap: `{name, publisher, snap-id, channel, version}` (what is known).
    SnapPackage = "snap.SnapPackage";
    params: ["package"];
    command: |args| Ok(rinfra_connectors::StringCommand::new([
        rinfra_connectors::Bit::from("snap info"),
        rinfra_connectors::quoted(super::arg_str(args, "package")?.as_str()),
    ]));
    process: |lines, _| Ok(info_fields(lines, &[
        ("name", r"name:[ ]+(.*)"),
        ("publisher", r"publisher:[ ]+(.*)"),
        ("snap-id", r"snap-id:[ ]+(.*)"),
        ("channel", r"tracking:[ ]+([\w\d.-]+/[\w\d.-]+)/?.*$"),
        ("version", r"installed:[ ]+([\w\d.-]+).*$"),
    ]));
    default: || json!({});
    requires: |_| Some("snap".into());
}

define_fact! {
    /// The installed snaps' names.
    SnapPackages = "snap.SnapPackages";
    params: [];
    command: |_| Ok(super::shell::raw("snap list"));
    process: |lines, _| Ok(lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| json!(n))
        .collect::<Vec<_>>()
        .into());
    default: || json!([]);
    requires: |_| Some("snap".into());
}
