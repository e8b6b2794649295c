//! One command for many paths: the `stat` behind `File`, `Directory` and `Link`, and the
//! `sha1sum` (and kin) behind the hash facts.
//!
//! A batch that asks for seven paths' `File` facts would otherwise start seven `stat`s, each an
//! `execve` on the target, which dominates a second run's cost. Here the batch runs one `stat`
//! for all of them and each fact gets back the very line its own command would have printed, so
//! its parser is unchanged.
//!
//! Only plain paths take part (ASCII letters, digits, space and `/._+,:@%-`): the output names
//! each path, and for these the name can be matched back without knowing how the target's
//! `stat` quotes (no `=` either, so a name cannot look like one of the line's `key=value`
//! fields). Whenever anything is off (a non-GNU `stat`, a path that vanished between the
//! test and the `stat`, an unreadable file), the split gives up and every fact loads on its own.

use rinfra_connectors::{quoted, Bit, StringCommand};
use rinfra_core::{FactArgs, SharedLoad};

use crate::facts::files::{LINUX_STAT, STAT_REGEX};
use crate::facts::parse::{group, re_match};

/// The shared `stat` of `File`, `Directory` and `Link`.
pub(crate) static STAT: StatLoad = StatLoad;
/// The shared `sha1sum` of `Sha1File`.
pub(crate) static SHA1: HashLoad = HashLoad {
    binary: "sha1sum",
    digits: 40,
};
/// The shared `sha256sum` of `Sha256File`.
pub(crate) static SHA256: HashLoad = HashLoad {
    binary: "sha256sum",
    digits: 64,
};
/// The shared `sha384sum` of `Sha384File`.
pub(crate) static SHA384: HashLoad = HashLoad {
    binary: "sha384sum",
    digits: 96,
};
/// The shared `md5sum` of `Md5File`.
pub(crate) static MD5: HashLoad = HashLoad {
    binary: "md5sum",
    digits: 32,
};

/// A path whose name in `stat`/`sha1sum` output is the path itself (or it in single quotes).
fn plain_path(args: &FactArgs) -> Option<String> {
    let path = args.get("path")?.as_str()?;
    let plain = !path.is_empty()
        && !path.starts_with('~')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+,:@%- ".contains(&b));
    plain.then(|| path.to_string())
}

/// `set -- FIRST; for p in ITEMS; do if TEST; then set -- "$@" "$p"; fi; done; `: the items
/// that exist, as the positional parameters (each section runs in its own subshell).
fn existing_items(first: &str, test: &str, items: &[String]) -> Vec<Bit> {
    let mut bits = vec![Bit::from(format!("set -- {first}; for p in"))];
    bits.extend(items.iter().map(|i| quoted(i.as_str())));
    bits.push(Bit::from(format!(
        "; do if {test}; then set -- \"$@\" \"$p\"; fi; done;"
    )));
    bits
}

/// Give each of `count` items the one line `which` says is about it; `None` when a line is
/// about no item, or two lines about the same one.
fn lines_per_item(
    count: usize,
    lines: &[String],
    which: impl Fn(&str) -> Option<usize>,
) -> Option<Vec<Vec<String>>> {
    let mut out = vec![Vec::new(); count];
    for line in lines {
        let k = which(line)?;
        if !out[k].is_empty() {
            return None;
        }
        out[k].push(line.clone());
    }
    Some(out)
}

/// One `stat` for many paths; see the module docs.
pub(crate) struct StatLoad;

impl StatLoad {
    /// Which item a `stat` line is about: its `%N` is `'path'`, `'path' -> 'target'`, or the
    /// same unquoted under another `QUOTING_STYLE`.
    fn line_item(line: &str, items: &[String]) -> Option<usize> {
        let m = re_match(STAT_REGEX, line)?;
        let name = group(&m, 8);
        items.iter().position(|p| {
            let quoted = format!("'{p}'");
            [quoted.as_str(), p.as_str()]
                .iter()
                .any(|n| name == *n || name.strip_prefix(n).is_some_and(|r| r.starts_with(" -> ")))
        })
    }
}

impl SharedLoad for StatLoad {
    fn key(&self) -> &'static str {
        "stat"
    }

    fn item(&self, args: &FactArgs) -> Option<String> {
        plain_path(args)
    }

    fn command(&self, items: &[String]) -> StringCommand {
        // `/` first: a line the split checks, so a `stat` that prints something else (BSD's, or
        // an unexpected quoting) is caught even when no item exists.
        let mut bits = existing_items("/", r#"test -e "$p" || test -L "$p""#, items);
        bits.push(Bit::from(format!("{LINUX_STAT} -- \"$@\"")));
        StringCommand::new(bits)
    }

    fn split(
        &self,
        items: &[String],
        exit_code: i32,
        stdout: &[String],
    ) -> Option<Vec<Vec<String>>> {
        if exit_code != 0 {
            return None;
        }
        let (first, rest) = stdout.split_first()?;
        Self::line_item(first, &["/".to_string()])?;
        lines_per_item(items.len(), rest, |line| Self::line_item(line, items))
    }
}

/// One `sha1sum` (or `sha256sum`, `sha384sum`, `md5sum`) for many paths.
pub(crate) struct HashLoad {
    binary: &'static str,
    digits: usize,
}

