//! `files.line`, `files.replace` and `files.block`: editing text files in place with `sed` and
//! `awk`, exactly as pyinfra builds those commands.

use rinfra_connectors::{Bit, StringCommand};
use rinfra_core::{OpHost, OperationError};
use serde_json::{json, Value};

use crate::facts::shell::formatted;
use crate::operations::{define_op, fact, q, Args, Out};
use crate::python::truthy;

/// pyinfra's `adjust_regex`: anchor the pattern to a whole line, escaping it if asked.
pub(crate) fn adjust_regex(line: &str, escape: bool) -> String {
    let mut m = if escape {
        crate::facts::parse::regex(r"([\.\\\+\*\?\[\^\]\$\(\)\{\}\-])")
            .replace_all(line, r"\$1")
            .into_owned()
    } else {
        line.to_string()
    };
    if !m.starts_with('^') {
        m = format!("^.*{m}");
    }
    if !m.ends_with('$') {
        m = format!("{m}.*$");
    }
    m
}

fn strip_regex_anchors(line: &str) -> &str {
    let line = line.strip_prefix('^').unwrap_or(line);
    if line.ends_with('$') && !line.ends_with("\\$") {
        &line[..line.len() - 1]
    } else {
        line
    }
}

/// Options shared by pyinfra's `sed_replace` and `sed_delete`.
pub(crate) struct Sed<'a> {
    pub(crate) filename: &'a str,
    pub(crate) flags: &'a [String],
    pub(crate) backup: bool,
    pub(crate) interpolate_variables: bool,
    pub(crate) extended_regex: bool,
}

impl Sed<'_> {
    fn command(&self, line: &str, replace: &str, delete: bool) -> StringCommand {
        let flags: String = self.flags.concat();
        let mut line = line.replace('/', r"\/");
        let mut replace = replace.replace('/', r"\/").replace('&', r"\&");
        let ts = crate::pinned::timestamp();
        if self.interpolate_variables {
            line = line.replace('"', "\\\"");
            replace = replace.replace('"', "\\\"");
        } else {
            line = line.replace('\'', "'\"'\"'");
            replace = replace.replace('\'', "'\"'\"'");
        }
        let qc = if self.interpolate_variables {
            '"'
        } else {
            '\''
        };
        let script = if delete {
            let i = if flags.contains(['i', 'I']) { "I" } else { "" };
            format!("{qc}/{line}/{i}d{qc}")
        } else {
            format!("{qc}s/{line}/{replace}/{flags}{qc}")
        };
        let mut bits = vec![Bit::from("sed")];
        if self.extended_regex {
            bits.push(Bit::from("-E"));
        }
        bits.push(Bit::from(format!("-i.{ts}")));
        bits.push(Bit::from(script));
        bits.push(q(self.filename));
        let sed = StringCommand::new(bits);
        if self.backup {
            return sed;
        }
        StringCommand::new([
            sed.into(),
            Bit::from("&&"),
            Bit::from("rm"),
            Bit::from("-f"),
            q(format!("{}.{ts}", self.filename)),
        ])
    }

    pub(crate) fn replace(&self, line: &str, replace: &str) -> StringCommand {
        self.command(line, replace, false)
    }

    pub(crate) fn delete(&self, line: &str) -> StringCommand {
        self.command(line, "", true)
    }
}

async fn find_in_file(
    host: &dyn OpHost,
    path: &str,
    pattern: &str,
    interpolate: bool,
    extended: bool,
) -> Result<Value, OperationError> {
    fact(
        host,
        &crate::facts::files::FindInFile,
        &[
            ("path", json!(path)),
            ("pattern", json!(pattern)),
            ("interpolate_variables", json!(interpolate)),
            ("extended_regex", json!(extended)),
        ],
    )
    .await
}

