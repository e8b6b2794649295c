//! Differential tests: the same deploy run by pyinfra 3.10 itself and by `rinfra`, against
//! `@local` on fresh temp directories, twice each with `-y`. Compared per run: the exit code,
//! the operations in order (the "tree" of `--> Starting operation:` labels), each operation's
//! per-host result (Success / No changes / Error ...), the Success / No changes / Error counts,
//! pyinfra's Results table when it prints one, and the files the deploy left on disk.
//!
//! pyinfra comes from PyPI: `pyinfra==3.10.0` pip-installed once into a virtualenv cached under
//! the cargo target dir (`CARGO_TARGET_TMPDIR`), keyed by the version. `rinfra` runs without that
//! virtualenv active (no `VIRTUAL_ENV`, no `PYTHONPATH`), so it only ever sees its own `pyinfra`.
//!
//! Each deploy is written once with `@ROOT@` standing for the directory it runs in; every tool
//! gets its own directory, and in both tools' output that directory is replaced by `<ROOT>`
//! before comparing. Deploys write only under `<ROOT>/out`, which is what is compared on disk.

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use util::TestDir;

const PYINFRA_VERSION: &str = "3.10.0";

// ---------------------------------------------------------------------------------------------
// The reference pyinfra, in a cached virtualenv
// ---------------------------------------------------------------------------------------------

/// `<venv>/bin/pyinfra` of a virtualenv holding `pyinfra==3.10.0`, made once (per machine and
/// target dir: later test runs reuse it). A lock file serialises test binaries that race to
/// make it; a marker file says the install finished.
fn pyinfra_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).unwrap();
        let venv = base.join(format!("pyinfra-{PYINFRA_VERSION}-venv"));
        let marker = base.join(format!("pyinfra-{PYINFRA_VERSION}-venv.ok"));
        let bin = venv.join("bin/pyinfra");
        let lock = std::fs::File::create(base.join(format!("pyinfra-{PYINFRA_VERSION}-venv.lock")))
            .unwrap();
        // SAFETY: flock on a descriptor we own; released when `lock` is dropped (closed).
        let rc = unsafe {
            use std::os::fd::AsRawFd;
            libc::flock(lock.as_raw_fd(), libc::LOCK_EX)
        };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        if !(marker.exists() && reports_version(&bin)) {
            let _ = std::fs::remove_file(&marker);
            let _ = std::fs::remove_dir_all(&venv);
            let ok = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 -m venv")
                .success();
            assert!(ok, "python3 -m venv {} failed", venv.display());
            let out = Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "--disable-pip-version-check"])
                .arg(format!("pyinfra=={PYINFRA_VERSION}"))
                .stdin(Stdio::null())
                .output()
                .expect("pip install");
            assert!(
                out.status.success(),
                "pip install pyinfra=={PYINFRA_VERSION} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                reports_version(&bin),
                "{} is not v{PYINFRA_VERSION}",
                bin.display()
            );
            std::fs::write(&marker, "").unwrap();
        }
        drop(lock);
        bin
    })
}

fn reports_version(bin: &Path) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains(&format!("v{PYINFRA_VERSION}"))
        })
}

// ---------------------------------------------------------------------------------------------
// Running a deploy with one tool, and reading its output
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Pyinfra,
    Rinfra,
}

/// One operation as a run printed it: its label and its per-host result lines.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Op {
    label: String,
    /// Result per host, in order (see [`category`]).
    statuses: Vec<String>,
    /// Every `[host] ...` line printed under the operation, whole (results, retries, timeouts:
    /// `[@local] Error: executed 0 commands`), for the strict checks.
    lines: Vec<String>,
}

/// What one run of one tool showed.
#[derive(Debug)]
struct RunView {
    code: i32,
    ops: Vec<Op>,
    /// The Results table's rows (cells split on runs of 2+ spaces), if one was printed.
    table: Option<Vec<Vec<String>>>,
    /// The files under `<ROOT>/out` after the run.
    disk: BTreeMap<String, Entry>,
    /// Everything printed (normalised), for failure messages.
    text: String,
}

impl RunView {
    fn labels(&self) -> Vec<&str> {
        self.ops.iter().map(|o| o.label.as_str()).collect()
    }

    fn statuses(&self) -> Vec<(&str, Vec<String>)> {
        self.ops
            .iter()
            .map(|o| (o.label.as_str(), o.statuses.clone()))
            .collect()
    }

    /// (Success, No changes, Error) over all host result lines; ignored errors count as
    /// errors and `_if`-skipped operations as no changes, as in both tools' Results tables.
    fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in self.ops.iter().flat_map(|o| &o.statuses) {
            if s.starts_with("Success") {
                c.success += 1;
            } else if s.starts_with("No changes") || s == "Skipped" {
                c.no_changes += 1;
            } else {
                c.error += 1;
            }
        }
        c
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    success: usize,
    no_changes: usize,
    error: usize,
}

const fn counts(success: usize, no_changes: usize, error: usize) -> Counts {
    Counts {
        success,
        no_changes,
        error,
    }
}

/// A file-system entry under `<ROOT>/out`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, content: String },
    Symlink { target: String },
}

/// A deploy: files (paths relative to the run directory; `@ROOT@` in their text is replaced by
/// that directory) and the inventory/deploy arguments.
struct Case {
    files: Vec<(&'static str, String)>,
    args: Vec<&'static str>,
}

impl Case {
    fn deploy(deploy_py: &str) -> Self {
        Self {
            files: vec![("deploy.py", deploy_py.to_string())],
            args: vec!["@local", "deploy.py"],
        }
    }

    fn with_file(mut self, path: &'static str, text: &str) -> Self {
        self.files.push((path, text.to_string()));
        self
    }

