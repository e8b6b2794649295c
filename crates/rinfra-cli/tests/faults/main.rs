//! Faults and hostile input through the built binary, against sshd processes of our own on
//! 127.0.23.K:2222 (see `sshd.rs`), `@local`, a full filesystem, a packet-dropping address,
//! a user without sudo and SIGINT. In every case the failing host is named with its reason,
//! the other hosts finish, the exit code is the documented one, and nothing panics, hangs or is
//! left behind (processes, temp files, askpass scripts, secrets in the output). Last, a run over
//! 500 such hosts (127.0.24.x and 127.0.25.x) leaves nothing behind either.
//!
//! Needs root, `/usr/sbin/sshd` (openssh-server), `iptables`, and for the sudo cases the local
//! users of `scripts/testbed up` (`rinfra-app`, `rinfra-pw`); a missing piece fails with what to
//! do. Timing is never asserted: waits are bounded polls, and limits are safety nets only.

#[path = "../util/mod.rs"]
mod util;

mod sshd;

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sshd::{
    descendants, find_named, next_host, require_local_user, session_leftovers, tcp_sockets,
    wait_gone, DropRule, Finished, Fleet, ProcessTree, Running, SmallFs, TcpSocket, DROP_HOST,
    PORT, TCP_LISTEN, TCP_TIME_WAIT,
};
use util::TestDir;

const BIN: &str = env!("CARGO_BIN_EXE_rinfra");

/// `rinfra ARGS` in `t`, with no agent and a private HOME (no default keys, no known_hosts).
fn rinfra(t: &TestDir, args: &[String]) -> Command {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = t.cmd(&refs);
    c.env_remove("SSH_AUTH_SOCK")
        .env("HOME", t.path())
        .env_remove("RUST_BACKTRACE");
    c
}

fn run(t: &TestDir, args: &[String]) -> Finished {
    Running::start(rinfra(t, args)).finish()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// No panic, no backtrace: failures are reported, not crashed on.
fn assert_no_crash(r: &Finished) {
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(
            !r.stderr.contains(bad) && !r.stdout.contains(bad),
            "`{bad}` in the output: {r:?}"
        );
    }
}

/// The `[host] Error: ...` line of `host` (its reason).
fn error_line<'a>(r: &'a Finished, host: &str) -> &'a str {
    let prefix = format!("[{host}] Error:");
    let prefix2 = format!("[{host}] Could not connect:");
    r.stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix) || l.starts_with(&prefix2))
        .unwrap_or_else(|| panic!("no error line for {host}: {r:?}"))
}

fn assert_success(r: &Finished, host: &str) {
    let line = format!("[{host}] Success");
    assert!(
        r.stderr.lines().any(|l| l.trim() == line),
        "{host} should have succeeded: {r:?}"
    );
}

/// Nothing the run started is still running.
fn assert_no_leftover_processes(r: &Finished) {
    let mut left = session_leftovers(r.pid);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = session_leftovers(r.pid);
    }
    assert!(
        left.is_empty(),
        "processes of the run left behind: {left:?}"
    );
}

/// Wait (bounded) until a process whose command line is exactly `cmd` runs under `pid`.
fn wait_for_process_under(pid: i32, cmd: &str) {
    for _ in 0..600 {
        let found = descendants(pid).iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim() == cmd)
                .unwrap_or(false)
        });
        if found {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("`{cmd}` never started under pid {pid}");
}

