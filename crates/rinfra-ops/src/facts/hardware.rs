//! `hardware.*` facts: memory, CPUs, network devices and their addresses.

use serde_json::{json, Map, Value};

use super::parse::{re_match, regex};
use super::shell::raw;
use super::{define_fact, ProcessResult};

define_fact! {
    /// The number of online CPUs.
    Cpus = "hardware.Cpus";
    params: [];
    command: |_| Ok(raw("getconf NPROCESSORS_ONLN 2> /dev/null || getconf _NPROCESSORS_ONLN"));
    process: |lines, _| Ok(lines
        .first()
        .and_then(|l| super::parse::parse_py_int(l))
        .map_or(Value::Null, Value::from));
}

define_fact! {
    /// Installed memory in MB, from `vmstat -s` (Linux total, or BSD pages × page size).
    Memory = "hardware.Memory";
    params: [];
    command: |_| Ok(raw("LANG=C vmstat -s"));
    process: |lines, _| {
        let mut data: Vec<(String, f64)> = Vec::new();
        for line in lines {
            let line = line.trim();
            let Some((value, key)) = line.split_once(' ') else {
                return Err(format!("unexpected vmstat line `{line}`"));
            };
            if let Ok(v) = value.parse::<f64>() {
                data.push((key.trim().to_string(), v));
            }
        }
        let get = |k: &str| data.iter().rev().find(|(n, _)| n == k).map(|(_, v)| *v);
        let mut total = get("K total memory").or_else(|| get("total memory")).filter(|v| *v != 0.0);
        if total.is_none() {
            let per_page = get("bytes per page");
            let mut pages = get("pages managed").filter(|v| *v != 0.0);
            if pages.is_none() {
                let counts: Vec<f64> = ["pages active", "pages inactive", "pages wired down", "pages free", "pages in the laundry queue"]
                    .iter()
                    .map(|k| get(k).unwrap_or(0.0))
                    .collect();
                if counts.iter().any(|c| *c != 0.0) {
                    pages = Some(counts.iter().sum());
                }
            }
            if let (Some(b), Some(p)) = (per_page.filter(|v| *v != 0.0), pages) {
                total = Some(p * b / 1024.0);
            }
        }
        Ok(match total.filter(|t| *t != 0.0) {
            // Python's round(): halves to even
            Some(t) => json!(round_half_even(t / 1024.0) as i64),
            None => Value::Null,
        })
    };
    requires: |_| Some("vmstat".into());
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

define_fact! {
    /// Network devices: name → state, ether, mtu, ipv4 and ipv6 (first address plus
    /// `additional_ips`).
    NetworkDevices = "hardware.NetworkDevices";
    params: [];
    command: |_| Ok(raw(NETWORK_DEVICES_COMMAND));
    process: |lines, _| process_network_devices(lines);
    default: || json!({});
}

const NETWORK_DEVICES_COMMAND: &str =
    "ip -j addr show 2> /dev/null || ip addr show 2> /dev/null || ifconfig -a";

fn short_addrs(lines: &[String], family: &str) -> ProcessResult {
    let devices = process_network_devices(lines)?;
    let mut out = Map::new();
    for (name, details) in devices.as_object().into_iter().flatten() {
        let Some(info) = details.get(family) else {
            continue;
        };
        let Some(address) = info.get("address").filter(|a| crate::python::truthy(a)) else {
            continue;
        };
        let mut ips = vec![address.clone()];
        for extra in info
            .get("additional_ips")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            ips.push(extra["address"].clone());
        }
        out.insert(name.clone(), Value::Array(ips));
    }
    Ok(Value::Object(out))
}

define_fact! {
    /// Interface → IPv4 addresses (interfaces without one are left out).
    Ipv4Addrs = "hardware.Ipv4Addrs";
    params: [];
    command: |_| Ok(raw(NETWORK_DEVICES_COMMAND));
    process: |lines, _| short_addrs(lines, "ipv4");
}

define_fact! {
    /// Interface → IPv6 addresses (interfaces without one are left out).
    Ipv6Addrs = "hardware.Ipv6Addrs";
    params: [];
    command: |_| Ok(raw(NETWORK_DEVICES_COMMAND));
    process: |lines, _| short_addrs(lines, "ipv6");
}

