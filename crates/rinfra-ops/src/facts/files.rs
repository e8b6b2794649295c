//! `files.*` facts: stat-like info for files, directories and links, contents, hashes, finds.

use rinfra_connectors::{quoted, Bit, StringCommand};
use rinfra_core::FactArgs;
use serde_json::{json, Value};

use super::parse::{group, month_number, re_match, timestamp_iso, try_int};
use super::shell::formatted;
use super::{arg_bool, arg_opt, arg_str, define_fact, CommandResult, ProcessResult};

/// Prefix of the line printed when a file exists but nothing matched.
pub const EXISTS_MARKER: &str = "__pyinfra_exists_";
/// Prefix of the line printed when a file does not exist.
pub const MISSING_MARKER: &str = "__pyinfra_missing_";

pub(super) const LINUX_STAT: &str =
    "stat -c 'user=%U group=%G mode=%A atime=%X mtime=%Y ctime=%Z size=%s %N'";
const BSD_STAT: &str =
    "stat -f 'user=%Su group=%Sg mode=%Sp atime=%a mtime=%m ctime=%c size=%z %N%SY'";
pub(super) const STAT_REGEX: &str = r"user=(.*) group=(.*) mode=(.*) atime=(-?[0-9]*) mtime=(-?[0-9]*) ctime=(-?[0-9]*) size=([0-9]*) (.*)";
const LS_REGEX: &str = r"^([dlbcsp-][-rwxstST]{9}[.@+]?)\s+\d+\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$";

fn path_type(flag: char) -> Option<&'static str> {
    Some(match flag {
        'b' => "block",
        'c' => "character",
        'd' => "directory",
        'l' => "link",
        's' => "socket",
        'p' => "fifo",
        '-' => "file",
        _ => return None,
    })
}

/// `rwxr-x---` → `750` (octal digits as a decimal number, pyinfra's convention).
pub fn ls_permissions_to_mode(mode: &str) -> i64 {
    const BITS: [&[(char, u32)]; 9] = [
        &[('r', 0o400)],
        &[('w', 0o200)],
        &[('x', 0o100), ('S', 0o4000), ('s', 0o4100)],
        &[('r', 0o40)],
        &[('w', 0o20)],
        &[('x', 0o10), ('S', 0o2000), ('s', 0o2010)],
        &[('r', 0o4)],
        &[('w', 0o2)],
        &[('x', 0o1), ('T', 0o1000), ('t', 0o1001)],
    ];
    let mut out = 0u32;
    for (i, c) in mode.chars().take(9).enumerate() {
        if let Some((_, bits)) = BITS[i].iter().find(|(ch, _)| *ch == c) {
            out |= bits;
        }
    }
    format!("{out:o}").parse().unwrap_or(0)
}

fn stat_time(s: &str) -> Value {
    match super::parse::parse_py_int(s) {
        Some(n) => json!(timestamp_iso(n)),
        None => Value::Null,
    }
}

/// Strip the quotes `stat %N` puts around a name: `'x'`, `` `x' `` or `"x"`.
fn unquote_stat_name(name: &str) -> &str {
    for (open, close) in [("'", "'"), ("`", "'"), ("\"", "\"")] {
        if name.len() >= 2 && name.starts_with(open) && name.ends_with(close) {
            return &name[1..name.len() - 1];
        }
    }
    name
}

/// The path argument, `~/` left unquoted so the shell expands it.
fn path_bit(path: &str) -> Bit {
    match path.strip_prefix("~/") {
        Some(rest) => StringCommand::with_separator([Bit::from("~/"), quoted(rest)], "").into(),
        None => quoted(path),
    }
}

fn stat_command(args: &FactArgs) -> CommandResult {
    let path = arg_str(args, "path")?;
    Ok(formatted(
        "! (test -e {0} || test -L {0} ) || ( {1} {0} 2> /dev/null || {2} {0} || {3} {0} )",
        &[
            path_bit(&path),
            Bit::from(LINUX_STAT),
            Bit::from(BSD_STAT),
            Bit::from("ls -ld"),
        ],
    ))
}