/// Current content of `path` for `--diff` (`None` when missing).
async fn current_content(
    host: &dyn OpHost,
    path: &str,
) -> Result<Option<Vec<String>>, OperationError> {
    let v = fact(
        host,
        &crate::facts::files::FileContents,
        &[("path", json!(path))],
    )
    .await?;
    Ok(v.as_array()
        .map(|a| a.iter().map(crate::python::python_str).collect()))
}

fn with_newlines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

define_op! {
    /// Ensure a line is (or is not) in a file, replacing matching lines if asked.
    ///
    /// Deploy example: `files.line(path="/etc/ssh/sshd_config", line="^PermitRootLogin", replace="PermitRootLogin no")`
    Line = "files.line";
    params: [required "path" = "the file to edit",
             required "line" = "the line (a regex matching it, unless escaped)",
             optional "present" = "whether the line should be in the file (default True)",
             optional "replace" = "the line to write in place of the matching one",
             optional "flags" = "sed flags for the edit",
             optional "backup" = "keep a timestamped copy of the file before editing",
             optional "interpolate_variables" = "let the shell expand `$VARS` in the text",
             optional "escape_regex_characters" = "match the text literally rather than as a regex",
             optional "ensure_newline" = "add a newline before appending when the file lacks a final one",
             optional "extended_regex" = "read patterns as extended regular expressions"];
    touches: "path";
    generate: line;
}

pub(crate) async fn line(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let mut text = a.str("line")?;
    let present = a.bool_or("present", true);
    let interpolate = a.bool_or("interpolate_variables", false);
    let escape = a.bool_or("escape_regex_characters", false);
    let extended = a.bool_or("extended_regex", false);
    let backup = a.bool_or("backup", false);
    let flags = a.list("flags")?;
    let match_line = adjust_regex(&text, escape);
    let mut present_lines = find_in_file(host, &path, &match_line, interpolate, extended).await?;
    let replace = a.nonempty("replace");
    match &replace {
        Some(r) => text = r.clone(),
        None => {
            if !escape {
                text = strip_regex_anchors(&text).to_string();
            }
        }
    }
    let line_bit = if interpolate {
        Bit::from(format!("\"{text}\""))
    } else {
        q(&text)
    };
    let mut echo = if a.bool_or("ensure_newline", false) {
        formatted(
            "( [ $(tail -c1 {1} | wc -l) -eq 0 ] && echo ; echo {0} ) >> {1}",
            &[line_bit, q(&path)],
        )
    } else {
        formatted("echo {0} >> {1}", &[line_bit, q(&path)])
    };
    if backup {
        let backup_name = format!("{path}.{}", crate::pinned::timestamp());
        echo = StringCommand::new([
            formatted("cp {0} {1} && ", &[q(&path), q(backup_name)]).into(),
            Bit::from(echo),
        ]);
    }
    let sed = Sed {
        filename: &path,
        flags: &flags,
        backup,
        interpolate_variables: interpolate,
        extended_regex: extended,
    };
    let shown = replace.clone().unwrap_or_else(|| text.clone());

    if !truthy(&present_lines) && present {
        if let Some(r) = &replace {
            let mut replace_line = r.clone();
            if !replace_line.starts_with('^') {
                replace_line = format!("^{replace_line}");
            }
            if !replace_line.ends_with('$') {
                replace_line.push('$');
            }
            present_lines = find_in_file(host, &path, &replace_line, interpolate, extended).await?;
        }
        if truthy(&present_lines) {
            out.noop(format!("line \"{shown}\" exists in {path}"));
        } else {
            if host.diff_enabled() {
                let old = current_content(host, &path).await?;
                let mut new = old.clone().unwrap_or_default();
                new.push(text.clone());
                out.diff(
                    &path,
                    old.as_deref().map(with_newlines),
                    with_newlines(&new),
                );
            }
            out.shell(echo);
        }
    } else if truthy(&present_lines) && !present {
        if host.diff_enabled() {
            if let Some(old) = current_content(host, &path).await? {
                let re = regex::Regex::new(&match_line).ok();
                let new: Vec<String> = old
                    .iter()
                    .filter(|l| !re.as_ref().is_some_and(|r| r.is_match(l)))
                    .cloned()
                    .collect();
                out.diff(&path, Some(with_newlines(&old)), with_newlines(&new));
            }
        }
        out.shell(sed.delete(&match_line));
    } else if truthy(&present_lines) && present {
        let lines: Vec<String> = present_lines
            .as_array()
            .map(|a| a.iter().map(crate::python::python_str).collect())
            .unwrap_or_default();
        match &replace {
            Some(r) if lines.iter().any(|l| l != r) => {
                if host.diff_enabled() {
                    if let Some(old) = current_content(host, &path).await? {
                        let re = regex::Regex::new(&match_line).ok();
                        let new: Vec<String> = old
                            .iter()
                            .map(|l| match &re {
                                Some(re) if re.is_match(l) => r.clone(),
                                _ => l.clone(),
                            })
                            .collect();
                        out.diff(&path, Some(with_newlines(&old)), with_newlines(&new));
                    }
                }
                out.shell(sed.replace(&match_line, r));
            }
            _ => out.noop(format!("line \"{shown}\" exists in {path}")),
        }
    } else {
        out.noop(format!("line \"{shown}\" does not exist in {path}"));
    }
    Ok(())
}

