//! Snapshots of what `rinfra` prints, for every CLI form and the errors users meet, run through
//! the binary (issue 19): a change to what users see shows up as a reviewed diff of
//! `tests/snapshots/*.snap`.
//!
//! Each snapshot records the command, the exit code, stdout and stderr. Only what varies from
//! run to run is redacted, with insta filters: the test's temporary directory (`[TEMP]`), the
//! binary's path (`[RINFRA]`), and in `--support` the versions and the kernel. Lines of
//! different hosts come in the order the hosts finish; they are put in host-name order (each
//! host's own lines keep their order) so that parallel runs compare equal.
//!
//! The environment is set here, not inherited: `PATH` only, a fresh `HOME`, `NO_COLOR=1`,
//! `LC_ALL=C`, no terminal. The `@local` snapshots need nothing else; the SSH ones need the
//! project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`) and fail without it.
//! They use the last two testbed SSH hosts, under `/tmp/rinfra-snapshots-*` paths of their own.
//!
//! Review a change with `cargo insta review`, or by hand: insta writes `.snap.new` files beside
//! the `.snap` ones (`INSTA_UPDATE=always` overwrites them); with `CI` set it only fails.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::target::{env, second_ssh_host, ssh_host, Target};

/// A fresh directory to run `rinfra` in, at a path of fixed length (so redacting it cannot
/// change how anything else lines up from one machine to another).
struct Snap {
    dir: tempfile::TempDir,
}

impl Snap {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rinfra-snap-")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `rinfra ARGS...` in the directory, with only the environment set here and no terminal
    /// (nothing of the developer's shell: colours, `RINFRA_*`/`PYINFRA_*`, a virtualenv, the
    /// testbed's variables, ssh settings in `~/.ssh`).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rinfra"));
        c.args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path().join("home"))
            .env("NO_COLOR", "1")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null());
        // SAFETY: setsid is async-signal-safe and runs in the child before exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                libc::setsid();
                Ok(())
            });
        }
        c
    }

    /// Run `rinfra ARGS...` and render what it printed for a snapshot.
    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        format!(
            "command: rinfra {}\nexit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            in_host_order(&stdout),
            in_host_order(&stderr),
        )
    }

    /// Redact what varies from run to run, then compare with `snapshots/snapshots__NAME.snap`.
    fn assert(&self, name: &str, rendered: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(true);
        settings.add_filter(&regex::escape(env!("CARGO_BIN_EXE_rinfra")), "[RINFRA]");
        settings.add_filter(&regex::escape(&self.path().display().to_string()), "[TEMP]");
        // Where the testbed keeps its client key (`$TB`, set by whoever brought it up).
        if let Ok(key) = std::env::var("RINFRA_TB_SSH_KEY") {
            settings.add_filter(&regex::escape(&key), "[SSH_KEY]");
        }
        // Time per phase (`--json`'s `results.hosts`) and round trips over SSH.
        settings.add_filter(
            r#""(connect|facts|execute)_s": [0-9.e-]+"#,
            r#""${1}_s": [SECONDS]"#,
        );
        settings.add_filter(r#""round_trips": [0-9]+"#, r#""round_trips": [N]"#);
        settings.bind(|| insta::assert_snapshot!(name, rendered));
    }
}