    fn with_args(mut self, args: &[&'static str]) -> Self {
        self.args = args.to_vec();
        self
    }

    /// Two runs of this deploy by `tool` in a fresh directory.
    fn run(&self, tool: Tool) -> [RunView; 2] {
        let dir = TestDir::new();
        let root = dir.path().display().to_string();
        for (path, text) in &self.files {
            dir.write(path, &text.replace("@ROOT@", &root));
        }
        let mut args = self.args.clone();
        args.push("-y");
        let once = || {
            let out = match tool {
                Tool::Pyinfra => Command::new(pyinfra_bin())
                    .args(&args)
                    .current_dir(dir.path())
                    .env_remove("NO_COLOR")
                    .stdin(Stdio::null())
                    .output()
                    .unwrap(),
                // Not inside the virtualenv: rinfra must only see its own pyinfra package.
                Tool::Rinfra => dir
                    .cmd(&args)
                    .env_remove("VIRTUAL_ENV")
                    .env_remove("PYTHONPATH")
                    .env_remove("PYTHONHOME")
                    .output()
                    .unwrap(),
            };
            // Both tools log to stderr and print nothing on stdout for these deploys; stdout
            // is read first in case a version prints there.
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let text = strip_ansi(&text).replace(&root, "<ROOT>");
            let (ops, table) = parse(&text);
            RunView {
                code: out.status.code().unwrap_or(-1),
                ops,
                table,
                disk: snapshot(&dir.join("out"), &root),
                text,
            }
        };
        let first = once();
        let second = once();
        [first, second]
    }
}

/// Click only colours a terminal, and rinfra honours NO_COLOR; strip escapes anyway.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The result in a per-host line's text (after `[host] `), or None for other host lines
/// (`Connected`, `Ready: deploy.py`, `Retrying ...`, an exception's text...). Success and
/// No changes are kept whole (`Success on retry 1`); errors by their kind only, without the
/// description after the colon (compared in the strict mode).
fn category(rest: &str) -> Option<&str> {
    if rest.starts_with("Success") || rest.starts_with("No changes") {
        Some(rest)
    } else if rest == "Skipped" {
        Some("Skipped")
    } else if rest.starts_with("Error (ignored, execution continued)") {
        Some("Error (ignored, execution continued)")
    } else if rest.starts_with("Error (ignored)") {
        Some("Error (ignored)")
    } else if rest == "Error" || rest.starts_with("Error: ") {
        Some("Error")
    } else {
        None
    }
}

/// Operations (`--> Starting [serial, run once ]operation: LABEL`, each followed by its host
/// result lines `    [HOST] STATUS`) and the Results table.
fn parse(text: &str) -> (Vec<Op>, Option<Vec<Vec<String>>>) {
    let mut ops: Vec<Op> = Vec::new();
    let mut table: Option<Vec<Vec<String>>> = None;
    let mut in_table = false;
    for line in text.lines() {
        if in_table {
            if line.starts_with("    ") && !line.trim().is_empty() {
                let cells = line
                    .trim()
                    .split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                table.as_mut().unwrap().push(cells);
                continue;
            }
            in_table = false;
        }
        if line == "--> Results:" {
            in_table = true;
            table = Some(Vec::new());
        } else if let Some(rest) = line.strip_prefix("--> Starting ") {
            if let Some((kinds, label)) = rest.split_once("operation: ") {
                // pyinfra prints `{name} {args}`, so an operation with `name=` and no shown
                // arguments ends in a space: invisible, not a difference.
                let label = label.trim_end();
                // `--> Starting serial, run once operation:` is kept as `(serial, run once) ...`.
                let label = match kinds.trim_end() {
                    "" => label.to_string(),
                    kinds => format!("({kinds}) {label}"),
                };
                ops.push(Op {
                    label,
                    statuses: Vec::new(),
                    lines: Vec::new(),
                });
            }
        } else if let Some(hostline) = line.trim_start().strip_prefix('[') {
            if let (Some((_, rest)), Some(op)) = (hostline.split_once("] "), ops.last_mut()) {
                if let Some(cat) = category(rest) {
                    op.statuses.push(cat.to_string());
                }
                op.lines.push(line.trim().to_string());
            }
        }
    }
    (ops, table)
}

/// Every entry under `out`, keyed by its path relative to it; the run directory in file
/// contents and link targets is replaced by `<ROOT>`.
fn snapshot(out: &Path, root: &str) -> BTreeMap<String, Entry> {
    use std::os::unix::fs::PermissionsExt;
    let mut map = BTreeMap::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let rel = p
            .strip_prefix(out)
            .unwrap()
            .display()
            .to_string()
            .replace('\\', "/");
        let rel = if rel.is_empty() { ".".into() } else { rel };
        let mode = meta.permissions().mode() & 0o7777;
        let entry = if meta.file_type().is_symlink() {
            Entry::Symlink {
                target: std::fs::read_link(&p)
                    .unwrap()
                    .display()
                    .to_string()
                    .replace(root, "<ROOT>"),
            }
        } else if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            Entry::Dir { mode }
        } else {
            Entry::File {
                mode,
                content: String::from_utf8_lossy(&std::fs::read(&p).unwrap())
                    .replace(root, "<ROOT>"),
            }
        };
        map.insert(rel, entry);
    }
    map
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

/// How strictly to compare the two tools' result lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// The category of each result (Success, No changes, Skipped, Error, Error (ignored)...).
    Categories,
    /// Also every host line under each operation, whole (`Error: executed 0 commands`,
    /// `Retrying ...`), and, also after a failure, whether a Results table is printed at all.
    Lines,
}

/// Runs `case` with both tools and asserts rinfra showed what pyinfra showed. `expected` is
/// what pyinfra itself must count on each run (so the parsing and the deploy are checked, not
/// only the agreement). Returns both tools' runs for case-specific checks.
fn differential(case: &Case, expected: [Counts; 2]) -> ([RunView; 2], [RunView; 2]) {
    differential_with(case, expected, Strictness::Categories)
}

fn differential_with(
    case: &Case,
    expected: [Counts; 2],
    strictness: Strictness,
) -> ([RunView; 2], [RunView; 2]) {
    let py = case.run(Tool::Pyinfra);
    let rs = case.run(Tool::Rinfra);
    for (i, (p, r)) in py.iter().zip(&rs).enumerate() {
        let n = i + 1;
        let ctx = || {
            format!(
                "run {n} (left: rinfra, right: pyinfra)\n===== pyinfra (exit {})\n{}\n===== rinfra (exit {})\n{}",
                p.code, p.text, r.code, r.text
            )
        };
        // The parser saw pyinfra's operations, one result per host each.
        assert!(!p.ops.is_empty(), "no operations parsed: {}", ctx());
        for op in &p.ops {
            assert!(
                op.statuses.len() <= 1,
                "{}: several results: {}",
                op.label,
                ctx()
            );
        }
        assert_eq!(p.counts(), expected[i], "pyinfra's own counts: {}", ctx());

        assert_eq!(r.labels(), p.labels(), "operation tree differs: {}", ctx());
        assert_eq!(r.statuses(), p.statuses(), "results differ: {}", ctx());
        assert_eq!(r.counts(), p.counts(), "counts differ: {}", ctx());
        assert_eq!(r.code, p.code, "exit codes differ: {}", ctx());
        if strictness == Strictness::Lines {
            let lines = |v: &RunView| -> Vec<(String, Vec<String>)> {
                v.ops
                    .iter()
                    .map(|o| (o.label.clone(), o.lines.clone()))
                    .collect()
            };
            assert_eq!(lines(r), lines(p), "result lines differ: {}", ctx());
        }
        // pyinfra prints no Results table after `No hosts remaining!`; compare the tables
        // where it prints one (presence too, in the strict mode).
        if p.table.is_some() || strictness == Strictness::Lines {
            assert_eq!(r.table, p.table, "Results tables differ: {}", ctx());
        }
        assert_eq!(r.disk, p.disk, "files on disk differ after {}", ctx());
    }
    (py, rs)
}

/// The content of a file under `<ROOT>/out` as a run left it.
fn content<'a>(run: &'a RunView, path: &str) -> &'a str {
    match run.disk.get(path) {
        Some(Entry::File { content, .. }) => content,
        other => panic!("{path}: {other:?}\n{}", run.text),
    }
}

// ---------------------------------------------------------------------------------------------
// The deploys
// ---------------------------------------------------------------------------------------------

