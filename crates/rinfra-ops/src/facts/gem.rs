//! `gem.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Installed Ruby gems: `{name: [version]}`.
    GemPackages = "gem.GemPackages";
    params: [];
    command: |_| Ok(super::shell::raw("gem list --local"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z0-9\-\+\_]+)\s\(([0-9\.]+)\)$", lines));
    default: || json!({});
    requires: |_| Some("gem".into());
}
