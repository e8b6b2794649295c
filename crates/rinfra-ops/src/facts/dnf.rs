//! `dnf.*` facts: repositories and module streams.

use serde_json::{json, Map, Value};

use super::define_fact;
use super::yum::{cat_files_with_markers, parse_repositories};

define_fact! {
    /// The dnf repositories configured in `/etc/dnf.conf`, `/etc/dnf.repos.d` and
    /// `/etc/yum.repos.d`: a list of `{repoid, name, filename, baseurl, enabled...}`.
    DnfRepositories = "dnf.DnfRepositories";
    params: [];
    command: |_| Ok(cat_files_with_markers(&[
        "/etc/dnf.conf",
        "/etc/dnf.repos.d/*.repo",
        "/etc/yum.repos.d/*.repo",
    ]));
    process: |lines, _| Ok(parse_repositories(lines));
    default: || json!([]);
    requires: |_| Some("dnf".into());
}

/// Lines of `dnf module list` carrying `flag` (`[e]`, `[x]`) as a whole word.
fn flagged<'a>(lines: &'a [String], flag: &'a str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    let pattern = format!(r"{}(?:\W|$)", regex::escape(flag));
    lines
        .iter()
        .filter(move |l| super::parse::regex(&pattern).is_match(l))
        .map(|l| l.split_whitespace().collect())
}

define_fact! {
    /// Enabled module streams: `{module: stream}`.
    DnfEnabledModules = "dnf.DnfEnabledModules";
    params: [];
    command: |_| Ok(super::shell::raw("dnf module list --enabled"));
    process: |lines, _| {
        let mut modules = Map::new();
        for tokens in flagged(lines, "[e]") {
            if let [name, stream, ..] = tokens[..] {
                modules.insert(name.to_string(), json!(stream));
            }
        }
        Ok(Value::Object(modules))
    };
    default: || json!({});
    requires: |_| Some("dnf".into());
}

define_fact! {
    /// Explicitly disabled modules, sorted.
    DnfDisabledModules = "dnf.DnfDisabledModules";
    params: [];
    command: |_| Ok(super::shell::raw("dnf module list --disabled"));
    process: |lines, _| {
        let mut names: Vec<&str> = flagged(lines, "[x]").filter_map(|t| t.first().copied()).collect();
        names.sort_unstable();
        names.dedup();
        Ok(json!(names))
    };
    default: || json!([]);
    requires: |_| Some("dnf".into());
}