define_op! {
    /// Replace text in a file with `sed`.
    ///
    /// Deploy example: `files.replace(path="/etc/issue", text="Debian", replace="Our Debian")`
    Replace = "files.replace";
    params: [required "path" = "the file to edit",
             optional "text" = "the text (regex) to find",
             optional "replace" = "the text to put in place of the match",
             optional "flags" = "sed flags for the edit",
             optional "backup" = "keep a timestamped copy of the file before editing",
             optional "interpolate_variables" = "let the shell expand `$VARS` in the text",
             optional "extended_regex" = "read patterns as extended regular expressions",
             optional "match" = "only edit lines matching this"];
    touches: "path";
    generate: replace_inner;
}

pub(crate) async fn replace_inner(
    a: &Args<'_>,
    host: &dyn OpHost,
    out: &mut Out,
) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let text = match a.opt_str("text") {
        Some(t) => t,
        None => a.nonempty("match").ok_or_else(|| {
            a.invalid(
                "text",
                "Missing argument `text` required in `files.replace` operation",
            )
        })?,
    };
    let replace = a.opt_str("replace").ok_or_else(|| {
        a.invalid(
            "replace",
            "Missing argument `replace` required in `files.replace` operation",
        )
    })?;
    let interpolate = a.bool_or("interpolate_variables", false);
    let extended = a.bool_or("extended_regex", false);
    let flags = a.list("flags")?;
    let existing = find_in_file(host, &path, &text, interpolate, extended).await?;
    if existing.is_null() || truthy(&existing) {
        if host.diff_enabled() {
            if let Some(old) = current_content(host, &path).await? {
                let new: Vec<String> = match regex::Regex::new(&text) {
                    Ok(re) => old
                        .iter()
                        .map(|l| re.replace_all(l, regex::NoExpand(&replace)).into_owned())
                        .collect(),
                    Err(_) => old.clone(),
                };
                out.diff(&path, Some(with_newlines(&old)), with_newlines(&new));
            }
        }
        let sed = Sed {
            filename: &path,
            flags: &flags,
            backup: a.bool_or("backup", false),
            interpolate_variables: interpolate,
            extended_regex: extended,
        };
        out.shell(sed.replace(&text, &replace));
    } else {
        out.noop(format!("string \"{text}\" does not exist in {path}"));
    }
    Ok(())
}

