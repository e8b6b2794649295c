//! `opkg.*` facts (OpenWrt): configuration, feeds, architectures and packages. Lines that
//! do not parse are skipped, as pyinfra does (it logs them).

use serde_json::{json, Map, Value};

use super::define_fact;
use super::parse::{parse_packages, re_match};
use super::shell::raw;

define_fact! {
    /// `/etc/opkg.conf` as `[dests {name: path}, lists_dir, options {name: value or True},
    /// arch priorities {arch: n}]`.
    OpkgConf = "opkg.OpkgConf";
    params: [];
    command: |_| Ok(raw("cat /etc/opkg.conf"));
    process: |lines, _| {
        let (mut dest, mut lists_dir, mut options, mut arch) = (Map::new(), String::new(), Map::new(), Map::new());
        let pattern = concat!(
            r"\s*(?:(?:arch\s+(?P<arch>\w+)\s+(?P<priority>\d+))",
            r"|(?:dest\s+(?P<dest>\w+)\s+(?P<dest_path>[\w/\-]+))",
            r"|(?:lists_dir\s+(?P<lists_dir>ext)\s+(?P<list_path>[\w/\-]+))",
            r"|(?:option\s+(?P<option>\w+)(?:\s+(?P<value>[^#]+))?))?(?:\s*\#.*)?$",
        );
        for line in lines {
            let Some(m) = re_match(pattern, line) else { continue };
            if let (Some(a), Some(p)) = (m.name("arch"), m.name("priority")) {
                arch.insert(a.as_str().into(), json!(p.as_str().parse::<i64>().unwrap_or(0)));
            } else if let (Some(d), Some(p)) = (m.name("dest"), m.name("dest_path")) {
                dest.insert(d.as_str().into(), json!(p.as_str()));
            } else if let Some(p) = m.name("list_path") {
                lists_dir = p.as_str().to_string();
            } else if let Some(o) = m.name("option") {
                let value = m.name("value").map_or(json!(true), |v| json!(v.as_str()));
                options.insert(o.as_str().into(), value);
            }
        }
        Ok(json!([dest, lists_dir, options, arch]))
    };
    default: || json!([{}, "", {}, {}]);
    requires: |_| Some("opkg".into());
}

define_fact! {
    /// Package feeds: `{name: [url, format, "distribution" or "custom"]}`.
    OpkgFeeds = "opkg.OpkgFeeds";
    params: [];
    command: |_| Ok(raw("cat /etc/opkg/distfeeds.conf; echo CUSTOM; cat /etc/opkg/customfeeds.conf"));
    process: |lines, _| {
        let mut feeds = Map::new();
        let mut kind = "distribution";
        for line in lines {
            let Some(m) = re_match(
                r"(CUSTOM)|(?:\s*(?P<fmt>[\w/]+)\s+(?P<name>[\w]+)\s+(?P<url>[\w./:]+))?(?:\s*#.*)?$",
                line,
            ) else {
                continue;
            };
            if m.get(1).is_some() {
                kind = "custom";
            } else if let (Some(name), Some(url), Some(fmt)) = (m.name("name"), m.name("url"), m.name("fmt")) {
                feeds.insert(name.as_str().into(), json!([url.as_str(), fmt.as_str(), kind]));
            }
        }
        Ok(Value::Object(feeds))
    };
    default: || json!({});
    requires: |_| Some("opkg".into());
}

define_fact! {
    /// Installable architectures with their priority: `{arch: n}`.
    OpkgInstallableArchitectures = "opkg.OpkgInstallableArchitectures";
    params: [];
    command: |_| Ok(raw("opkg print-architecture"));
    process: |lines, _| {
        let mut archs = Map::new();
        for line in lines {
            if let Some(m) = re_match(r"(?:\s*arch\s+(?P<arch>[\w]+)\s+(?P<prio>\d+))?(\s*#.*)?$", line) {
                if let (Some(a), Some(p)) = (m.name("arch"), m.name("prio")) {
                    archs.insert(a.as_str().into(), json!(p.as_str().parse::<i64>().unwrap_or(0)));
                }
            }
        }
        Ok(Value::Object(archs))
    };
    default: || json!({});
    requires: |_| Some("opkg".into());
}

define_fact! {
    /// Installed packages: `{name: [version]}`.
    OpkgPackages = "opkg.OpkgPackages";
    params: [];
    command: |_| Ok(raw("opkg list-installed"));
    process: |lines, _| {
        let mut sorted = lines.to_vec();
        sorted.sort();
        Ok(parse_packages(r"^([a-zA-Z0-9][\w\-\.]*)\s-\s([\w\-\.]+)", &sorted))
    };
    default: || json!({});
    requires: |_| Some("opkg".into());
}

define_fact! {
    /// Packages with a newer version: `{name: [installed, available]}`.
    OpkgUpgradeablePackages = "opkg.OpkgUpgradeablePackages";
    params: [];
    command: |_| Ok(raw("opkg list-upgradable"));
    process: |lines, _| {
        let mut result = Map::new();
        for line in lines {
            if let Some(m) = re_match(r"([a-zA-Z0-9][\w\-.]*)\s-\s([\w\-.]+)\s-\s([\w\-.]+)", line) {
                result.insert(m[1].to_string(), json!([&m[2], &m[3]]));
            }
        }
        Ok(Value::Object(result))
    };
    default: || json!({});
    requires: |_| Some("opkg".into());
}
