//! `pkg.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// Installed BSD packages (`pkg info` or `pkg_info`): `{name: [version]}`.
    PkgPackages = "pkg.PkgPackages";
    params: [];
    command: |_| Ok(super::shell::raw("pkg info || pkg_info || true"));
    process: |lines, _| Ok(parse_packages(r"^([a-zA-Z0-9_\-\+]+)\-([0-9a-z\.]+)", lines));
    default: || json!({});
}