#[test]
fn files_directory_file_put_line_link_template_and_shell() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=f"{OUT}/dir", mode="750")
files.file(path=f"{OUT}/dir/empty.txt")
files.file(path=f"{OUT}/dir/moded.txt", mode="640")
files.put(src="local.txt", dest=f"{OUT}/put.txt", mode="644")
files.put(src="local.txt", dest=f"{OUT}/dir/edited.txt")
files.line(path=f"{OUT}/dir/edited.txt", line="appended line")
files.line(path=f"{OUT}/dir/edited.txt", line="^second.*$", replace="second = 2")
files.link(path=f"{OUT}/link", target=f"{OUT}/put.txt")
files.template(src="templates/conf.j2", dest=f"{OUT}/conf", app="web", ports=[80, 443])
files.replace(path=f"{OUT}/conf", text="port=80", replace="port=8080")
files.file(path=f"{OUT}/absent", present=False)
files.directory(path=f"{OUT}/absent-dir", present=False)
server.shell(commands=[f"echo shell >> {OUT}/shell.log"], name="Append to the log")
server.shell(commands=[f"test -L {OUT}/link", f"echo two >> {OUT}/shell.log"])
"#,
    )
    .with_file("local.txt", "first line\nsecond = 1\n")
    .with_file(
        "templates/conf.j2",
        "app={{ app }}\n{% for p in ports %}port={{ p }}\n{% endfor %}host={{ host.name }}\n",
    );
    // Run 2: the put of edited.txt re-uploads (files.line changed it), so both line edits
    // apply again; the template re-renders (files.replace changed it) and the replace applies
    // again; the shells always run.
    let (py, _) = differential(&case, [counts(12, 2, 0), counts(7, 7, 0)]);
    let out = &py[1];
    assert_eq!(content(out, "put.txt"), "first line\nsecond = 1\n");
    assert_eq!(
        content(out, "dir/edited.txt"),
        "first line\nsecond = 2\nappended line\n"
    );
    assert_eq!(
        content(out, "conf"),
        "app=web\nport=8080\nport=443\nhost=@local\n"
    );
    assert_eq!(content(out, "shell.log"), "shell\ntwo\nshell\ntwo\n");
    assert_eq!(
        out.disk.get("link"),
        Some(&Entry::Symlink {
            target: "<ROOT>/out/put.txt".into()
        })
    );
    assert_eq!(out.disk.get("dir"), Some(&Entry::Dir { mode: 0o750 }));
}

/// pyinfra labels an in-memory `src` as `StringIO(hash=<sha1 of the content>)`.
#[test]
#[ignore = "rinfra labels files.put(src=io.StringIO(...)) as src={'content': '...'}, pyinfra as src=StringIO(hash=<sha1>)"]
fn files_put_from_stringio() {
    let case = Case::deploy(
        r#"
import io
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.put(src=io.StringIO("from a StringIO\n"), dest=f"{OUT}/io.txt", mode="600")
"#,
    );
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert_eq!(
        py[0].ops[1].label,
        "files.put (src=StringIO(hash=37f06ee0ce0508d616ddf8dc4037d75bcb06ace2), dest=<ROOT>/out/io.txt, mode=600)"
    );
}

#[test]
fn loops_plain_for_and_host_loop() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
for name in ["a", "b", "c"]:
    files.file(path=f"{OUT}/plain-{name}")

for name in host.loop(["x", "y"]):
    files.directory(path=f"{OUT}/loop-{name}")
    for i in host.loop(range(2)):
        files.line(path=f"{OUT}/loop-{name}/lines", line=f"{name}{i}")

for i, cmd in enumerate(["one", "two"]):
    server.shell(commands=[f"echo {i}-{cmd} >> {OUT}/shell.log"], name=f"Shell {i}")
"#,
    );
    let (py, _) = differential(&case, [counts(11, 0, 0), counts(2, 9, 0)]);
    assert_eq!(content(&py[1], "loop-y/lines"), "y0\ny1\n");
    assert_eq!(content(&py[1], "shell.log"), "0-one\n1-two\n0-one\n1-two\n");
}

#[test]
fn deploy_functions_nested_and_with_data_defaults() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from tasks.web import install_web, outer, unnamed

OUT = "@ROOT@/out"
install_web(OUT)
outer(f"{OUT}/o")
unnamed(OUT)
install_web(f"{OUT}/override", _sudo=False)
"#,
    )
    .with_file("tasks/__init__.py", "")
    .with_file(
        "tasks/web.py",
        r#"
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server

@deploy("Install web", data_defaults={"web_root": "www"})
def install_web(base):
    files.directory(path=f"{base}/{host.data.web_root}")
    files.file(path=f"{base}/{host.data.web_root}/index.html")

@deploy("Outer")
def outer(base):
    install_web(base)
    server.shell(commands=[f"echo outer >> {base}/outer.log"])

@deploy()
def unnamed(base):
    files.file(path=f"{base}/unnamed")
"#,
    );
    let (py, _) = differential(&case, [counts(8, 0, 0), counts(1, 7, 0)]);
    assert!(py[0].disk.contains_key("o/www/index.html"), "{:?}", py[0]);
}

/// `_if=op.did_change` is read when the operation executes: on the first run the directory is
/// made and the shell runs; on the second it is not, and pyinfra prints `No changes` for the
/// conditioned operation.
#[test]
fn if_did_change_is_false_on_the_second_run() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
made = files.directory(path=f"{OUT}/flag")
server.shell(commands=[f"echo changed >> {OUT}/flag.log"], _if=made.did_change)
server.shell(commands=[f"echo never >> {OUT}/never.log"], _if=lambda: False)
server.shell(commands=[f"echo listed >> {OUT}/list.log"], _if=[made.did_change, lambda: True])
"#,
    );
    let (py, _) = differential(&case, [counts(3, 1, 0), counts(0, 4, 0)]);
    assert_eq!(content(&py[1], "flag.log"), "changed\n");
}

/// `_if` conditions that hold on both runs: `did_change` of an operation that always changes,
/// `did_succeed`, a list of callables, and `did_error` of an ignored failure, read at execute
/// time. The run succeeds, so both tools print a Results table (ignored errors counted).
#[test]
fn if_did_change_and_did_succeed_when_true() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
stamp = server.shell(commands=[f"echo stamp >> {OUT}/stamp.log"])
server.shell(commands=[f"echo after-change >> {OUT}/changed.log"], _if=stamp.did_change)
server.shell(commands=[f"echo after-success >> {OUT}/succeeded.log"], _if=stamp.did_succeed)
server.shell(commands=[f"echo both >> {OUT}/both.log"], _if=[stamp.did_change, lambda: True])
failed = server.shell(commands=["exit 3"], _ignore_errors=True)
server.shell(commands=[f"echo after-error >> {OUT}/errored.log"], _if=failed.did_error)
"#,
    );
    let (py, _) = differential(&case, [counts(6, 0, 1), counts(5, 1, 1)]);
    assert_eq!(
        content(&py[1], "changed.log"),
        "after-change\nafter-change\n"
    );
    assert_eq!(content(&py[1], "both.log"), "both\nboth\n");
}

