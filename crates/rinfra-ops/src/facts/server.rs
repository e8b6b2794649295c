//! `server.*` facts: kernel, distribution, users, groups, mounts, sysctl, modules...

use rinfra_connectors::{quoted, Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::parse::{group, month_number, re_fullmatch, re_match, split_ws_n, try_int};
use super::shell::raw;
use super::{arg_opt, arg_str, define_fact, joined, ProcessResult};
use rinfra_core::FactArgs;

fn lines_joined(lines: &[String], _: &FactArgs) -> ProcessResult {
    Ok(joined(lines))
}

define_fact! {
    /// The kernel name, `uname -s` (`Linux`, `FreeBSD`, `Darwin`).
    Kernel = "server.Kernel";
    params: [];
    command: |_| Ok(raw("uname -s"));
    process: lines_joined;
}

define_fact! {
    /// Deprecated name of `server.Kernel`, kept because deploys still use it.
    Os = "server.Os";
    params: [];
    command: |_| Ok(raw("uname -s"));
    process: lines_joined;
}

define_fact! {
    /// The kernel release, `uname -r`.
    KernelVersion = "server.KernelVersion";
    params: [];
    command: |_| Ok(raw("uname -r"));
    process: lines_joined;
}

define_fact! {
    /// The machine architecture, `uname -m` (`uname -p` says `unknown` on Debian).
    Arch = "server.Arch";
    params: [];
    command: |_| Ok(raw("uname -m"));
    process: lines_joined;
}

define_fact! {
    /// The host name, `uname -n`.
    Hostname = "server.Hostname";
    params: [];
    command: |_| Ok(raw("uname -n"));
    process: lines_joined;
}

define_fact! {
    /// The current user's name (`$USER`).
    User = "server.User";
    params: [];
    command: |_| Ok(raw("echo $USER"));
    process: lines_joined;
}

define_fact! {
    /// The path of a command according to `command -v`, or empty output.
    Which = "server.Which";
    params: ["command"];
    command: |args| {
        let command = arg_str(args, "command")?;
        Ok(StringCommand::new([Bit::from("command -v"), quoted(command), Bit::from("|| true")]))
    };
    process: lines_joined;
}

define_fact! {
    /// The output of an arbitrary command, lines joined (the command is run as given).
    Command = "server.Command";
    params: ["command"];
    command: |args| Ok(raw(&arg_str(args, "command")?));
    process: lines_joined;
}

/// `~user` only expands unquoted, so the user name is validated instead of quoted.
fn check_tilde_username(user: &str) -> Result<(), String> {
    if user.is_empty() || re_fullmatch(r"[a-zA-Z0-9._][a-zA-Z0-9._-]*", user).is_some() {
        Ok(())
    } else {
        Err(format!(
            "unsafe username for shell tilde expansion: `{user}`"
        ))
    }
}

define_fact! {
    /// The home directory of `user`, or of the current user.
    Home = "server.Home";
    params: ["user"];
    command: |args| {
        let user = arg_opt(args, "user").unwrap_or_default();
        check_tilde_username(&user)?;
        Ok(StringCommand::new([format!("echo ~{user}")]))
    };
    process: lines_joined;
}

define_fact! {
    /// Keys in a user's `authorized_keys` (or in `path`), comments and blank lines dropped.
    AuthorizedKeys = "server.AuthorizedKeys";
    params: ["user", "path"];
    command: |args| match arg_opt(args, "path") {
        Some(path) => Ok(StringCommand::new([
            Bit::from("cat"),
            rinfra_connectors::quoted(path),
            Bit::from("2>/dev/null || true"),
        ])),
        None => {
            let user = arg_opt(args, "user").unwrap_or_default();
            check_tilde_username(&user)?;
            Ok(StringCommand::new([
                Bit::from("cat"),
                Bit::from(format!("~{user}/.ssh/authorized_keys")),
                Bit::from("2>/dev/null || true"),
            ]))
        }
    };
    process: |lines, _| Ok(Value::Array(
        lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| json!(l))
            .collect(),
    ));
    default: || json!([]);
}

define_fact! {
    /// The temp directory from `$TMPDIR`, `$TMP` or `$TEMP` (first usable), else empty.
    TmpDir = "server.TmpDir";
    params: [];
    command: |_| Ok(raw(TMPDIR_COMMAND));
    process: lines_joined;
}

const TMPDIR_COMMAND: &str = r#"if [ -n "$TMPDIR" ] && [ -d "$TMPDIR" ] && [ -w "$TMPDIR" ]; then
    echo "$TMPDIR";
elif [ -n "$TMP" ] && [ -d "$TMP" ] && [ -w "$TMP" ]; then
    echo "$TMP";
elif [ -n "$TEMP" ] && [ -d "$TEMP" ] && [ -w "$TEMP" ]; then
    echo "$TEMP";
else
    echo "";
fi"#;

define_fact! {
    /// The current date and time on the host, ISO 8601 with its UTC offset.
    Date = "server.Date";
    params: [];
    command: |_| Ok(raw("date +'%Y-%m-%dT%H:%M:%S%z'"));
    process: |lines, _| {
        let line = lines.first().ok_or("no output")?;
        parse_iso_date(line).ok_or_else(|| format!("unexpected date `{line}`"))
    };
}

/// `2019-01-01T00:00:00+0000` → `2019-01-01T00:00:00+00:00` (Python's `isoformat`).
fn parse_iso_date(s: &str) -> Option<Value> {
    let caps = re_fullmatch(
        r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([+-])(\d{2}):?(\d{2})",
        s.trim(),
    )?;
    Some(Value::String(format!(
        "{}{}{}:{}",
        group(&caps, 1),
        group(&caps, 2),
        group(&caps, 3),
        group(&caps, 4)
    )))
}

