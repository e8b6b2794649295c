//! Deploy files through the built binary: pyinfra-style deploys and inventories against
//! `@local` and `@fake`, idempotence, ordering, conditions, failures, `--json`, `--diff`, and
//! located errors that stop the run before anything executes.

mod util;

use util::TestDir;

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

#[test]
fn deploy_changes_then_changes_nothing() {
    let t = TestDir::new();
    let out = t.join("out");
    t.write(
        "files/motd.j2",
        "Hello {{ host.name }} on port {{ port }} of {{ inventory.hosts|join(',') }}\n",
    );
    t.write("files/static.txt", "static\n");
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files, server

OUT = "{out}"
files.directory(name="Make dir", path=OUT, mode="750")
files.put(name="Upload", src="files/static.txt", dest=f"{{OUT}}/static.txt", mode="600")
files.template(name="Render", src="./files/motd.j2", dest=f"{{OUT}}/motd", port=8080)
for n in ["a", "b"]:
    files.line(name=f"Line {{n}}", path=f"{{OUT}}/lines", line=f"key_{{n}}=1")
if host.name == "@local":
    files.link(name="Link", path=f"{{OUT}}/current", target=f"{{OUT}}/static.txt")
"#,
            out = out.display()
        ),
    );
    let r = t.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("--> Starting operation: Make dir"),
        "{r:?}"
    );
    let total = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("Grand total"))
        .unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Grand", "total", "6", "6", "-", "-"],
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("motd")).unwrap(),
        "Hello @local on port 8080 of @local\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("lines")).unwrap(),
        "key_a=1\nkey_b=1\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("current")).unwrap(),
        out.join("static.txt")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(out.join("static.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let r = t.run(&["@local", "deploy.py", "-y", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = json(&r.stdout);
    assert_eq!(v["results"]["totals"]["success"], 0, "{r:?}");
    assert_eq!(v["results"]["totals"]["no_change"], 6, "{r:?}");
}

#[test]
fn dry_run_detects_without_changing() {
    let t = TestDir::new();
    let dir = t.join("never");
    t.write(
        "deploy.py",
        &format!(
            "from pyinfra.operations import files\nfiles.directory(path=\"{}\")\n",
            dir.display()
        ),
    );
    let r = t.run(&["@local", "deploy.py", "--dry", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    // As pyinfra: with --json the changes are on stdout only, no table on stderr.
    assert!(!r.stderr.contains("--> Detected changes:"), "{r:?}");
    let v = json(&r.stdout);
    assert_eq!(v["plan"][0]["hosts_with_change"][0], "@local", "{r:?}");
    assert!(!dir.exists(), "--dry must not change the host");
}

#[test]
fn inventory_groups_group_data_and_data_precedence() {
    let t = TestDir::new();
    t.write(
        "inventory.py",
        r#"
web = (["@fake/web1", ("@fake/web2", {"port": 9000})], {"role": "web"})
db = ["@fake/db1"]
"#,
    );
    t.write("group_data/all.py", "port = 80\nregion = \"eu\"\n");
    t.write("group_data/web.py", "port = 8080\n");
    let r = t.run(&[
        "inventory.py",
        "--data",
        "region=us",
        "--json",
        "debug-inventory",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = json(&r.stdout);
    assert_eq!(
        v["@fake/web1"]["data"]["port"], 8080,
        "group data over all.py"
    );
    assert_eq!(
        v["@fake/web2"]["data"]["port"], 9000,
        "host data over group data"
    );
    assert_eq!(v["@fake/db1"]["data"]["port"], 80);
    assert_eq!(v["@fake/web1"]["data"]["role"], "web");
    assert_eq!(
        v["@fake/db1"]["data"]["region"], "us",
        "--data over everything"
    );
    // pyinfra also puts every host in a group named after the inventory file.
    assert_eq!(
        v["@fake/web1"]["groups"],
        serde_json::json!(["web", "inventory", "@fake"])
    );

    let r = t.run(&[
        "inventory.py",
        "--limit",
        "web",
        "--json",
        "debug-inventory",
    ]);
    assert_eq!(json(&r.stdout).as_object().unwrap().len(), 2, "{r:?}");
}

#[test]
fn operations_only_some_hosts_run_are_ordered_by_source_position() {
    let t = TestDir::new();
    t.write(
        "inventory.py",
        r#"hosts = [("@fake/a", {"extra": True}), ("@fake/b", {"extra": False})]"#,
    );
    t.write(
        "deploy.py",
        r#"
from pyinfra import host
from pyinfra.operations import server

server.shell(name="first", commands=["echo 1"])
if host.data.extra:
    server.shell(name="only on a", commands=["echo a"])
for i in range(2):
    server.shell(name=f"loop {i}", commands=[f"echo {i}"])
server.shell(name="last", commands=["echo z"])
"#,
    );
    let r = t.run(&["inventory.py", "deploy.py", "--dry", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = json(&r.stdout);
    let names: Vec<&str> = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "only on a", "loop 0", "loop 1", "last"]);
    assert_eq!(v["plan"][1]["hosts"], serde_json::json!(["@fake/a"]));
    assert_eq!(
        v["plan"][0]["hosts"],
        serde_json::json!(["@fake/a", "@fake/b"])
    );
}

#[test]
fn if_conditions_and_failures() {
    let t = TestDir::new();
    let marker = t.join("marker");
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra.operations import server, files
d = files.directory(name="dir", path="{dir}")
server.shell(name="only if changed", commands=["touch {marker}"], _if=d.did_change)
server.shell(name="fails but ignored", commands=["exit 3"], _ignore_errors=True)
server.shell(name="still runs", commands=["true"])
"#,
            dir = t.join("d").display(),
            marker = marker.display()
        ),
    );
    let r = t.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(marker.exists());
    assert!(r.stderr.contains("Error (ignored)"), "{r:?}");
    std::fs::remove_file(&marker).unwrap();
    let r = t.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !marker.exists(),
        "the directory existed: the `_if` op must not run"
    );
    assert!(r.stderr.contains("[@local] No changes"), "{r:?}");

    t.write("fail.py", "from pyinfra.operations import server\nserver.shell(commands=[\"exit 4\"])\nserver.shell(commands=[\"echo never\"])\n");
    let r = t.run(&["@local", "fail.py", "-y"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("[@local] Error: command failed (exit code 4)"),
        "{r:?}"
    );
    assert!(r.stderr.contains("No hosts remaining!"), "{r:?}");
    assert!(
        !r.stderr.contains("echo never'])\n    [@local] Success"),
        "{r:?}"
    );
}

#[test]
fn retry_until_and_if_functions_run_at_execute_time() {
    let t = TestDir::new();
    let counter = t.join("counter");
    let (yes, no, err) = (t.join("yes"), t.join("no"), t.join("err"));
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra.operations import server, files
server.shell(
    name="count",
    commands=["n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo $n"],
    _retries=3,
    _retry_delay=0,
    _retry_until=lambda out: "3" not in out["stdout_lines"],
)
d = files.directory(name="dir", path="{dir}")
s = server.shell(name="ok", commands=["true"])
# At evaluation time `d.did_change()` is not known; these run from the real results.
server.shell(name="if changed", commands=["touch {yes}"], _if=lambda: d.did_change() and not s.did_error())
server.shell(name="if not changed", commands=["touch {no}"], _if=lambda: not d.did_change())
"#,
            counter = counter.display(),
            dir = t.join("d").display(),
            yes = yes.display(),
            no = no.display(),
        ),
    );
    let r = t.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "3\n", "{r:?}");
    assert!(r.stderr.contains("Success on retry 2"), "{r:?}");
    assert!(yes.exists(), "the directory was created: {r:?}");
    assert!(!no.exists(), "{r:?}");

    std::fs::remove_file(&yes).unwrap();
    std::fs::remove_file(&counter).unwrap();
    let r = t.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!yes.exists(), "the directory existed: {r:?}");
    assert!(no.exists(), "{r:?}");

    // An error inside the function fails the host at its line.
    t.write(
        "bad.py",
        &format!(
            "from pyinfra.operations import server\nserver.shell(commands=[\"touch {err}\"], _if=lambda: 1 // 0)\n",
            err = err.display()
        ),
    );
    let r = t.run(&["@local", "bad.py", "-y"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!err.exists(), "{r:?}");
    assert!(
        r.stderr.contains("error in the `_if` function: bad.py:2:"),
        "{r:?}"
    );
}

