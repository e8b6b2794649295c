//! `rpm.*` facts.

use rinfra_connectors::quoted;
use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;
use super::shell::formatted;

define_fact! {
    /// Installed rpm packages: `{name: ["version-release"]}`.
    RpmPackages = "rpm.RpmPackages";
    params: [];
    command: |_| Ok(formatted("rpm --queryformat {0} -qa", &[quoted("%{NAME} %{VERSION}-%{RELEASE}\\n")]));
    process: |lines, _| Ok(parse_packages(r"^(\S+)\ (\S+)$", lines));
    default: || json!({});
    requires: |_| Some("rpm".into());
}
