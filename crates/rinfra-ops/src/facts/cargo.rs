//! `cargo.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Crates installed with `cargo install`: `{name: [version]}`.
    CargoPackages = "cargo.CargoPackages";
    params: [];
    command: |_| Ok(super::shell::raw("cargo install --list"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z0-9\-]+)\sv([0-9\.]+)", lines));
    default: || json!({});
    requires: |_| Some("cargo".into());
}
