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

/// `rinfra ARGS...` in `dir` without a controlling terminal (a prompt cannot be answered).
fn run_without_terminal(dir: &TestDir, args: &[&str]) -> util::Run {
    use std::os::unix::process::CommandExt;
    let mut c = dir.cmd(args);
    // SAFETY: setsid is async-signal-safe and runs in the child before exec.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let out = c.output().unwrap();
    util::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn pyinfra_ssh_flags_and_their_short_aliases_set_host_data() {
    for (user, port, key, key_pw, pw) in [
        (
            "--ssh-user",
            "--ssh-port",
            "--ssh-key",
            "--ssh-key-password",
            "--ssh-password",
        ),
        ("--user", "--port", "--key", "--key-password", "--password"),
    ] {
        let r = TestDir::new().run(&[
            "@fake/a",
            user,
            "deploy",
            port,
            "2222",
            key,
            "id_x",
            key_pw,
            "k3y-pw",
            pw,
            "hunter2",
            "--json",
            "debug-inventory",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let data = &v["@fake/a"]["data"];
        assert_eq!(data["ssh_user"], "deploy", "{r:?}");
        assert_eq!(data["ssh_port"], 2222, "{r:?}");
        assert_eq!(data["ssh_key"], "id_x", "{r:?}");
        assert!(data["ssh_password"].is_string(), "{r:?}");
        assert!(data["ssh_key_password"].is_string(), "{r:?}");
        for secret in ["hunter2", "k3y-pw"] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{r:?}"
            );
        }
    }
}

#[test]
fn password_prompts_refuse_without_a_terminal() {
    for flag in ["--ssh-password-prompt", "--same-sudo-password"] {
        let r = run_without_terminal(&TestDir::new(), &["@fake/a", flag, "debug-inventory"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr
                .contains(&format!("{flag} needs a terminal to ask on")),
            "{r:?}"
        );
    }
}

#[test]
fn ssh_password_prompt_reads_without_echo() {
    // `script` gives rinfra a terminal (skipped without it); the answer is typed after the
    // prompt is up.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let dir = TestDir::new();
    let cmd = format!(
        "{} @fake/a --ssh-password-prompt --json debug-inventory",
        env!("CARGO_BIN_EXE_rinfra")
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 2; echo s3cret-typed) | script -qec '{cmd}' /dev/null"
        ))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("SSH password:"), "{all}");
    assert!(all.contains("\"ssh_password\""), "{all}");
    assert!(!all.contains("s3cret-typed"), "{all}");
}

#[test]
fn dzdo_and_dzdo_user_wrap_commands() {
    let r = TestDir::new().run(&[
        "@local",
        "--dzdo",
        "--dzdo-user",
        "bob",
        "-vv",
        "exec",
        "--",
        "true",
    ]);
    assert!(
        r.stderr.contains(">>> dzdo -H -n -u bob sh -c true"),
        "{r:?}"
    );
    // As pyinfra: --dzdo-user alone does not turn dzdo on.
    let r = TestDir::new().run(&["@local", "--dzdo-user", "bob", "-vv", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("dzdo"), "{r:?}");
}

#[test]
fn support_prints_versions_and_exits() {
    let r = TestDir::new().run(&["--support"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("rinfra: v{}", env!("CARGO_PKG_VERSION"))),
        "{r:?}"
    );
    assert!(r.stderr.contains("Python (embedded): 3."), "{r:?}");
    assert!(r.stderr.contains("System: Linux"), "{r:?}");
    assert!(r.stderr.contains("Machine: "), "{r:?}");
}

const TOUCH_DEPLOY: &str = "from pyinfra.operations import server\n\
server.shell(name=\"make it\", commands=[\"touch made\"])\n";

#[test]
fn chdir_changes_the_local_directory_first() {
    let dir = TestDir::new();
    dir.write("sub/deploy.py", TOUCH_DEPLOY);
    // The deploy file is found in the --chdir directory, and commands run there (@local).
    let r = dir.run(&["--chdir", "sub", "@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(dir.join("sub/made").exists(), "{r:?}");
    // A deploy path given with the directory in front is fixed, with a warning.
    std::fs::remove_file(dir.join("sub/made")).unwrap();
    let r = dir.run(&["--chdir", "sub", "@local", "sub/deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("sub/deploy.py -> deploy.py"), "{r:?}");
    assert!(dir.join("sub/made").exists(), "{r:?}");
    let r = dir.run(&["--chdir", "nowhere", "@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--chdir `nowhere`"), "{r:?}");
}

#[test]
fn debug_operations_and_debug_facts_prepare_without_executing() {
    let dir = TestDir::new();
    dir.write("deploy.py", TOUCH_DEPLOY);
    let r = dir.run(&["@local", "deploy.py", "--debug-operations", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["plan"][0]["name"], "make it", "{r:?}");
    assert_eq!(v["plan"][0]["hosts_with_change"][0], "@local", "{r:?}");
    assert!(!dir.join("made").exists(), "{r:?}");
    let r = dir.run(&["@local", "deploy.py", "--debug-operations"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("--> Operation order:"), "{r:?}");
    let r = dir.run(&["@local", "deploy.py", "--debug-facts", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(!r.stderr.contains("Beginning operation run"), "{r:?}");
    // exec stops too, as does exec with --dry.
    let r = dir.run(&[
        "@local",
        "--debug-operations",
        "exec",
        "--",
        "touch",
        "made",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = dir.run(&["@local", "--dry", "exec", "--", "touch", "made"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!dir.join("made").exists(), "{r:?}");
}

#[test]
fn pyinfra_yes_environment_variable() {
    let dir = TestDir::new();
    dir.write("deploy.py", TOUCH_DEPLOY);
    let r = run_without_terminal(&dir, &["@local", "deploy.py"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no terminal to confirm on"), "{r:?}");
    let out = dir
        .cmd(&["@local", "deploy.py"])
        .env("PYINFRA_YES", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("made").exists());
    let out = dir
        .cmd(&["@local", "deploy.py"])
        .env("PYINFRA_YES", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PYINFRA_YES=\"maybe\""));
    let out = dir
        .cmd(&["@local", "deploy.py"])
        .env("PYINFRA_YES", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.join("made").exists());
}

#[test]
fn debug_all_is_debug() {
    let r = TestDir::new().run(&["@local", "--debug-all", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("    debug: 1 host(s)"), "{r:?}");
}
