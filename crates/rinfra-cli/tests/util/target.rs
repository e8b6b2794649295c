//! A testbed target for the operations' end-to-end suites (`ops_e2e*.rs`): run the `rinfra`
//! binary against it, and check the result with plain `ssh`, never with rinfra's own facts.
//!
//! Missing testbed variables fail the tests; they never pass silently.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use super::{Run, TestDir};

/// apt and dpkg take a lock on the host: tests installing packages take turns.
static APT: Mutex<()> = Mutex::new(());

pub fn apt_lock() -> MutexGuard<'static, ()> {
    APT.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: these tests need the project testbed. Run `scripts/testbed up`, \
             then `. /tmp/rinfra-testbed/env` in the shell running `cargo test`"
        ),
    }
}

/// One target host: its address and how to reach it.
pub struct Target {
    pub addr: String,
    pub key: String,
}

/// The address `back` places from the end of the space-separated list in `var`.
fn from_last(var: &str, back: usize) -> Target {
    let hosts = env(var);
    let addr = hosts
        .split_whitespace()
        .rev()
        .nth(back)
        .unwrap_or_else(|| panic!("{var} has fewer than {} addresses", back + 1))
        .to_string();
    Target {
        addr,
        key: env("RINFRA_TB_SSH_KEY"),
    }
}

/// The last testbed SSH host (the one other suites are least likely to use).
pub fn ssh_host() -> Target {
    from_last("RINFRA_TB_SSH_HOSTS", 0)
}

/// The testbed SSH host before the last one.
pub fn second_ssh_host() -> Target {
    from_last("RINFRA_TB_SSH_HOSTS", 1)
}

/// The testbed SSH host `back` places before the last one (`0` is [`ssh_host`]).
pub fn ssh_host_from_end(back: usize) -> Target {
    from_last("RINFRA_TB_SSH_HOSTS", back)
}

/// The third testbed SSH host from the end: the language package managers' suite
/// (`ops_e2e_langs.rs`) installs npm, pipx, uv and cargo there, away from the other suites.
pub fn langs_ssh_host() -> Target {
    from_last("RINFRA_TB_SSH_HOSTS", 2)
}

/// The last systemd-nspawn host (runs systemd as PID 1).
pub fn nspawn_host() -> Target {
    from_last("RINFRA_TB_NSPAWN_HOSTS", 0)
}

impl Target {
    /// `rinfra ADDR ARGS... -y` with the testbed's key, as root.
    pub fn rinfra(&self, dir: &TestDir, args: &[&str]) -> Run {
        self.rinfra_on(&self.addr, dir, args)
    }

    /// The same for an inventory of several hosts (`a,b`).
    pub fn rinfra_on(&self, inventory: &str, dir: &TestDir, args: &[&str]) -> Run {
        let key = format!("ssh_key={}", self.key);
        let mut all = vec![inventory];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--data",
            &key,
            "--data",
            "ssh_user=root",
            "--data",
            "ssh_strict_host_key_checking=no",
            "-y",
        ]);
        dir.run(&all)
    }

    /// Run `cmd` on the target over plain ssh: (exit code, stdout).
    pub fn ssh(&self, cmd: &str) -> (i32, String) {
        let out = Command::new("ssh")
            .args(["-i", &self.key])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "LogLevel=ERROR", "-o", "BatchMode=yes"])
            .arg(format!("root@{}", self.addr))
            .arg(cmd)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ssh (install openssh-client): {e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// `cmd`'s stdout, trimmed; panics when it fails.
    pub fn check(&self, cmd: &str) -> String {
        let (code, out) = self.ssh(cmd);
        assert_eq!(code, 0, "`{cmd}` failed on {}: {out}", self.addr);
        out.trim().to_string()
    }

    /// One run that must succeed and change the host (`[ADDR] Success`).
    pub fn changes(&self, dir: &TestDir, args: &[&str]) -> Run {
        let run = self.rinfra(dir, args);
        assert_eq!(run.code, 0, "run of {args:?}: {run:?}");
        let success = format!("[{}] Success", self.addr);
        assert!(run.stderr.contains(&success), "run of {args:?}: {run:?}");
        run
    }

    /// Run an operation twice: the first run changes the host, the second changes nothing.
    pub fn twice(&self, args: &[&str]) {
        self.twice_in(&TestDir::new(), args);
    }

    /// [`Target::twice`] in `dir` (which holds the deploy file `args` names, say).
    pub fn twice_in(&self, dir: &TestDir, args: &[&str]) {
        self.changes(dir, args);
        let second = self.rinfra(dir, args);
        assert_eq!(second.code, 0, "second run of {args:?}: {second:?}");
        let unchanged = format!("[{}] No changes", self.addr);
        assert!(
            second.stderr.contains(&unchanged),
            "second run of {args:?} should change nothing: {second:?}"
        );
    }

    /// A fresh `/srv/rinfra-e2e-<name>` on the target.
    pub fn fresh_dir(&self, name: &str) -> String {
        let dir = format!("/srv/rinfra-e2e-{name}");
        self.check(&format!("rm -rf {dir} && mkdir -p /srv"));
        dir
    }
}

/// A run that failed on `addr` only, with a `[addr] ` line containing each of `needles`.
pub fn assert_host_error(r: &Run, addr: &str, needles: &[&str]) {
    assert_eq!(r.code, 1, "a failed host exits 1: {r:?}");
    let prefix = format!("[{addr}] ");
    for needle in needles {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains(&prefix) && l.contains(needle)),
            "expected a `{prefix}` line containing `{needle}`: {r:?}"
        );
    }
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}
