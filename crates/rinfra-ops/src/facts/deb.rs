//! `deb.*` facts: dpkg's installed packages and architecture.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;
use super::shell::raw;

define_fact! {
    /// Installed dpkg packages: `{name: [version]}`.
    DebPackages = "deb.DebPackages";
    params: [];
    command: |_| Ok(raw("dpkg -l"));
    process: |lines, _| Ok(parse_packages(
        r"^[i|h]i\s+([a-zA-Z0-9\+\-\.]+):?[a-zA-Z0-9]*\s+([a-zA-Z0-9:~\.\-\+]+).+$",
        lines,
    ));
    default: || json!({});
    requires: |_| Some("dpkg".into());
}

define_fact! {
    /// The architecture apt uses in sources, e.g. `amd64`.
    DebArch = "deb.DebArch";
    params: [];
    command: |_| Ok(raw("dpkg --print-architecture"));
    process: |lines, _| Ok(super::joined(lines));
    requires: |_| Some("dpkg".into());
}