define_op! {
    /// Ensure a marked block of lines is (or is not) in a file.
    ///
    /// Deploy example: `files.block(path="/etc/hosts", content="10.0.0.1 db", after=True, line="localhost")`
    Block = "files.block";
    params: [required "path" = "the file to edit",
             optional "content" = "the block's text (None with `present=False`)",
             optional "present" = "whether the block should be in the file (default True)",
             optional "line" = "a regex of the line to put the block before or after",
             optional "backup" = "keep a timestamped copy of the file before editing",
             optional "escape_regex_characters" = "match the text literally rather than as a regex",
             optional "try_prevent_shell_expansion" = "deprecated and ignored: the content is always written exactly as given",
             optional "before" = "put a new block before `line`",
             optional "after" = "put a new block after `line`",
             optional "marker" = "the marker lines' template, with `{mark}`",
             optional "begin" = "the begin marker's `{mark}` (default `BEGIN`)",
             optional "end" = "the end marker's `{mark}` (default `END`)"];
    touches: "path";
    generate: block;
}

async fn block(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let path = a.str("path")?;
    let (marker, begin, end) = (
        a.get("marker").cloned(),
        a.get("begin").cloned(),
        a.get("end").cloned(),
    );
    let (mark_1, mark_2) = crate::facts::block_markers(
        a.opt_str("marker").as_deref(),
        a.nonempty("begin").as_deref(),
        a.nonempty("end").as_deref(),
    );
    let current = fact(
        host,
        &crate::facts::files::Block,
        &[
            ("path", json!(path)),
            ("marker", marker.unwrap_or(Value::Null)),
            ("begin", begin.unwrap_or(Value::Null)),
            ("end", end.unwrap_or(Value::Null)),
        ],
    )
    .await?;
    let tmp_dir = host.temp_dir();
    let qp = || q(&path);
    let mut prep: Vec<Bit> = vec![Bit::from(format!(
        "OUT=\"$(TMPDIR={tmp_dir} mktemp -t pyinfra.XXXXXX)\" && "
    ))];
    if !current.is_null() {
        prep.extend([
            Bit::from("MODE=\"$(stat -c %a"),
            qp(),
            Bit::from("2>/dev/null || stat -f %Lp"),
            qp(),
            Bit::from("2>/dev/null)\" &&"),
        ]);
    }
    prep.extend([
        Bit::from("OWNER=\"$(stat -c \"%u:%g\""),
        qp(),
        Bit::from("2>/dev/null || stat -f \"%u:%g\""),
        qp(),
        Bit::from("2>/dev/null || echo $(id -un):$(id -gn))\" &&"),
    ]);
    let mut out_prep = StringCommand::new(prep);
    let mode_change = if current.is_null() {
        ""
    } else {
        " && chmod \"$MODE\""
    };
    let real_out = StringCommand::new([
        Bit::from(" && mv \"$OUT\""),
        qp(),
        Bit::from(" && chown \"$OWNER\""),
        qp(),
        Bit::from(mode_change),
        qp(),
    ]);
    if a.bool_or("backup", false) && !current.is_null() {
        out_prep = StringCommand::new([
            Bit::from("cp"),
            qp(),
            q(format!("{path}.{}", crate::pinned::timestamp())),
            Bit::from("&&"),
            out_prep.into(),
        ]);
    }
    let current_lines: Option<Vec<String>> = current
        .as_array()
        .map(|a| a.iter().map(crate::python::python_str).collect());

    if !a.bool_or("present", true) {
        match current_lines {
            None => out.noop("no remove required: file did not exist"),
            Some(l) if l.is_empty() => out.noop("no remove required: markers not found"),
            Some(_) => {
                let awk = StringCommand::new([format!("awk '/{mark_1}/,/{mark_2}/ {{next}} 1'")]);
                out.shell(StringCommand::new([
                    out_prep.into(),
                    awk.into(),
                    qp(),
                    Bit::from("> $OUT"),
                    real_out.into(),
                ]));
            }
        }
        return Ok(());
    }

    let content: Vec<String> = match a.get("content") {
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(crate::python::python_str).collect()
        }
        Some(Value::String(s)) if !s.is_empty() => s.split('\n').map(String::from).collect(),
        _ => {
            return Err(a.invalid(
                "content",
                "'content' must be supplied when 'present' == True",
            ))
        }
    };
    let (before, after) = (a.bool_or("before", false), a.bool_or("after", false));
    if a.get("line").is_some_and(|l| !l.is_string()) {
        return Err(a.invalid("line", "'line' must be a regex or a string"));
    }
    let line = a.nonempty("line");
    if line.is_some() {
        if before == after {
            return Err(a.invalid(
                "line",
                "only one of 'before' or 'after' used when 'line` is specified",
            ));
        }
    } else if before != after {
        return Err(a.invalid(
            "line",
            "'line' must be supplied or 'before' and 'after' must be equal",
        ));
    }
    let with_markers = [vec![mark_1.clone()], content.clone(), vec![mark_2.clone()]]
        .concat()
        .join("\n");
    let block_content = content.join("\n");
    let cmd = match &current_lines {
        None => Some(append_block(
            out_prep,
            real_out,
            None,
            before,
            &with_markers,
        )),
        Some(l) if l.is_empty() && before == after => Some(append_block(
            out_prep,
            real_out,
            Some(qp()),
            before,
            &with_markers,
        )),
        Some(l) if l.is_empty() => {
            let line = line.unwrap_or_default();
            let regex = adjust_regex(&line, a.bool_or("escape_regex_characters", false));
            let print_before = if before { "{ print }" } else { "" };
            let print_after = if after { "{ print }" } else { "" };
            let prog = format!(
                "awk 'BEGIN {{x=ARGV[2]; ARGV[2]=\"\"}} {print_after} f!=1 && /{regex}/ {{ print x; f=1}} END {{if (f==0) print x }} {print_before}'"
            );
            Some(StringCommand::new([
                out_prep.into(),
                Bit::from(prog),
                qp(),
                q(&with_markers),
                Bit::from("> \"$OUT\""),
                real_out.into(),
            ]))
        }
        Some(l) => {
            if *l != content {
                let prog = format!(
                    "awk 'BEGIN {{{{f=1; x=ARGV[2]; ARGV[2]=\"\"}}}}/{mark_1}/ {{print; print x; f=0}} /{mark_2}/ {{print; f=1; next}} f'"
                );
                Some(StringCommand::new([
                    out_prep.into(),
                    Bit::from(prog),
                    qp(),
                    q(&block_content),
                    Bit::from("> \"$OUT\""),
                    real_out.into(),
                ]))
            } else {
                out.noop("content already present");
                None
            }
        }
    };
    if let Some(cmd) = cmd {
        if host.diff_enabled() {
            let old = current_content(host, &path).await?;
            let new = match &old {
                Some(lines) => {
                    let mut v = lines.clone();
                    v.push(with_markers.clone());
                    v
                }
                None => vec![with_markers.clone()],
            };
            out.diff(
                &path,
                old.as_deref().map(with_newlines),
                with_newlines(&new),
            );
        }
        out.shell(cmd);
    }
    Ok(())
}

fn append_block(
    out_prep: StringCommand,
    real_out: StringCommand,
    original: Option<Bit>,
    before: bool,
    with_markers: &str,
) -> StringCommand {
    let original = original.unwrap_or_else(|| q("/dev/null"));
    let (first, second) = if before {
        (Bit::from(" - "), original)
    } else {
        (original, Bit::from(" - "))
    };
    StringCommand::new([
        out_prep.into(),
        Bit::from("("),
        Bit::from("awk '{{print}}'"),
        first,
        second,
        Bit::from("> \"$OUT\""),
        Bit::from(format!("<<'PYINFRAHERE'\n{with_markers}\nPYINFRAHERE\n")),
        Bit::from(")"),
        real_out.into(),
    ])
}