#[test]
fn python_call_functions_run_at_execute_time() {
    let case = Case::deploy(
        r#"
import pathlib
from pyinfra import host
from pyinfra.operations import files, python

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.file(path=f"{OUT}/made-by-op")

def record(path, word="default"):
    # Runs when the operation executes, after files.file above made its file.
    exists = pathlib.Path(f"{OUT}/made-by-op").exists()
    with open(path, "a") as f:
        f.write(f"{word} {exists}\n")

def via_shell():
    ok, output = host.run_shell_command(f"echo shell >> {OUT}/via-shell.log")
    assert ok

python.call(function=record, path=f"{OUT}/called.log")
python.call(function=record, path=f"{OUT}/called.log", word="named", name="Named call")
python.call(function=via_shell)
"#,
    );
    let (py, _) = differential(&case, [counts(5, 0, 0), counts(3, 2, 0)]);
    assert_eq!(
        content(&py[1], "called.log"),
        "default True\nnamed True\ndefault True\nnamed True\n"
    );
}

/// A custom `FactBase` and built-in facts, read while the deploy file runs (before any
/// operation executes): on the first run the files are not there yet, so the branches differ
/// between the two runs.
#[test]
fn custom_fact_and_get_fact_branching() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.facts.files import Directory, File, FindFiles
from pyinfra.facts.server import Command, Os
from pyinfra.operations import files, server

OUT = "@ROOT@/out"

class Marker(FactBase):
    def command(self, path):
        return f"cat {path} 2>/dev/null || echo missing"

    def process(self, output):
        return output[0].strip()

class LineCount(FactBase):
    default = int

    def command(self, path):
        return f"test -f {path} && wc -l < {path} || true"

    def process(self, output):
        return int(output[0]) if output else 0

files.directory(path=OUT)
marker = host.get_fact(Marker, path=f"{OUT}/marker")
if marker == "missing":
    server.shell(commands=[f"echo first > {OUT}/marker"], name="Write the marker")
else:
    files.file(path=f"{OUT}/marker-was-{marker}")

if host.get_fact(File, path=f"{OUT}/marker") is None:
    files.file(path=f"{OUT}/file-fact-none")
else:
    files.file(path=f"{OUT}/file-fact-some")

if host.get_fact(Os) == "Linux":
    files.file(path=f"{OUT}/os-linux")
files.file(path=f"{OUT}/" + host.get_fact(Command, command="echo from-command"))
files.file(path=f"{OUT}/dir-" + ("none" if host.get_fact(Directory, path=OUT) is None else "some"))
files.file(path=f"{OUT}/found-{len(host.get_fact(FindFiles, path=OUT))}")
files.line(path=f"{OUT}/count", line=f"lines={host.get_fact(LineCount, path=f'{OUT}/count')}")
"#,
    );
    let (py, _) = differential(&case, [counts(8, 0, 0), counts(5, 3, 0)]);
    let second = &py[1];
    for path in [
        "marker-was-first",
        "file-fact-none",
        "file-fact-some",
        "os-linux",
        "from-command",
        "dir-none",
        "dir-some",
        "found-0",
    ] {
        assert!(second.disk.contains_key(path), "{path}: {second:?}");
    }
    assert_eq!(content(second, "count"), "lines=0\nlines=1\n");
}

#[test]
fn inventory_py_host_and_group_data() {
    let case = Case::deploy(
        r#"
from pyinfra import host, inventory
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=f"{OUT}/{host.data.env_name}")
for pkg in host.data.packages:
    files.file(path=f"{OUT}/{host.data.env_name}/{pkg}.pkg")
files.line(path=f"{OUT}/settings", line=f"role={host.data.role} port={host.data.port} site={host.data.site}")
if "web_servers" in host.groups:
    files.file(path=f"{OUT}/in-web-servers")
if host.data.get("missing_key", "fallback") == "fallback":
    files.file(path=f"{OUT}/default-used")
files.file(path=f"{OUT}/web-hosts-{len(inventory.get_group('web_servers'))}")
"#,
    )
    .with_file(
        "inventory.py",
        "web_servers = [(\"@local\", {\"role\": \"web\", \"port\": 8080})]\n",
    )
    .with_file(
        "group_data/all.py",
        "env_name = \"staging\"\npackages = [\"a\", \"b\"]\nport = 80\nsite = \"from-all\"\n",
    )
    .with_file("group_data/web_servers.py", "site = \"from-group\"\n")
    .with_args(&["inventory.py", "deploy.py"]);
    let (py, _) = differential(&case, [counts(7, 0, 0), counts(0, 7, 0)]);
    // Host data beats group data; a named group's data beats `all`.
    assert_eq!(
        content(&py[1], "settings"),
        "role=web port=8080 site=from-group\n"
    );
}

/// `_ignore_errors` lets the deploy go on; an unignored failure stops the host (exit 1,
/// later operations not run).
#[test]
fn ignored_and_fatal_errors() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.shell(commands=["exit 3"], _ignore_errors=True)
server.shell(commands=[f"touch {OUT}/after-ignored"])
server.shell(commands=[f"touch {OUT}/before-fail", "false", f"touch {OUT}/after-fail"])
files.file(path=f"{OUT}/not-reached")
"#,
    );
    let (py, _) = differential(&case, [counts(2, 0, 2), counts(1, 1, 2)]);
    assert_eq!(py[1].code, 1);
    assert_eq!(
        py[1].ops.len(),
        4,
        "an operation after the failure was started"
    );
    assert!(py[1].disk.contains_key("before-fail"));
    assert!(!py[1].disk.contains_key("after-fail"));
    assert!(!py[1].disk.contains_key("not-reached"));
}

/// `_continue_on_error=True` (with `_ignore_errors`): the remaining commands of the operation
/// still run, and pyinfra says so in the result line.
#[test]
#[ignore = "rinfra prints `Error (ignored): ...` where pyinfra prints `Error (ignored, execution continued): ...` for _continue_on_error=True"]
fn continue_on_error() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.shell(
    commands=[f"touch {OUT}/partial", "false", f"touch {OUT}/continued"],
    _ignore_errors=True,
    _continue_on_error=True,
)
files.file(path=f"{OUT}/after")
"#,
    );
    let (py, _) = differential(&case, [counts(2, 0, 1), counts(0, 2, 1)]);
    assert!(py[1].disk.contains_key("continued"));
}

/// The whole result lines of failed operations, and the Results table (pyinfra prints none
/// once `No hosts remaining!`).
#[test]
#[ignore = "rinfra's error lines differ (`Error: command failed (exit code 1) (executed 1 command(s))` vs pyinfra's `Error: executed 0 commands`), and rinfra prints a Results table after `No hosts remaining!` where pyinfra prints none"]
fn error_result_lines_and_no_results_table() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.shell(commands=["exit 3"], _ignore_errors=True)
server.shell(commands=[f"touch {OUT}/one", "false"])
"#,
    );
    let (py, _) = differential_with(&case, [counts(1, 0, 2), counts(0, 1, 2)], Strictness::Lines);
    assert!(py[0].table.is_none());
    assert_eq!(py[0].ops[2].lines, ["[@local] Error: executed 1 commands"]);
}