/// No process matches `needle` (polling a bounded number of times); leftovers are killed
/// before failing, so a failure does not leave them running.
fn assert_gone(needle: &str, what: &str) {
    let left = wait_gone(needle);
    for l in &left {
        if let Some(pid) = l
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill(2) on a leftover of this test (its command line is the test's own).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    assert!(left.is_empty(), "{what}: {left:?}");
}

/// A directory anyone may enter (for runs as other users), inside a `TestDir`.
fn open_dir(t: &TestDir) {
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

// 1. ---------------------------------------------------------------------------------------

#[test]
fn sshd_killed_mid_operation_fails_that_host_only() {
    let mut fleet = Fleet::start(3);
    let t = TestDir::new();
    let mut args = vec![fleet.inventory(), "exec".into()];
    args.extend(fleet.ssh_args());
    args.extend(strings(&["--", "sleep", "3"]));
    let mut run = Running::start(rinfra(&t, &args));
    run.wait_for_line("Beginning operation run");
    let victim = fleet.hosts[1].addr.clone();
    wait_for_process_under(fleet.hosts[1].pid().unwrap(), "sleep 3");
    fleet.kill_host(1);
    let r = run.finish();
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    let reason = error_line(&r, &victim);
    assert!(reason.contains("connection lost"), "{reason}\n{r:?}");
    assert_success(&r, &fleet.hosts[0].addr);
    assert_success(&r, &fleet.hosts[2].addr);
    assert_no_leftover_processes(&r);
}

// 2. ---------------------------------------------------------------------------------------

#[test]
fn address_dropping_packets_times_out_that_host_only() {
    let fleet = Fleet::start_on(&[next_host(), DROP_HOST, next_host()]);
    let dropped = fleet.hosts[1].addr.clone();
    let _rule = DropRule::add(&dropped);
    let t = TestDir::new();
    let mut args = vec![fleet.inventory(), "exec".into()];
    args.extend(fleet.ssh_args());
    args.extend(strings(&[
        "--connect-timeout",
        "2",
        "--",
        "echo",
        "reached",
    ]));
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    let reason = error_line(&r, &dropped);
    assert!(reason.contains("timed out"), "{reason}\n{r:?}");
    assert!(reason.contains(&format!("{dropped}:2222")), "{reason}");
    assert_success(&r, &fleet.hosts[0].addr);
    assert_success(&r, &fleet.hosts[2].addr);
    assert_eq!(r.stderr.matches("] reached").count(), 2, "{r:?}");
    assert_no_leftover_processes(&r);
}

// 3. ---------------------------------------------------------------------------------------

#[test]
fn command_over_its_timeout_is_killed_on_the_target() {
    let fleet = Fleet::start(3);
    let slow = fleet.hosts[2].addr.clone();
    let t = TestDir::new();

    // The CLI form: every host sleeps past `_timeout` (so no host's success hangs on how fast
    // this busy machine runs a command within 1 s).
    let mut args = vec![
        fleet.inventory(),
        "server.shell".into(),
        r#"commands=["sleep 3030"]"#.into(),
        "_timeout=1".into(),
        "-y".into(),
    ];
    args.extend(fleet.ssh_args());
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    for h in fleet.addrs() {
        let reason = error_line(&r, &h);
        assert!(reason.contains("timed out after 1s"), "{reason}\n{r:?}");
    }
    assert_gone("sleep 3030", "the remote command survived its timeout");
    assert_no_leftover_processes(&r);

    // Only one host has the limit (and sleeps): the others finish.
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import server

if host.name == "{slow}":
    server.shell(name="Slow", commands=["sleep 3031"], _timeout=1)
else:
    server.shell(name="Slow", commands=["true"])
"#
        ),
    );
    let mut args = vec![fleet.inventory(), "deploy.py".into(), "-y".into()];
    args.extend(fleet.ssh_args());
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    let reason = error_line(&r, &slow);
    assert!(reason.contains("timed out after 1s"), "{reason}\n{r:?}");
    assert_success(&r, &fleet.hosts[0].addr);
    assert_success(&r, &fleet.hosts[1].addr);
    assert_gone("sleep 3031", "the remote command survived its timeout");
    assert_no_leftover_processes(&r);
}

// 4. ---------------------------------------------------------------------------------------

fn write_big(t: &TestDir) {
    let data: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(t.join("big.bin"), data).unwrap();
}

#[test]
fn full_filesystem_fails_the_upload_and_leaves_nothing() {
    let fs = SmallFs::mount();
    let fleet = Fleet::start(2);
    let ok_dir = tempfile::tempdir().unwrap();
    let t = TestDir::new();
    write_big(&t);
    let (full_host, ok_host) = (fleet.hosts[0].addr.clone(), fleet.hosts[1].addr.clone());
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files

if host.name == "{ok_host}":
    dest = "{ok}/big"
else:
    dest = "{full}/big-" + host.name.replace("@", "at-")
files.put(name="Big upload", src="big.bin", dest=dest)
"#,
            ok = ok_dir.path().display(),
            full = fs.path().display(),
        ),
    );
    let mut args = vec![format!("@local,{}", fleet.inventory()), "deploy.py".into()];
    args.extend(fleet.ssh_args());
    args.push("-y".into());
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    for host in ["@local", full_host.as_str()] {
        let reason = error_line(&r, host);
        assert!(
            reason.contains("No space left on device"),
            "{reason}\n{r:?}"
        );
    }
    assert_success(&r, &ok_host);
    assert_eq!(
        std::fs::metadata(ok_dir.path().join("big")).unwrap().len(),
        4 * 1024 * 1024
    );
    assert_eq!(fs.names(), Vec::<String>::new(), "nothing may be left");
    assert!(find_named(ok_dir.path(), "rinfra-tmp").is_empty());
    assert_no_leftover_processes(&r);
}

