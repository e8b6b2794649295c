//! `git.*` facts about a checkout.

use rinfra_connectors::quoted;
use rinfra_core::FactArgs;
use serde_json::{json, Map, Value};

use super::shell::formatted;
use super::{arg_bool, arg_opt, arg_str, define_fact, CommandResult};

fn in_repo(args: &FactArgs, then: &str) -> CommandResult {
    let repo = arg_str(args, "repo")?;
    // pyinfra inserts the path unquoted; quoting keeps plain paths identical and makes
    // paths with spaces or metacharacters safe
    Ok(formatted(
        &format!("! test -d {{0}} || (cd {{0}} && {then})"),
        &[quoted(repo)],
    ))
}

define_fact! {
    /// The checked out branch (or tag) of a repository, `heads/`/`tags/` stripped.
    GitBranch = "git.GitBranch";
    params: ["repo"];
    command: |args| in_repo(args, "git describe --all");
    process: |lines, _| Ok(json!(super::parse::regex(r"(heads|tags)/").replace_all(&lines.join("\n"), "").into_owned()));
    requires: |_| Some("git".into());
}

define_fact! {
    /// Git configuration: `{key: [values]}`; of `repo` or of the global/system config.
    GitConfig = "git.GitConfig";
    params: ["repo", "system"];
    command: |args| match arg_opt(args, "repo") {
        None => Ok(rinfra_connectors::StringCommand::new([format!(
            "git config {} -l || true",
            if arg_bool(args, "system") { "--system" } else { "--global" }
        )])),
        Some(_) => in_repo(args, "git config --local -l"),
    };
    process: |lines, _| {
        let mut items: Map<String, Value> = Map::new();
        for line in lines {
            let (k, v) = line.split_once('=').ok_or_else(|| format!("unexpected git config line `{line}`"))?;
            match items.get_mut(k) {
                Some(Value::Array(a)) => a.push(json!(v)),
                _ => {
                    items.insert(k.to_string(), json!([v]));
                }
            }
        }
        Ok(Value::Object(items))
    };
    default: || json!({});
    requires: |_| Some("git".into());
}