/// More operations and global arguments: an `@operation` called with keywords, files.block,
/// files.sync, server.script, files.file without touch, a recursive files.directory, an absent
/// link, `_chdir`, `_env`, `_shell_executable`, and `--data` on the command line.
#[test]
fn custom_operation_more_file_ops_and_global_arguments() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.api import operation, StringCommand, QuoteString
from pyinfra.facts.files import File
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)

@operation()
def ensure_line(path, line):
    if host.get_fact(File, path=path) is None:
        yield StringCommand("touch", QuoteString(path))
    yield f"grep -qxF '{line}' {path} || echo '{line}' >> {path}"

ensure_line(path=f"{OUT}/custom-op", line="x")
files.block(path=f"{OUT}/block", content="inside the block", try_prevent_shell_expansion=True)
files.sync(src="syncsrc", dest=f"{OUT}/synced")
server.script(src="script.sh")
files.file(path=f"{OUT}/moded", touch=False, mode="600")
files.directory(path=f"{OUT}/a/b/c", recursive=True, mode="700")
files.link(path=f"{OUT}/no-link", present=False)
server.shell(commands=["pwd > cwd.txt"], _chdir=OUT)
server.shell(commands=[f"echo $MY_VAR > {OUT}/env.txt"], _env={"MY_VAR": "from-env"})
server.shell(commands=[f"echo $((1 + 2)) >> {OUT}/bash.log"], _shell_executable="bash")
files.file(path=f"{OUT}/data-{host.data.who}")
"#,
    )
    .with_file("syncsrc/one.txt", "one\n")
    .with_file("syncsrc/sub/two.txt", "two\n")
    .with_file(
        "script.sh",
        "#!/bin/sh\necho script-ran >> @ROOT@/out/script.log\n",
    )
    .with_args(&["@local", "deploy.py", "--data", "who=me"]);
    // Run 2: the custom operation's grep always executes, as do the script and the shells.
    let (py, _) = differential(&case, [counts(11, 1, 0), counts(5, 7, 0)]);
    let second = &py[1];
    assert_eq!(content(second, "custom-op"), "x\n");
    assert_eq!(content(second, "synced/sub/two.txt"), "two\n");
    assert_eq!(content(second, "script.log"), "script-ran\nscript-ran\n");
    assert_eq!(content(second, "cwd.txt"), "<ROOT>/out\n");
    assert_eq!(content(second, "env.txt"), "from-env\n");
    assert_eq!(content(second, "bash.log"), "3\n3\n");
    assert!(second.disk.contains_key("data-me"), "{second:?}");
    assert_eq!(second.disk.get("a/b/c"), Some(&Entry::Dir { mode: 0o700 }));
}

/// pyinfra shows an `@operation`'s positional arguments as bare values.
#[test]
#[ignore = "rinfra labels an @operation called with positional arguments `ensure_line (0=<path>, 1=x)`; pyinfra `ensure_line (<path>, x)`"]
fn custom_operation_positional_arguments_label() {
    let case = Case::deploy(
        r#"
from pyinfra.api import operation
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)

@operation()
def ensure_line(path, line):
    yield f"grep -qxF '{line}' {path} 2>/dev/null || echo '{line}' >> {path}"

ensure_line(f"{OUT}/custom-op", "x")
"#,
    );
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(1, 1, 0)]);
    assert_eq!(py[0].ops[1].label, "ensure_line (<ROOT>/out/custom-op, x)");
}

/// pyinfra names `_serial` and `_run_once` operations in the header:
/// `--> Starting serial operation:`, `--> Starting run once operation:`.
#[test]
#[ignore = "rinfra prints `--> Starting operation:` for _serial/_run_once operations; pyinfra `--> Starting serial operation:` / `--> Starting run once operation:`"]
fn serial_and_run_once_operation_headers() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.shell(commands=[f"echo once >> {OUT}/once.log"], _run_once=True)
server.shell(commands=[f"echo serial >> {OUT}/serial.log"], _serial=True)
"#,
    );
    let (py, _) = differential(&case, [counts(3, 0, 0), counts(2, 1, 0)]);
    assert!(py[0].ops[1].label.starts_with("(run once) server.shell"));
}

/// pyinfra prefixes the operations of a `local.include`d file with that file's name.
#[test]
fn local_include_prefixes_its_operations() {
    let case = Case::deploy(
        r#"
from pyinfra import local
from pyinfra.operations import files

files.directory(path="@ROOT@/out")
local.include("tasks/inc.py")
"#,
    )
    .with_file(
        "tasks/inc.py",
        "from pyinfra.operations import files\nfiles.file(path=\"@ROOT@/out/included\")\n",
    );
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert_eq!(
        py[0].ops[1].label,
        "tasks/inc.py | files.file (path=<ROOT>/out/included)"
    );
}

/// An operation's output (`op.stdout`, `op.changed`) read in a `python.call` function after it
/// ran.
#[test]
#[ignore = "rinfra raises `RuntimeError: an earlier operation's output is not kept by rinfra yet` for op.stdout in a python.call function; pyinfra returns the output"]
fn operation_output_read_in_python_call() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, python, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
echo = server.shell(commands=["echo captured-output"])

def use_output():
    with open(f"{OUT}/captured", "w") as f:
        f.write(echo.stdout + "|" + str(echo.changed) + "\n")

python.call(function=use_output)
"#,
    );
    let (py, _) = differential(&case, [counts(3, 0, 0), counts(2, 1, 0)]);
    assert_eq!(content(&py[1], "captured"), "captured-output|True\n");
}

/// files.copy and files.move (pyinfra 3.10 has both).
#[test]
#[ignore = "rinfra has no files.copy or files.move (nor files.flags, files.unarchive, files.rsync): `AttributeError: module 'pyinfra.operations.files' has no attribute 'copy'`, exit 2"]
fn files_copy_and_move() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=f"{OUT}/dest")
files.put(src="local.txt", dest=f"{OUT}/src.txt")
files.copy(src=f"{OUT}/src.txt", dest=f"{OUT}/dest")
files.put(src="local.txt", dest=f"{OUT}/to-move.txt")
files.move(src=f"{OUT}/to-move.txt", dest=f"{OUT}/dest", overwrite=True)
"#,
    )
    .with_file("local.txt", "hello\n");
    let (py, _) = differential(&case, [counts(5, 0, 0), counts(2, 3, 0)]);
    assert_eq!(content(&py[1], "dest/to-move.txt"), "hello\n");
    assert!(!py[1].disk.contains_key("to-move.txt"));
}

