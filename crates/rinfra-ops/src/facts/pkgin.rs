//! `pkgin.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Installed pkgin packages: `{name: [version]}`.
    PkginPackages = "pkgin.PkginPackages";
    params: [];
    command: |_| Ok(super::shell::raw("pkgin list"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z\-0-9]+)-([0-9\.]+\-?[a-z0-9]*)\s", lines));
    default: || json!({});
    requires: |_| Some("pkgin".into());
}