define_fact! {
    /// Key/values of `/etc/os-release`, keys lowercased, values unquoted.
    OsRelease = "server.OsRelease";
    params: [];
    command: |_| Ok(raw("cat /etc/os-release"));
    process: |lines, _| {
        let mut items = Map::new();
        for line in lines {
            if let Some((k, v)) = line.split_once('=') {
                items.insert(k.trim().to_lowercase(), json!(v.trim().trim_matches('"')));
            }
        }
        Ok(Value::Object(items))
    };
}

const LINUX_DISTRIBUTION_COMMAND: &str = "cd /etc/ && for file in $(ls -pdL *-release | grep -v /); do echo \"/etc/${file}\"; cat \"/etc/${file}\"; echo ---; done";

define_fact! {
    /// The Linux distribution: `name`, `major`, `minor` and the os-release `release_meta`.
    LinuxDistribution = "server.LinuxDistribution";
    params: [];
    command: |_| Ok(raw(LINUX_DISTRIBUTION_COMMAND));
    process: |lines, _| Ok(super::distro::linux_distribution(lines));
    default: super::distro::empty_distribution;
}

define_fact! {
    /// The distribution's name, from `server.LinuxDistribution`.
    LinuxName = "server.LinuxName";
    params: [];
    command: |_| Ok(raw(LINUX_DISTRIBUTION_COMMAND));
    process: |lines, _| Ok(super::distro::linux_distribution(lines)["name"].clone());
}

define_fact! {
    /// The groups in `/etc/group`.
    Groups = "server.Groups";
    params: [];
    command: |_| Ok(raw("cat /etc/group"));
    process: |lines, _| {
        Ok(lines
            .iter()
            .filter(|l| l.contains(':'))
            .map(|l| json!(l.split(':').next().unwrap_or_default()))
            .collect())
    };
    default: || json!([]);
}

const USERS_COMMAND: &str = r#"for i in `cat /etc/passwd | cut -d: -f1`; do
            ENTRY=`grep ^$i: /etc/passwd`;
            LASTLOG=`(((lastlog -u $i || lastlogin $i) 2> /dev/null) | grep ^$i | tr -s ' ')`;
            PASSWORD=`(grep ^$i: /etc/shadow || grep ^$i: /etc/master.passwd) 2> /dev/null | cut -d: -f2`;
            echo "$ENTRY|`id -gn $i`|`id -Gn $i`|$LASTLOG|$PASSWORD";
        done"#;

define_fact! {
    /// Users: home, comment, shell, primary and other groups, uid, gid, last login, password.
    Users = "server.Users";
    params: [];
    command: |_| Ok(raw(USERS_COMMAND));
    process: process_users;
    default: || json!({});
}

fn process_users(lines: &[String], _: &FactArgs) -> ProcessResult {
    let mut users = Map::new();
    for line in lines {
        // rsplit: the passwd entry itself may not contain `|`, the comment might
        let parts: Vec<&str> = line.rsplitn(5, '|').collect();
        let [password, lastlog, user_groups, group, entry] = parts[..] else {
            return Err(format!("unexpected users line `{line}`"));
        };
        if entry.is_empty() {
            continue;
        }
        let fields: Vec<&str> = entry.split(':').collect();
        if fields.len() < 7 {
            return Err(format!("unexpected passwd entry `{entry}`"));
        }
        let groups: Vec<Value> = user_groups
            .split(' ')
            .filter(|g| !g.is_empty() && *g != group)
            .map(|g| json!(g))
            .collect();
        let login = super::parse::regex(r"[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d+ .+$")
            .find(lastlog)
            .map(|m| m.as_str().to_string());
        let login_time = login.as_deref().and_then(parse_login_time);
        let none_if_empty = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        let uid: i64 = fields[2]
            .parse()
            .map_err(|_| format!("bad uid in `{entry}`"))?;
        let gid: i64 = fields[3]
            .parse()
            .map_err(|_| format!("bad gid in `{entry}`"))?;
        users.insert(
            fields[0].to_string(),
            json!({
                "home": none_if_empty(fields[5]),
                "comment": none_if_empty(fields[4]),
                "shell": none_if_empty(fields[6]),
                "group": group,
                "groups": groups,
                "uid": uid,
                "gid": gid,
                "lastlog": login,
                "login_time": login_time,
                "password": password,
            }),
        );
    }
    Ok(Value::Object(users))
}

/// `Sat Jun 5 12:03:23 -0600 2021` → `2021-06-05T12:03:23-06:00` (what dateutil gives).
fn parse_login_time(s: &str) -> Option<Value> {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let month = tokens.iter().find_map(|t| month_number(t))?;
    let month_pos = tokens.iter().position(|t| month_number(t).is_some())?;
    let day: u32 = tokens.get(month_pos + 1)?.parse().ok()?;
    let time = tokens
        .iter()
        .find(|t| re_fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", t).is_some())?;
    let time = if time.len() <= 5 {
        format!("{time:0>5}:00")
    } else {
        format!("{time:0>8}")
    };
    let year = tokens
        .iter()
        .rev()
        .find(|t| t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()))?;
    let offset = tokens
        .iter()
        .find_map(|t| re_fullmatch(r"([+-])(\d{2}):?(\d{2})", t))
        .map(|c| format!("{}{}:{}", group(&c, 1), group(&c, 2), group(&c, 3)))
        .unwrap_or_default();
    Some(json!(format!("{year}-{month:02}-{day:02}T{time}{offset}")))
}

define_fact! {
    /// Mounted filesystems: mount point → device, type, options.
    Mounts = "server.Mounts";
    params: [];
    command: |_| Ok(kernel_case(&[
        ("FreeBSD", mounts_command_for("FreeBSD")),
        ("OpenBSD", mounts_command_for("OpenBSD")),
    ], mounts_command_for("Linux")));
    process: process_mounts;
    default: || json!({});
}

