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
        r.stderr.contains(
            "error: invalid inventory `@nope/x`\n  Caused by: unknown connector `@nope`\n"
        ),
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
        let r = TestDir::new().run(&["@fake/a", flag, "debug-inventory"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr
                .contains(&format!("{flag} needs a terminal to ask on")),
            "{r:?}"
        );
    }
}

/// `rinfra ARGS` on a terminal (`script`), each of `typed` typed two seconds after the last
/// (once its prompt is up): the exit status and everything shown. `None` without `script` (util-linux).
fn run_on_terminal(dir: &TestDir, args: &str, typed: &[&str]) -> Option<(i32, String)> {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .ok()?;
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_rinfra"));
    let input: String = typed
        .iter()
        .map(|t| format!("sleep 2; echo '{t}'; "))
        .collect();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("({input}) | script -qec '{cmd}' /dev/null"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("RINFRA_YES")
        .env_remove("PYINFRA_YES")
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.code().unwrap_or(-1), all))
}

#[test]
fn ssh_password_prompt_reads_without_echo() {
    let dir = TestDir::new();
    let Some((code, all)) = run_on_terminal(
        &dir,
        "@fake/a --ssh-password-prompt --json debug-inventory",
        &["s3cret-typed"],
    ) else {
        return;
    };
    assert_eq!(code, 0, "{all}");
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
    // On stdout, as pyinfra's: it is the data asked for.
    assert!(
        r.stdout
            .contains(&format!("rinfra: v{}", env!("CARGO_PKG_VERSION"))),
        "{r:?}"
    );
    assert!(r.stdout.contains("Python (embedded): 3."), "{r:?}");
    assert!(r.stdout.contains("pyinfra API: v3."), "{r:?}");
    assert!(r.stdout.contains("System: Linux"), "{r:?}");
    assert!(r.stdout.contains("Machine: "), "{r:?}");
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
    assert!(
        r.stderr
            .contains("cannot change to the directory `nowhere` (`--chdir`)"),
        "{r:?}"
    );
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
    let r = dir.run(&["@local", "deploy.py"]);
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
    // RINFRA_YES reads the same values (clap's own parsing refused `0` and ``).
    std::fs::remove_file(dir.join("made")).unwrap();
    for (value, runs) in [
        ("0", false),
        ("", false),
        ("no", false),
        ("1", true),
        ("yes", true),
    ] {
        let out = dir
            .cmd(&["@local", "deploy.py"])
            .env("RINFRA_YES", value)
            .output()
            .unwrap();
        assert_eq!(out.status.success(), runs, "RINFRA_YES={value:?}: {out:?}");
        assert_eq!(dir.join("made").exists(), runs, "RINFRA_YES={value:?}");
        let _ = std::fs::remove_file(dir.join("made"));
    }
}

#[test]
fn debug_all_is_debug() {
    let r = TestDir::new().run(&["@local", "--debug-all", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("    debug: 1 host(s)"), "{r:?}");
}

#[test]
fn connect_timeout_config_is_the_ssh_connection_timeout() {
    // A loopback port that accepts TCP connections and never speaks SSH.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let dir = TestDir::new();
    dir.write("config.py", "CONNECT_TIMEOUT = 1\n");
    let r = dir.run(&["127.0.0.1", "--ssh-port", &port, "exec", "--", "true"]);
    assert_eq!(r.code, 1, "{r:?}");
    // The message names the configured timeout (no wall-clock bound in tests).
    assert!(r.stderr.contains("timed out after 1s"), "{r:?}");
    dir.write("config.py", "CONNECT_TIMEOUT = \"soon\"\n");
    let r = dir.run(&["127.0.0.1", "--ssh-port", &port, "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("config.py: CONNECT_TIMEOUT must be a number of seconds, not \"soon\""),
        "{r:?}"
    );
}

#[test]
fn default_temp_dir_config_is_the_temp_directory_without_temp_dir() {
    let dir = TestDir::new();
    let default = dir.join("default-tmp");
    let explicit = dir.join("explicit-tmp");
    std::fs::create_dir_all(&default).unwrap();
    std::fs::create_dir_all(&explicit).unwrap();
    dir.write("s.sh", "echo from-the-script\n");
    dir.write(
        "deploy.py",
        "from pyinfra.operations import server\nserver.script(src=\"s.sh\")\n",
    );
    dir.write(
        "config.py",
        &format!("DEFAULT_TEMP_DIR = {:?}\n", default.display().to_string()),
    );
    let r = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::read_dir(&default).unwrap().count(), 1, "{r:?}");
    // TEMP_DIR wins.
    dir.write(
        "config.py",
        &format!(
            "DEFAULT_TEMP_DIR = {:?}\nTEMP_DIR = {:?}\n",
            default.display().to_string(),
            explicit.display().to_string()
        ),
    );
    let r = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::read_dir(&explicit).unwrap().count(), 1, "{r:?}");
}

