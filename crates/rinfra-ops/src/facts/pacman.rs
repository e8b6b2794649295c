//! `pacman.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;
use super::shell::raw;

define_fact! {
    /// Installed pacman packages: `{name: [version]}`.
    PacmanPackages = "pacman.PacmanPackages";
    params: [];
    command: |_| Ok(raw("pacman -Q"));
    process: |lines, _| Ok(parse_packages(r"^(\S+)\s(\S+)", lines));
    default: || json!({});
    requires: |_| Some("pacman".into());
}
