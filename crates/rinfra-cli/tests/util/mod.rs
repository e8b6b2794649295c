// Shared by several test modules; not every module uses every helper.
#![allow(dead_code, unreachable_pub)]

//! Running the built `rinfra` binary in a fresh directory, as a user would.

pub mod target;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temp directory and a way to run `rinfra` in it.
pub struct TestDir {
    dir: tempfile::TempDir,
}

/// What one run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl TestDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Write a file (creating parent directories).
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `rinfra ARGS...` in this directory, with no terminal and no colour.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rinfra"));
        c.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("RINFRA_YES")
            .env_remove("PYINFRA_YES");
        c.stdin(std::process::Stdio::null());
        // No controlling terminal either: a prompt (`/dev/tty`) must not wait for a developer
        // running the tests in one.
        // SAFETY: setsid is async-signal-safe and runs in the child before exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                libc::setsid();
                Ok(())
            });
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = self.cmd(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl TestDir {
    /// A virtualenv made with `python3` (the Python the binary links) in `venv/`, with
    /// `packages` pip-installed into it (from PyPI).
    pub fn venv(&self, packages: &[&str]) -> PathBuf {
        let venv = self.join("venv");
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success();
        assert!(ok, "python3 -m venv failed");
        if !packages.is_empty() {
            let ok = Command::new(venv.join("bin/pip"))
                .args(["install", "-q"])
                .args(packages)
                .status()
                .unwrap()
                .success();
            assert!(ok, "pip install {packages:?} failed");
        }
        venv
    }
}

/// A testbed SSH host (`RINFRA_TB_SSH_HOSTS`, `RINFRA_TB_SSH_KEY`): `index` into the list.
pub struct TestbedHost {
    pub addr: String,
    pub key: String,
}

impl TestbedHost {
    pub fn nth(index: usize) -> Self {
        let hosts = std::env::var("RINFRA_TB_SSH_HOSTS").expect(
            "RINFRA_TB_SSH_HOSTS is not set: run `scripts/testbed up` and `. /tmp/rinfra-testbed/env`",
        );
        let addr = hosts
            .split_whitespace()
            .nth(index)
            .expect("not that many testbed hosts")
            .to_string();
        let key = std::env::var("RINFRA_TB_SSH_KEY").unwrap();
        Self { addr, key }
    }

    /// `cmd`'s stdout, run as root over plain OpenSSH.
    pub fn ssh(&self, cmd: &str) -> String {
        let o = Command::new("ssh")
            .args(["-i", &self.key, "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"])
            .args(["-o", "LogLevel=ERROR"])
            .arg(format!("root@{}", self.addr))
            .arg(cmd)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// The one entry of a `rinfra fact NAME [k=v ...] --json` result. Its key is the fact's name,
/// followed by its arguments (`files.File (path=/etc/hosts)`) when it was given some, as
/// pyinfra keys it.
pub fn fact_entry<'a>(out: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let obj = out.as_object().expect("fact --json prints an object");
    let with_args = format!("{name} (");
    let keys: Vec<&String> = obj
        .keys()
        .filter(|k| *k == name || k.starts_with(&with_args))
        .collect();
    assert_eq!(keys.len(), 1, "one entry for {name}: {out}");
    &obj[keys[0]]
}
