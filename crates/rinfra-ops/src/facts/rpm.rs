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

define_fact! {
    /// Packages providing a capability (command, file...): `[[name, version], ...]`.
    RpmPackageProvides = "rpm.RpmPackageProvides";
    params: ["package"];
    command: |args| Ok(formatted(
        "dnf repoquery --quiet --queryformat {0} --whatprovides {1} || true",
        &[quoted("%{NAME} %{VERSION}-%{RELEASE}\\n"), quoted(super::arg_str(args, "package")?)],
    ));
    process: |lines, _| Ok(lines
        .iter()
        .filter_map(|l| super::parse::re_match(r"^(\S+)\ (\S+)$", l))
        .map(|m| json!([&m[1], &m[2]]))
        .collect());
    default: || json!([]);
    requires: |_| Some("dnf".into());
}

define_fact! {
    /// Name and version of an installed package, or of an `.rpm` file on the host:
    /// `{"name": ..., "version": ...}`, None when neither.
    RpmPackage = "rpm.RpmPackage";
    params: ["package"];
    command: |args| Ok(formatted(
        "rpm --queryformat {0} -q {1} || ! test -e {1} || rpm --queryformat {0} -qp {1} 2> /dev/null",
        &[quoted("%{NAME} %{VERSION}-%{RELEASE}\\n"), quoted(super::arg_str(args, "package")?)],
    ));
    process: |lines, _| Ok(lines
        .iter()
        .find_map(|l| super::parse::re_match(r"^(\S+)\ (\S+)$", l))
        .map_or(serde_json::Value::Null, |m| json!({"name": &m[1], "version": &m[2]})));
    requires: |_| Some("rpm".into());
}
