//! `npm.*` facts.

use serde_json::json;

use super::define_fact;
use super::parse::parse_packages;

define_fact! {
    /// npm packages installed globally, or in `directory`: `{name: [version]}`.
    NpmPackages = "npm.NpmPackages";
    params: ["directory"];
    command: |args| Ok(match super::arg_opt(args, "directory").filter(|d| !d.is_empty()) {
        None => super::shell::raw("npm list -g --depth=0"),
        Some(d) => super::shell::formatted(
            "! test -d {0} || (cd {0} && npm list -g --depth=0)",
            &[rinfra_connectors::quoted(d.as_str())],
        ),
    });
    // npm draws the tree with `├──`/`└──` under a UTF-8 locale and with `+--`/`` `-- ``
    // otherwise (a plain `ssh host cmd` on a Debian host without a locale set): both are
    // read, where pyinfra reads only the first and finds no packages at all.
    process: |lines, _| {
        Ok(parse_packages(r"^(?:[└├]──|[+`]--)\s([a-zA-Z0-9\-]+)@([0-9\.]+)$", lines))
    };
    default: || json!({});
    requires: |_| Some("npm".into());
}