/// `24`, `0xffffff00` or `255.255.255.0` → (mask bits, dotted netmask).
fn mask(value: &str) -> (u32, String) {
    let bits = if let Some(hex) = value.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok().map(u64::count_ones)
    } else {
        value.parse::<u32>().ok()
    };
    match bits {
        Some(bits) => {
            let octets: Vec<String> = [24u32, 16, 8, 0]
                .iter()
                // Python's `>>` of a large count gives 0; a netmask like `255` must not panic.
                .map(|b| {
                    let shifted = (0xFFFF_FFFFu128 << (32 - b)).checked_shr(bits).unwrap_or(0);
                    (shifted & 0xFF).to_string()
                })
                .collect();
            (bits, octets.join("."))
        }
        None => (
            value
                .split('.')
                .map(|o| o.parse::<u32>().map_or(0, u32::count_ones))
                .sum(),
            value.to_string(),
        ),
    }
}

fn process_network_devices(lines: &[String]) -> ProcessResult {
    let head: String = lines.iter().take(2).map(|l| l.trim()).collect();
    if head.starts_with("[{") {
        return Ok(devices_from_json(&lines.join("\n")));
    }
    let stripped: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    // a new section starts at `N: name` (ip) or `name: ... mtu ` (ifconfig)
    let mut sections: Vec<String> = Vec::new();
    for (i, line) in stripped.iter().enumerate() {
        let starts = i > 0 && re_match(r"\d+: [^\s/:]|[^\s/:]+:.*mtu ", line).is_some();
        match sections.last_mut() {
            Some(cur) if !starts => {
                cur.push('\n');
                cur.push_str(line);
            }
            _ => sections.push((*line).to_string()),
        }
    }
    let ipv4_res = [
        r"inet (?P<address>\d+\.\d+\.\d+\.\d+)/(?P<mask>\d+)(?: metric \d+)?(?: brd (?P<broadcast>\d+\.\d+\.\d+\.\d+))?",
        r"inet (?P<address>\d+\.\d+\.\d+\.\d+)\s+netmask\s+(?P<mask>(?:\d+\.\d+\.\d+\.\d+)|(?:[0-9a-fA-FxX]+))(?:\s+broadcast\s+(?P<broadcast>\d+\.\d+\.\d+\.\d+))?",
    ];
    let ipv6_res = [
        r"inet6\s+(?P<address>[0-9a-fA-F:]+)/(?P<mask>\d+)",
        r"inet6\s+(?P<address>[0-9a-fA-F:]+)\s+prefixlen\s+(?P<mask>\d+)",
    ];
    let mut devices = Map::new();
    for section in sections {
        let Some(name) = re_match(r"(?:\d+: )?([^\s/:]+):", &section) else {
            continue;
        };
        let name = name[1].to_string();
        let state = if section.contains("UP") {
            "UP"
        } else if section.contains("DOWN") {
            "DOWN"
        } else {
            "UNKNOWN"
        };
        let mut device = json!({"state": state});
        if let Some(m) = regex(r"ether ([0-9A-Fa-f:]{17})").captures(&section) {
            device["ether"] = json!(&m[1]);
        }
        if let Some(m) = regex(r"mtu (\d+)").captures(&section) {
            device["mtu"] = json!(m[1].parse::<i64>().unwrap_or(0));
        }
        for pattern in ipv4_res {
            let addrs: Vec<Value> = regex(pattern)
                .captures_iter(&section)
                .map(|c| {
                    let (bits, netmask) = mask(&c["mask"]);
                    json!({
                        "address": &c["address"],
                        "mask_bits": bits,
                        "netmask": netmask,
                        "broadcast": c.name("broadcast").map(|b| b.as_str()),
                    })
                })
                .collect();
            if !addrs.is_empty() {
                device["ipv4"] = with_additional(addrs);
                break;
            }
        }
        for pattern in ipv6_res {
            let addrs: Vec<Value> = regex(pattern)
                .captures_iter(&section)
                .map(|c| json!({"address": &c["address"], "mask_bits": c["mask"].parse::<i64>().unwrap_or(0)}))
                .collect();
            if !addrs.is_empty() {
                device["ipv6"] = with_additional(addrs);
                break;
            }
        }
        devices.insert(name, device);
    }
    Ok(Value::Object(devices))
}

fn with_additional(mut addrs: Vec<Value>) -> Value {
    let rest: Vec<Value> = addrs.drain(1..).collect();
    let mut first = addrs.remove(0);
    if !rest.is_empty() {
        first["additional_ips"] = Value::Array(rest);
    }
    first
}

