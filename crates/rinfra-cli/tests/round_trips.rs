//! Consecutive operations in one exec (`rinfra-core/src/batch.rs`), end to end over SSH on the
//! last testbed host: what users see and what lands on the target must be what running them one
//! by one gives. Each test works under its own `/srv/rinfra-e2e-batch-<name>`.
//!
//! Needs the project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`).

mod util;

use util::target::{assert_host_error, ssh_host};
use util::TestDir;

/// Uploads, a template, lines, links and files in one batch: applied with the right bytes
/// (any byte survives the `printf` upload), then a second run changes nothing.
#[test]
fn file_operations_in_one_batch_apply_and_then_change_nothing() {
    let t = ssh_host();
    let root = t.fresh_dir("batch-apply");
    let dir = TestDir::new();
    // Every byte value, `%`, `\`, quotes and no final newline: what a shell could mangle.
    let payload: Vec<u8> = (0..=255u8)
        .chain(*b"100% \\n 'q' \"d\" $HOME `x`")
        .collect();
    std::fs::write(dir.path().join("payload.bin"), &payload).unwrap();
    std::fs::write(
        dir.path().join("app.conf.j2"),
        "name={{ host.name }}\nport={{ port }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deploy.py"),
        format!(
            r#"
from pyinfra.operations import files
root = "{root}"
files.directory(name="app dir", path=f"{{root}}/app", mode="755")
files.directory(name="logs dir", path=f"{{root}}/app/logs", mode="750")
files.put(name="upload payload", src="payload.bin", dest=f"{{root}}/app/payload.bin", mode="640")
files.template(name="render", src="app.conf.j2", dest=f"{{root}}/app/app.conf", port=8080)
files.line(name="ensure line", path=f"{{root}}/app/extra.conf", line="managed=yes")
files.link(name="symlink", path=f"{{root}}/app/current", target=f"{{root}}/app/payload.bin")
"#
        ),
    )
    .unwrap();
    let first = t.rinfra(&dir, &["deploy.py"]);
    assert_eq!(first.code, 0, "{first:?}");
    for op in [
        "app dir",
        "logs dir",
        "upload payload",
        "render",
        "ensure line",
        "symlink",
    ] {
        assert!(
            first
                .stderr
                .contains(&format!("--> Starting operation: {op}")),
            "{op}: {first:?}"
        );
    }
    assert_eq!(
        first
            .stderr
            .matches(&format!("[{}] Success", t.addr))
            .count(),
        6,
        "{first:?}"
    );
    let sum = |bytes: &[u8]| {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(bytes)?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_string()
    };
    let remote = t.check(&format!("sha256sum {root}/app/payload.bin | cut -d' ' -f1"));
    assert_eq!(remote, sum(&payload), "uploaded bytes differ");
    assert_eq!(
        t.check(&format!(
            "stat -c %a {root}/app/payload.bin {root}/app/logs"
        )),
        "640\n750"
    );
    assert_eq!(
        t.check(&format!("cat {root}/app/app.conf")),
        format!("name={}\nport=8080", t.addr)
    );
    assert_eq!(
        t.check(&format!("cat {root}/app/extra.conf")),
        "managed=yes"
    );
    assert_eq!(
        t.check(&format!("readlink {root}/app/current")),
        format!("{root}/app/payload.bin")
    );
    // Nothing half-written left beside the files.
    assert_eq!(
        t.check(&format!("ls {root}/app | grep -c rinfra-tmp || true")),
        "0"
    );

    let second = t.rinfra(&dir, &["deploy.py"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        second
            .stderr
            .matches(&format!("[{}] No changes", t.addr))
            .count(),
        6,
        "{second:?}"
    );
    assert!(
        !second.stderr.contains(&format!("[{}] Success", t.addr)),
        "{second:?}"
    );
}

