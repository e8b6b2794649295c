//! `iptables.*` facts: rules and chains from `iptables-save`/`ip6tables-save`.

use rinfra_connectors::{Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::{arg_opt, define_fact};

/// `iptables-save` options and the names rules use for them.
const ARGS: &[(&str, &str)] = &[
    ("-A", "chain"),
    ("-j", "jump"),
    ("-p", "protocol"),
    ("-s", "source"),
    ("-d", "destination"),
    ("-i", "in_interface"),
    ("-o", "out_interface"),
    ("--log-prefix", "log_prefix"),
    ("--to-destination", "to_destination"),
    ("--to-source", "to_source"),
    ("--to-ports", "to_ports"),
];

/// One `-A ...` line as `{chain, jump, protocol, not_source, ..., extras: [..]}`; options
/// without a name go to `extras` (sorted, each once: pyinfra's set).
pub(crate) fn parse_rule(line: &str) -> Value {
    let mut rule = Map::new();
    let mut extras: Vec<String> = Vec::new();
    let mut key: Option<&str> = None;
    let mut args: Vec<&str> = Vec::new();
    let mut negated = false;
    let mut flush =
        |key: Option<&str>, args: &mut Vec<&str>, negated: bool, rule: &mut Map<String, Value>| {
            let Some(k) = key else { return };
            let value = args.join(" ");
            match ARGS.iter().find(|(opt, _)| *opt == k) {
                Some((_, name)) => {
                    let name = if negated {
                        format!("not_{name}")
                    } else {
                        (*name).to_string()
                    };
                    rule.insert(name, json!(value));
                }
                None => extras.extend([k.to_string(), value]),
            }
            args.clear();
        };
    for bit in line.split_whitespace() {
        if bit == "!" {
            if key.is_some() {
                flush(key.take(), &mut args, negated, &mut rule);
            }
            negated = true;
        } else if bit.starts_with('-') {
            if key.is_some() {
                flush(key.take(), &mut args, negated, &mut rule);
                negated = false;
            }
            key = Some(bit);
        } else {
            args.push(bit);
        }
    }
    flush(key, &mut args, negated, &mut rule);
    if !extras.is_empty() {
        extras.sort();
        extras.dedup();
        rule.insert("extras".into(), json!(extras));
    }
    Value::Object(rule)
}

fn save_command(binary: &str, args: &rinfra_core::FactArgs) -> StringCommand {
    let table = arg_opt(args, "table").unwrap_or_else(|| "filter".into());
    StringCommand::new([
        Bit::from(format!("{binary} -t")),
        rinfra_connectors::quoted(table.as_str()),
    ])
}

fn rules(lines: &[String]) -> Value {
    lines
        .iter()
        .filter(|l| l.starts_with('-'))
        .map(|l| parse_rule(l))
        .collect::<Vec<_>>()
        .into()
}

fn chains(lines: &[String]) -> super::ProcessResult {
    let mut chains = Map::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix(':') {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let [name, policy, _] = parts[..] else {
                return Err(format!("unexpected chain line {line:?}"));
            };
            chains.insert(name.to_string(), json!(policy));
        }
    }
    Ok(Value::Object(chains))
}

define_fact! {
    /// The IPv4 rules of `table` (default `filter`), each as a map of its options.
    IptablesRules = "iptables.IptablesRules";
    params: ["table"];
    command: |args| Ok(save_command("iptables-save", args));
    process: |lines, _| Ok(rules(lines));
    default: || json!([]);
    requires: |_| Some("iptables-save".into());
}

define_fact! {
    /// The IPv6 rules of `table` (default `filter`), each as a map of its options.
    Ip6tablesRules = "iptables.Ip6tablesRules";
    params: ["table"];
    command: |args| Ok(save_command("ip6tables-save", args));
    process: |lines, _| Ok(rules(lines));
    default: || json!([]);
    requires: |_| Some("ip6tables-save".into());
}

define_fact! {
    /// The IPv4 chains of `table` (default `filter`) and their policies: `{name: policy}`.
    IptablesChains = "iptables.IptablesChains";
    params: ["table"];
    command: |args| Ok(save_command("iptables-save", args));
    process: |lines, _| chains(lines);
    default: || json!({});
    requires: |_| Some("iptables-save".into());
}

define_fact! {
    /// The IPv6 chains of `table` (default `filter`) and their policies: `{name: policy}`.
    Ip6tablesChains = "iptables.Ip6tablesChains";
    params: ["table"];
    command: |args| Ok(save_command("ip6tables-save", args));
    process: |lines, _| chains(lines);
    default: || json!({});
    requires: |_| Some("ip6tables-save".into());
}
