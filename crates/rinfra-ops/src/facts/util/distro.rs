//! `server.LinuxDistribution`: what Python's `distro` library concludes from `/etc/*-release`.
//!
//! pyinfra writes the release files it read into a temp `/etc` and asks `distro`; we apply the
//! same rules to the text directly: os-release first, then the first `<id>-release` file (in
//! name order) whose first line names a distribution, versions compared by precision.

use serde_json::{json, Map, Value};

use crate::facts::parse::{group, parse_py_int, re_match};

/// pyinfra's value when nothing is known.
pub(crate) fn empty_distribution() -> Value {
    json!({"name": null, "major": null, "minor": null, "release_meta": {}})
}

/// Files `distro` never treats as a distribution's own release file.
const IGNORED_RELEASE_FILES: &[&str] = &[
    "debian_version",
    "lsb-release",
    "oem-release",
    "os-release",
    "system-release",
    "plesk-release",
    "iredmail-release",
    "board-release",
    "ec2_version",
];

/// Parse the command's output (`/etc/NAME`, content, `---`, ...) into pyinfra's dict.
pub(crate) fn linux_distribution(lines: &[String]) -> Value {
    let joined = lines.join("\n");
    let mut files: Vec<(String, String)> = Vec::new();
    for part in joined.trim().split("---") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        // an empty file (Arch's /etc/arch-release) has no content line: skip it
        if let Some((name, content)) = part.split_once('\n') {
            let base = name.rsplit('/').next().unwrap_or(name).to_string();
            match files.iter_mut().find(|(n, _)| *n == base) {
                Some(entry) => entry.1 = content.to_string(),
                None => files.push((base, content.to_string())),
            }
        }
    }
    if files.is_empty() {
        return empty_distribution();
    }

    let os_release = files
        .iter()
        .find(|(n, _)| n == "os-release")
        .map(|(_, c)| parse_os_release(c))
        .unwrap_or_default();
    let distro_release = distro_release_info(&files);

    let os_attr = |k: &str| {
        os_release
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let rel_attr = |k: &str| distro_release.get(k).and_then(Value::as_str);

    let id = if let Some(id) = os_attr("id").filter(|s| !s.is_empty()) {
        let id = id.to_lowercase().replace(' ', "_");
        match id.as_str() {
            "ol" => "oracle".to_string(),
            "opensuse-leap" => "opensuse".to_string(),
            _ => id,
        }
    } else if let Some(id) = rel_attr("id").filter(|s| !s.is_empty()) {
        let id = id.to_lowercase().replace(' ', "_");
        if id == "redhat" {
            "rhel".to_string()
        } else {
            id
        }
    } else {
        String::new()
    };
    let name = os_attr("name")
        .filter(|s| !s.is_empty())
        .or_else(|| rel_attr("name").filter(|s| !s.is_empty()))
        .unwrap_or("");
    let pretty = match id.as_str() {
        "alpine" => Some("Alpine"),
        "centos" => Some("CentOS"),
        "fedora" => Some("Fedora"),
        "gentoo" => Some("Gentoo"),
        "opensuse" => Some("openSUSE"),
        "rhel" => Some("RedHat"),
        "ubuntu" => Some("Ubuntu"),
        "debian" => Some("Debian"),
        _ => None,
    };

    // distro's version(best=True): the most precise candidate, later ones winning ties
    let candidates = [
        os_attr("version_id").unwrap_or("").to_string(),
        rel_attr("version_id").unwrap_or("").to_string(),
        parse_release_line(os_attr("pretty_name").unwrap_or(""))
            .get("version_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    ];
    let mut version = String::new();
    for v in candidates {
        if v.matches('.').count() > version.matches('.').count() || version.is_empty() {
            version = v;
        }
    }
    let (major, minor) = match re_match(r"(\d+)\.?(\d+)?\.?(\d+)?", &version) {
        Some(c) => (
            parse_py_int(group(&c, 1)).map_or(Value::Null, Value::from),
            parse_py_int(group(&c, 2)).map_or(Value::Null, Value::from),
        ),
        None => (Value::Null, Value::Null),
    };

    let mut meta = Map::new();
    for (k, v) in &os_release {
        if k != "release_codename" {
            meta.insert(k.to_uppercase(), json!(v));
        }
    }
    json!({
        "name": pretty.map_or_else(|| if name.is_empty() { Value::Null } else { json!(name) }, |p| json!(p)),
        "major": major,
        "minor": minor,
        "release_meta": meta,
    })
}

/// os-release as `distro` reads it: shell-like tokens `key=value`, keys lowercased, plus a
/// `codename` derived from `VERSION_CODENAME`, `UBUNTU_CODENAME` or `VERSION`.
fn parse_os_release(content: &str) -> Vec<(String, String)> {
    let mut props: Vec<(String, String)> = Vec::new();
    let set = |props: &mut Vec<(String, String)>, k: String, v: String| match props
        .iter_mut()
        .find(|(n, _)| *n == k)
    {
        Some(e) => e.1 = v,
        None => props.push((k, v)),
    };
    for token in shell_tokens(content) {
        if let Some((k, v)) = token.split_once('=') {
            set(&mut props, k.to_lowercase(), v.to_string());
        }
    }
    let get = |props: &Vec<(String, String)>, k: &str| {
        props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    if let Some(c) = get(&props, "version_codename") {
        set(&mut props, "codename".into(), c);
    } else if let Some(c) = get(&props, "ubuntu_codename") {
        set(&mut props, "codename".into(), c);
    } else if let Some(version) = get(&props, "version") {
        if let Some(m) = crate::facts::parse::regex(r"(\(\D+\))|,\s*(\D+)").captures(&version) {
            let codename = m
                .get(1)
                .or_else(|| m.get(2))
                .map(|g| {
                    g.as_str()
                        .trim_matches(|c| c == '(' || c == ')')
                        .to_string()
                })
                .unwrap_or_default();
            set(&mut props, "codename".into(), codename.clone());
            set(&mut props, "release_codename".into(), codename);
        }
    }
    props
}

/// Python's `shlex` in POSIX mode with whitespace splitting and `#` comments.
fn shell_tokens(s: &str) -> Vec<String> {
    crate::facts::shell::shlex_split_with(s, true)
}

/// `distro`'s reading of a release file's first line, `Name release 1.2 (Codename)`.
fn parse_release_line(line: &str) -> Map<String, Value> {
    let mut info = Map::new();
    let reversed: String = line.trim().chars().rev().collect();
    let pattern = r"(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)";
    if let Some(m) = re_match(pattern, &reversed) {
        let rev = |s: &str| s.chars().rev().collect::<String>();
        info.insert("name".into(), json!(rev(group(&m, 3))));
        if m.get(2).is_some_and(|g| !g.as_str().is_empty()) {
            info.insert("version_id".into(), json!(rev(group(&m, 2))));
        }
        if m.get(1).is_some_and(|g| !g.as_str().is_empty()) {
            info.insert("codename".into(), json!(rev(group(&m, 1))));
        }
    } else if !line.is_empty() {
        info.insert("name".into(), json!(line.trim()));
    }
    info
}

/// The first `<id>-release` file (sorted by name) that names a distribution.
fn distro_release_info(files: &[(String, String)]) -> Map<String, Value> {
    let mut names: Vec<&(String, String)> = files
        .iter()
        .filter(|(n, _)| !IGNORED_RELEASE_FILES.contains(&n.as_str()))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, content) in names {
        let Some(m) = re_match(r"(\w+)[-_](release|version)$", name) else {
            continue;
        };
        let first = content.lines().next().unwrap_or("");
        let mut info = parse_release_line(first);
        if !info.contains_key("name") {
            continue;
        }
        info.insert("id".into(), json!(group(&m, 1)));
        if info["name"]
            .as_str()
            .is_some_and(|n| n.to_lowercase().contains("cloudlinux"))
        {
            info.insert("id".into(), json!("cloudlinux"));
        }
        return info;
    }
    Map::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_lines() {
        let i = parse_release_line("CentOS Linux release 7.9.2009 (Core)");
        assert_eq!(i["name"], "CentOS Linux");
        assert_eq!(i["version_id"], "7.9.2009");
        assert_eq!(i["codename"], "Core");
        let i = parse_release_line("RED OS release (8.0) MINIMAL");
        assert_eq!(i["name"], "RED OS release (8.0) MINIMAL");
    }

    #[test]
    fn os_release_tokens() {
        let p = parse_os_release("NAME=\"A B\" # comment\nVERSION='1 (X)'\n");
        assert_eq!(p[0], ("name".into(), "A B".into()));
        assert_eq!(p[2], ("codename".into(), "X".into()));
    }
}