/// An operation failing in the middle of a batch: the operations before it are applied and
/// reported as successes, the error names it with its command's output, and the ones after it
/// never run, exactly as one by one.
#[test]
fn a_failure_in_a_batch_names_its_operation_and_stops_there() {
    let t = ssh_host();
    let root = t.fresh_dir("batch-fail");
    // A file where the failing operation wants a directory.
    t.check(&format!("mkdir -p {root} && echo x > {root}/blocker"));
    let dir = TestDir::new();
    std::fs::write(
        dir.path().join("deploy.py"),
        format!(
            r#"
from pyinfra.operations import files
root = "{root}"
files.directory(name="before", path=f"{{root}}/before")
files.line(name="breaks", path=f"{{root}}/blocker/inside.conf", line="x=1")
files.directory(name="after", path=f"{{root}}/after")
"#
        ),
    )
    .unwrap();
    let r = t.rinfra(&dir, &["deploy.py"]);
    // The failed command's own error (dash's words for writing under a file).
    assert_host_error(&r, &t.addr, &["Directory nonexistent"]);
    assert_host_error(&r, &t.addr, &["Error: command failed"]);
    let starts: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("--> Starting operation: "))
        .collect();
    assert_eq!(starts, ["before", "breaks"], "{r:?}");
    assert!(r.stderr.contains(&format!("[{}] Success", t.addr)), "{r:?}");
    assert!(
        !r.stderr.contains("@@RINFRA"),
        "markers leak into the output: {r:?}"
    );
    assert_eq!(
        t.ssh(&format!("test -d {root}/before")).0,
        0,
        "the first operation ran"
    );
    assert_ne!(
        t.ssh(&format!("test -e {root}/after")).0,
        0,
        "the last one must not run"
    );
}