/// A Jinja2 template using filters, methods, loops, tests and literals (pyinfra renders with
/// Jinja2, rinfra with minijinja's Python compatibility).
#[test]
fn template_jinja_features() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.template(src="templates/t.j2", dest=f"{OUT}/t", who="foo bar", mapping={"x": 1, "y": "two"}, flag=True)
"#,
    )
    .with_file(
        "templates/t.j2",
        r#"{% set items = ["b", "a", "c"] %}
joined={{ items | join(",") }} sorted={{ items | sort | join(",") }}
upper={{ who.upper() }} {{ who | upper }} {{ who | title }}
default={{ missing | default("dflt") }}
{% for k, v in mapping.items() %}{{ loop.index }}:{{ k }}={{ v }}
{% endfor %}
len={{ items | length }} first={{ items | first }} last={{ items[-1] }}
fmt={{ "%05d" | format(42) }}
rep={{ who.replace("o", "0") }} split={{ "a b c".split() }}
num={{ 7 // 2 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 3.14159 | round(2) }}
literals={{ true }} {{ none }} {{ items }} {{ mapping }}
tests={{ "a" in items }} {{ who is defined }} {{ nothing is defined }}
{% if flag %}flag on{% else %}flag off{% endif %}
{{ host.name }} {{ host.data.get("x", "nox") }}
{{ "trim me  " | trim }}|{{ who | replace("foo", "bar") }}|{{ [1,2,3] | sum }}|{{ [3,1] | max }}
{{ ", ".join(items) }}|{{ items | reverse | list }}
{%- for i in range(3) %} r{{ i }}{% endfor %}
"#,
    );
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert!(
        content(&py[0], "t").contains("literals=True None ['b', 'a', 'c'] {'x': 1, 'y': 'two'}\n"),
        "{:?}",
        py[0].disk
    );
}

/// Python's `%` string formatting in a template expression (Jinja2 supports it).
#[test]
#[ignore = "rinfra's template engine rejects `{{ \"%s-%s\" % (1, 2) }}`: `Error in template: /templates/t.j2 (L1): tried to use % operator on unsupported types string and sequence`"]
fn template_percent_formatting() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.template(src="templates/t.j2", dest=f"{OUT}/t")
"#,
    )
    .with_file("templates/t.j2", "pct={{ \"%s-%s\" % (1, 2) }}\n");
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert_eq!(content(&py[0], "t"), "pct=1-2\n");
}

/// `{% include %}` in a template: pyinfra's Jinja2 loader searches the current directory.
#[test]
#[ignore = "rinfra's templates cannot include: `Error in template: /templates/t.j2 (L1): tried to include non-existing template 'templates/part.j2'` (also for 'part.j2')"]
fn template_include() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.template(src="templates/t.j2", dest=f"{OUT}/t", who="me")
"#,
    )
    .with_file(
        "templates/t.j2",
        "{% include \"templates/part.j2\" %}\nend\n",
    )
    .with_file("templates/part.j2", "part for {{ who }}\n");
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert_eq!(content(&py[0], "t"), "part for me\nend\n");
}

/// `_retries` (a command that fails once), `_retry_until`, and `_timeout` with
/// `_ignore_errors`.
#[test]
fn retries_retry_until_and_timeout() {
    let case = Case::deploy(RETRY_DEPLOY);
    let (py, _) = differential(&case, [counts(3, 0, 1), counts(2, 1, 1)]);
    assert_eq!(py[0].ops[1].statuses, ["Success on retry 1"]);
    assert_eq!(content(&py[1], "tries"), "x\nx\nx\n");
}

const RETRY_DEPLOY: &str = r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.shell(
    commands=[f"echo x >> {OUT}/tries; test $(wc -l < {OUT}/tries) -ge 2"],
    _retries=3,
    _retry_delay=0,
)
server.shell(commands=["sleep 5"], _timeout=1, _ignore_errors=True)
server.shell(
    commands=[f"echo u >> {OUT}/until; wc -l < {OUT}/until"],
    _retries=3,
    _retry_delay=0,
    _retry_until=lambda output: "2" in "".join(output["stdout_lines"]),
)
"#;

/// The host lines pyinfra prints while retrying and on a timeout.
#[test]
#[ignore = "rinfra prints no `[@local] Retrying server.shell (attempt 1/3) after 0s...` line, and folds pyinfra's `[@local] Command timed out after 1s` + `[@local] Error (ignored): executed 0 commands` into `[@local] Error (ignored): command timed out after 1s (executed 1 command(s))`"]
fn retry_and_timeout_messages() {
    let case = Case::deploy(RETRY_DEPLOY);
    let (py, _) = differential_with(&case, [counts(3, 0, 1), counts(2, 1, 1)], Strictness::Lines);
    assert_eq!(
        py[0].ops[1].lines,
        [
            "[@local] Retrying server.shell (attempt 1/3) after 0s...",
            "[@local] Success on retry 1"
        ]
    );
}

/// An exception in the deploy code: nothing runs. pyinfra prints the traceback and exits 1.
#[test]
#[ignore = "rinfra exits 2 for an exception in deploy code (`error: the deploy failed on `@local``, `Caused by: deploy.py:3: NameError: ...`); pyinfra exits 1 (`--> An exception occurred in: deploy.py:` and the traceback)"]
fn exception_in_deploy_code() {
    let case = Case::deploy(
        "from pyinfra.operations import files\nfiles.directory(path=\"@ROOT@/out\")\nundefined_name + 1\n",
    );
    let py = case.run(Tool::Pyinfra);
    let rs = case.run(Tool::Rinfra);
    for (p, r) in py.iter().zip(&rs) {
        assert_eq!(p.code, 1, "{}", p.text);
        assert!(p.ops.is_empty() && p.disk.is_empty(), "{}", p.text);
        assert!(
            p.text
                .contains("NameError: name 'undefined_name' is not defined"),
            "{}",
            p.text
        );
        assert!(r.ops.is_empty() && r.disk.is_empty(), "{}", r.text);
        assert!(
            r.text
                .contains("NameError: name 'undefined_name' is not defined"),
            "{}",
            r.text
        );
        assert_eq!(r.code, p.code, "exit codes differ:\n{}\n{}", p.text, r.text);
    }
}

/// A custom fact whose command fails while the deploy code runs: the host fails with the
/// fact's name, nothing runs, exit 1.
#[test]
fn failing_custom_fact() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.operations import files

class Failing(FactBase):
    def command(self):
        return "echo out; exit 3"

    def process(self, output):
        return output

files.directory(path="@ROOT@/out")
host.get_fact(Failing)
files.file(path="@ROOT@/out/not-reached")
"#,
    );
    let py = case.run(Tool::Pyinfra);
    let rs = case.run(Tool::Rinfra);
    for (p, r) in py.iter().zip(&rs) {
        assert_eq!(p.code, 1, "{}", p.text);
        assert!(p.ops.is_empty() && p.disk.is_empty(), "{}", p.text);
        assert!(
            p.text.contains("could not load fact: builtins.Failing"),
            "{}",
            p.text
        );
        assert!(r.ops.is_empty() && r.disk.is_empty(), "{}", r.text);
        assert!(r.text.contains("Failing"), "the fact's name: {}", r.text);
        assert_eq!(r.code, p.code, "exit codes differ:\n{}\n{}", p.text, r.text);
    }
}