/// The SSH upload's first leg (to `_temp_dir`) hits the full disk: the partial temp file goes.
#[test]
fn full_temp_dir_fails_the_upload_and_leaves_nothing() {
    let fs = SmallFs::mount();
    let fleet = Fleet::start(2);
    let ok_dir = tempfile::tempdir().unwrap();
    let t = TestDir::new();
    write_big(&t);
    let (full_host, ok_host) = (fleet.hosts[0].addr.clone(), fleet.hosts[1].addr.clone());
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files

temp = "{full}" if host.name == "{full_host}" else "{ok}"
# `_sudo`: only an escalated upload is staged in the temp dir (a plain one goes beside `dest`).
files.put(name="Big upload", src="big.bin", dest="{ok}/big-" + host.name, _temp_dir=temp, _sudo=True)
"#,
            ok = ok_dir.path().display(),
            full = fs.path().display(),
        ),
    );
    let mut args = vec![fleet.inventory(), "deploy.py".into()];
    args.extend(fleet.ssh_args());
    args.push("-y".into());
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 1, "{r:?}");
    let reason = error_line(&r, &full_host);
    assert!(
        reason.contains("No space left on device"),
        "{reason}\n{r:?}"
    );
    assert_success(&r, &ok_host);
    assert!(!ok_dir.path().join(format!("big-{full_host}")).exists());
    assert!(ok_dir.path().join(format!("big-{ok_host}")).exists());
    assert_eq!(fs.names(), Vec::<String>::new(), "no partial temp file");
    let mut left: Vec<String> = std::fs::read_dir(ok_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec![format!("big-{ok_host}")], "no temp file left");
    assert_no_leftover_processes(&r);
}

// 5. ---------------------------------------------------------------------------------------

/// `rinfra ARGS` as `user` (through runuser), in `t`, with no terminal.
fn as_user(t: &TestDir, user: &str, args: &[String]) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", user, "--", BIN])
        .args(args)
        .current_dir(t.path())
        .env("NO_COLOR", "1")
        .env("HOME", t.path())
        .env_remove("RINFRA_YES")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("RUST_BACKTRACE");
    c
}

