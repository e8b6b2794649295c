//! `pip.*` facts.

use rinfra_core::FactArgs;
use serde_json::json;

use super::parse::parse_packages;
use super::{arg_opt, define_fact, CommandResult, ProcessResult};

const PIP_REGEX: &str = r"^([a-zA-Z0-9_\-\+\.]+)==([0-9\.]+[a-z0-9\-]*)$";

fn pip_command(args: &FactArgs, default: &str) -> CommandResult {
    let pip = arg_opt(args, "pip")
        .filter(|p| !p.is_empty())
        .unwrap_or(default.into());
    // pyinfra inserts the pip path unquoted: it may be a command line (`python -m pip`)
    Ok(rinfra_connectors::StringCommand::new([format!(
        "{pip} freeze --all"
    )]))
}

fn pip_process(lines: &[String], _: &FactArgs) -> ProcessResult {
    Ok(parse_packages(PIP_REGEX, lines))
}

define_fact! {
    /// Installed pip packages: `{name: [version]}`; `pip` picks the pip command.
    PipPackages = "pip.PipPackages";
    params: ["pip"];
    command: |args| pip_command(args, "pip");
    process: pip_process;
    default: || json!({});
    requires: |args| Some(arg_opt(args, "pip").filter(|p| !p.is_empty()).unwrap_or("pip".into()));
}

define_fact! {
    /// Installed pip3 packages.
    Pip3Packages = "pip.Pip3Packages";
    params: ["pip"];
    command: |args| pip_command(args, "pip3");
    process: pip_process;
    default: || json!({});
    requires: |args| Some(arg_opt(args, "pip").filter(|p| !p.is_empty()).unwrap_or("pip3".into()));
}