#[test]
fn require_pyinfra_version_is_checked_where_it_is_set() {
    let dir = TestDir::new();
    dir.write(
        "config.py",
        "from pyinfra import config\nconfig.REQUIRE_PYINFRA_VERSION = \">=3.11\"\n",
    );
    let r = dir.run(&["@local", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "config.py:2: PyinfraError: pyinfra version requirement not met (requires >=3.11, \
             running 3.10.0"
        ),
        "{r:?}"
    );
    dir.write("config.py", "REQUIRE_PYINFRA_VERSION = \"~=3.10\"\n");
    let r = dir.run(&["@local", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
    // In deploy code, as pyinfra's Config.__setattr__.
    dir.write("config.py", "");
    dir.write(
        "deploy.py",
        "from pyinfra import config\n\nconfig.REQUIRE_PYINFRA_VERSION = \"<3\"\n",
    );
    let r = dir.run(&["@local", "deploy.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("deploy.py:3:") && r.stderr.contains("requires <3"),
        "{r:?}"
    );
}

#[test]
fn require_packages_checks_installed_distributions_and_their_dependencies() {
    let dir = TestDir::new();
    dir.write(
        "site/fakepkg-1.2.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.2\nRequires-Dist: otherfake>=2\n\
         Requires-Dist: never-installed; extra == \"x\"\n",
    );
    let config = |reqs: &str| {
        format!("import sys\nsys.path.insert(0, \"site\")\nREQUIRE_PACKAGES = {reqs}\n")
    };
    dir.write("config.py", &config("[\"fakepkg>=1.0\"]"));
    let r = dir.run(&["@local", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    if r.stderr.contains("cannot be checked") {
        // No `packaging` (nor pip) in the Python rinfra runs: refused, not ignored.
        assert!(
            r.stderr.contains("REQUIRE_PACKAGES cannot be checked"),
            "{r:?}"
        );
        return;
    }
    assert!(
        r.stderr
            .contains("error: cannot load the config file `config.py`\n  Caused by: PyinfraError: REQUIRE_PACKAGES: Deploy requirements (['fakepkg>=1.0']) not met: missing otherfake>=2"),
        "{r:?}"
    );
    dir.write(
        "site/otherfake-2.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: otherfake\nVersion: 2.0\n",
    );
    let r = dir.run(&["@local", "exec", "--", "true"]);
    assert_eq!(r.code, 0, "{r:?}");
    // A requirements file, relative to the working directory.
    dir.write("requirements.txt", "fakepkg>=2\n");
    dir.write("config.py", &config("\"requirements.txt\""));
    let r = dir.run(&["@local", "exec", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("missing fakepkg>=2"), "{r:?}");
}

#[test]
fn did_you_mean_for_operation_and_fact_names_only_when_close_in_meaning() {
    let dir = TestDir::new();
    let hint = |args: &[&str]| {
        let r = dir.run(args);
        assert_eq!(r.code, 2, "{r:?}");
        r.stderr
            .lines()
            .filter_map(|l| l.trim().strip_prefix("hint: did you mean "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(hint(&["@local", "server.shel"]), ["`server.shell`?"]);
    assert_eq!(hint(&["@local", "sever.shell"]), ["`server.shell`?"]);
    assert_eq!(hint(&["@local", "sum.packages"]), Vec::<String>::new());
    assert_eq!(hint(&["@local", "apt.hex"]), Vec::<String>::new());
    assert_eq!(
        hint(&["@local", "fact", "server.hostname"]),
        ["`server.Hostname`?"]
    );
    assert_eq!(
        hint(&["@local", "fact", "hostname"]),
        ["`server.Hostname`?"]
    );
    assert_eq!(
        hint(&["@local", "fact", "server.Hex"]),
        Vec::<String>::new()
    );
    assert_eq!(
        hint(&["@local", "fact", "sum.Packages"]),
        Vec::<String>::new()
    );

    // In deploy code: pyinfra's AttributeError, with the suggestion once.
    dir.write(
        "deploy.py",
        "from pyinfra.operations import server\nserver.shel(commands=[\"true\"])\n",
    );
    let r = dir.run(&["@fake/a,@fake/b", "deploy.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "deploy.py:2: AttributeError: module 'pyinfra.operations.server' has no attribute \
             'shel'\n\nhint: did you mean `shell`?\n"
        ),
        "{r:?}"
    );
    assert_eq!(r.stderr.matches("did you mean").count(), 1, "{r:?}");
    dir.write(
        "deploy.py",
        "from pyinfra.operations import apt\napt.hex()\n",
    );
    let r = dir.run(&["@fake/a", "deploy.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("has no attribute 'hex'"), "{r:?}");
    assert!(!r.stderr.contains("did you mean"), "{r:?}");
    dir.write("deploy.py", "import pyinfra.operations.sever\n");
    let r = dir.run(&["@fake/a", "deploy.py", "-y"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("hint: did you mean `pyinfra.operations.server`?"),
        "{r:?}"
    );
}

#[test]
fn hosts_that_failed_to_connect_ask_whether_to_continue() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let dir = TestDir::new();
    let args = format!("@local,127.0.0.1 --ssh-port {port} exec -- touch made");
    let Some((code, all)) = run_on_terminal(&dir, &args, &["no"]) else {
        return;
    };
    assert_eq!(code, 1, "{all}");
    assert!(
        all.contains("One or more hosts failed to connect, continue?"),
        "{all}"
    );
    assert!(all.contains("Unexpected user input: no"), "{all}");
    assert!(!dir.join("made").exists(), "{all}");
    let (code, all) = run_on_terminal(&dir, &args, &[""]).unwrap();
    assert_eq!(code, 1, "{all}");
    assert!(dir.join("made").exists(), "{all}");
    // -y, or no terminal: the others go on without asking.
    std::fs::remove_file(dir.join("made")).unwrap();
    let r = dir.run(&[
        "@local,127.0.0.1",
        "--ssh-port",
        &port,
        "exec",
        "--",
        "touch",
        "made",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stderr.contains("continue?"), "{r:?}");
    assert!(dir.join("made").exists(), "{r:?}");
    std::fs::remove_file(dir.join("made")).unwrap();
    let (code, all) = run_on_terminal(&dir, &format!("-y {args}"), &["no"]).unwrap();
    assert_eq!(code, 1, "{all}");
    assert!(!all.contains("continue?"), "{all}");
    assert!(dir.join("made").exists(), "{all}");
}

#[test]
fn confirmation_stops_on_anything_but_enter() {
    let dir = TestDir::new();
    dir.write("deploy.py", TOUCH_DEPLOY);
    let Some((code, all)) = run_on_terminal(&dir, "@local deploy.py", &["y"]) else {
        return;
    };
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("Unexpected user input: y"), "{all}");
    assert!(!dir.join("made").exists(), "{all}");
    let (code, all) = run_on_terminal(&dir, "@local deploy.py", &[""]).unwrap();
    assert_eq!(code, 0, "{all}");
    assert!(dir.join("made").exists(), "{all}");
}

#[test]
fn hosts_that_fail_during_execution_ask_whether_to_continue() {
    let results = |all: &str| all.split("Results:").nth(1).unwrap_or("").to_string();
    let dir = TestDir::new();
    dir.write(
        "inventory.py",
        "hosts = [(\"@fake/a\", {\"fake_responses\": {\"boom\": {\"success\": False}}}), \
         \"@fake/b\"]\n",
    );
    dir.write(
        "deploy.py",
        "from pyinfra.operations import server\n\
         server.shell(name=\"first\", commands=[\"boom\"])\n\
         server.shell(name=\"second\", commands=[\"echo second\"])\n",
    );
    // Enter to execute, then "no" when @fake/a has failed: "second" never runs.
    let Some((code, all)) = run_on_terminal(&dir, "inventory.py deploy.py", &["", "no"]) else {
        return;
    };
    assert_eq!(code, 1, "{all}");
    assert!(
        all.contains("One or more hosts failed (@fake/a), continue?"),
        "{all}"
    );
    assert!(
        all.contains("Stopped: hosts failed and the run was not continued"),
        "{all}"
    );
    assert!(!results(&all).contains("second"), "{all}");
    // Enter twice: @fake/b goes on.
    let (code, all) = run_on_terminal(&dir, "inventory.py deploy.py", &["", ""]).unwrap();
    assert_eq!(code, 1, "{all}");
    assert!(results(&all).contains("second"), "{all}");
    // -y: not asked.
    let (code, all) = run_on_terminal(&dir, "-y inventory.py deploy.py", &["no"]).unwrap();
    assert_eq!(code, 1, "{all}");
    assert!(!all.contains("continue?"), "{all}");
    assert!(results(&all).contains("second"), "{all}");
}