/// `-v` and `--json` say, per host, how many round trips its connection made and where the
/// time went; a second run of the same deploy costs fewer round trips than the first.
#[test]
fn verbose_and_json_report_round_trips_and_time_per_phase() {
    let t = ssh_host();
    let root = t.fresh_dir("batch-stats");
    let dir = TestDir::new();
    std::fs::write(
        dir.path().join("deploy.py"),
        format!(
            r#"
from pyinfra.operations import files
files.directory(name="a", path="{root}/a")
files.file(name="b", path="{root}/a/b")
"#
        ),
    )
    .unwrap();
    let trips = |args: &[&str]| -> u64 {
        let mut all = vec!["deploy.py", "--json"];
        all.extend_from_slice(args);
        let r = t.rinfra(&dir, &all);
        assert_eq!(r.code, 0, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
        let host = &v["results"]["hosts"][0];
        assert_eq!(host["name"], t.addr.as_str(), "{v}");
        for phase in ["connect_s", "facts_s", "execute_s"] {
            assert!(
                host[phase].as_f64().is_some_and(|s| s >= 0.0),
                "{phase}: {v}"
            );
        }
        assert!(host["connect_s"].as_f64().unwrap() > 0.0, "{v}");
        host["round_trips"]
            .as_u64()
            .expect("SSH counts round trips")
    };
    let first = trips(&[]);
    let second = trips(&[]);
    // Connect (a handful), facts, then at least one exec in the first run only.
    assert!(second >= 3, "{second}");
    assert!(first > second, "first {first}, second {second}");

    let r = t.rinfra(&dir, &["deploy.py", "-v"]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains(&format!("[{}] round trips: ", t.addr)))
        .unwrap_or_else(|| panic!("no round-trip line: {r:?}"));
    assert!(
        line.contains(", connect ") && line.contains("s, facts ") && line.contains("s, execute "),
        "{line}"
    );
}

/// Round trips of one `rinfra deploy.py --json` run (the whole run of the host: connecting,
/// facts, operations).
fn round_trips_of(t: &util::target::Target, dir: &TestDir, deploy: &str) -> u64 {
    std::fs::write(dir.path().join("deploy.py"), deploy).unwrap();
    let r = t.rinfra(dir, &["deploy.py", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    v["results"]["hosts"][0]["round_trips"]
        .as_u64()
        .unwrap_or_else(|| panic!("no round trips: {v}"))
}

/// `count` operations that are one command each and load no facts: what a run costs beyond
/// connecting, in round trips, is one per command.
fn plain_commands(count: usize) -> String {
    let mut deploy = String::from("from pyinfra.operations import server\n");
    for n in 0..count {
        deploy += &format!("server.shell(name=\"plain {n}\", commands=[\"true\"])\n");
    }
    deploy
}

/// After a batch changed a directory, the next operation's fact about it loads in the batch's
/// own command: creating a directory and putting a file in it costs the facts, the batch and
/// the upload, as much as three plain commands (not a fourth round trip to reload the fact).
#[test]
fn facts_a_batch_made_stale_load_in_its_command() {
    let t = ssh_host();
    let root = t.fresh_dir("batch-stale-facts");
    t.check(&format!("mkdir -p {root}"));
    let dir = TestDir::new();
    std::fs::write(dir.path().join("x.txt"), "x\n").unwrap();
    let deploy = format!(
        r#"
from pyinfra.operations import files
files.directory(name="dir", path="{root}/a", mode="750")
files.put(name="put", src="x.txt", dest="{root}/a/x.txt")
"#
    );
    let plain = round_trips_of(&t, &dir, &plain_commands(3));
    let first = round_trips_of(&t, &dir, &deploy);
    assert_eq!(
        first, plain,
        "first run: {first} round trips, 3 commands: {plain}"
    );
    assert_eq!(t.check(&format!("cat {root}/a/x.txt")), "x");
    assert_eq!(t.check(&format!("stat -c %a {root}/a")), "750");
}

/// After an operation that may change anything (`server.shell`), the facts of the operations
/// after it load in its command: a shell command then two files costs the facts, the shell
/// command and the batch of the two files, as much as three plain commands.
#[test]
fn facts_after_a_shell_command_load_in_its_command() {
    let t = ssh_host();
    let root = t.fresh_dir("shell-then-facts");
    t.check(&format!("mkdir -p {root}"));
    let dir = TestDir::new();
    let deploy = format!(
        r#"
from pyinfra.operations import files, server
server.shell(name="shell", commands=["echo made > {root}/made"])
files.file(name="one", path="{root}/one", mode="600")
files.file(name="two", path="{root}/two", mode="640")
"#
    );
    let plain = round_trips_of(&t, &dir, &plain_commands(3));
    let first = round_trips_of(&t, &dir, &deploy);
    assert_eq!(
        first, plain,
        "first run: {first} round trips, 3 commands: {plain}"
    );
    assert_eq!(
        t.check(&format!("stat -c '%n %a' {root}/one {root}/two")),
        format!("{root}/one 600\n{root}/two 640")
    );
    assert_eq!(t.check(&format!("cat {root}/made")), "made");
}

/// While deploy code waits for a fact, the facts of the operations it made so far load in the
/// same command: a deploy that ensures two files and then asks about a third path costs, on
/// its second run, as much as one asking only about that path.
#[test]
fn a_fact_the_deploy_waits_for_brings_the_planned_operations_facts() {
    let t = ssh_host();
    let root = t.fresh_dir("deploy-fact-ahead");
    t.check(&format!("mkdir -p {root}"));
    let dir = TestDir::new();
    let ask = format!(
        r#"
from pyinfra import host
from pyinfra.facts.files import File
if host.get_fact(File, path="{root}/marker"):
    raise Exception("no marker was made")
"#
    );
    let deploy = format!(
        r#"
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files
files.file(name="one", path="{root}/one")
files.directory(name="two", path="{root}/two")
if host.get_fact(File, path="{root}/marker"):
    raise Exception("no marker was made")
"#
    );
    round_trips_of(&t, &dir, &deploy);
    let alone = round_trips_of(&t, &dir, &ask);
    let second = round_trips_of(&t, &dir, &deploy);
    assert_eq!(
        second, alone,
        "second run: {second}, the fact alone: {alone}"
    );
}