/// Parse `stat`/`ls -ld` output; `false` when the path is another type than `wanted`.
fn process_stat(lines: &[String], wanted: &str) -> ProcessResult {
    let Some(line) = lines.first() else {
        return Ok(Value::Null);
    };
    if let Some(m) = re_match(STAT_REGEX, line) {
        let mode = group(&m, 3);
        let kind = mode.chars().next().and_then(path_type);
        let mut data = json!({
            "user": group(&m, 1),
            "group": group(&m, 2),
            "mode": ls_permissions_to_mode(mode.get(1..).unwrap_or("")),
            "atime": stat_time(group(&m, 4)),
            "mtime": stat_time(group(&m, 5)),
            "ctime": stat_time(group(&m, 6)),
            "size": try_int(group(&m, 7)),
        });
        if kind != Some(wanted) {
            return Ok(Value::Bool(false));
        }
        if wanted == "link" {
            let name = group(&m, 8);
            let Some((_, target)) = name.split_once(" -> ") else {
                return Err(format!("no link target in `{line}`"));
            };
            data["link_target"] = json!(unquote_stat_name(target));
        }
        return Ok(data);
    }
    if let Some(m) = re_match(LS_REGEX, line.trim()) {
        let perms = group(&m, 1);
        let (p1, p2) = (group(&m, 5), group(&m, 6));
        let (day, month) = if p1.chars().all(|c| c.is_ascii_digit()) {
            (p1, p2)
        } else {
            (p2, p1)
        };
        let kind = perms.chars().next().and_then(path_type);
        let mut data = json!({
            "user": group(&m, 2),
            "group": group(&m, 3),
            "mode": ls_permissions_to_mode(&perms[1..10]),
            "atime": null,
            "mtime": ls_timestamp(month, day, group(&m, 7)),
            "ctime": null,
            "size": try_int(group(&m, 4)),
        });
        if kind != Some(wanted) {
            return Ok(Value::Bool(false));
        }
        let path = group(&m, 8);
        if wanted == "link" {
            if let Some((_, target)) = path.split_once(" -> ") {
                data["link_target"] = json!(unquote_stat_name(target));
            }
        }
        return Ok(data);
    }
    Ok(Value::Null)
}

fn ls_timestamp(month: &str, day: &str, year_or_time: &str) -> Value {
    let (Some(month), Ok(day)) = (month_number(month), day.parse::<u32>()) else {
        return Value::Null;
    };
    if let Some((h, m)) = year_or_time.split_once(':') {
        match (h.parse::<u32>(), m.parse::<u32>()) {
            (Ok(h), Ok(m)) => json!(format!(
                "{:04}-{month:02}-{day:02}T{h:02}:{m:02}:00",
                crate::pinned::current_year()
            )),
            _ => Value::Null,
        }
    } else {
        match year_or_time.parse::<i64>() {
            Ok(y) => json!(format!("{y:04}-{month:02}-{day:02}T00:00:00")),
            Err(_) => Value::Null,
        }
    }
}

define_fact! {
    /// A socket's info (user, group, mode, times); `null` if missing, `false` if not a socket.
    Socket = "files.Socket";
    params: ["path"];
    command: stat_command;
    process: |lines, _| process_stat(lines, "socket");
    shared: &super::shared::STAT;
}

define_fact! {
    /// The BSD/macOS file flags set on a path (`stat -f %Sf`): a list, empty when none or
    /// when the path is missing.
    Flags = "files.Flags";
    params: ["path"];
    command: |args| Ok(super::shell::formatted(
        "! test -e {0} || stat -f %Sf {0}",
        &[rinfra_connectors::quoted(super::arg_str(args, "path")?.as_str())],
    ));
    process: |lines, _| Ok(match lines {
        [one] => one.split(',').filter(|f| !f.is_empty()).map(|f| json!(f)).collect(),
        _ => Vec::new(),
    }.into());
    default: || json!([]);
    requires: |_| Some("chflags".into());
}

define_fact! {
    /// A file's user, group, mode, times and size; `null` if missing, `false` if not a file.
    File = "files.File";
    params: ["path"];
    command: stat_command;
    process: |lines, _| process_stat(lines, "file");
    shared: &super::shared::STAT;
    guesses: || stat_guesses("file");
}

define_fact! {
    /// A directory's info; `null` if missing, `false` if not a directory.
    Directory = "files.Directory";
    params: ["path"];
    command: stat_command;
    process: |lines, _| process_stat(lines, "directory");
    shared: &super::shared::STAT;
    guesses: || stat_guesses("directory");
}

define_fact! {
    /// A link's info and `link_target`; `null` if missing, `false` if not a link.
    Link = "files.Link";
    params: ["path"];
    command: stat_command;
    process: |lines, _| process_stat(lines, "link");
    shared: &super::shared::STAT;
    guesses: || stat_guesses("link");
}

