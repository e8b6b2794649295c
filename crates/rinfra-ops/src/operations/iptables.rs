//! `iptables.*` operations: chains and rules, IPv4 or (`version=6`) IPv6.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Map, Value};

use super::{define_op, fact, q, Args, Out};
use crate::python::python_str;

/// `(iptables binary, chains fact, rules fact)` for `version`.
fn family(
    a: &Args<'_>,
) -> Result<
    (
        &'static str,
        &'static dyn rinfra_core::Fact,
        &'static dyn rinfra_core::Fact,
    ),
    OperationError,
> {
    use crate::facts::iptables as f;
    match a.int_or("version", 4)? {
        4 => Ok(("iptables", &f::IptablesChains, &f::IptablesRules)),
        6 => Ok(("ip6tables", &f::Ip6tablesChains, &f::Ip6tablesRules)),
        v => Err(a.invalid("version", format!("must be 4 or 6, got {v}"))),
    }
}

define_op! {
    /// Add or remove a chain, optionally setting its policy (built-in chains only).
    ///
    /// Deploy example: `iptables.chain(chain="INPUT", policy="DROP")`
    Chain = "iptables.chain";
    params: [required "chain" = "the chain's name",
             optional "present" = "whether it should exist (default True)",
             optional "table" = "the table (default `filter`)",
             optional "policy" = "the policy (`ACCEPT`, `DROP`...)",
             optional "version" = "4 (iptables, default) or 6 (ip6tables)"];
    generate: chain;
}

async fn chain(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let name = a.str("chain")?;
    let table = a.nonempty("table").unwrap_or_else(|| "filter".into());
    let (binary, chains_fact, _) = family(a)?;
    let chains = fact(host, chains_fact, &[("table", json!(table))]).await?;
    let current = chains.get(&name);
    let command = |tail: Vec<Bit>| {
        let mut bits = vec![Bit::from(format!("{binary} -t")), q(&table)];
        bits.extend(tail);
        StringCommand::new(bits)
    };
    if !a.bool_or("present", true) {
        match current {
            Some(_) => out.shell(command(vec![Bit::from("-X"), q(&name)])),
            None => out.noop(format!("iptables chain {name} does not exist")),
        }
        return Ok(());
    }
    match current {
        None => out.shell(command(vec![Bit::from("-N"), q(&name)])),
        Some(_) => out.noop(format!("iptables chain {name} exists")),
    }
    if let Some(policy) = a.nonempty("policy") {
        if current.map(python_str).as_deref() != Some(policy.as_str()) {
            out.shell(command(vec![Bit::from("-P"), q(&name), q(&policy)]));
        }
    }
    Ok(())
}

define_op! {
    /// Add or remove a rule; what the rule matches is compared with `iptables-save`'s view
    /// of the table.
    ///
    /// Deploy example: `iptables.rule(chain="INPUT", jump="DROP", protocol="tcp", destination_port=22)`
    Rule = "iptables.rule";
    params: [required "chain" = "the chain",
             required "jump" = "the target (`ACCEPT`, `DROP`, `DNAT`, `LOG`...)",
             optional "present" = "whether the rule should exist (default True)",
             optional "table" = "the table (default `filter`)",
             optional "append" = "append (`-A`, default) rather than insert (`-I`)",
             optional "version" = "4 (iptables, default) or 6 (ip6tables)",
             optional "protocol" = "match this protocol (`-p`)",
             optional "not_protocol" = "match other protocols (`! -p`)",
             optional "source" = "match this source (`-s`)",
             optional "not_source" = "match other sources (`! -s`)",
             optional "destination" = "match this destination (`-d`)",
             optional "not_destination" = "match other destinations (`! -d`)",
             optional "in_interface" = "match this input interface (`-i`)",
             optional "not_in_interface" = "match other input interfaces (`! -i`)",
             optional "out_interface" = "match this output interface (`-o`)",
             optional "not_out_interface" = "match other output interfaces (`! -o`)",
             optional "to_destination" = "DNAT's new destination (nat table only)",
             optional "to_source" = "SNAT's new source (nat table only)",
             optional "to_ports" = "REDIRECT's ports (nat table only)",
             optional "log_prefix" = "LOG's message prefix",
             optional "destination_port" = "match this destination port (needs `protocol`)",
             optional "source_port" = "match this source port (needs `protocol`)",
             optional "extras" = "more iptables options, as written on the command line"];
    generate: rule;
}