/// `case "$(uname -s)" in K) CMD;; ... *) DEFAULT;; esac`: pyinfra loads `server.Kernel`
/// first and picks the command; asking in the same shell saves a round trip.
fn kernel_case(cases: &[(&str, StringCommand)], default: StringCommand) -> StringCommand {
    let mut bits: Vec<Bit> = vec![Bit::from("case \"$(uname -s)\" in")];
    for (kernel, cmd) in cases {
        bits.push(Bit::from(format!("{kernel})")));
        bits.push(cmd.clone().into());
        bits.push(Bit::from(";;"));
    }
    bits.push(Bit::from("*)"));
    bits.push(default.into());
    bits.push(Bit::from(";; esac"));
    StringCommand::new(bits)
}

/// pyinfra's `server.Mounts` command for one kernel.
pub(crate) fn mounts_command_for(kernel: &str) -> StringCommand {
    match kernel.trim() {
        "FreeBSD" => raw("mount -p --libxo json"),
        "OpenBSD" => raw("mount -v"),
        _ => raw("cat /proc/self/mountinfo"),
    }
}

/// Undo the `\NNN` octal escapes Linux uses in mountinfo fields.
fn unescape_octal(s: &str) -> String {
    super::parse::regex(r"\\[0-7]{3}")
        .replace_all(s, |c: &regex::Captures| {
            let n = u32::from_str_radix(&c[0][1..], 8).unwrap_or(0);
            char::from_u32(n).map(String::from).unwrap_or_default()
        })
        .into_owned()
}

fn process_mounts(lines: &[String], _: &FactArgs) -> ProcessResult {
    let mut devices = Map::new();
    // The command depends on the kernel; tell the outputs apart by their shape.
    let text = lines.join("\n");
    if text.trim_start().starts_with('{') {
        let parsed: Value =
            serde_json::from_str(&text).map_err(|e| format!("invalid mount JSON: {e}"))?;
        for entry in parsed["mount"]["fstab"].as_array().into_iter().flatten() {
            let path = entry["mntpoint"].as_str().unwrap_or_default();
            let options: Vec<Value> = entry["opts"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .map(|o| json!(o.trim()))
                .collect();
            devices.insert(
                path.to_string(),
                json!({"device": entry["device"], "type": entry["fstype"], "options": options}),
            );
        }
        return Ok(Value::Object(devices));
    }
    for line in lines {
        if let Some(m) = re_fullmatch(r"(\S+) (?:\(.*\) )?on (/.*) type (\w+) \((.+)\)", line) {
            let options: Vec<Value> = group(&m, 4)
                .split(',')
                .filter(|o| !o.contains("ctime="))
                .map(|o| json!(o.trim_matches(' ')))
                .collect();
            devices.insert(
                group(&m, 2).to_string(),
                json!({"device": group(&m, 1), "type": group(&m, 3), "options": options}),
            );
            continue;
        }
        let fields: Vec<&str> = line.splitn(7, ' ').collect();
        if fields.len() < 7 {
            return Err(format!("unexpected mountinfo line `{line}`"));
        }
        let (mount_point, mount_options) = (fields[4], fields[5]);
        let mut rest = fields[6];
        // optional fields end with a lone `-`
        loop {
            let Some((optional, tail)) = rest.split_once(' ') else {
                return Err(format!("unexpected mountinfo line `{line}`"));
            };
            rest = tail;
            if optional == "-" {
                break;
            }
        }
        let tail: Vec<&str> = rest.split(' ').collect();
        let [fs_type, source, super_options] = tail[..] else {
            return Err(format!("unexpected mountinfo line `{line}`"));
        };
        let mut options: Vec<Value> = mount_options.split(',').map(|o| json!(o)).collect();
        options.extend(
            super_options
                .split(',')
                .filter(|o| *o != "ro" && *o != "rw")
                .map(|o| json!(unescape_octal(o))),
        );
        devices.insert(
            unescape_octal(mount_point),
            json!({"device": unescape_octal(source), "type": fs_type, "options": options}),
        );
    }
    Ok(Value::Object(devices))
}

define_fact! {
    /// Kernel settings from `sysctl`, numbers as integers, multi-value settings as lists.
    Sysctl = "server.Sysctl";
    params: ["keys"];
    command: |args| match args.get("keys") {
        None | Some(Value::Null) => Ok(raw("sysctl -a 2>/dev/null || true")),
        Some(Value::Array(keys)) => {
            let mut bits = vec![Bit::from("sysctl")];
            bits.extend(keys.iter().map(|k| quoted(crate::python::python_str(k))));
            bits.push(Bit::from("2>/dev/null || true"));
            Ok(StringCommand::new(bits))
        }
        Some(other) => Err(format!("`keys` must be a list, got {other}")),
    };
    process: |lines, _| {
        let mut sysctls = Map::new();
        for line in lines {
            let Some((key, values)) = line.split_once('=').or_else(|| line.split_once(':')) else {
                continue;
            };
            if key.is_empty() || values.is_empty() {
                continue;
            }
            let (key, values) = (key.trim(), values.trim());
            let value = if re_fullmatch(r"[a-zA-Z0-9_\-\.\s]+", values).is_some() {
                let mut items: Vec<Value> = values.split_whitespace().map(try_int).collect();
                if items.len() == 1 {
                    items.remove(0)
                } else {
                    Value::Array(items)
                }
            } else {
                json!(values)
            };
            sysctls.insert(key.to_string(), value);
        }
        Ok(Value::Object(sysctls))
    };
    default: || json!({});
}

define_fact! {
    /// Loaded kernel modules: name → size, instances, state (and dependencies).
    KernelModules = "server.KernelModules";
    params: [];
    command: |_| Ok(kernel_case(
        &[("FreeBSD", kernel_modules_command_for("FreeBSD"))],
        kernel_modules_command_for("Linux"),
    ));
    process: process_kernel_modules;
    default: || json!({});
}

/// pyinfra's `server.KernelModules` command for one kernel.
pub(crate) fn kernel_modules_command_for(kernel: &str) -> StringCommand {
    if kernel.trim() == "FreeBSD" {
        raw("kldstat | tail +2")
    } else {
        raw("! test -f /proc/modules || cat /proc/modules")
    }
}

fn process_kernel_modules(lines: &[String], _: &FactArgs) -> ProcessResult {
    let mut modules = Map::new();
    for line in lines {
        // kldstat lines start with a numeric id; /proc/modules lines with a module name
        let ws = split_ws_n(line, 4);
        if ws.len() == 5 && ws[0].chars().all(|c| c.is_ascii_digit()) {
            modules.insert(
                ws[4].to_string(),
                json!({"address": ws[2], "id": ws[0], "refs": ws[1], "size": ws[3]}),
            );
            continue;
        }
        let parts: Vec<&str> = line.splitn(6, ' ').collect();
        if parts.len() < 6 {
            return Err(format!("unexpected module line `{line}`"));
        }
        let instances: i64 = parts[2]
            .parse()
            .map_err(|_| format!("unexpected module line `{line}`"))?;
        let mut module = json!({"size": parts[1], "instances": instances, "state": parts[4]});
        if parts[3] != "-" {
            module["depends"] = parts[3]
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| json!(d))
                .collect();
        }
        modules.insert(parts[0].to_string(), module);
    }
    Ok(Value::Object(modules))
}