impl SharedLoad for HashLoad {
    fn key(&self) -> &'static str {
        self.binary
    }

    fn item(&self, args: &FactArgs) -> Option<String> {
        plain_path(args)
    }

    fn command(&self, items: &[String]) -> StringCommand {
        // A directory has no hash (its own command prints nothing for one either); leaving it
        // out keeps the others' hashes when a batch asks about a directory.
        let mut bits = existing_items("", r#"test -e "$p" && ! test -d "$p""#, items);
        bits.push(Bit::from(format!(
            "[ $# -eq 0 ] || {} -- \"$@\"",
            self.binary
        )));
        StringCommand::new(bits)
    }

    fn split(
        &self,
        items: &[String],
        exit_code: i32,
        stdout: &[String],
    ) -> Option<Vec<Vec<String>>> {
        if exit_code != 0 {
            return None;
        }
        lines_per_item(items.len(), stdout, |line| {
            let (hash, name) = line.split_once("  ")?;
            let hex = hash.len() == self.digits && hash.bytes().all(|b| b.is_ascii_hexdigit());
            items.iter().position(|p| p == name).filter(|_| hex)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn stat_line(name: &str, mode: &str) -> String {
        format!("user=root group=root mode={mode} atime=1 mtime=2 ctime=3 size=4 {name}")
    }

    #[test]
    fn only_plain_paths_share() {
        let args = |p: &str| {
            serde_json::json!({ "path": p })
                .as_object()
                .unwrap()
                .clone()
        };
        assert_eq!(
            STAT.item(&args("/srv/app 1/x.conf")),
            Some("/srv/app 1/x.conf".into())
        );
        for odd in [
            "~/x",
            "/a'b",
            "/a\nb",
            "/a\\b",
            "/a$(x)",
            "/é",
            "/a->b",
            "/a size=1",
            "",
        ] {
            assert_eq!(STAT.item(&args(odd)), None, "{odd:?}");
        }
        assert_eq!(STAT.item(&FactArgs::new()), None);
    }

    #[test]
    fn stat_command_quotes_items() {
        let cmd = STAT.command(&items(&["/a b", "/c"]));
        assert_eq!(
            cmd.get_raw_value(),
            format!(
                r#"set -- /; for p in '/a b' /c ; do if test -e "$p" || test -L "$p"; then set -- "$@" "$p"; fi; done; {LINUX_STAT} -- "$@""#
            )
        );
    }

    #[test]
    fn stat_lines_go_to_their_paths() {
        let list = items(&["/srv/a", "/srv/missing", "/srv/l", "/srv/a b"]);
        let out = [
            stat_line("'/'", "drwxr-xr-x"),
            stat_line("'/srv/l' -> '/srv/a'", "lrwxrwxrwx"),
            stat_line("'/srv/a'", "-rw-r--r--"),
            stat_line("/srv/a b", "-rw-r--r--"),
        ];
        let split = STAT.split(&list, 0, &out).unwrap();
        assert_eq!(split[0], vec![out[2].clone()]);
        assert!(split[1].is_empty(), "a missing path has no line, as alone");
        assert_eq!(split[2], vec![out[1].clone()]);
        assert_eq!(split[3], vec![out[3].clone()]);
    }

    #[test]
    fn stat_output_in_doubt_is_not_split() {
        let list = items(&["/srv/a"]);
        let root = stat_line("'/'", "drwxr-xr-x");
        let a = stat_line("'/srv/a'", "-rw-r--r--");
        // A failed `stat` (a path vanished, BSD `stat -c`), no `/` line, an unknown name, a
        // path twice, a line that is not `stat`'s.
        assert_eq!(STAT.split(&list, 1, &[root.clone(), a.clone()]), None);
        assert_eq!(STAT.split(&list, 0, std::slice::from_ref(&a)), None);
        assert_eq!(STAT.split(&list, 0, &[]), None);
        let other = stat_line("'/srv/b'", "-rw-r--r--");
        assert_eq!(STAT.split(&list, 0, &[root.clone(), other]), None);
        assert_eq!(STAT.split(&list, 0, &[root.clone(), a.clone(), a]), None);
        assert_eq!(STAT.split(&list, 0, &[root, "usage: stat".into()]), None);
    }

    #[test]
    fn hash_lines_go_to_their_paths() {
        let list = items(&["/a", "/b", "/c d"]);
        let h = "0123456789abcdef0123456789abcdef01234567";
        let out = [format!("{h}  /c d"), format!("{h}  /a")];
        let split = SHA1.split(&list, 0, &out).unwrap();
        assert_eq!(
            split,
            vec![vec![out[1].clone()], vec![], vec![out[0].clone()]]
        );
        assert_eq!(
            SHA1.split(&list, 0, &[]).unwrap(),
            vec![Vec::<String>::new(); 3]
        );
        assert_eq!(SHA1.split(&list, 1, &out), None, "an unreadable file");
        assert_eq!(SHA256.split(&list, 0, &out), None, "not a sha256");
        assert_eq!(SHA1.split(&list, 0, &[format!("{h}  /x")]), None);
        assert_eq!(
            SHA1.command(&list).get_raw_value(),
            r#"set -- ; for p in /a /b '/c d' ; do if test -e "$p" && ! test -d "$p"; then set -- "$@" "$p"; fi; done; [ $# -eq 0 ] || sha1sum -- "$@""#
        );
    }
}
