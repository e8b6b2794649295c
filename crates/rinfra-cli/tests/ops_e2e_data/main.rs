//! Issue 18's data stores and system tools end to end on real targets: the `rinfra` binary runs
//! each operation twice (a change, then `No changes`, except where pyinfra's operation is not
//! idempotent: then what a second run really does is checked), and the result is checked on
//! the target with the plain tools (`mysql`, `psql`, `iptables -S`, `sv status`), never with
//! rinfra's own facts; the facts are compared with the same tools.
//!
//! * [`mysql`]: a real MariaDB (Debian 12's `mariadb-server`), every `mysql.*` operation and
//!   fact, with and without `mysql_user`/`mysql_password`;
//! * [`postgresql`]: a real PostgreSQL 15 (Debian 12's `postgresql`), every `postgres.*`
//!   operation and fact and their deprecated `postgresql.*` names, as the `postgres` user
//!   (`_sudo_user`) and with `psql_user`/`psql_password`;
//! * [`iptables`]: `iptables.chain`/`iptables.rule` and the iptables facts (IPv4 and IPv6) in a
//!   container with a network namespace of its own;
//! * [`runit`]: runit services under a `runsvdir` of the test's own;
//! * [`secrets`]: the database passwords never show in output (any verbosity, `--json`,
//!   `--dry`, errors) nor in the argv of a process on the controller.
//!
//! The servers are installed and started once per run of this binary ([`servers`]).
//!
//! The other modules are checked with pyinfra's vectors only (`cargo test -p
//! rinfra-ops --test vectors`), because this machine cannot have their systems: `selinux`
//! (no SELinux kernel policy), `zfs` (no ZFS module), `lxd` (no LXD), `launchd` (macOS),
//! `zypper` (openSUSE), `xbps` (Void), `opkg` (OpenWrt), `pkg`, `freebsd` (FreeBSD's
//! `freebsd_update`, `pkg`, `service`, `sysrc`), `pkgin` (NetBSD), `vzctl` (OpenVZ) and
//! `puppet` (no Puppet server; Debian's agent would need one).
//!
//! Needs the project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`); missing
//! testbed variables fail the tests.

#[path = "../util/mod.rs"]
mod util;

mod iptables;
mod mysql;
mod postgresql;
mod runit;
mod secrets;
mod servers;

use serde_json::Value;
use util::target::Target;
use util::{fact_entry, TestDir};

/// `rinfra ADDR fact NAME ARGS... --json`: the fact's value on the host.
pub(crate) fn fact(t: &Target, name: &str, args: &[&str]) -> Value {
    let dir = TestDir::new();
    let mut all = vec!["fact", name];
    all.extend_from_slice(args);
    all.push("--json");
    let r = t.rinfra(&dir, &all);
    assert_eq!(r.code, 0, "fact {name}: {r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    fact_entry(&v, name)[&t.addr].clone()
}

/// `docker ARGS` against the testbed's dockerd: (success, stdout and stderr).
pub(crate) fn docker(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", util::target::env("RINFRA_TB_DOCKER_HOST"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker (install docker.io): {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The same, checked.
pub(crate) fn docker_ok(args: &[&str]) -> String {
    let (ok, out) = docker(args);
    assert!(ok, "docker {args:?} failed: {out}");
    out
}