define_fact! {
    /// Enabled locales (`locale -a`), `utf8` spelled `UTF-8` as in `/etc/locale.gen`.
    Locales = "server.Locales";
    params: [];
    command: |_| Ok(raw("locale -a"));
    process: |lines, _| Ok(lines.iter().map(|l| json!(l.replace("utf8", "UTF-8"))).collect());
    default: || json!([]);
    requires: |_| Some("locale".into());
}

define_fact! {
    /// The system timezone (`Europe/Amsterdam`), from the `/etc/localtime` link.
    Timezone = "server.Timezone";
    params: [];
    command: |_| Ok(raw("readlink -f /etc/localtime | sed 's|.*/zoneinfo/||'"));
    process: |lines, _| Ok(lines.first().map_or(Value::Null, |l| json!(l)));
}

define_fact! {
    /// Seconds since boot.
    Uptime = "server.Uptime";
    params: [];
    command: |_| Ok(raw("if [ \"$(uname -s)\" = Darwin ] || [ \"$(uname -s)\" = FreeBSD ]; then date +%s; sysctl -n kern.boottime | awk '{print $4}' | tr -d ','; else cut -d. -f1 /proc/uptime; fi"));
    process: |lines, _| {
        let n: Vec<i64> = lines.iter().filter_map(|l| l.trim().parse().ok()).collect();
        Ok(match n[..] {
            [now, boot] => json!(now - boot),
            [up, ..] => json!(up),
            [] => Value::Null,
        })
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_core::Fact;

    fn args(v: Value) -> FactArgs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn which_quotes_hostile_names() {
        let cmd = Which
            .command(&args(json!({"command": "x$(reboot)'\n"})))
            .unwrap();
        assert_eq!(
            cmd.get_raw_value(),
            "command -v 'x$(reboot)'\"'\"'\n' || true"
        );
    }

    #[test]
    fn home_rejects_unsafe_users() {
        assert!(Home.command(&args(json!({"user": "a b"}))).is_err());
        assert!(Home.command(&args(json!({"user": "$(id)"}))).is_err());
        assert_eq!(
            Home.command(&args(json!({"user": "web-1"})))
                .unwrap()
                .get_raw_value(),
            "echo ~web-1"
        );
    }

    #[test]
    fn mounts_handle_spaces_and_garbage() {
        let lines = vec![
            r"36 35 98:0 /mnt1 /mnt/my\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue".to_string(),
        ];
        let v = process_mounts(&lines, &FactArgs::new()).unwrap();
        assert_eq!(v["/mnt/my disk"]["device"], "/dev/root");
        assert!(process_mounts(&["garbage".to_string()], &FactArgs::new()).is_err());
    }

    #[test]
    fn users_never_panics() {
        for line in ["", "|||", "a|b", "x:y|g|g||", "\u{fffd}|||"] {
            let _ = process_users(&[line.to_string()], &FactArgs::new());
        }
    }
}

define_fact! {
    /// The current user's `$PATH`.
    Path = "server.Path";
    params: [];
    command: |_| Ok(raw("echo $PATH"));
    process: lines_joined;
}

define_fact! {
    /// Deprecated name of `server.KernelVersion` (`uname -r`).
    OsVersion = "server.OsVersion";
    params: [];
    command: |_| Ok(raw("uname -r"));
    process: lines_joined;
}

define_fact! {
    /// The macOS product version (`sw_vers -productVersion`).
    MacosVersion = "server.MacosVersion";
    params: [];
    command: |_| Ok(raw("sw_vers -productVersion"));
    process: lines_joined;
    requires: |_| Some("sw_vers".into());
}

define_fact! {
    /// `lsb_release -ca` as a map of lower-cased keys (`id`, `description`, `release`,
    /// `codename`).
    LsbRelease = "server.LsbRelease";
    params: [];
    command: |_| Ok(raw("lsb_release -ca"));
    process: |lines, _| {
        let mut items = Map::new();
        for line in lines {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_lowercase();
            // "distributor id" becomes "id"
            let key = key.rsplit(' ').next().unwrap_or_default().to_string();
            items.insert(key, json!(value.trim()));
        }
        Ok(Value::Object(items))
    };
    requires: |_| Some("lsb_release".into());
}

define_fact! {
    /// SELinux's status from `sestatus`: `{"mode": "enabled"}`, `mode` None when unknown.
    Selinux = "server.Selinux";
    params: [];
    command: |_| Ok(raw("sestatus"));
    process: |lines, _| {
        let text = lines.join("\n");
        let mode = re_match(r"SELinux status:\s+(\S+)", &text).map(|m| group(&m, 1).to_string());
        Ok(json!({ "mode": mode }))
    };
    default: || json!({ "mode": null });
    requires: |_| Some("sestatus".into());
}

const GUI_SESSIONS: &[(&str, &str)] = &[
    ("/usr/bin/gnome-session", "GNOME"),
    ("/usr/bin/mate-session", "MATE"),
    ("/usr/bin/lxsession", "LXDE"),
    ("/usr/bin/plasma_session", "KDE Plasma"),
    ("/usr/bin/xfce4-session", "XFCE 4"),
];

fn linux_guis(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| GUI_SESSIONS.iter().find(|(bin, _)| bin == l))
        .map(|(_, name)| json!(name))
        .collect()
}

