//! Exec templates against a real systemd-nspawn machine booted by the testbed
//! (`scripts/testbed up` with the `nspawn` part: host `s1`, systemd as PID 1 inside).
//!
//! The testbed boots its machines with `--register=no` (this machine's PID 1 is not systemd, so
//! there is no systemd-machined and `machinectl`/`systemd-run --machine` cannot find them).
//! The templates therefore enter the machine with `nsenter` on its systemd's PID, and the
//! second one then runs each command as a transient unit with the machine's own `systemd-run
//! --pipe --wait`, the part of the documented machinectl template that differs from a plain
//! shell (exit codes, stdin and output pass through the unit).

mod suite;

use std::sync::Arc;

use rinfra_connectors::*;
use suite::{tb_var, Recorder};

const TEMPLATES: &str = r#"
[connectors.nsenter]
run = ["nsenter", "--target={arg}", "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w",
       "sh", "-c", "{command}"]

[connectors.nsenter-unit]
run = ["nsenter", "--target={arg}", "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w",
       "systemd-run", "--pipe", "--wait", "--quiet", "--collect", "sh", "-c", "{command}"]
"#;

/// PID of the testbed machine `s1`'s systemd (the child of its systemd-nspawn process).
fn leader() -> String {
    let parts = tb_var("RINFRA_TB_PARTS");
    assert!(
        parts.split_whitespace().any(|p| p == "nspawn"),
        "the testbed runs without its `nspawn` part ({parts}): run `scripts/testbed up` with \
         TESTBED_PARTS including nspawn"
    );
    let pid_file = format!("{}/nspawn/s1/pid", tb_var("RINFRA_TB"));
    let nspawn = std::fs::read_to_string(&pid_file)
        .unwrap_or_else(|e| panic!("{pid_file}: {e} (run `scripts/testbed up`)"));
    let nspawn = nspawn.trim();
    let children = std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
        .unwrap_or_else(|e| {
            panic!("systemd-nspawn {nspawn} is not running ({e}): run `scripts/testbed up`")
        });
    children
        .split_whitespace()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "systemd")
        })
        .unwrap_or_else(|| panic!("no systemd under systemd-nspawn {nspawn}"))
        .to_string()
}

async fn connect(template: &str) -> Arc<dyn Connector> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rinfra.toml");
    std::fs::write(&path, TEMPLATES).unwrap();
    let mut registry = ConnectorRegistry::with_builtins();
    for c in load_exec_templates(&path).unwrap() {
        registry.register(Arc::new(c));
    }
    let host = format!("@{template}/{}", leader());
    let conn = suite::connect(&registry, &host, Arc::new(Recorder::default()))
        .await
        .unwrap_or_else(|e| panic!("connect {host}: {e}"));
    // It really is the booted machine.
    assert_eq!(suite::out(&conn, "hostname").await, "s1");
    conn
}

#[tokio::test]
async fn nsenter_exec() {
    let conn = connect("nsenter").await;
    suite::exec_and_exit_codes(&conn).await;
    assert_eq!(suite::out(&conn, "cat /proc/1/comm").await, "systemd");
}

#[tokio::test]
async fn nsenter_stdin_and_escalation() {
    let conn = connect("nsenter").await;
    suite::stdin(&conn).await;
    suite::escalation(&conn).await;
}

#[tokio::test]
async fn nsenter_files() {
    suite::files(&connect("nsenter").await).await;
}

#[tokio::test]
async fn systemd_run_exec() {
    let conn = connect("nsenter-unit").await;
    suite::exec_and_exit_codes(&conn).await;
    // Each command is a transient service of the machine's systemd.
    let unit = suite::out(
        &conn,
        "cat /proc/self/cgroup | grep -o 'run-[^/]*\\.service' | head -1",
    )
    .await;
    assert!(unit.starts_with("run-"), "{unit}");
}

#[tokio::test]
async fn systemd_run_stdin_escalation_and_files() {
    let conn = connect("nsenter-unit").await;
    suite::stdin(&conn).await;
    suite::escalation(&conn).await;
    suite::files(&conn).await;
}