/// Removing directories and files, line removal/regex/replace edge cases, no-match replace,
/// blocks with markers and a nested block after a line, a link re-pointed, touch, a directory's
/// mode changed, a put into missing directories.
#[test]
fn file_operation_edge_cases() {
    let case = Case::deploy(
        r###"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=f"{OUT}/rm-dir/sub")
files.file(path=f"{OUT}/rm-dir/sub/f")
files.directory(path=f"{OUT}/rm-dir", present=False)
files.file(path=f"{OUT}/rm-file")
files.file(path=f"{OUT}/rm-file", present=False)
files.put(src="lines.txt", dest=f"{OUT}/lines")
files.line(path=f"{OUT}/lines", line="remove me", present=False)
files.line(path=f"{OUT}/lines", line="a.b [x] $HOME")
files.line(path=f"{OUT}/lines", line="^key=", replace="key=new")
files.line(path=f"{OUT}/lines", line="nomatch-here", replace="added")
files.replace(path=f"{OUT}/lines", text="zzz-no-match", replace="yyy")
files.block(path=f"{OUT}/block", content="line one\nline two", marker="## {mark} managed")
files.block(path=f"{OUT}/block", content="after x", marker="## {mark} second", line="line one", after=True)
files.link(path=f"{OUT}/l", target=f"{OUT}/lines")
files.link(path=f"{OUT}/l", target=f"{OUT}/block")
files.file(path=f"{OUT}/touched", touch=True)
files.directory(path=f"{OUT}/mode", mode="0755")
files.directory(path=f"{OUT}/mode", mode="0700")
files.put(src="lines.txt", dest=f"{OUT}/newdir/deep/lines")
"###,
    )
    .with_file("lines.txt", "keep\nremove me\nkey=old\n");
    let (py, _) = differential(&case, [counts(18, 1, 0), counts(17, 2, 0)]);
    let second = &py[1];
    assert_eq!(
        content(second, "lines"),
        "keep\nkey=new\na.b [x] $HOME\nadded\n"
    );
    assert_eq!(
        content(second, "block"),
        "## BEGIN managed\nline one\n## BEGIN second\nafter x\n## END second\nline two\n## END managed\n"
    );
    assert!(!second.disk.contains_key("rm-dir") && !second.disk.contains_key("rm-file"));
    assert_eq!(second.disk.get("mode"), Some(&Entry::Dir { mode: 0o700 }));
}

/// An operation given arguments it rejects at execute time: pyinfra's OperationValueError ends
/// the run with `--> Operation error in ...` and prints no result line for it; exit 1.
#[test]
#[ignore = "rinfra prints a result line `[@local] Error: invalid argument `line` for files.block: 'line' must be supplied or 'before' and 'after' must be equal (executed 0 command(s))` where pyinfra prints none (`--> Operation error in src/gevent/greenlet.py line 912: 'line' must be supplied or 'before' and 'after' must be equal`)"]
fn operation_argument_error() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.block(path=f"{OUT}/block", content="x", after="line one")
files.file(path=f"{OUT}/not-reached")
"#,
    );
    let (py, _) = differential(&case, [counts(1, 0, 0), counts(0, 1, 0)]);
    assert_eq!(py[0].code, 1);
    assert!(py[0].ops[1].statuses.is_empty());
}

/// Two deploy files in one run, server.script_template, and a `python.call` function that
/// raises (the host fails; later operations are not run).
#[test]
fn two_deploy_files_script_template_and_a_failing_python_call() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
server.script_template(src="templates/s.sh.j2", word="hello")
files.put(src="deploy.py", dest=f"{OUT}/deploy.copy")
"#,
    )
    .with_file(
        "templates/s.sh.j2",
        "#!/bin/sh\necho \"{{ word }}\" >> @ROOT@/out/st.log\n",
    )
    .with_file(
        "second.py",
        r#"
from pyinfra.operations import files, python

files.file(path="@ROOT@/out/from-second")

def boom():
    raise RuntimeError("callback says no")

python.call(function=boom)
files.file(path="@ROOT@/out/not-reached")
"#,
    )
    .with_args(&["@local", "deploy.py", "second.py"]);
    let (py, _) = differential(&case, [counts(4, 0, 1), counts(1, 3, 1)]);
    let second = &py[1];
    assert_eq!(second.code, 1);
    assert_eq!(content(second, "st.log"), "hello\nhello\n");
    assert!(second.disk.contains_key("from-second"));
    assert!(!second.disk.contains_key("not-reached"));
}

/// files.get: the file written on the controller gets the controller's umask (0644 here).
#[test]
#[ignore = "the file rinfra's files.get writes on the controller has mode 0600 (the remote file's); pyinfra's has 0644"]
fn files_get_to_the_controller() {
    let case = Case::deploy(
        r#"
from pyinfra.operations import files

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.put(src="deploy.py", dest=f"{OUT}/deploy.copy")
files.get(src=f"{OUT}/deploy.copy", dest=f"{OUT}/fetched.py")
"#,
    );
    let (py, _) = differential(&case, [counts(3, 0, 0), counts(0, 3, 0)]);
    assert_eq!(
        content(&py[1], "fetched.py"),
        content(&py[1], "deploy.copy")
    );
}

/// pyinfra 3's config.py sets settings on the `config` object (`config.FAIL_PERCENT = 0`), as
/// deploy code does.
#[test]
fn config_py_sets_the_config_object() {
    let case = Case::deploy(
        r#"
from pyinfra import config
from pyinfra.operations import files

files.directory(path="@ROOT@/out")
files.file(path=f"@ROOT@/out/fail-percent-{config.FAIL_PERCENT}")
"#,
    )
    .with_file(
        "config.py",
        "from pyinfra import config\nconfig.FAIL_PERCENT = 0\n",
    );
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert!(py[0].disk.contains_key("fail-percent-0"), "{:?}", py[0]);
}

/// pyinfra 3.10 only executes config.py: a bare `SUDO = True` there is a plain variable and
/// sets nothing (`config.SUDO` stays False).
#[test]
#[ignore = "rinfra applies bare upper-case names in config.py as settings: with `SUDO = True` its operations run through sudo (here: `[@local] Error: could not load fact `files.Directory`: sh: 1: sudo: not found`, exit 1); pyinfra ignores the name and succeeds with config.SUDO False"]
fn config_py_bare_names_are_not_settings() {
    let case = Case::deploy(
        r#"
from pyinfra import config
from pyinfra.operations import files

files.directory(path="@ROOT@/out")
files.file(path=f"@ROOT@/out/sudo-{config.SUDO}")
"#,
    )
    .with_file("config.py", "SUDO = True\n");
    let (py, _) = differential(&case, [counts(2, 0, 0), counts(0, 2, 0)]);
    assert!(py[0].disk.contains_key("sudo-False"), "{:?}", py[0]);
}

