//! `apk.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;
use super::shell::raw;

define_fact! {
    /// Installed apk packages: `{name: ["version-rN"]}`.
    ApkPackages = "apk.ApkPackages";
    params: [];
    command: |_| Ok(raw("apk list --installed"));
    process: |lines, _| Ok(parse_packages(r"(.+)-([^-]+-r[^-]+) \S+ \{\S+\} \(.+?\)", lines));
    default: || json!({});
    requires: |_| Some("apk".into());
}
