//! `choco.*` facts (Windows, Chocolatey).

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Installed Chocolatey packages: `{name: [version]}`.
    ChocoPackages = "choco.ChocoPackages";
    params: [];
    command: |_| Ok(super::shell::raw("choco list"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z0-9\.\-\+\_]+)\s([0-9\.]+)$", lines));
    default: || json!({});
    requires: |_| Some("choco".into());
}

define_fact! {
    /// Chocolatey's version.
    ChocoVersion = "choco.ChocoVersion";
    params: [];
    command: |_| Ok(super::shell::raw("choco --version"));
    process: |lines, _| Ok(json!(lines.concat().replace('\n', "")));
    requires: |_| Some("choco".into());
}
