//! `server.*` facts: kernel, distribution, users, groups, mounts, sysctl, modules...

use rinfra_connectors::{quoted, Bit, StringCommand};
use serde_json::{json, Map, Value};

use super::parse::{group, month_number, re_fullmatch, split_ws_n, try_int};
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
