//! `brew.*` facts: Homebrew's version, formulae, casks, taps and trusted items.

use serde_json::{json, Value};

use super::define_fact;
use super::parse::{parse_packages, re_match};
use super::shell::raw;

const BREW_REGEX: &str = r"^([^\s]+)\s([0-9\._+a-z\-]+)";

/// The kinds of item `brew trust` knows, as its JSON names them.
pub(crate) const TRUST_KINDS: [&str; 4] = ["casks", "commands", "formulae", "taps"];

fn no_trust() -> Value {
    json!({"casks": [], "commands": [], "formulae": [], "taps": []})
}

define_fact! {
    /// Homebrew's version as `[major, minor, patch]` (`[0, 0, 0]` when unreadable).
    BrewVersion = "brew.BrewVersion";
    params: [];
    command: |_| Ok(raw("brew --version"));
    process: |lines, _| Ok(lines
        .first()
        .and_then(|l| re_match(r"Homebrew\s+(\d+)\.(\d+)\.(\d+).*$", l))
        .and_then(|m| {
            let n = |i: usize| m[i].parse::<i64>().ok();
            Some(json!([n(1)?, n(2)?, n(3)?]))
        })
        .unwrap_or_else(|| json!([0, 0, 0])));
    default: || json!([0, 0, 0]);
    requires: |_| Some("brew".into());
}

define_fact! {
    /// Installed formulae: `{name: [version]}`.
    BrewPackages = "brew.BrewPackages";
    params: [];
    command: |_| Ok(raw("brew list --versions"));
    process: |lines, _| Ok(parse_packages(BREW_REGEX, lines));
    default: || json!({});
    requires: |_| Some("brew".into());
}

define_fact! {
    /// Installed casks: `{name: [version]}` (`brew cask list` before Homebrew 2.6).
    BrewCasks = "brew.BrewCasks";
    params: [];
    command: |_| Ok(raw(r#"if brew --version | grep -q -e "Homebrew\ +(1\.|2\.[0-5]).*" 1>/dev/null;then brew cask list --versions; else brew list --cask --versions; fi"#));
    process: |lines, _| Ok(parse_packages(BREW_REGEX, lines));
    default: || json!({});
    requires: |_| Some("brew".into());
}

define_fact! {
    /// The taps (`user/repo`).
    BrewTaps = "brew.BrewTaps";
    params: [];
    command: |_| Ok(raw("brew tap"));
    process: |lines, _| Ok(json!(lines));
    default: || json!([]);
    requires: |_| Some("brew".into());
}

define_fact! {
    /// Items marked trusted: `{casks, commands, formulae, taps}`, each a list of names (all
    /// empty when `brew trust` says something else).
    BrewTrusted = "brew.BrewTrusted";
    params: [];
    command: |_| Ok(raw("brew trust --json=v1"));
    process: |lines, _| {
        let parsed: Option<Value> = serde_json::from_str(&lines.join("\n")).ok();
        Ok(match parsed {
            Some(v) if TRUST_KINDS.iter().all(|k| v.get(k).is_some()) => v,
            _ => no_trust(),
        })
    };
    default: no_trust;
    requires: |_| Some("brew".into());
}