async fn rule(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let chain = a.str("chain")?;
    let jump = a.str("jump")?;
    let table = a.nonempty("table").unwrap_or_else(|| "filter".into());
    let (binary, _, rules_fact) = family(a)?;
    let opt = |k: &str| a.nonempty(k);
    let mut extras = a.opt_str("extras").unwrap_or_default();
    let (dport, sport) = (opt("destination_port"), opt("source_port"));
    if let Some(p) = &dport {
        extras = format!("{extras} --dport {p}");
    }
    if let Some(p) = &sport {
        extras = format!("{extras} --sport {p}");
    }
    let mut extras_set: Vec<String> = extras.split_whitespace().map(String::from).collect();
    let protocol = opt("protocol").map(|p| p.to_lowercase());
    match &protocol {
        // iptables adds `-m <protocol>` by itself when an option of that match is used, as
        // iptables-save shows; pyinfra expects it for every protocol, so a rule such as
        // `-p udp -j ACCEPT` never matched and was added again on every run
        Some(p) if uses_protocol_match(p, &extras_set) => {
            extras_set.extend(["-m".to_string(), p.clone()])
        }
        Some(_) => {}
        None if dport.is_some() || sport.is_some() => {
            return Err(OperationError::Other(
                "iptables cannot filter by destination_port/source_port without a protocol".into(),
            ))
        }
        None => {}
    }
    extras_set.sort();
    extras_set.dedup();
    let nat_check = |arg: &str, target: &str| -> Result<(), OperationError> {
        if opt(arg).is_some() && (table != "nat" || jump != target) {
            return Err(OperationError::Other(format!(
                "iptables only supports {arg} on the nat table and the {target} jump (table={table}, jump={jump})"
            )));
        }
        Ok(())
    };
    nat_check("to_destination", "DNAT")?;
    nat_check("to_source", "SNAT")?;
    nat_check("to_ports", "REDIRECT")?;
    if opt("log_prefix").is_some() && jump != "LOG" {
        return Err(OperationError::Other(format!(
            "iptables only supports log_prefix with the LOG jump (jump={jump})"
        )));
    }
    // the rule as the IptablesRules fact shows it
    let mut definition = Map::new();
    definition.insert("chain".into(), json!(chain));
    definition.insert("jump".into(), json!(jump));
    if let Some(p) = &protocol {
        definition.insert("protocol".into(), json!(p));
    }
    for key in [
        "source",
        "destination",
        "in_interface",
        "out_interface",
        "not_protocol",
        "not_source",
        "not_destination",
        "not_in_interface",
        "not_out_interface",
        "log_prefix",
        "to_destination",
        "to_source",
        "to_ports",
    ] {
        if let Some(v) = opt(key) {
            let address = matches!(
                key,
                "source" | "not_source" | "destination" | "not_destination"
            );
            let v = if address && !v.contains('/') {
                format!("{v}/32")
            } else {
                v
            };
            definition.insert(key.into(), json!(v));
        }
    }
    if !extras_set.is_empty() {
        definition.insert("extras".into(), json!(extras_set));
    }
    let definition = Value::Object(definition);
    let rules = fact(host, rules_fact, &[("table", json!(table))]).await?;
    let exists = rules
        .as_array()
        .is_some_and(|r| r.iter().any(|x| same_rule(x, &definition)));
    let present = a.bool_or("present", true);
    let action = match (present, exists) {
        (true, false) => {
            if a.bool_or("append", true) {
                "-A"
            } else {
                "-I"
            }
        }
        (false, true) => "-D",
        (true, true) => {
            out.noop(format!("iptables {chain} rule exists"));
            return Ok(());
        }
        (false, false) => {
            out.noop(format!("iptables {chain} rule does not exists"));
            return Ok(());
        }
    };
    let mut bits = vec![
        Bit::from(format!("{binary} -t")),
        q(&table),
        Bit::from(action),
        q(&chain),
    ];
    let mut flag = |option: &str, value: Option<String>| {
        if let Some(v) = value {
            bits.extend([Bit::from(option), q(v)]);
        }
    };
    flag("-p", protocol.clone());
    flag("-s", opt("source"));
    flag("-d", opt("destination"));
    flag("-i", opt("in_interface"));
    flag("-o", opt("out_interface"));
    flag("! -p", opt("not_protocol").map(|p| p.to_lowercase()));
    flag("! -s", opt("not_source"));
    flag("! -d", opt("not_destination"));
    flag("! -i", opt("not_in_interface"));
    flag("! -o", opt("not_out_interface"));
    if !extras.trim().is_empty() {
        // options as the user wrote them
        bits.push(Bit::from(extras.trim()));
    }
    bits.extend([Bit::from("-j"), q(&jump)]);
    for (option, key) in [
        ("--log-prefix", "log_prefix"),
        ("--to-destination", "to_destination"),
        ("--to-source", "to_source"),
        ("--to-ports", "to_ports"),
    ] {
        if let Some(v) = opt(key) {
            bits.extend([Bit::from(option), q(v)]);
        }
    }
    out.shell(StringCommand::new(bits));
    Ok(())
}

/// Whether `extras` use an option of the protocol's own match module (`--dport` of `tcp`...),
/// which makes iptables add `-m <protocol>` to the rule.
fn uses_protocol_match(protocol: &str, extras: &[String]) -> bool {
    let options: &[&str] = match protocol {
        "tcp" => &[
            "--dport",
            "--sport",
            "--destination-port",
            "--source-port",
            "--tcp-flags",
            "--syn",
            "--tcp-option",
        ],
        "udp" | "udplite" | "dccp" | "sctp" => &[
            "--dport",
            "--sport",
            "--destination-port",
            "--source-port",
            "--chunk-types",
            "--dccp-types",
            "--dccp-option",
        ],
        "icmp" => &["--icmp-type"],
        "icmpv6" | "ipv6-icmp" => &["--icmpv6-type"],
        _ => &[],
    };
    extras.iter().any(|e| options.contains(&e.as_str()))
}

/// Rule equality with `extras` compared as sets.
fn same_rule(have: &Value, want: &Value) -> bool {
    let (Some(h), Some(w)) = (have.as_object(), want.as_object()) else {
        return false;
    };
    if h.len() != w.len() {
        return false;
    }
    w.iter().all(|(k, v)| match (k.as_str(), h.get(k)) {
        ("extras", Some(Value::Array(hv))) => {
            let mut hv: Vec<String> = hv.iter().map(python_str).collect();
            hv.sort();
            hv.dedup();
            Some(&json!(hv)) == Some(v)
        }
        (_, Some(hv)) => python_str(hv) == python_str(v),
        (_, None) => false,
    })
}