/// Missing, or present as `kind` (see [`rinfra_core::Fact::guesses`]): operations on paths
/// branch on that first (a file's hash is only asked for once it exists).
fn stat_guesses(kind: &str) -> Vec<Value> {
    let (mode, flag) = match kind {
        "directory" => ("rwxr-xr-x", 'd'),
        "link" => ("rwxrwxrwx", 'l'),
        _ => ("rw-r--r--", '-'),
    };
    let line = format!(
        "user=root group=root mode={flag}{mode} atime=0 mtime=0 ctime=0 size=0 'guess' -> 'guess'"
    );
    vec![
        Value::Null,
        process_stat(&[line], kind).unwrap_or(Value::Null),
    ]
}

/// `test -e P && ( cmd1 P 2> /dev/null || cmd2 P 2> /dev/null ) || true`
fn hash_command(args: &FactArgs, cmds: &[&str]) -> CommandResult {
    let path = arg_str(args, "path")?;
    let hashes: Vec<String> = cmds
        .iter()
        .map(|c| format!("{c} {{0}} 2> /dev/null"))
        .collect();
    let template = format!("test -e {{0}} && ( {} ) || true", hashes.join(" || "));
    Ok(formatted(&template, &[quoted(path)]))
}

fn hash_process(lines: &[String], args: &FactArgs, digits: usize, name: &str) -> ProcessResult {
    let Some(line) = lines.first() else {
        return Ok(Value::Null);
    };
    let path = regex::escape(&arg_str(args, "path")?);
    let gnu = format!(r"([a-fA-F0-9]{{{digits}}})\s+{path}$");
    let bsd = format!(r"{name}\s+\({path}\)\s+=\s+([a-fA-F0-9]{{{digits}}})$");
    for pattern in [gnu, bsd] {
        // Built from the path, so compiled here rather than through `re_match`, whose cache of
        // constant patterns would keep one regex per path hashed for the whole run.
        let re = regex::Regex::new(&format!("^(?:{pattern})")).map_err(|e| e.to_string())?;
        if let Some(m) = re.captures(line) {
            return Ok(json!(group(&m, 1)));
        }
    }
    Ok(Value::Null)
}

define_fact! {
    /// The SHA1 of a file, `null` if it does not exist.
    Sha1File = "files.Sha1File";
    params: ["path"];
    command: |args| hash_command(args, &["sha1sum", "shasum", "sha1"]);
    process: |lines, args| hash_process(lines, args, 40, "SHA1");
    shared: &super::shared::SHA1;
}

define_fact! {
    /// The SHA256 of a file, `null` if it does not exist.
    Sha256File = "files.Sha256File";
    params: ["path"];
    command: |args| hash_command(args, &["sha256sum", "shasum -a 256", "sha256"]);
    process: |lines, args| hash_process(lines, args, 64, "SHA256");
    shared: &super::shared::SHA256;
}

define_fact! {
    /// The SHA384 of a file, `null` if it does not exist.
    Sha384File = "files.Sha384File";
    params: ["path"];
    command: |args| hash_command(args, &["sha384sum", "shasum -a 384", "sha384"]);
    process: |lines, args| hash_process(lines, args, 96, "SHA384");
    shared: &super::shared::SHA384;
}

define_fact! {
    /// The MD5 of a file, `null` if it does not exist.
    Md5File = "files.Md5File";
    params: ["path"];
    command: |args| hash_command(args, &["md5sum", "md5"]);
    process: |lines, args| hash_process(lines, args, 32, "MD5");
    shared: &super::shared::MD5;
}

define_fact! {
    /// Lines of a file matching a pattern (grep); `[]` if none, `null` if the file is missing.
    FindInFile = "files.FindInFile";
    params: ["path", "pattern", "interpolate_variables", "extended_regex"];
    command: |args| {
        let path = arg_str(args, "path")?;
        let pattern = arg_str(args, "pattern")?;
        let pattern = if arg_bool(args, "interpolate_variables") {
            Bit::from(format!("\"{}\"", pattern.replace('"', "\\\"")))
        } else {
            quoted(pattern)
        };
        let grep = if arg_bool(args, "extended_regex") { "grep -E" } else { "grep" };
        Ok(formatted(
            "{3} -e {0} {1} 2> /dev/null || ( find {1} -type f > /dev/null && echo {2} || true )",
            &[pattern, quoted(path.clone()), quoted(format!("{EXISTS_MARKER}{path}")), Bit::from(grep)],
        ))
    };
    process: |lines, args| {
        let flag = format!("{EXISTS_MARKER}{}", arg_str(args, "path")?);
        if lines.first() == Some(&flag) {
            return Ok(json!([]));
        }
        Ok(json!(lines))
    };
}