define_fact! {
    /// The desktop environments whose session binary is in `/usr/bin` (`GNOME`, `XFCE 4`...).
    LinuxGui = "server.LinuxGui";
    params: [];
    command: |_| Ok(raw("ls /usr/bin/*session || true"));
    process: |lines, _| Ok(Value::Array(linux_guis(lines)));
    default: || json!([]);
}

define_fact! {
    /// Whether any desktop environment is installed (`server.LinuxGui` is not empty). Linux only.
    HasGui = "server.HasGui";
    params: [];
    command: |_| Ok(raw("ls /usr/bin/*session || true"));
    process: |lines, _| Ok(json!(!linux_guis(lines).is_empty()));
    default: || json!(false);
}

define_fact! {
    /// The entries of `/etc/security/limits.conf`: a list of `{domain, limit_type, item, value}`.
    SecurityLimits = "server.SecurityLimits";
    params: [];
    command: |_| Ok(raw("! test -e /etc/security/limits.conf || cat /etc/security/limits.conf"));
    process: |lines, _| {
        let mut limits = Vec::new();
        for line in lines {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [domain, limit_type, item, value] = parts[..] else {
                return Err(format!("expected four fields in limits.conf line: {line:?}"));
            };
            limits.push(json!({
                "domain": domain,
                "limit_type": limit_type,
                "item": item,
                "value": value,
            }));
        }
        Ok(Value::Array(limits))
    };
    default: || json!([]);
}

const REBOOT_REQUIRED_COMMAND: &str = r#"
# Get OS type
OS_TYPE=$(uname -s)
if [ "$OS_TYPE" = "Linux" ]; then
    # Check if it's Alpine Linux
    if [ -f /etc/alpine-release ]; then
        RUNNING_KERNEL=$(uname -r)
        INSTALLED_KERNEL=$(ls -1 /lib/modules | sort -V | tail -n1)
        if [ "$RUNNING_KERNEL" != "$INSTALLED_KERNEL" ]; then
            echo "reboot_required"
            exit 0
        fi
    else
        # Check standard Linux reboot required files
        if [ -f /var/run/reboot-required ] || [ -f /var/run/reboot-required.pkgs ]; then
            echo "reboot_required"
            exit 0
        fi
    fi
elif [ "$OS_TYPE" = "FreeBSD" ]; then
    RUNNING_VERSION=$(freebsd-version -r)
    INSTALLED_VERSION=$(freebsd-version -k)
    if [ "$RUNNING_VERSION" != "$INSTALLED_VERSION" ]; then
        echo "reboot_required"
        exit 0
    fi
fi
echo "no_reboot_required"
"#;

define_fact! {
    /// Whether the host waits for a reboot: Debian's `/var/run/reboot-required`, on Alpine a
    /// newer installed kernel than the running one, on FreeBSD `freebsd-version -r` ≠ `-k`.
    RebootRequired = "server.RebootRequired";
    params: [];
    // kept as is, newlines and all (pyinfra vectors compare the text before stripping)
    command: |_| Ok(StringCommand::new([REBOOT_REQUIRED_COMMAND]));
    process: |lines, _| Ok(json!(lines.first().is_some_and(|l| l.trim() == "reboot_required")));
}

define_fact! {
    /// `/etc/hosts` (or `path`) as a map of IP address to its hostnames; comments are dropped
    /// and the names of an address listed twice are merged in file order.
    EtcHosts = "server.EtcHosts";
    params: ["path"];
    command: |args| {
        let path = arg_opt(args, "path").unwrap_or_else(|| "/etc/hosts".into());
        Ok(super::shell::formatted("cat {0} 2>/dev/null || true", &[quoted(path.as_str())]))
    };
    process: |lines, _| {
        let mut entries = Map::new();
        for raw_line in lines {
            let line = raw_line.split('#').next().unwrap_or_default();
            let mut parts = line.split_whitespace();
            let Some(ip) = parts.next() else { continue };
            let names: Vec<&str> = parts.collect();
            if names.is_empty() {
                continue;
            }
            let known = entries.entry(ip.to_string()).or_insert_with(|| json!([]));
            if let Value::Array(known) = known {
                for name in names {
                    if !known.iter().any(|k| k == name) {
                        known.push(json!(name));
                    }
                }
            }
        }
        Ok(Value::Object(entries))
    };
    default: || json!({});
}

const WEEKDAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `last`/`lastb` lines as `{user, tty, host, time}`; `time` is the rest of the line as printed.
fn login_records(lines: &[String]) -> ProcessResult {
    let mut records = Vec::new();
    for raw_line in lines {
        let line = raw_line.trim_end();
        let lower = line.to_lowercase();
        if line.is_empty()
            || lower.starts_with("wtmp begins")
            || lower.starts_with("btmp begins")
            || lower.starts_with("user ")
            || lower.starts_with("username ")
        {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 3 {
            continue;
        }
        let (tty, rest) = if parts[..3] == ["reboot", "system", "boot"] {
            ("system boot".to_string(), &parts[3..])
        } else {
            (parts[1].to_string(), &parts[2..])
        };
        let Some(first) = rest.first() else { continue };
        let (host, time) = if WEEKDAYS.contains(first) {
            ("", rest)
        } else {
            (*first, &rest[1..])
        };
        records.push(json!({
            "user": parts[0],
            "tty": tty,
            "host": host,
            "time": time.join(" "),
        }));
    }
    Ok(Value::Array(records))
}

define_fact! {
    /// Login records from `last`: a list of `{user, tty, host, time}`, `time` as `last` prints
    /// it (`Thu Apr 17 14:00 still logged in`).
    Last = "server.Last";
    params: [];
    command: |_| Ok(raw("last -Fwi 2>/dev/null || last -w 2>/dev/null || last 2>/dev/null || true"));
    process: |lines, _| login_records(lines);
    default: || json!([]);
    requires: |_| Some("last".into());
}

define_fact! {
    /// Failed login records from `lastb` (usually needs root), shaped as `server.Last`.
    Lastb = "server.Lastb";
    params: [];
    command: |_| Ok(raw("lastb -Fwi 2>/dev/null || lastb 2>/dev/null || true"));
    process: |lines, _| login_records(lines);
    default: || json!([]);
    requires: |_| Some("lastb".into());
}

define_fact! {
    /// The load averages keyed `"1"`, `"5"` and `"15"` (minutes), from `/proc/loadavg` or
    /// `uptime`.
    LoadAverage = "server.LoadAverage";
    params: [];
    command: |_| Ok(raw("cat /proc/loadavg 2>/dev/null || uptime"));
    process: |lines, _| {
        let load = |a: &str, b: &str, c: &str| -> Option<Value> {
            Some(json!({
                "1": a.parse::<f64>().ok()?,
                "5": b.parse::<f64>().ok()?,
                "15": c.parse::<f64>().ok()?,
            }))
        };
        for raw_line in lines {
            let line = raw_line.trim();
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if tokens.len() >= 3 {
                if let Some(v) = load(tokens[0], tokens[1], tokens[2]) {
                    return Ok(v);
                }
            }
            let found = super::parse::regex(
                r"load averages?:\s*([0-9.]+)[,\s]+([0-9.]+)[,\s]+([0-9.]+)",
            )
            .captures(line)
            .and_then(|m| load(group(&m, 1), group(&m, 2), group(&m, 3)));
            if let Some(v) = found {
                return Ok(v);
            }
        }
        Ok(json!({}))
    };
    default: || json!({});
}

const PS_FIELDS: &str = "pid,user,stat,%cpu,%mem,comm,args";
const BUSYBOX_PS_FIELDS: &str = "pid,user,vsz,stat,args";

/// `server.Processes`'s command once the kernel and whether BusyBox is there are known.
pub(super) fn processes_command_for(
    kernel: &str,
    busybox: bool,
    pid: Option<&str>,
) -> StringCommand {
    let bsd = matches!(kernel.trim(), "FreeBSD" | "Darwin");
    let busybox = busybox && !bsd;
    match (pid, busybox) {
        (Some(pid), true) => StringCommand::new([
            Bit::from(format!("LANG=C ps -o {BUSYBOX_PS_FIELDS} | awk")),
            quoted(format!("NR==1 || $1=={pid}").as_str()),
        ]),
        (Some(pid), false) => StringCommand::new([
            Bit::from("LANG=C ps -p"),
            quoted(pid),
            Bit::from(format!("-o {PS_FIELDS}")),
        ]),
        (None, true) => raw(&format!("LANG=C ps -o {BUSYBOX_PS_FIELDS}")),
        (None, false) if bsd => raw(&format!("LANG=C ps -eo {PS_FIELDS}")),
        (None, false) => raw(&format!("LANG=C ps -eo {PS_FIELDS} --no-headers")),
    }
}

define_fact! {
    /// Running processes keyed by PID: `{user, state, cpu_percent, mem_percent, command, args}`
    /// (BusyBox's `ps` has no CPU/memory columns: those are 0.0). `pid` limits it to one.
    Processes = "server.Processes";
    params: ["pid"];
    command: |args| {
        // one shell decides what pyinfra decides from the Kernel and Which facts
        let pid = match args.get("pid") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_i64() => Some(n.to_string()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Some(s.trim().to_string()),
            Some(other) => return Err(format!("`pid` must be an integer, got {other}")),
        };
        let pid = pid.as_deref();
        Ok(StringCommand::new([
            Bit::from("case \"$(uname -s)\" in FreeBSD|Darwin)"),
            processes_command_for("FreeBSD", false, pid).into(),
            Bit::from(";; *) if command -v busybox >/dev/null 2>&1 && ! ps --version >/dev/null 2>&1; then"),
            processes_command_for("Linux", true, pid).into(),
            Bit::from("; else"),
            processes_command_for("Linux", false, pid).into(),
            Bit::from("; fi;; esac"),
        ]))
    };
    process: |lines, _| {
        // BusyBox's header names VSZ; procps' and BSD's name %CPU (or are left out)
        let busybox = lines
            .iter()
            .any(|l| l.trim_start().starts_with("PID") && l.split_whitespace().any(|w| w == "VSZ"));
        let mut processes = Map::new();
        for raw_line in lines {
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with("PID") {
                continue;
            }
            if busybox {
                let parts = split_ws_n(line, 4);
                if parts.len() < 5 {
                    continue;
                }
                let Ok(pid) = parts[0].parse::<i64>() else { continue };
                let args = parts[4];
                let command = args
                    .split_whitespace()
                    .next()
                    .map(|c| c.rsplit('/').next().unwrap_or(c))
                    .unwrap_or_default();
                processes.insert(pid.to_string(), json!({
                    "user": parts[1],
                    "state": parts[3],
                    "cpu_percent": 0.0,
                    "mem_percent": 0.0,
                    "command": command,
                    "args": args,
                }));
            } else {
                let parts = split_ws_n(line, 6);
                if parts.len() < 6 {
                    continue;
                }
                let Ok(pid) = parts[0].parse::<i64>() else { continue };
                let percent = |s: &str| {
                    s.parse::<f64>()
                        .map_err(|_| format!("bad percentage {s:?} in ps line {line:?}"))
                };
                processes.insert(pid.to_string(), json!({
                    "user": parts[1],
                    "state": parts[2],
                    "cpu_percent": percent(parts[3])?,
                    "mem_percent": percent(parts[4])?,
                    "command": parts[5],
                    "args": parts.get(6).copied().unwrap_or(parts[5]),
                }));
            }
        }
        Ok(Value::Object(processes))
    };
    default: || json!({});
}

/// Which tool lists sockets: pyinfra asks the Kernel and Which facts, rinfra's command decides
/// in the shell and says which it chose on a first line `rinfra-sockets=<tool>`.
const SOCKETS_MARKER: &str = "rinfra-sockets=";

fn sockets_tool(lines: &[String]) -> (Option<&str>, &[String]) {
    match lines.first().and_then(|l| l.strip_prefix(SOCKETS_MARKER)) {
        Some(tool) => (Some(tool.trim()), &lines[1..]),
        None => (None, lines),
    }
}

fn sockets_command(
    freebsd: StringCommand,
    ss: StringCommand,
    netstat: StringCommand,
) -> StringCommand {
    StringCommand::new([
        Bit::from(format!(
            "if [ \"$(uname -s)\" = FreeBSD ]; then echo {SOCKETS_MARKER}sockstat;"
        )),
        freebsd.into(),
        Bit::from(format!(
            "; elif command -v ss >/dev/null 2>&1; then echo {SOCKETS_MARKER}ss;"
        )),
        ss.into(),
        Bit::from(format!("; else echo {SOCKETS_MARKER}netstat;")),
        netstat.into(),
        Bit::from("; fi"),
    ])
}

/// `server.Port`'s command for one tool (`sockstat`, `ss` or `netstat`).
pub(super) fn port_command_for(tool: &str, port: &str, protocol: &str) -> StringCommand {
    let flag = if protocol == "tcp" { "t" } else { "u" };
    match tool {
        "sockstat" => StringCommand::new([
            Bit::from("sockstat -l -p"),
            quoted(port),
            Bit::from("-P"),
            quoted(protocol),
        ]),
        "ss" => StringCommand::new([
            Bit::from(format!("ss -lp{flag}n | grep")),
            quoted(format!(":{port} ").as_str()),
            Bit::from("|| true"),
        ]),
        _ => StringCommand::new([
            Bit::from(format!("netstat -{flag}lnp 2>/dev/null | awk")),
            quoted(format!("$4 ~ /:{port}$/").as_str()),
        ]),
    }
}

fn port_args(args: &FactArgs) -> Result<(String, String), String> {
    let port = arg_str(args, "port")?;
    if port.parse::<u16>().is_err() {
        return Err(format!("`port` must be a port number, got {port:?}"));
    }
    let protocol = arg_opt(args, "protocol").unwrap_or_else(|| "tcp".into());
    if protocol != "tcp" && protocol != "udp" {
        return Err(format!("`protocol` must be tcp or udp, got {protocol:?}"));
    }
    Ok((port, protocol))
}

/// Without the marker line (pyinfra's vectors): `ss` lines name `users:((...))` or start with
/// a socket state.
fn is_ss_line(line: &str) -> bool {
    line.contains("users:((")
        || matches!(
            line.split_whitespace().next(),
            Some("LISTEN" | "UNCONN" | "ESTAB" | "ESTABLISHED" | "State" | "Netid")
        )
}

fn is_netstat_line(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default();
    first.starts_with("tcp") || first.starts_with("udp") || first == "Active" || first == "Proto"
}

fn port_ss(lines: &[String]) -> Option<(String, i64)> {
    lines.iter().find_map(|line| {
        if !line.contains('"') || !line.contains("pid=") {
            return None;
        }
        let proc_name = line.split('"').nth(1)?;
        let pid = line
            .split("pid=")
            .nth(1)?
            .split(',')
            .next()?
            .trim_end_matches(')');
        Some((proc_name.to_string(), pid.parse().ok()?))
    })
}

fn port_netstat(lines: &[String]) -> Option<(String, i64)> {
    for line in lines {
        if let Some(part) = line.split_whitespace().find(|p| p.contains('/')) {
            let (pid, name) = part.split_once('/')?;
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return Some((name.to_string(), pid.parse().ok()?));
            }
        }
    }
    None
}