/// The fixture key, copied where `user` can read it.
fn key_for(t: &TestDir, fleet: &Fleet, user: &str) -> String {
    let key = t.join(&format!("key-{user}"));
    std::fs::copy(&fleet.key, &key).unwrap();
    let status = Command::new("chown").arg(user).arg(&key).status().unwrap();
    assert!(status.success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    key.display().to_string()
}

fn ssh_args_with_key(key: &str) -> Vec<String> {
    let mut v = Vec::new();
    for d in [
        "ssh_port=2222".to_string(),
        format!("ssh_key={key}"),
        "ssh_user=root".into(),
        "ssh_strict_host_key_checking=no".into(),
    ] {
        v.push("--data".into());
        v.push(d);
    }
    v
}

#[test]
fn sudo_without_rights_is_a_clear_error_not_a_prompt() {
    require_local_user("rinfra-app");
    let fleet = Fleet::start(1);
    let t = TestDir::new();
    open_dir(&t);
    let key = key_for(&t, &fleet, "rinfra-app");
    let remote = fleet.hosts[0].addr.clone();
    for form in [
        strings(&["exec", "--sudo", "--", "id"]),
        strings(&["server.shell", r#"commands=["id"]"#, "--sudo", "-y"]),
    ] {
        let mut args = vec![format!("@local,{remote}")];
        args.extend(ssh_args_with_key(&key));
        args.extend(form);
        let r = Running::start(as_user(&t, "rinfra-app", &args)).finish();
        assert_no_crash(&r);
        assert_eq!(r.code, 1, "{r:?}");
        error_line(&r, "@local");
        assert!(
            r.stderr
                .lines()
                .any(|l| l.trim() == "[@local] sudo: a password is required"),
            "sudo's own message must be shown for the host: {r:?}"
        );
        assert_success(&r, &remote);
        assert!(!r.stderr.to_lowercase().contains("password:"), "{r:?}");
        assert_no_leftover_processes(&r);
    }
}

// 6. ---------------------------------------------------------------------------------------

#[test]
fn sigint_during_execute_exits_130_and_cleans_up() {
    let fleet = Fleet::start(2);
    let temp = fleet.path().join("remote-tmp");
    std::fs::create_dir(&temp).unwrap();
    let t = TestDir::new();
    // @local too: its command runs under sudo, a grandchild of the shell rinfra starts.
    let mut args = vec![format!("@local,{}", fleet.inventory()), "exec".into()];
    args.extend(fleet.ssh_args());
    args.extend(strings(&[
        "--sudo",
        "--data",
        "_sudo_password=sigint-pw-1",
        "--data",
        &format!("_temp_dir={}", temp.display()),
        "--",
        "sleep",
        "2006",
    ]));
    let mut run = Running::start(rinfra(&t, &args));
    run.wait_for_line("Beginning operation run");
    for h in &fleet.hosts {
        wait_for_process_under(h.pid().unwrap(), "sleep 2006");
    }
    wait_for_process_under(run.pid(), "sleep 2006");
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(run.pid(), libc::SIGINT) };
    let r = run.finish();
    assert_no_crash(&r);
    assert_eq!(r.code, 130, "{r:?}");
    assert!(r.stderr.contains("interrupted"), "{r:?}");
    assert!(r.stderr.contains("Disconnecting from hosts"), "{r:?}");
    assert_gone("sleep 2006", "commands survived the interrupt");
    let files: Vec<_> = std::fs::read_dir(&temp).unwrap().collect();
    assert!(files.is_empty(), "askpass/temp files left: {files:?}");
    assert_no_leftover_processes(&r);
}

// 7. ---------------------------------------------------------------------------------------

const SSH_SECRET: &str = "Ssh-Secret-7421";
const SUDO_SECRET: &str = "Sudo-Secret-9113";

fn assert_no_secret(r: &Finished, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "secret `{s}` printed: {r:?}"
        );
    }
}

#[test]
fn secrets_never_appear_in_any_output() {
    let fleet = Fleet::start(2);
    let temp = fleet.path().join("remote-tmp");
    std::fs::create_dir(&temp).unwrap();
    let t = TestDir::new();
    let secrets = [SSH_SECRET, SUDO_SECRET];
    let data = strings(&[
        "--data",
        &format!("ssh_password={SSH_SECRET}"),
        "--data",
        &format!("_sudo_password={SUDO_SECRET}"),
        "--data",
        &format!("_temp_dir={}", temp.display()),
    ]);
    for flags in [
        vec!["-vvv"],
        vec!["--debug"],
        vec!["--json"],
        vec!["-vvv", "--debug", "--json"],
    ] {
        // Success: key login, sudo through the askpass script.
        let mut args = vec![fleet.inventory(), "exec".into()];
        args.extend(fleet.ssh_args());
        args.extend(data.clone());
        args.extend(strings(&flags));
        args.extend(strings(&["--sudo", "--", "id", "-un"]));
        let r = run(&t, &args);
        assert_no_crash(&r);
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_no_secret(&r, &secrets);

        // debug-inventory shows the data.
        let mut args = vec![fleet.inventory(), "debug-inventory".into()];
        args.extend(data.clone());
        args.extend(strings(&flags));
        let r = run(&t, &args);
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert_no_secret(&r, &secrets);

        // Error: no key, the (wrong) password is refused.
        let mut args = vec![fleet.inventory(), "exec".into()];
        args.extend(strings(&[
            "--data",
            "ssh_port=2222",
            "--data",
            "ssh_user=root",
            "--data",
            "ssh_strict_host_key_checking=no",
        ]));
        args.extend(data.clone());
        args.extend(strings(&flags));
        args.extend(strings(&["--sudo", "--", "id"]));
        let r = run(&t, &args);
        assert_no_crash(&r);
        assert_eq!(r.code, 1, "{flags:?}: {r:?}");
        assert!(r.stderr.contains("authentication failed"), "{r:?}");
        assert_no_secret(&r, &secrets);
    }
    assert!(
        std::fs::read_dir(&temp).unwrap().next().is_none(),
        "askpass files left"
    );
}

