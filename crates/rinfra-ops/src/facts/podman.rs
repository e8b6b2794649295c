//! `podman.*` facts.

use serde_json::Value;

use super::define_fact;

/// The output as one JSON document of the given kind.
fn json_of(lines: &[String], want_list: bool) -> super::ProcessResult {
    let v: Value = serde_json::from_str(&lines.concat())
        .map_err(|e| format!("podman did not print JSON: {e}"))?;
    match (&v, want_list) {
        (Value::Array(_), true) | (Value::Object(_), false) => Ok(v),
        _ => Err(format!("unexpected podman output: {v}")),
    }
}

define_fact! {
    /// `podman system info` as a JSON object.
    PodmanSystemInfo = "podman.PodmanSystemInfo";
    params: [];
    command: |_| Ok(super::shell::raw("podman system info --format=json"));
    process: |lines, _| json_of(lines, false);
    requires: |_| Some("podman".into());
}

define_fact! {
    /// Every container (`podman ps --all`) as podman's JSON objects.
    PodmanPs = "podman.PodmanPs";
    params: [];
    command: |_| Ok(super::shell::raw("podman ps --format=json --all"));
    process: |lines, _| json_of(lines, true);
    requires: |_| Some("podman".into());
}