/// `config.X = ...` in deploy code sets the default for the operations after it:
/// IGNORE_ERRORS, SHELL, RETRY and RETRY_DELAY.
#[test]
fn config_object_in_deploy_code() {
    let case = Case::deploy(
        r#"
from pyinfra import config
from pyinfra.operations import files, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
config.IGNORE_ERRORS = True
server.shell(commands=["exit 4"])
config.IGNORE_ERRORS = False
config.SHELL = "bash"
server.shell(commands=[f"echo $((6 * 7)) > {OUT}/bash"])
config.RETRY = 2
config.RETRY_DELAY = 0
server.shell(commands=[f"echo x >> {OUT}/tries; test $(wc -l < {OUT}/tries) -ge 2"])
"#,
    );
    let (py, _) = differential(&case, [counts(3, 0, 1), counts(2, 1, 1)]);
    assert_eq!(py[0].ops[1].statuses, ["Error (ignored)"]);
    assert_eq!(py[0].ops[3].statuses, ["Success on retry 1"]);
    assert_eq!(content(&py[1], "bash"), "42\n");
}

/// Built-in facts' values: the deploy code writes them as JSON (on the controller, which is
/// the host here) and the files on disk are compared. Times are left out (the two tools' files
/// are made at different moments), and so is a directory's size (file-system dependent).
#[test]
fn builtin_fact_values() {
    let case = Case::deploy(
        r#"
import json, os
from pyinfra import host
from pyinfra.facts import server as s, files as f
from pyinfra.operations import files

ROOT = "@ROOT@"
OUT = f"{ROOT}/out"
if not os.path.islink(f"{ROOT}/link.txt"):
    os.symlink("data.txt", f"{ROOT}/link.txt")

def stable(v, drop=()):
    if isinstance(v, dict):
        return {k: x for k, x in v.items() if k not in ("mtime", "ctime", "atime") + drop}
    return v

facts = {
    "Arch": host.get_fact(s.Arch),
    "Os": host.get_fact(s.Os),
    "Kernel": host.get_fact(s.Kernel),
    "Hostname": host.get_fact(s.Hostname),
    "Home": host.get_fact(s.Home),
    "User": host.get_fact(s.User),
    "Which": host.get_fact(s.Which, command="sh"),
    "WhichMissing": host.get_fact(s.Which, command="definitely-not-here-x"),
    "Command": host.get_fact(s.Command, command="echo one; echo two"),
    "LinuxName": host.get_fact(s.LinuxName),
    "LinuxDistribution": host.get_fact(s.LinuxDistribution),
    "Groups": sorted(host.get_fact(s.Groups)),
    # Without the last login: pyinfra gives a datetime there, rinfra's facts are JSON (an ISO
    # string); and whether root has a lastlog entry depends on the machine (DIFFERENCES.md).
    "UsersRoot": {k: v for k, v in host.get_fact(s.Users).get("root", {}).items() if k != "login_time"},
    "File": stable(host.get_fact(f.File, path=f"{ROOT}/data.txt")),
    "FileMissing": host.get_fact(f.File, path=f"{ROOT}/missing"),
    "Directory": stable(host.get_fact(f.Directory, path=ROOT), drop=("size",)),
    "Link": stable(host.get_fact(f.Link, path=f"{ROOT}/link.txt")),
    "Sha1File": host.get_fact(f.Sha1File, path=f"{ROOT}/data.txt"),
    "Md5File": host.get_fact(f.Md5File, path=f"{ROOT}/data.txt"),
    "Sha256File": host.get_fact(f.Sha256File, path=f"{ROOT}/data.txt"),
    "FindInFile": host.get_fact(f.FindInFile, path=f"{ROOT}/data.txt", pattern="alpha"),
    "FindFiles": sorted(host.get_fact(f.FindFiles, path=ROOT)),
    "FindLinks": host.get_fact(f.FindLinks, path=ROOT),
    "FileContents": host.get_fact(f.FileContents, path=f"{ROOT}/data.txt"),
    "Locales": host.get_fact(s.Locales),
    "Timezone": host.get_fact(s.Timezone),
    "OsRelease": host.get_fact(s.OsRelease),
    "KernelVersion": host.get_fact(s.KernelVersion),
    "TmpDir": host.get_fact(s.TmpDir),
}
os.makedirs(OUT, exist_ok=True)
with open(f"{OUT}/facts.json", "w") as fh:
    json.dump(facts, fh, indent=1, sort_keys=True, default=repr)
files.file(path=f"{OUT}/done")
"#,
    )
    .with_file("data.txt", "alpha\nbeta gamma\nalpha two\n");
    let (py, _) = differential(&case, [counts(1, 0, 0), counts(0, 1, 0)]);
    let v: serde_json::Value = serde_json::from_str(content(&py[0], "facts.json")).unwrap();
    assert_eq!(v["Command"], "one\ntwo");
    assert_eq!(v["FindInFile"], serde_json::json!(["alpha", "alpha two"]));
    assert_eq!(v["FindLinks"], serde_json::json!(["<ROOT>/link.txt"]));
    assert_eq!(v["File"]["size"], 27);
    assert!(
        v["FileMissing"].is_null() && v["WhichMissing"].is_null(),
        "{v}"
    );
}

/// A fact called without an argument its `command` requires: pyinfra raises TypeError in the
/// deploy code (exit 1, nothing runs).
#[test]
#[ignore = "rinfra returns [] for host.get_fact(AuthorizedKeys) without `user`; pyinfra raises `TypeError: AuthorizedKeys.command() missing 1 required positional argument: 'user'`"]
fn fact_missing_a_required_argument() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.facts.server import AuthorizedKeys
from pyinfra.operations import files

keys = host.get_fact(AuthorizedKeys)
files.directory(path="@ROOT@/out")
"#,
    );
    let py = case.run(Tool::Pyinfra);
    let rs = case.run(Tool::Rinfra);
    for (p, r) in py.iter().zip(&rs) {
        assert_eq!(p.code, 1, "{}", p.text);
        assert!(p.ops.is_empty() && p.disk.is_empty(), "{}", p.text);
        assert!(
            p.text
                .contains("missing 1 required positional argument: 'user'"),
            "{}",
            p.text
        );
        assert!(r.ops.is_empty() && r.disk.is_empty(), "{}", r.text);
        assert!(r.text.contains("'user'"), "{}", r.text);
        assert_eq!(r.code, p.code, "exit codes differ:\n{}\n{}", p.text, r.text);
    }
}

/// Facts read at execute time, in an `_if` callable and in a `python.call` function, see what
/// earlier operations of the same run did.
#[test]
fn facts_read_at_execute_time() {
    let case = Case::deploy(
        r#"
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import Command
from pyinfra.operations import files, python, server

OUT = "@ROOT@/out"
files.directory(path=OUT)
files.file(path=f"{OUT}/made")
server.shell(
    commands=[f"echo ran >> {OUT}/if-fact.log"],
    _if=lambda: host.get_fact(File, path=f"{OUT}/made") is not None,
)

def at_exec():
    n = host.get_fact(Command, command=f"ls {OUT} | wc -l")
    with open(f"{OUT}/count.log", "a") as f:
        f.write(f"{n}\n")

python.call(function=at_exec)
"#,
    );
    let (py, _) = differential(&case, [counts(4, 0, 0), counts(2, 2, 0)]);
    assert_eq!(content(&py[1], "if-fact.log"), "ran\nran\n");
    assert_eq!(content(&py[1], "count.log"), "2\n3\n");
}