/// `text` with each run of consecutive host blocks ordered by host name, stably: hosts run in
/// parallel and report in the order they finish, while one host's lines (an error, then its
/// output) keep their order. A host block is a line of a host (`    [name] ...`) and the
/// indented lines after it, up to and with a blank line (a `--diff` under `[name] Will modify
/// ...`).
fn in_host_order(text: &str) -> String {
    fn host(line: &str) -> Option<&str> {
        let rest = line.trim_start().strip_prefix('[')?;
        let (name, _) = rest.split_once(']')?;
        (!name.is_empty() && !name.contains([' ', '"'])).then_some(name)
    }
    let mut out = String::new();
    // The current run of host blocks: (host, lines).
    let mut run: Vec<(&str, Vec<&str>)> = Vec::new();
    let flush = |run: &mut Vec<(&str, Vec<&str>)>, out: &mut String| {
        run.sort_by_key(|(h, _)| *h);
        for l in run.drain(..).flat_map(|(_, lines)| lines) {
            out.push_str(l);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if let Some(h) = host(line) {
            run.push((h, vec![line]));
            continue;
        }
        match run.last_mut() {
            // Indented lines continue a block until a blank line ends it; the blank line
            // belongs to a block of several lines (a diff), after one-line blocks it ends the
            // run.
            Some((_, lines))
                if lines.last() != Some(&"")
                    && (line.starts_with(' ') || (line.is_empty() && lines.len() > 1)) =>
            {
                lines.push(line);
            }
            _ => {
                flush(&mut run, &mut out);
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The two testbed SSH hosts, as an inventory with root's key (`--data` options after it).
fn ssh_inventory() -> (Target, Target, Vec<String>) {
    let (a, b) = (second_ssh_host(), ssh_host());
    let hosts = format!("{},{}", a.addr, b.addr);
    let key = format!("ssh_key={}", env("RINFRA_TB_SSH_KEY"));
    let args = vec![
        hosts,
        "--data".into(),
        key,
        "--data".into(),
        "ssh_user=root".into(),
        "--data".into(),
        "ssh_strict_host_key_checking=no".into(),
    ];
    (a, b, args)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------------
// deploys on @local

const LOCAL_DEPLOY: &str = r#"from pyinfra.operations import files, server

files.directory(name="Make a directory", path="made")
server.shell(name="Say hello", commands=["echo hello"])
server.shell(name="Skipped by _if", commands=["false"], _if=lambda: False)
"#;

#[test]
fn deploy_local() {
    let s = Snap::new();
    s.write("deploy.py", LOCAL_DEPLOY);
    s.assert("deploy_local_first", &s.run(&["@local", "deploy.py", "-y"]));
    s.assert(
        "deploy_local_second",
        &s.run(&["@local", "deploy.py", "-y"]),
    );
    assert!(s.path().join("made").is_dir());
}

#[test]
fn deploy_local_dry() {
    let s = Snap::new();
    s.write("deploy.py", LOCAL_DEPLOY);
    s.assert(
        "deploy_local_dry",
        &s.run(&["@local", "deploy.py", "--dry"]),
    );
    assert!(!s.path().join("made").exists(), "--dry changed nothing");
}

#[test]
fn deploy_local_diff() {
    let s = Snap::new();
    s.write("files/app.conf", "port = 8080\nworkers = 4\n");
    s.write("app.conf", "port = 80\nworkers = 4\n");
    s.write(
        "deploy.py",
        "from pyinfra.operations import files\n\n\
         files.put(name=\"Upload app.conf\", src=\"files/app.conf\", dest=\"app.conf\")\n",
    );
    s.assert(
        "deploy_local_diff",
        &s.run(&["@local", "deploy.py", "--diff", "--dry"]),
    );
}

#[test]
fn deploy_local_json() {
    let s = Snap::new();
    s.write("deploy.py", LOCAL_DEPLOY);
    s.assert(
        "deploy_local_json",
        &s.run(&["@local", "deploy.py", "--json", "-y"]),
    );
    let dry = Snap::new();
    dry.write("deploy.py", LOCAL_DEPLOY);
    // Without -y, pyinfra's --json prints the proposed changes and executes nothing.
    dry.assert(
        "deploy_local_json_without_yes",
        &dry.run(&["@local", "deploy.py", "--json"]),
    );
    assert!(!dry.path().join("made").exists());
}

// ---------------------------------------------------------------------------------------------
// the other forms on @local

#[test]
fn exec_local() {
    let s = Snap::new();
    s.assert(
        "exec_local",
        &s.run(&["@local", "exec", "--", "echo", "hello;", "echo", "world"]),
    );
}

#[test]
fn ad_hoc_operation_local() {
    let s = Snap::new();
    s.assert(
        "ad_hoc_operation_local_first",
        &s.run(&["@local", "files.directory", "path=made", "-y"]),
    );
    s.assert(
        "ad_hoc_operation_local_second",
        &s.run(&["@local", "files.directory", "path=made", "-y"]),
    );
}

#[test]
fn debug_inventory() {
    let s = Snap::new();
    s.write(
        "inventory.py",
        "web = [\"@local\"]\ndb = [(\"@fake/db1\", {\"role\": \"primary\"})]\n",
    );
    s.write("group_data/all.py", "app_port = 8080\n");
    s.write("group_data/web.py", "app_user = \"www\"\n");
    s.assert(
        "debug_inventory",
        &s.run(&["inventory.py", "debug-inventory"]),
    );
    s.assert(
        "debug_inventory_json",
        &s.run(&["inventory.py", "debug-inventory", "--json"]),
    );
}

#[test]
fn help() {
    let s = Snap::new();
    s.assert("help", &s.run(&["--help"]));
}

#[test]
fn support() {
    let s = Snap::new();
    let rendered = s.run(&["--support"]);
    let mut settings = insta::Settings::clone_current();
    // What the machine and the build are: kernel, architecture, versions.
    settings.add_filter(r"Platform: .+", "Platform: [PLATFORM]");
    settings.add_filter(r"Release: .+", "Release: [KERNEL]");
    settings.add_filter(r"Machine: .+", "Machine: [ARCH]");
    settings.add_filter(r"rinfra: v\S+", "rinfra: v[VERSION]");
    settings.add_filter(r"Python \(embedded\): .+", "Python (embedded): [PYTHON]");
    settings.bind(|| s.assert("support", &rendered));
}

// ---------------------------------------------------------------------------------------------
// errors

#[test]
fn error_bad_inventory() {
    let s = Snap::new();
    s.assert(
        "error_unknown_connector",
        &s.run(&["@nope/x", "exec", "--", "true"]),
    );
    s.assert(
        "error_unknown_connector_suggested",
        &s.run(&["@dokcer/app", "exec", "--", "true"]),
    );
    s.assert(
        "error_inventory_file_not_found",
        &s.run(&["inventory.py", "exec", "--", "true"]),
    );
    s.write("inventory.py", "web = [\"@local\"\n");
    s.assert(
        "error_inventory_syntax",
        &s.run(&["inventory.py", "exec", "--", "true"]),
    );
}

#[test]
fn error_deploy_code() {
    let s = Snap::new();
    s.write(
        "syntax.py",
        "from pyinfra.operations import server\n\nserver.shell(commands=[\"true\"]\n",
    );
    s.assert(
        "error_deploy_syntax",
        &s.run(&["@local", "syntax.py", "-y"]),
    );
    s.write(
        "raises.py",
        "from pyinfra.operations import server\n\n\
         def check():\n    raise ValueError(\"the app needs a port\")\n\ncheck()\n",
    );
    s.assert(
        "error_deploy_raises",
        &s.run(&["@fake/a,@fake/b", "raises.py", "-y"]),
    );
    s.write(
        "attribute.py",
        "from pyinfra.operations import server\n\nserver.shel(commands=[\"true\"])\n",
    );
    s.assert(
        "error_deploy_unknown_operation",
        &s.run(&["@local", "attribute.py", "-y"]),
    );
    s.write(
        "argument.py",
        "from pyinfra.operations import files\n\nfiles.directory(pth=\"x\")\n",
    );
    s.assert(
        "error_deploy_unknown_argument",
        &s.run(&["@local", "argument.py", "-y"]),
    );
}

#[test]
fn error_unknown_operation() {
    let s = Snap::new();
    s.assert(
        "error_unknown_operation_suggested",
        &s.run(&["@local", "server.shel", "commands=true"]),
    );
    // Another tool's word for the same thing.
    s.assert(
        "error_unknown_operation_same_meaning",
        &s.run(&["@local", "apt.install", "packages=vim"]),
    );
    // Spelt like `yum.packages` / `apt.deb`, but other tools: no suggestion.
    s.assert(
        "error_unknown_operation_module",
        &s.run(&["@local", "sum.packages", "packages=vim"]),
    );
    s.assert(
        "error_unknown_operation_in_module",
        &s.run(&["@local", "apt.hex"]),
    );
    s.assert(
        "error_unknown_fact_suggested",
        &s.run(&["@local", "fact", "server.hostname"]),
    );
    s.assert(
        "error_unknown_argument",
        &s.run(&["@local", "files.directory", "pth=made"]),
    );
}

#[test]
fn error_usage() {
    let s = Snap::new();
    s.assert("error_no_operations", &s.run(&["@local"]));
    s.assert(
        "error_exec_without_command",
        &s.run(&["@local", "exec", "--"]),
    );
    s.assert(
        "error_no_host_selected",
        &s.run(&["@local", "--limit", "web", "exec", "--", "true"]),
    );
    // Changes to confirm, and no terminal to confirm on.
    s.assert(
        "error_no_terminal_to_confirm",
        &s.run(&["@local", "files.directory", "path=made"]),
    );
    assert!(!s.path().join("made").exists());
}

#[test]
fn error_unknown_option() {
    let s = Snap::new();
    s.assert(
        "error_unknown_option",
        &s.run(&["@local", "--sudo-usr", "root", "exec", "--", "id"]),
    );
}

#[test]
fn error_host_fails_to_connect() {
    let s = Snap::new();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    s.assert(
        "error_host_fails_to_connect_others_go_on",
        &s.run(&[
            "@local,127.0.0.1",
            "--ssh-port",
            "1",
            "exec",
            "--",
            "echo",
            "hello",
        ]),
    );
    s.assert(
        "error_every_host_fails_to_connect",
        &s.run(&["127.0.0.1", "--ssh-port", "1", "exec", "--", "true"]),
    );
}

#[test]
fn error_operation_fails_on_host() {
    let s = Snap::new();
    s.write(
        "deploy.py",
        "from pyinfra.operations import server\n\n\
         server.shell(name=\"Fails\", commands=[\"echo the app is not ready >&2; exit 3\"])\n\
         server.shell(name=\"Never runs\", commands=[\"true\"])\n",
    );
    s.assert(
        "error_operation_fails_on_host",
        &s.run(&["@local", "deploy.py", "-y"]),
    );
}

#[test]
fn error_bad_config() {
    let s = Snap::new();
    s.write("config.py", "SUDOO = True\n");
    s.assert(
        "error_config_name",
        &s.run(&["@local", "exec", "--", "true"]),
    );
    s.write(
        "config.py",
        "from pyinfra import config\n\nconfig.REQUIRE_PYINFRA_VERSION = \">=4\"\n",
    );
    s.assert(
        "error_config_requires_pyinfra_version",
        &s.run(&["@local", "exec", "--", "true"]),
    );
    s.write("config.py", "CONNECT_TIMEOUT = \"soon\"\n");
    s.assert(
        "error_config_value",
        &s.run(&["@local", "exec", "--", "true"]),
    );
}

// ---------------------------------------------------------------------------------------------
// the testbed's SSH hosts

#[test]
fn deploy_ssh() {
    let (a, b, inventory) = ssh_inventory();
    let s = Snap::new();
    let base = "/tmp/rinfra-snapshots-deploy-ssh";
    for t in [&a, &b] {
        t.check(&format!("rm -rf {base}"));
    }
    s.write(
        "deploy.py",
        &format!(
            "from pyinfra import host\nfrom pyinfra.operations import files, server\n\n\
             files.directory(name=\"Make the app directory\", path=\"{base}/app\")\n\
             files.put(name=\"Upload the config\", src=\"app.conf\", dest=\"{base}/app/app.conf\")\n\
             server.shell(name=\"Only on one host\", commands=[\"true\"], \
             _if=lambda: host.name == \"{}\")\n",
            b.addr
        ),
    );
    s.write("app.conf", "port = 8080\n");
    let mut args = strs(&inventory);
    args.extend(["deploy.py", "-y"]);
    s.assert("deploy_ssh_first", &s.run(&args));
    s.assert("deploy_ssh_second", &s.run(&args));
    // --dry and --diff after a change to the local file: what would change, nothing done.
    s.write("app.conf", "port = 8081\n");
    let mut args = strs(&inventory);
    args.extend(["deploy.py", "--dry", "--diff"]);
    s.assert("deploy_ssh_dry_diff", &s.run(&args));
    for t in [&a, &b] {
        assert_eq!(t.check(&format!("cat {base}/app/app.conf")), "port = 8080");
        t.check(&format!("rm -rf {base}"));
    }
}

#[test]
fn error_operation_fails_on_one_ssh_host() {
    let (a, _, inventory) = ssh_inventory();
    let s = Snap::new();
    let h = a.check("hostname");
    s.write(
        "deploy.py",
        &format!(
            "from pyinfra.operations import server\n\n\
             server.shell(\n    name=\"Only {h} passes\",\n    \
             commands=['[ \"$(hostname)\" = {h} ] || {{ echo \"this is $(hostname)\" >&2; exit 1; }}'],\n)\n\
             server.shell(name=\"The others go on\", commands=[\"true\"])\n"
        ),
    );
    let mut args = strs(&inventory);
    args.extend(["deploy.py", "-y"]);
    s.assert("error_operation_fails_on_one_ssh_host", &s.run(&args));
}

#[test]
fn exec_and_facts_ssh() {
    let (_, _, inventory) = ssh_inventory();
    let s = Snap::new();
    let mut args = strs(&inventory);
    args.extend(["exec", "--", "echo", "hello from $(hostname)"]);
    s.assert("exec_ssh", &s.run(&args));
    let mut args = strs(&inventory);
    args.extend([
        "fact",
        "server.Hostname",
        "files.FindInFile",
        "path=/etc/hostname",
        "pattern=^h",
    ]);
    s.assert("fact_ssh", &s.run(&args));
    let mut args = strs(&inventory);
    args.extend([
        "fact",
        "files.FindInFile",
        "path=/etc/hostname",
        "pattern=^h",
        "--json",
    ]);
    s.assert("fact_with_arguments_ssh_json", &s.run(&args));
}

#[test]
fn ad_hoc_operation_ssh() {
    let (a, b, inventory) = ssh_inventory();
    let s = Snap::new();
    let path = "/tmp/rinfra-snapshots-ad-hoc";
    for t in [&a, &b] {
        t.check(&format!("rm -rf {path}"));
    }
    let op = format!("path={path}");
    let mut args = strs(&inventory);
    args.extend(["files.directory", &op, "-y"]);
    s.assert("ad_hoc_operation_ssh_first", &s.run(&args));
    s.assert("ad_hoc_operation_ssh_second", &s.run(&args));
    let mut args = strs(&inventory);
    args.extend(["files.directory", &op, "present=False", "--dry"]);
    s.assert("ad_hoc_operation_ssh_dry", &s.run(&args));
    for t in [&a, &b] {
        assert_eq!(t.check(&format!("test -d {path} && echo yes")), "yes");
        t.check(&format!("rm -rf {path}"));
    }
}

#[test]
fn host_blocks_are_put_in_host_order() {
    let text = "--> Start\n    [b] Connected\n    [a] Connected\n\n    [b] Will modify f\n\
                \x20   -x\n    +y\n\n    [a] Success\n[a] output\nerror: stop\n    table\n";
    assert_eq!(
        in_host_order(text),
        "--> Start\n    [a] Connected\n    [b] Connected\n\n    [a] Success\n[a] output\n\
         \x20   [b] Will modify f\n    -x\n    +y\n\nerror: stop\n    table\n"
    );
}
