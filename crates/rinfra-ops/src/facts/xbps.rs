//! `xbps.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Installed XBPS packages: `{name: [version]}`.
    XbpsPackages = "xbps.XbpsPackages";
    params: [];
    command: |_| Ok(super::shell::raw("xbps-query -l"));
    process: |lines, _| Ok(parse_packages(r"^.. ([a-zA-Z0-9_\-\+\.]+)\-([0-9a-z\.]+_[0-9]+)", lines));
    default: || json!({});
    requires: |_| Some("xbps-query".into());
}
