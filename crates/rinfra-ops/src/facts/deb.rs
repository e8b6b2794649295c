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

define_fact! {
    /// A `.deb` archive's (or an installed package's) `{name, version}`; `{}` when unknown.
    DebPackage = "deb.DebPackage";
    params: ["package"];
    command: |args| {
        let package = super::arg_str(args, "package")?;
        Ok(super::shell::formatted(
            "test -f {0} && case {0} in *.deb) dpkg -I {0} ;; *) dpkg -s {0} 2>/dev/null || true ;; esac || dpkg -s {0} 2>/dev/null || true",
            &[rinfra_connectors::quoted(package)],
        ))
    };
    process: |lines, _| {
        let mut data = serde_json::Map::new();
        for line in lines {
            let line = line.trim();
            if let Some(m) = super::parse::re_match(r"^Package:\s+([a-zA-Z0-9\+\-\.]+)$", line) {
                data.insert("name".into(), json!(super::parse::group(&m, 1)));
            } else if let Some(m) = super::parse::re_match(r"^Version:\s+([a-zA-Z0-9:~\.\-\+]+)$", line) {
                data.insert("version".into(), json!(super::parse::group(&m, 1)));
            }
        }
        Ok(serde_json::Value::Object(data))
    };
    default: || json!({});
    requires: |_| Some("dpkg".into());
}
