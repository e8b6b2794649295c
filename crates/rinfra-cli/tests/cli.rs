//! The `rinfra` binary end to end: CLI forms, output shape, exit codes, bad input.

mod util;

use util::TestDir;

#[test]
fn no_arguments_prints_help_and_exits_2() {
    let r = TestDir::new().run(&[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("Usage: rinfra"), "{r:?}");
}

#[test]
fn unknown_connector_is_a_usage_error_with_a_hint() {
    let r = TestDir::new().run(&["@nope/x", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("rinfra error: invalid inventory `@nope/x`: unknown connector `@nope`"),
        "{r:?}"
    );
    assert!(r.stderr.contains("hint: known connectors: "), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}

#[test]
fn malformed_host_list() {
    let r = TestDir::new().run(&["@local,,@fake/a", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("empty host name in the list"), "{r:?}");
    let r = TestDir::new().run(&["@local/x", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("@local takes no argument"), "{r:?}");
}

#[test]
fn missing_operations_and_empty_exec() {
    let r = TestDir::new().run(&["@local"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no operations given"), "{r:?}");
    let r = TestDir::new().run(&["@local", "exec"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("exec needs a command"), "{r:?}");
}

#[test]
fn list_connectors() {
    let r = TestDir::new().run(&["--list-connectors"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("@local"), "{r:?}");
    assert!(r.stderr.contains("@fake"), "{r:?}");
}

#[test]
fn debug_inventory_masks_secrets() {
    let r = TestDir::new().run(&[
        "@fake/a,@fake/b",
        "--data",
        "app_port=8080",
        "--data",
        "ssh_password=hunter2",
        "--json",
        "debug-inventory",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["@fake/a"]["data"]["app_port"], 8080);
    assert_eq!(v["@fake/b"]["groups"][0], "@fake");
    assert!(
        !r.stdout.contains("hunter2") && !r.stderr.contains("hunter2"),
        "{r:?}"
    );
}

#[test]
fn limit_and_exclude() {
    let r = TestDir::new().run(&[
        "@fake/a,@fake/b,@fake/c",
        "--limit",
        "@fake/*",
        "--exclude",
        "@fake/b",
        "--json",
        "debug-inventory",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(names, ["@fake/a", "@fake/c"]);
}