/// `"1.5GiB"` / `"10MB"` / `123` → bytes (pyinfra's `parse_size`).
fn parse_size(v: &Value) -> Result<i64, String> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    let s = crate::python::python_str(v).to_uppercase();
    let caps = re_match(r"\s*([0-9.]+)\s*([KMGT]?I?B)\s*$", &s)
        .ok_or_else(|| format!("invalid size `{s}`"))?;
    let unit: f64 = match group(&caps, 2) {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1_048_576.0,
        "GIB" => 1_073_741_824.0,
        "TIB" => 1_099_511_627_776.0,
        other => return Err(format!("invalid size unit `{other}`")),
    };
    let number: f64 = group(&caps, 1)
        .parse()
        .map_err(|_| format!("invalid size `{s}`"))?;
    Ok((number * unit) as i64)
}

fn find_command(args: &FactArgs, type_flag: &str) -> CommandResult {
    let path = arg_str(args, "path")?;
    let quote_path = args.get("quote_path").is_none_or(crate::python::truthy);
    let maybe = |v: String| if quote_path { quoted(v) } else { Bit::from(v) };
    let extra: Vec<String> = match args.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(crate::python::python_str).collect(),
        Some(other) => return Err(format!("`args` must be a list, got {other}")),
    };
    let has = |flag: &str| extra.iter().any(|a| a == flag);
    let mut bits: Vec<Bit> = vec![
        Bit::from("find"),
        maybe(path),
        Bit::from("-type"),
        Bit::from(type_flag),
    ];
    if !has("-size") {
        if let Some(v) = args.get("min_size").filter(|v| !v.is_null()) {
            bits.extend([
                Bit::from("-size"),
                Bit::from(format!("+{}c", parse_size(v)?)),
            ]);
        }
        if let Some(v) = args.get("max_size").filter(|v| !v.is_null()) {
            bits.extend([
                Bit::from("-size"),
                Bit::from(format!("-{}c", parse_size(v)?)),
            ]);
        }
        if let Some(v) = arg_opt(args, "size") {
            bits.extend([Bit::from("-size"), Bit::from(format!("{v}c"))]);
        }
    }
    if let Some(v) = arg_opt(args, "maxdepth").filter(|_| !has("-maxdepth")) {
        bits.extend([Bit::from("-maxdepth"), Bit::from(v)]);
    }
    if let Some(v) = arg_opt(args, "fname").filter(|_| !has("-fname")) {
        bits.extend([Bit::from("-name"), maybe(v)]);
    }
    if let Some(v) = arg_opt(args, "iname").filter(|_| !has("-iname")) {
        bits.extend([Bit::from("-iname"), maybe(v)]);
    }
    if let Some(v) = arg_opt(args, "regex").filter(|_| !has("-regex")) {
        bits.extend([Bit::from("-regex"), maybe(v)]);
    }
    if let Some(v) = arg_opt(args, "path_match").filter(|_| !has("-path")) {
        bits.extend([Bit::from("-path"), quoted(v)]);
    }
    bits.extend(extra.into_iter().map(Bit::from));
    bits.extend([Bit::from("||"), Bit::from("true")]);
    Ok(StringCommand::new(bits))
}

fn lines_list(lines: &[String], _: &FactArgs) -> ProcessResult {
    Ok(json!(lines))
}

define_fact! {
    /// Files under a path (`find -type f`), with optional size, depth and name filters.
    FindFiles = "files.FindFiles";
    params: ["path", "size", "min_size", "max_size", "maxdepth", "fname", "iname", "regex", "path_match", "args", "quote_path"];
    command: |args| find_command(args, "f");
    process: lines_list;
    default: || json!([]);
}

define_fact! {
    /// Links under a path (`find -type l`).
    FindLinks = "files.FindLinks";
    params: ["path", "size", "min_size", "max_size", "maxdepth", "fname", "iname", "regex", "path_match", "args", "quote_path"];
    command: |args| find_command(args, "l");
    process: lines_list;
    default: || json!([]);
}

define_fact! {
    /// Directories under a path (`find -type d`).
    FindDirectories = "files.FindDirectories";
    params: ["path", "size", "min_size", "max_size", "maxdepth", "fname", "iname", "regex", "path_match", "args", "quote_path"];
    command: |args| find_command(args, "d");
    process: lines_list;
    default: || json!([]);
}

