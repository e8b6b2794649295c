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

/// A full SHA-1 or SHA-256 object name.
fn sha(s: &str) -> Option<Value> {
    super::parse::re_fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", s).map(|_| json!(s))
}

define_fact! {
    /// Tags of a repository.
    GitTag = "git.GitTag";
    params: ["repo"];
    command: |args| in_repo(args, "git tag");
    process: |lines, _| Ok(json!(lines));
    requires: |_| Some("git".into());
}

define_fact! {
    /// The commit `ref` (default `HEAD`) points to locally, `None` if unknown.
    GitLocalCommit = "git.GitLocalCommit";
    params: ["repo", "ref"];
    command: |args| {
        let repo = arg_str(args, "repo")?;
        let r = arg_opt(args, "ref").unwrap_or_else(|| "HEAD".into());
        Ok(formatted(
            "! test -d {0} || (cd {0} && git rev-parse {1} 2>/dev/null) || true",
            &[quoted(repo), quoted(r)],
        ))
    };
    process: |lines, _| Ok(lines.first().and_then(|l| sha(l.trim())).unwrap_or(Value::Null));
    requires: |_| Some("git".into());
}

define_fact! {
    /// The commit `branch` (default `HEAD`) points to on `remote` (default `origin`).
    GitRemoteBranchCommit = "git.GitRemoteBranchCommit";
    params: ["repo", "remote", "branch"];
    command: |args| {
        let repo = arg_str(args, "repo")?;
        let remote = arg_opt(args, "remote").unwrap_or_else(|| "origin".into());
        let branch = arg_opt(args, "branch").filter(|b| !b.is_empty()).unwrap_or_else(|| "HEAD".into());
        Ok(formatted(
            "! test -d {0} || (cd {0} && git ls-remote {1} {2} 2>/dev/null | head -n1)",
            &[quoted(repo), quoted(remote), quoted(branch)],
        ))
    };
    process: |lines, _| Ok(lines
        .first()
        .and_then(|l| l.trim().split('\t').next().and_then(sha))
        .unwrap_or(Value::Null));
    requires: |_| Some("git".into());
}

define_fact! {
    /// The upstream a checkout's branch tracks (`origin/main`), or None when it tracks none.
    GitTrackingBranch = "git.GitTrackingBranch";
    params: ["repo"];
    command: |args| in_repo(args, "git status --branch --porcelain");
    process: |lines, _| Ok(lines
        .first()
        .and_then(|l| super::parse::regex(r"\.{3}(\S+)").captures(l))
        .map_or(Value::Null, |m| json!(super::parse::group(&m, 1))));
    requires: |_| Some("git".into());
}