/// `rinfra-pw` needs its password for sudo: a wrong one fails clearly, the right one works,
/// neither is printed, and the askpass script the run created is gone afterwards.
#[test]
fn sudo_password_askpass_is_removed_and_never_printed() {
    require_local_user("rinfra-pw");
    let t = TestDir::new();
    open_dir(&t);
    let wrong = "Wrong-Sudo-Secret-55";
    let right = "local-pw-789";
    for flags in [vec!["-vv"], vec!["-vvv", "--debug"], vec!["-vv", "--json"]] {
        let mut args = vec!["@local".to_string(), "exec".into()];
        args.extend(strings(&flags));
        args.extend(strings(&["--data", &format!("_sudo_password={wrong}")]));
        args.extend(strings(&["--sudo", "--", "id", "-un"]));
        let r = Running::start(as_user(&t, "rinfra-pw", &args)).finish();
        assert_no_crash(&r);
        assert_eq!(r.code, 1, "{flags:?}: {r:?}");
        error_line(&r, "@local");
        assert_no_secret(&r, &[wrong]);
        assert_askpass_gone(&r);

        let mut args = vec!["@local".to_string(), "exec".into()];
        args.extend(strings(&flags));
        args.extend(strings(&["--data", &format!("_sudo_password={right}")]));
        args.extend(strings(&["--sudo", "--", "id", "-un"]));
        let r = Running::start(as_user(&t, "rinfra-pw", &args)).finish();
        assert_no_crash(&r);
        assert_eq!(r.code, 0, "{flags:?}: {r:?}");
        assert!(r.stderr.contains("[@local] root"), "{r:?}");
        assert_no_secret(&r, &[right]);
        assert_askpass_gone(&r);
        assert_no_leftover_processes(&r);
    }
}

/// The askpass scripts a run named (`SUDO_ASKPASS=...` at -vv) no longer exist.
fn assert_askpass_gone(r: &Finished) {
    let paths: Vec<&str> = r
        .stderr
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("SUDO_ASKPASS="))
        .collect();
    assert!(!paths.is_empty(), "no askpass script was used: {r:?}");
    for p in paths {
        assert!(
            p.contains("pyinfra-sudo-askpass-"),
            "unexpected askpass path {p}"
        );
        assert!(!Path::new(p).exists(), "askpass script {p} left behind");
    }
}

// 8. ---------------------------------------------------------------------------------------

const HOSTILE: [&str; 9] = [
    "quote ' single",
    "quote \" double",
    "$(touch pwned)",
    "`touch pwned`",
    "semi; touch pwned; x",
    "new\nline",
    "  spaces  around  ",
    "ünïcödé ✓ 日本",
    "$HOME ${IFS} \\ back * glob? [a] ~ & | > <",
];

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_paths_are_created_literally() {
    let t = TestDir::new();
    let work = t.join("work");
    std::fs::create_dir(&work).unwrap();
    t.write("src.txt", "payload\n");
    for name in HOSTILE {
        let dir = work.join(name);
        let r = run(
            &t,
            &strings(&[
                "@local",
                "files.directory",
                &format!("path={}", dir.display()),
                "-y",
            ]),
        );
        assert_no_crash(&r);
        assert_eq!(r.code, 0, "{name:?}: {r:?}");
        let file = work.join(format!("{name}.file"));
        let r = run(
            &t,
            &strings(&[
                "@local",
                "files.put",
                "src=src.txt",
                &format!("dest={}", file.display()),
                "-y",
            ]),
        );
        assert_no_crash(&r);
        assert_eq!(r.code, 0, "{name:?}: {r:?}");
        assert!(dir.is_dir(), "{name:?}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "payload\n");
    }
    let mut expected: Vec<String> = HOSTILE
        .iter()
        .flat_map(|n| [n.to_string(), format!("{n}.file")])
        .collect();
    expected.sort();
    assert_eq!(names_in(&work), expected);
    assert!(!t.join("pwned").exists(), "a command was injected");
    assert_eq!(names_in(t.path()), ["src.txt", "work"]);
}

#[test]
fn hostile_host_data_ends_up_literally_in_the_file() {
    let fleet = Fleet::start(1);
    let t = TestDir::new();
    let work = t.join("work");
    std::fs::create_dir(&work).unwrap();
    let evil = "$(touch pwned) `touch pwned` '; touch pwned; ' \" \\ $HOME ünï";
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files

files.line(
    name="Evil line",
    path="{work}/" + host.name.replace("@", "at-") + ".conf",
    line=f"value={{host.data.evil}}",
)
"#,
            work = work.display()
        ),
    );
    let mut args = vec![
        format!("@local,{}", fleet.inventory()),
        "deploy.py".into(),
        "-y".into(),
        "--data".into(),
        format!("evil={evil}"),
    ];
    args.extend(fleet.ssh_args());
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 0, "{r:?}");
    for host in ["at-local".to_string(), fleet.hosts[0].addr.clone()] {
        let content = std::fs::read_to_string(work.join(format!("{host}.conf"))).unwrap();
        assert_eq!(content, format!("value={evil}\n"), "{host}");
    }
    assert!(!t.join("pwned").exists(), "injected on @local");
    assert!(!Path::new("/root/pwned").exists(), "injected over ssh");
    assert_eq!(names_in(&work).len(), 2, "{:?}", names_in(&work));
}