/// `ip -j addr show` output; undecodable output gives no devices (pyinfra logs an error).
fn devices_from_json(text: &str) -> Value {
    let decoded: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    let mut result = Map::new();
    for info in decoded {
        let state = info
            .get("operstate")
            .filter(|s| crate::python::truthy(s))
            .cloned()
            .unwrap_or(json!("UNKNOWN"));
        let mut device = json!({"state": state});
        if let Some(a) = info.get("address") {
            device["ether"] = a.clone();
        }
        if let Some(m) = info.get("mtu") {
            device["mtu"] = m.clone();
        }
        for addr in info
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let family = match addr.get("family").and_then(Value::as_str) {
                Some("inet") => "ipv4",
                Some("inet6") => "ipv6",
                _ => continue,
            };
            let Some(local) = addr.get("local") else {
                continue;
            };
            let mut blk = json!({"address": local});
            if family == "ipv4" {
                blk["broadcast"] = addr.get("broadcast").cloned().unwrap_or(Value::Null);
            }
            if let Some(p) = addr.get("prefixlen") {
                blk["mask_bits"] = p.clone();
                if family == "ipv4" {
                    blk["netmask"] = json!(mask(&crate::python::python_str(p)).1);
                }
            }
            match device.get_mut(family) {
                None => device[family] = blk,
                Some(existing) => {
                    if existing.get("additional_ips").is_none() {
                        existing["additional_ips"] = json!([]);
                    }
                    if let Some(a) = existing["additional_ips"].as_array_mut() {
                        a.push(blk);
                    }
                }
            }
        }
        if let Some(name) = info.get("ifname").and_then(Value::as_str) {
            result.insert(name.to_string(), device);
        }
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_core::{Fact, FactArgs};

    #[test]
    fn masks() {
        assert_eq!(mask("24"), (24, "255.255.255.0".into()));
        assert_eq!(mask("0xffffff00"), (24, "255.255.255.0".into()));
        assert_eq!(mask("255.255.0.0"), (16, "255.255.0.0".into()));
    }

    /// Found by `fuzz/fuzz_targets/facts.rs`: a decimal netmask of 128 or more overflowed the
    /// shift (a panic with overflow checks).
    #[test]
    fn huge_decimal_netmask_does_not_panic() {
        assert_eq!(mask("255"), (255, "0.0.0.0".into()));
        let lines = vec![String::new(), "l:inet 1.4.6.2 netmask 255".to_string()];
        assert!(NetworkDevices.process(&lines, &FactArgs::new()).is_ok());
    }
}

/// Interface → its first address of `family` (the deprecated single-address facts).
fn first_addrs(lines: &[String], family: &str) -> ProcessResult {
    let all = short_addrs(lines, family)?;
    Ok(Value::Object(
        all.as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, ips)| Some((name.clone(), ips.get(0)?.clone())))
            .collect(),
    ))
}

define_fact! {
    /// Deprecated (`hardware.Ipv4Addrs` lists every address): interface → its IPv4 address.
    Ipv4Addresses = "hardware.Ipv4Addresses";
    params: [];
    command: |_| Ok(raw(NETWORK_DEVICES_COMMAND));
    process: |lines, _| first_addrs(lines, "ipv4");
}

define_fact! {
    /// Deprecated (`hardware.Ipv6Addrs` lists every address): interface → its IPv6 address.
    Ipv6Addresses = "hardware.Ipv6Addresses";
    params: [];
    command: |_| Ok(raw(NETWORK_DEVICES_COMMAND));
    process: |lines, _| first_addrs(lines, "ipv6");
}

define_fact! {
    /// `lscpu` as a map of its labels to values; `Flags` is a list. None without output.
    CpuInfo = "hardware.CpuInfo";
    params: [];
    command: |_| Ok(raw("LANG=C lscpu"));
    process: |lines, _| {
        if lines.is_empty() {
            return Ok(Value::Null);
        }
        let mut info = Map::new();
        for line in lines {
            let mut parts = line.split(':');
            let key = parts.next().unwrap_or_default().trim();
            let value = parts.next().unwrap_or_default().trim();
            let value = if key.to_lowercase().contains("flag") {
                json!(value.split_whitespace().collect::<Vec<_>>())
            } else {
                json!(value)
            };
            info.insert(key.to_string(), value);
        }
        Ok(Value::Object(info))
    };
    requires: |_| Some("lscpu".into());
}

define_fact! {
    /// Mounted block devices from `df`: device → `{blocks, used, available, used_percent,
    /// mount}` (numbers as text, as `df` prints them).
    BlockDevices = "hardware.BlockDevices";
    params: [];
    command: |_| Ok(raw("df"));
    process: |lines, _| {
        let mut devices = Map::new();
        for line in lines {
            let Some(m) = re_match(
                r"([a-zA-Z0-9/\-_]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]{1,3})%\s+([a-zA-Z/0-9\-_]+)",
                line,
            ) else {
                continue;
            };
            if &m[1] == "none" {
                continue;
            }
            devices.insert(m[1].to_string(), json!({
                "blocks": &m[2],
                "used": &m[3],
                "available": &m[4],
                "used_percent": &m[5],
                "mount": &m[6],
            }));
        }
        Ok(Value::Object(devices))
    };
    default: || json!({});
}