#[test]
fn one_failing_host_does_not_stop_the_others() {
    let t = TestDir::new();
    t.write(
        "inventory.py",
        r#"hosts = ["@fake/good", ("@fake/bad", {"fake_responses": {"boom": {"success": False, "stderr": "disk on fire"}}})]"#,
    );
    t.write("deploy.py", "from pyinfra.operations import server\nserver.shell(commands=[\"boom\"])\nserver.shell(name=\"after\", commands=[\"ok\"])\n");
    let r = t.run(&["inventory.py", "deploy.py", "-y", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("[@fake/bad] disk on fire"),
        "the failed command's output is shown: {r:?}"
    );
    let v = json(&r.stdout);
    assert_eq!(
        v["results"]["operations"][1]["success"],
        serde_json::json!(["@fake/good"])
    );
    assert_eq!(v["results"]["failed_hosts"][0][0], "@fake/bad");
}

#[test]
fn diff_shows_what_will_change() {
    let t = TestDir::new();
    let f = t.write("target.conf", "a=1\nb=2\n");
    t.write("new.conf", "a=1\nb=3\n");
    t.write(
        "deploy.py",
        &format!(
            "from pyinfra.operations import files\nfiles.put(src=\"new.conf\", dest=\"{}\")\n",
            f.display()
        ),
    );
    let r = t.run(&["@local", "deploy.py", "--dry", "--diff"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("[@local] Will modify {}", f.display())),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("    -b=2") && r.stderr.contains("    +b=3"),
        "{r:?}"
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "a=1\nb=2\n");
}

/// A value larger than memory is Python's MemoryError, located, exit 2; nothing runs.
#[test]
fn a_value_larger_than_memory_is_a_located_error() {
    let t = TestDir::new();
    let marker = t.join("ran");
    // 10^5 × 2·10^9 bytes = 200 TB: more than any address space a test machine has.
    t.write(
        "huge.py",
        &format!(
            "from pyinfra.operations import server\nserver.shell(commands=[\"touch {}\"])\nbig = \"a\" * 100000\nhuge = big * 2000000000\n",
            marker.display()
        ),
    );
    let r = t.run(&["@local", "huge.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("huge.py:4: MemoryError"), "{r:?}");
    assert!(r.stderr.contains("[@local]"), "{r:?}");
    assert!(!marker.exists(), "nothing runs after a failed evaluation");

    t.write(
        "inventory.py",
        "hosts = [\"@local\" * 100000 * 2000000000]\n",
    );
    let r = t.run(&["inventory.py", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("inventory.py:1: MemoryError"), "{r:?}");
}

/// Up to Python's limits a deeply nested file runs; beyond them it is a located syntax error.
#[test]
fn deeply_nested_deploys_run_or_are_located_errors() {
    let t = TestDir::new();
    let deep = format!(
        "from pyinfra.operations import server\nx = {}1\ny = {}1{}\nserver.shell(commands=[f\"echo {{x}} {{y}}\"])\n",
        "-".repeat(997),
        "(".repeat(200),
        ")".repeat(200)
    );
    t.write("deep.py", &deep);
    let r = t.run(&["@local", "deep.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    t.write(
        "deeper.py",
        &format!("x = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let r = t.run(&["@local", "deeper.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("deeper.py:1:205: SyntaxError: too many nested parentheses"),
        "{r:?}"
    );
}

/// A value nested a million deep at run time is Python's RecursionError when printed: one
/// located line and exit 2, not a crash.
#[test]
fn a_value_nested_a_million_deep_is_an_error_not_a_crash() {
    let t = TestDir::new();
    let deep = "x = []\nfor i in range(1000000):\n    x = [x]\n";
    t.write("deep.py", &format!("{deep}y = str(x)\n"));
    let r = t.run(&["@local", "deep.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("deep.py:4: RecursionError"), "{r:?}");
    // In an inventory file it is only a list that is not a group of hosts.
    t.write("inventory.py", &format!("{deep}hosts = [\"@local\"]\n"));
    let r = t.run(&["inventory.py", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn located_errors_stop_before_anything_runs() {
    let t = TestDir::new();
    let marker = t.join("ran");
    let first = format!(
        "from pyinfra.operations import server, files\nserver.shell(commands=[\"touch {}\"])\n",
        marker.display()
    );

    t.write(
        "syntax.py",
        &format!("{first}files.directory(path=\"/x\"\n"),
    );
    let r = t.run(&["@local", "syntax.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("syntax.py:"), "{r:?}");

    t.write("typo.py", &format!("{first}files.directory(pth=\"/x\")\n"));
    let r = t.run(&["@local", "typo.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("typo.py:3"), "{r:?}");
    assert!(r.stderr.contains("unknown argument `pth`"), "{r:?}");
    assert!(r.stderr.contains("path"), "lists the valid names: {r:?}");

    t.write(
        "data.py",
        &format!("{first}from pyinfra import host\nserver.shell(commands=[host.data.app_port])\n"),
    );
    let r = t.run(&["@local", "data.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("app_port") && r.stderr.contains("@local"),
        "names key and host: {r:?}"
    );

    t.write(
        "unknown_op.py",
        "from pyinfra.operations import files\nfiles.nope(path=\"/x\")\n",
    );
    let r = t.run(&["@local", "unknown_op.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown_op.py:2"), "{r:?}");

    let r = t.run(&["missing_inventory.py", "syntax.py"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("inventory file `missing_inventory.py` not found"),
        "{r:?}"
    );

    t.write("group_data/all.py", "x = (\n");
    let r = t.run(&["@local", "typo.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("all.py"), "{r:?}");

    assert!(
        !marker.exists(),
        "no operation may run when the deploy has an error"
    );
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}

#[test]
fn config_py_and_config_in_deploy_code() {
    let t = TestDir::new();
    t.write("config.py", "FAIL_PERCENT = 50\nSHELL = \"bash\"\n");
    t.write(
        "deploy.py",
        "from pyinfra import config\nfrom pyinfra.operations import server\nserver.shell(name=\"shell\", commands=[\"echo $0\"])\n",
    );
    let r = t.run(&["@local", "deploy.py", "-y", "-vv"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("[@local] >>> bash -c 'echo $0'"),
        "config.py SHELL applies: {r:?}"
    );
}

#[test]
fn exec_template_connector_from_rinfra_toml() {
    let t = TestDir::new();
    t.write(
        "rinfra.toml",
        r#"
[connectors.viash]
description = "runs commands with sh -c on the controller, as a template test"
run = ["sh", "-c", "{command}"]
"#,
    );
    let r = t.run(&["@viash/one", "exec", "--", "echo from-template"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("[@viash/one] from-template"), "{r:?}");
    let r = t.run(&["--list-connectors"]);
    assert!(r.stderr.contains("@viash"), "{r:?}");
}

#[test]
fn exec_json_and_secrets() {
    let t = TestDir::new();
    let r = t.run(&["@local", "exec", "--json", "-vv", "--", "echo", "visible"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = json(&r.stdout);
    assert_eq!(v["results"]["operations"][0]["success"][0], "@local");
    assert!(r.stderr.contains("[@local] visible"), "{r:?}");

    // A sudo password given as data never shows, at any verbosity.
    let r = t.run(&[
        "@local",
        "--data",
        "_sudo_password=s3cr3t-pw",
        "-vvv",
        "--debug",
        "--json",
        "exec",
        "--",
        "true",
    ]);
    assert!(
        !r.stdout.contains("s3cr3t-pw") && !r.stderr.contains("s3cr3t-pw"),
        "{r:?}"
    );
}