// 9. ---------------------------------------------------------------------------------------

#[test]
fn a_full_run_leaves_no_temp_files_askpass_or_processes() {
    let fleet = Fleet::start(3);
    let temp = fleet.path().join("remote-tmp");
    std::fs::create_dir(&temp).unwrap();
    let t = TestDir::new();
    let work = t.join("work");
    std::fs::create_dir(&work).unwrap();
    t.write("files/app.conf", "setting = 1\n");
    t.write("files/motd.j2", "hello {{ host.name }}\n");
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files, server

base = "{work}/" + host.name.replace("@", "at-")
files.directory(name="Dir", path=base)
files.put(name="Put", src="files/app.conf", dest=base + "/app.conf", mode="640")
files.template(name="Template", src="files/motd.j2", dest=base + "/motd")
files.put(name="Put as root", src="files/app.conf", dest=base + "/root.conf", _sudo=True)
server.shell(name="Shell as root", commands=["id -un > " + base + "/whoami"], _sudo=True)
files.get(name="Get", src=base + "/motd", dest="{work}/got-" + host.name.replace("@", "at-"))
"#,
            work = work.display()
        ),
    );
    let mut args = vec![format!("@local,{}", fleet.inventory()), "deploy.py".into()];
    args.extend(fleet.ssh_args());
    args.extend(strings(&[
        "-y",
        "--data",
        "_sudo_password=hygiene-pw",
        "--data",
        &format!("_temp_dir={}", temp.display()),
    ]));
    let r = run(&t, &args);
    assert_no_crash(&r);
    assert_eq!(r.code, 0, "{r:?}");
    let mut hosts = vec!["at-local".to_string()];
    hosts.extend(fleet.addrs());
    for h in &hosts {
        assert_eq!(
            std::fs::read_to_string(work.join(h).join("whoami")).unwrap(),
            "root\n"
        );
        assert_eq!(
            names_in(&work.join(h)),
            ["app.conf", "motd", "root.conf", "whoami"]
        );
    }
    assert!(find_named(&work, "rinfra-tmp").is_empty());
    assert!(find_named(t.path(), "rinfra-tmp").is_empty());
    let left: Vec<_> = names_in(&temp);
    assert!(left.is_empty(), "askpass/temp files left: {left:?}");
    assert_no_leftover_processes(&r);
    // Every session on the targets was closed: only the listeners remain.
    for h in &fleet.hosts {
        let pid = h.pid().unwrap();
        let mut under = descendants(pid);
        for _ in 0..50 {
            if under.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            under = descendants(pid);
        }
        assert!(
            under.is_empty(),
            "sessions left open on {}: {under:?}",
            h.addr
        );
    }
}

// 10. --------------------------------------------------------------------------------------

/// Hosts of the large run.
const MANY: usize = 500;

/// Safety limit for the large run: a hang fails the test instead of blocking the suite (no
/// timing is asserted; the run takes about a minute and a quarter on two busy cores).
const MANY_RUN_LIMIT: Duration = Duration::from_secs(600);