define_fact! {
    /// A file's lines, `null` if it does not exist.
    FileContents = "files.FileContents";
    params: ["path"];
    command: |args| {
        let path = arg_str(args, "path")?;
        Ok(formatted(
            "( test -e {0} && cat {0} ) || echo {1}",
            &[quoted(path.clone()), quoted(format!("{MISSING_MARKER}{path}"))],
        ))
    };
    process: |lines, args| {
        let flag = format!("{MISSING_MARKER}{}", arg_str(args, "path")?);
        if lines.first() == Some(&flag) {
            return Ok(Value::Null);
        }
        Ok(json!(lines))
    };
}

/// The begin and end marker lines of a `files.block`.
pub(crate) fn block_markers(
    marker: Option<&str>,
    begin: Option<&str>,
    end: Option<&str>,
) -> (String, String) {
    let marker = marker.unwrap_or("# {mark} PYINFRA BLOCK");
    (
        marker.replace("{mark}", begin.unwrap_or("BEGIN")),
        marker.replace("{mark}", end.unwrap_or("END")),
    )
}

define_fact! {
    /// Lines between a block's markers: `[]` if the markers are absent, `null` if the file is.
    Block = "files.Block";
    params: ["path", "marker", "begin", "end"];
    command: |args| {
        let path = arg_str(args, "path")?;
        let (start, end) = block_markers(
            arg_opt(args, "marker").as_deref(),
            arg_opt(args, "begin").as_deref().filter(|s| !s.is_empty()),
            arg_opt(args, "end").as_deref().filter(|s| !s.is_empty()),
        );
        if start == end {
            return Err(format!("delimiters for block must be different but found only '{start}'"));
        }
        let backstop = formatted(
            "(find {0} -type f > /dev/null && echo {1} || echo {2} )",
            &[quoted(path.clone()), quoted(format!("{EXISTS_MARKER}{path}")), quoted(format!("{MISSING_MARKER}{path}"))],
        );
        Ok(StringCommand::with_separator(
            [
                Bit::from(format!("awk '/{end}/{{ f=0}} f; /{start}/{{ f=1}} ' ")),
                quoted(path),
                Bit::from(" || "),
                backstop.into(),
            ],
            "",
        ))
    };
    process: |lines, args| {
        let path = arg_str(args, "path")?;
        match lines.first() {
            Some(l) if *l == format!("{EXISTS_MARKER}{path}") => Ok(json!([])),
            Some(l) if *l == format!("{MISSING_MARKER}{path}") => Ok(Value::Null),
            _ => Ok(json!(lines)),
        }
    };
    default: || json!([]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rinfra_core::Fact;

    fn args(v: Value) -> FactArgs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn modes() {
        assert_eq!(ls_permissions_to_mode("rwxrwx---"), 770);
        assert_eq!(ls_permissions_to_mode("rwsr-Sr--"), 6744);
        assert_eq!(ls_permissions_to_mode("rw-r--r-T"), 1644);
    }

    #[test]
    fn hostile_paths_are_quoted() {
        let cmd = File
            .command(&args(json!({"path": "/tmp/a b'$(reboot)`id`\n"})))
            .unwrap();
        let raw = cmd.get_raw_value();
        assert!(raw.contains("'/tmp/a b'\"'\"'$(reboot)`id`\n'"), "{raw}");
        let cmd = Sha1File
            .command(&args(json!({"path": "x;rm -rf /"})))
            .unwrap();
        assert!(cmd.get_raw_value().starts_with("test -e 'x;rm -rf /' && ("));
    }

    #[test]
    fn odd_output_is_not_a_panic() {
        for line in [
            "",
            "user= group= mode= atime= mtime= ctime= size= x",
            "l",
            "\u{fffd}\u{fffd}",
        ] {
            let _ = File.process(&[line.to_string()], &args(json!({"path": "x"})));
            let _ = Link.process(&[line.to_string()], &args(json!({"path": "x"})));
        }
        assert_eq!(
            File.process(&[], &args(json!({"path": "x"}))).unwrap(),
            Value::Null
        );
    }

    /// Found by `fuzz/fuzz_targets/facts.rs` (memory grew with every input): hash facts put
    /// their path into a regex, which must not land in the cache of constant patterns.
    #[test]
    fn hash_paths_do_not_grow_the_regex_cache() {
        let line = "da39a3ee5e6b4b0d3255bfef95601890afd80709  /tmp/fuzzcacheprobe".to_string();
        let got = Sha1File
            .process(
                std::slice::from_ref(&line),
                &args(json!({"path": "/tmp/fuzzcacheprobe"})),
            )
            .unwrap();
        assert_eq!(got, json!("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
        assert!(!super::super::parse::is_cached("/tmp/fuzzcacheprobe"));
    }
}
