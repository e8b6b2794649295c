//! `freebsd.*` facts: packages, rc(8) scripts and `rc.conf` settings, on the host or in a
//! jail. Each is the command's output as text (empty when not found).

use rinfra_connectors::quoted;

use super::shell::formatted;
use super::{arg_opt, arg_str, define_fact, joined};

fn jail(args: &rinfra_core::FactArgs) -> Option<String> {
    arg_opt(args, "jail")
}

define_fact! {
    /// The installed package's `name-version`, empty when not installed.
    PkgPackage = "freebsd.PkgPackage";
    params: ["package", "jail"];
    command: |args| {
        let package = quoted(arg_str(args, "package")?.as_str());
        Ok(match jail(args) {
            None => formatted("pkg info -E -- {0} 2> /dev/null || true", &[package]),
            Some(j) => formatted("pkg -j {0} info -E -- {1} 2> /dev/null || true", &[quoted(j.as_str()), package]),
        })
    };
    process: |lines, _| Ok(joined(lines));
}

define_fact! {
    /// The rc(8) script's name when `service -l` lists it, else empty.
    ServiceScript = "freebsd.ServiceScript";
    params: ["srvname", "jail"];
    command: |args| Ok(formatted(
        r#"for service in `service -j {0} -l`; do if [ {1} = \"$service\" ]; then echo \"$service\"; fi; done"#,
        &[quoted(jail(args).unwrap_or_default().as_str()), quoted(arg_str(args, "srvname")?.as_str())],
    ));
    process: |lines, _| Ok(joined(lines));
}

define_fact! {
    /// `running` when the service's `status` succeeds, else empty.
    ServiceStatus = "freebsd.ServiceStatus";
    params: ["srvname", "jail"];
    command: |args| Ok(formatted(
        "service -j {0} {1} status > /dev/null 2>&1; if [ $? -eq 0 ]; then echo running; fi",
        &[quoted(jail(args).unwrap_or_default().as_str()), quoted(arg_str(args, "srvname")?.as_str())],
    ));
    process: |lines, _| Ok(joined(lines));
}

define_fact! {
    /// An `rc.conf` variable's value (`sysrc -n`), empty when unset.
    Sysrc = "freebsd.Sysrc";
    params: ["parameter", "jail"];
    command: |args| {
        let parameter = quoted(arg_str(args, "parameter")?.as_str());
        Ok(match jail(args) {
            None => formatted("sysrc -in -- {0} || true", &[parameter]),
            Some(j) => formatted("sysrc -j {0} -in -- {1} || true", &[quoted(j.as_str()), parameter]),
        })
    };
    process: |lines, _| Ok(joined(lines));
}
