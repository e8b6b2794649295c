//! `flatpak.*` facts.

use serde_json::json;

use super::define_fact;

define_fact! {
    /// `flatpak info` of one application: `{id, ref, version}` (what is known).
    FlatpakPackage = "flatpak.FlatpakPackage";
    params: ["package"];
    command: |args| Ok(rinfra_connectors::StringCommand::new([
        rinfra_connectors::Bit::from("flatpak info"),
        rinfra_connectors::quoted(super::arg_str(args, "package")?.as_str()),
    ]));
    process: |lines, _| Ok(super::snap::info_fields(lines, &[
        ("id", r"[ ]+ID:[ ]+(.*)$"),
        ("ref", r"[ ]+Ref:[ ]+(.*)$"),
        ("version", r"[ ]+Version:[ ]+([\w\d.-]+).*$"),
    ]));
    default: || json!({});
    requires: |_| Some("flatpak".into());
}

define_fact! {
    /// The installed flatpaks' application IDs.
    FlatpakPackages = "flatpak.FlatpakPackages";
    params: [];
    command: |_| Ok(super::shell::raw("flatpak list --columns=application"));
    process: |lines, _| Ok(lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i > 1 || l.as_str() != "Application ID")
        .map(|(_, l)| json!(l))
        .collect::<Vec<_>>()
        .into());
    default: || json!([]);
    requires: |_| Some("flatpak".into());
}