/// Sockets of connections to `ips`:2222 (from either end) that are not closed yet: anything but
/// the listeners and TIME_WAIT (closed on both sides, only the kernel's memory of it left).
fn open_connections(ips: &HashSet<Ipv4Addr>) -> Vec<TcpSocket> {
    tcp_sockets()
        .into_iter()
        .filter(|s| s.state != TCP_LISTEN && s.state != TCP_TIME_WAIT)
        .filter(|s| {
            (s.local.port() == PORT && ips.contains(s.local.ip()))
                || (s.remote.port() == PORT && ips.contains(s.remote.ip()))
        })
        .collect()
}

/// A failed run's output over hundreds of hosts, short enough to read: the lines other than
/// the per-host `Connected` and `Success` ones (at most 200), and the exit code.
fn unusual_lines(r: &Finished) -> String {
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .chain(r.stdout.lines())
        .filter(|l| !l.trim_end().ends_with("] Connected") && !l.trim_end().ends_with("] Success"))
        .collect();
    let shown = &lines[..lines.len().min(200)];
    format!(
        "exit code {}; {} lines besides Connected/Success (first 200):\n{}",
        r.code,
        lines.len(),
        shown.join("\n")
    )
}

/// `pid command line` of each of `pids` still running.
fn command_lines(pids: &[i32]) -> Vec<String> {
    let procs = sshd::processes();
    pids.iter()
        .filter_map(|p| procs.iter().find(|(q, ..)| q == p))
        .map(|(p, _, _, c)| format!("{p} {c}"))
        .collect()
}

/// What a sampler saw of a run while it went on.
#[derive(Debug, Default)]
struct Peaks {
    /// The most connections seen to one host at once: that host's sockets at the time.
    per_host: Vec<TcpSocket>,
    /// The most connections seen at once, over all hosts.
    connections: usize,
    /// The most file descriptors the run had open at once.
    fds: usize,
}

