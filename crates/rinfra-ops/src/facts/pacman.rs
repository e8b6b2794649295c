//! `pacman.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;
use rinfra_connectors::quoted;

use super::shell::{formatted, raw};

define_fact! {
    /// Installed pacman packages: `{name: [version]}`.
    PacmanPackages = "pacman.PacmanPackages";
    params: [];
    command: |_| Ok(raw("pacman -Q"));
    process: |lines, _| Ok(parse_packages(r"^(\S+)\s(\S+)", lines));
    default: || json!({});
    requires: |_| Some("pacman".into());
}

define_fact! {
    /// The packages a group or virtual package expands to.
    PacmanUnpackGroup = "pacman.PacmanUnpackGroup";
    params: ["package"];
    command: |args| Ok(formatted(
        "pacman -S --print-format \"%n\" {0} || true",
        &[quoted(super::arg_str(args, "package")?)],
    ));
    process: |lines, _| Ok(json!(lines));
    default: || json!([]);
    requires: |_| Some("pacman".into());
}