fn port_sockstat(lines: &[String]) -> Option<(String, i64)> {
    for line in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with("USER") {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() >= 3 {
            return Some((parts[1].to_string(), parts[2].parse().ok()?));
        }
    }
    None
}

define_fact! {
    /// The process listening on `port` (`protocol` `tcp` or `udp`) and its PID, as
    /// `[name, pid]`, or `[None, None]`. Uses `ss` (or `netstat`) on Linux, `sockstat` on
    /// FreeBSD.
    Port = "server.Port";
    params: ["port", "protocol"];
    command: |args| {
        let (port, protocol) = port_args(args)?;
        Ok(sockets_command(
            port_command_for("sockstat", &port, &protocol),
            port_command_for("ss", &port, &protocol),
            port_command_for("netstat", &port, &protocol),
        ))
    };
    process: |lines, _| {
        let (tool, lines) = sockets_tool(lines);
        let tool = tool.unwrap_or_else(|| match lines.iter().find(|l| !l.trim().is_empty()) {
            Some(l) if is_ss_line(l) => "ss",
            Some(l) if is_netstat_line(l) => "netstat",
            _ => "sockstat",
        });
        let found = match tool {
            "ss" => port_ss(lines),
            "netstat" => port_netstat(lines),
            _ => port_sockstat(lines),
        };
        Ok(match found {
            Some((name, pid)) => json!([name, pid]),
            None => json!([null, null]),
        })
    };
    default: || json!([null, null]);
}

/// `server.Ports`'s command for one tool.
pub(super) fn ports_command_for(tool: &str) -> StringCommand {
    raw(match tool {
        "sockstat" => "sockstat -l",
        "ss" => "ss -lpuntn || true",
        _ => "netstat -tunp 2>/dev/null || true",
    })
}