/// Sample the run's connections to `ips` and its open fds every 100 ms until `stop` is set.
fn sample_peaks(
    pid: i32,
    ips: HashSet<Ipv4Addr>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Peaks> {
    std::thread::spawn(move || {
        let mut peaks = Peaks::default();
        while !stop.load(Ordering::SeqCst) {
            // By address pair: /proc/net/tcp is read in pieces while sockets come and go, so
            // one socket may be listed twice.
            let mut per_host: HashMap<Ipv4Addr, HashMap<(SocketAddrV4, SocketAddrV4), TcpSocket>> =
                HashMap::new();
            for s in open_connections(&ips) {
                if s.remote.port() == PORT && ips.contains(s.remote.ip()) {
                    per_host
                        .entry(*s.remote.ip())
                        .or_default()
                        .insert((s.local, s.remote), s);
                }
            }
            peaks.connections = peaks
                .connections
                .max(per_host.values().map(HashMap::len).sum());
            if let Some(worst) = per_host.into_values().max_by_key(HashMap::len) {
                if worst.len() > peaks.per_host.len() {
                    peaks.per_host = worst.into_values().collect();
                }
            }
            if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
                peaks.fds = peaks.fds.max(fds.count());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        peaks
    })
}

/// One deploy over 500 real sshd hosts — directories, uploads (as the login user and through
/// sudo), templates, a command under sudo with a password (askpass), downloads from some — and
/// afterwards nothing is left: no temp or askpass file, no process of the run, no session
/// under any sshd, no connection open at either end, and every host has exactly its files.
#[test]
#[allow(clippy::print_stderr)] // reports its timings and peaks (seen with --nocapture)
fn five_hundred_hosts_leave_nothing_behind() {
    let t0 = Instant::now();
    // No `ulimit -n` here: rinfra raises its own soft open-file limit and sizes its parallelism
    // by it, so the run must succeed under whatever limit the suite runs with.
    let fleet = Fleet::start_large(MANY);
    let ips: HashSet<Ipv4Addr> = fleet.addrs().iter().map(|a| a.parse().unwrap()).collect();
    eprintln!("{MANY} sshd listening after {:.1?}", t0.elapsed());
    let temp = fleet.path().join("remote-tmp");
    std::fs::create_dir(&temp).unwrap();
    let t = TestDir::new();
    let work = t.join("work");
    std::fs::create_dir_all(work.join("got")).unwrap();
    t.write("files/app.conf", "setting = 1\n");
    t.write("files/motd.j2", "hello {{ host.name }}\n");
    // A few hosts (one in fifty) also send a file back.
    let getters: Vec<String> = fleet.addrs().into_iter().step_by(50).collect();
    t.write(
        "deploy.py",
        &format!(
            r#"
from pyinfra import host
from pyinfra.operations import files, server

base = "{work}/" + host.name
files.directory(name="Dir", path=base)
files.put(name="Put", src="files/app.conf", dest=base + "/app.conf", mode="640")
files.template(name="Template", src="files/motd.j2", dest=base + "/motd")
files.put(name="Put as root", src="files/app.conf", dest=base + "/root.conf", _sudo=True)
server.shell(name="Shell as root", commands=["id -un > " + base + "/whoami"], _sudo=True)
if host.name in {getters:?}:
    files.get(name="Get", src=base + "/motd", dest="{work}/got/" + host.name)
"#,
            work = work.display()
        ),
    );
    let mut args = vec![fleet.inventory(), "deploy.py".into()];
    args.extend(fleet.ssh_args());
    args.extend(strings(&[
        "-y",
        // The default 10 s connect timeout, though the 500 sshds share two cores with rinfra:
        // connections take turns (128 at a time), and each one's timeout starts with its turn.
        "--data",
        "_sudo_password=hygiene-500-pw",
        "--data",
        &format!("_temp_dir={}", temp.display()),
    ]));
    let t_run = Instant::now();
    let run = Running::start(rinfra(&t, &args));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peaks(run.pid(), ips.clone(), stop.clone());
    let r = run.finish_within(MANY_RUN_LIMIT);
    let run_time = t_run.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peaks = sampler.join().unwrap();
    eprintln!("rinfra over {MANY} hosts: {run_time:.1?}; peaks while it ran: {peaks:?}");

    assert_no_crash(&r);
    assert_eq!(r.code, 0, "{}", unusual_lines(&r));
    let lines: HashSet<&str> = r.stderr.lines().map(str::trim).collect();
    let failed: Vec<String> = fleet
        .addrs()
        .into_iter()
        .filter(|h| !lines.contains(format!("[{h}] Success").as_str()))
        .collect();
    assert!(
        failed.is_empty(),
        "hosts without success: {failed:?}\n{}",
        unusual_lines(&r)
    );
    assert!(
        peaks.per_host.len() <= 1,
        "more than one connection to a host at once: {peaks:?}"
    );

    // Every host has exactly its files, with their content.
    for h in fleet.addrs() {
        let dir = work.join(&h);
        assert_eq!(
            names_in(&dir),
            ["app.conf", "motd", "root.conf", "whoami"],
            "{h}"
        );
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(read("app.conf"), "setting = 1\n", "{h}");
        assert_eq!(read("root.conf"), "setting = 1\n", "{h}");
        assert_eq!(read("motd"), format!("hello {h}\n"), "{h}");
        assert_eq!(read("whoami"), "root\n", "{h}");
        let mode = std::fs::metadata(dir.join("app.conf"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{h}");
    }
    let mut expected_got = getters.clone();
    expected_got.sort();
    assert_eq!(names_in(&work.join("got")), expected_got);
    for h in &getters {
        assert_eq!(
            std::fs::read_to_string(work.join("got").join(h)).unwrap(),
            format!("hello {h}\n")
        );
    }

    // No temp, askpass or half-installed file anywhere.
    let left = names_in(&temp);
    assert!(left.is_empty(), "temp/askpass files left: {left:?}");
    assert!(find_named(t.path(), "rinfra-").is_empty());
    assert_no_leftover_processes(&r);

    // Every session on every target ended: only the listeners remain.
    let pids = fleet.pids();
    assert_eq!(pids.len(), MANY);
    let sessions = || {
        let tree = ProcessTree::now();
        pids.iter()
            .flat_map(|&p| tree.descendants(p))
            .collect::<Vec<i32>>()
    };
    let mut under = sessions();
    for _ in 0..100 {
        if under.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        under = sessions();
    }
    assert!(
        under.is_empty(),
        "sessions left under the sshds: {:?}",
        command_lines(&under)
    );

    // Every connection is closed at both ends (rinfra's and sshd's).
    let mut open = open_connections(&ips);
    for _ in 0..100 {
        if open.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        open = open_connections(&ips);
    }
    assert!(open.is_empty(), "connections left open: {open:?}");

    let t_drop = Instant::now();
    drop(fleet);
    eprintln!(
        "{MANY} sshd stopped in {:.1?}; test total {:.1?}",
        t_drop.elapsed(),
        t0.elapsed()
    );
}