/// `host:port` split at the last colon, `[v6]` brackets and `%zone` dropped.
fn split_address(addr: &str) -> Option<(String, i64)> {
    let (ip, port) = addr.rsplit_once(':')?;
    let mut ip = ip.to_string();
    if let Some(inner) = ip.strip_prefix('[') {
        ip = inner.split(']').next().unwrap_or(inner).to_string();
    }
    if let Some((before, _)) = ip.split_once('%') {
        ip = before.to_string();
    }
    Some((ip, port.parse().ok()?))
}

fn ports_ss(lines: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in lines {
        if !line.contains('"') || !line.contains("pid=") {
            continue;
        }
        let mut pieces = line.split('"');
        let head = pieces.next().unwrap_or_default();
        let Some(process) = pieces.next() else {
            continue;
        };
        let info: Vec<&str> = head.split_whitespace().collect();
        if info.len() < 2 {
            continue;
        }
        let (protocol, index) = if matches!(info[0], "LISTEN" | "UNCONN" | "ESTAB" | "ESTABLISHED")
        {
            (
                if info[0] == "UNCONN" { "udp" } else { "tcp" },
                if info.len() > 3 { 3 } else { 1 },
            )
        } else {
            (
                if info[1] == "UNCONN" { "udp" } else { "tcp" },
                if info.len() > 4 { 4 } else { 1 },
            )
        };
        if let Some((ip, port)) = info.get(index).and_then(|a| split_address(a)) {
            out.push(json!({"port": port, "ip": ip, "protocol": protocol, "process": process}));
        }
    }
    out
}

fn ports_netstat(lines: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = parts.first() else { continue };
        let protocol = if first.starts_with("tcp") {
            "tcp"
        } else {
            "udp"
        };
        for (i, part) in parts.iter().enumerate() {
            let Some((pid, process)) = part.split_once('/') else {
                continue;
            };
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if i > 0 {
                if let Some((ip, port)) = parts.get(3).and_then(|a| {
                    let (ip, port) = a.rsplit_once(':')?;
                    Some((ip.to_string(), port.parse::<i64>().ok()?))
                }) {
                    out.push(
                        json!({"port": port, "ip": ip, "protocol": protocol, "process": process}),
                    );
                }
            }
            break;
        }
    }
    out
}

fn ports_sockstat(lines: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with("USER") {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 6 {
            continue;
        }
        let local = parts[5];
        let (ip, port) = if let Some((ip, port)) = local.rsplit_once(':') {
            (ip, port)
        } else if let Some(port) = local.strip_prefix("*.") {
            ("*", port)
        } else {
            continue;
        };
        let Ok(port) = port.parse::<i64>() else {
            continue;
        };
        out.push(json!({"port": port, "ip": ip, "protocol": parts[4], "process": parts[1]}));
    }
    out
}

define_fact! {
    /// Every listening (and, with netstat, connected) socket with its process: a list of
    /// `{port, ip, protocol, process}`.
    Ports = "server.Ports";
    params: [];
    command: |_| Ok(sockets_command(
        ports_command_for("sockstat"),
        ports_command_for("ss"),
        ports_command_for("netstat"),
    ));
    process: |lines, _| {
        let (tool, lines) = sockets_tool(lines);
        let tool = tool.unwrap_or_else(|| match lines.iter().find(|l| !l.trim().is_empty()) {
            Some(l) if l.trim_start().starts_with("USER") => "sockstat",
            Some(l) if is_ss_line(l) => "ss",
            _ => "netstat",
        });
        Ok(Value::Array(match tool {
            "sockstat" => ports_sockstat(lines),
            "netstat" => ports_netstat(lines),
            _ => ports_ss(lines),
        }))
    };
    default: || json!([]);
}

#[cfg(test)]
mod host_dependent_tests {
    use rinfra_core::{Fact, FactArgs};
    use serde_json::json;

    use super::*;

    fn run(fact: &dyn Fact, args: &FactArgs) -> Vec<String> {
        let cmd = fact.command(args).expect("command").get_raw_value();
        let out = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    /// The one-shell commands are valid sh, whatever the host.
    #[test]
    fn commands_parse_as_sh() {
        let mut with_port = FactArgs::new();
        with_port.insert("port".into(), json!(22));
        let mut with_pid = FactArgs::new();
        with_pid.insert("pid".into(), json!(1));
        let cases: [(&dyn Fact, &FactArgs); 5] = [
            (&Processes, &FactArgs::new()),
            (&Processes, &with_pid),
            (&Port, &with_port),
            (&Ports, &FactArgs::new()),
            (&RebootRequired, &FactArgs::new()),
        ];
        for (fact, args) in cases {
            let cmd = fact.command(args).expect("command").get_raw_value();
            let status = std::process::Command::new("sh")
                .args(["-n", "-c", &cmd])
                .status()
                .expect("sh");
            assert!(status.success(), "{}: {cmd}", fact.name());
        }
    }

    /// On this (Linux) machine the processes fact finds PID 1 and our own shell's parent.
    #[test]
    fn processes_on_this_host() {
        let lines = run(&Processes, &FactArgs::new());
        let procs = Processes.process(&lines, &FactArgs::new()).expect("parses");
        assert!(procs.get("1").is_some(), "{procs}");
        let me = std::process::id().to_string();
        assert!(procs.get(&me).is_some(), "own pid {me} missing");
    }

    /// The marker line picks the parser, whatever the lines look like.
    #[test]
    fn sockets_marker_picks_the_tool() {
        let lines: Vec<String> = [
            "rinfra-sockets=netstat",
            "tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN      1234/nginx",
        ]
        .map(String::from)
        .to_vec();
        let got = Port.process(&lines, &FactArgs::new()).expect("parses");
        assert_eq!(got, json!(["nginx", 1234]));
        let got = Ports.process(&lines, &FactArgs::new()).expect("parses");
        assert_eq!(
            got,
            json!([{"port": 80, "ip": "0.0.0.0", "protocol": "tcp", "process": "nginx"}])
        );
        assert!(
            Port.command(&FactArgs::new()).is_err(),
            "a port is required"
        );
    }
}
