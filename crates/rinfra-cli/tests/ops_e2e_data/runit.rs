//! pyinfra's `runit` module end to end under a real runit (Debian 12's `runit` package): the
//! `rinfra` binary runs `runit.service`, `runit.manage` and `runit.auto` twice (a change, then
//! `No changes`; `runit.wait_runsv` is not idempotent and waits again), and the result is
//! checked with plain `sv status`, `readlink` and `test -e` over ssh; the facts (`RunitStatus`,
//! `RunitManaged`) are compared with them.
//!
//! Where: the SSH host that also runs the database servers (`servers.rs`). SSH hosts
//! have no init, so the test installs `runit` there when missing and starts a `runsvdir` of its
//! own on a service directory of its own (`/srv/rinfra-e2e-runit/service`, services defined in
//! `/srv/rinfra-e2e-runit/sv`), once per test binary; the operations get them as `svdir` and
//! `sourcedir`. Each test uses services named after it, and stops and unlinks them at the end.

use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::fact;
use crate::servers::{apt_install, data_host};
use crate::util::target::Target;
use crate::util::TestDir;
use serde_json::Value;

const SVDIR: &str = "/srv/rinfra-e2e-runit/service";
const SOURCEDIR: &str = "/srv/rinfra-e2e-runit/sv";

/// Held by each test while it runs: the tests share one `runsvdir`, and the facts of the whole
/// service directory (`RunitStatus` without a service runs `sv status` on every service) fail
/// while another test's service is still being set up (`supervise/ok` not there yet).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The host with runit installed and our `runsvdir` running.
fn runit() -> Target {
    static READY: OnceLock<()> = OnceLock::new();
    let t = data_host();
    READY.get_or_init(|| {
        if t.ssh("command -v runsvdir && command -v sv").0 != 0 {
            apt_install(&t, "runit");
        }
        t.check(&format!("mkdir -p {SVDIR} {SOURCEDIR}"));
        if t.ssh(&format!("pgrep -f '^runsvdir -P {SVDIR}$'")).0 != 0 {
            t.check(&format!(
                "(setsid nohup runsvdir -P {SVDIR} </dev/null >/dev/null 2>&1 &)"
            ));
        }
    });
    t
}

/// A service `name` defined in [`SOURCEDIR`] (a `sleep`), not supervised, no `down` file.
fn define(t: &Target, name: &str) {
    forget(t, name);
    t.check(&format!(
        "mkdir -p {SOURCEDIR}/{name} && printf '#!/bin/sh\\nexec sleep 100000\\n' \
         > {SOURCEDIR}/{name}/run && chmod +x {SOURCEDIR}/{name}/run"
    ));
}

/// Stop supervising `name` and remove its definition.
fn forget(t: &Target, name: &str) {
    t.check(&format!(
        "if [ -e {SVDIR}/{name} ]; then SVDIR={SVDIR} sv force-stop {name} >/dev/null || true; \
         SVDIR={SVDIR} sv exit {name} >/dev/null || true; fi; \
         rm -f {SVDIR}/{name}; rm -rf {SOURCEDIR}/{name}"
    ));
}

/// `sv status NAME`'s first word: `run`, `down`, or `fail`.
fn status(t: &Target, name: &str) -> String {
    let (_, out) = t.ssh(&format!("SVDIR={SVDIR} sv status {name}"));
    out.split(':').next().unwrap_or_default().to_string()
}

fn dirs() -> [String; 2] {
    [format!("svdir={SVDIR}"), format!("sourcedir={SOURCEDIR}")]
}

fn op<'a>(args: &[&'a str], dirs: &'a [String; 2]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(dirs.iter().map(String::as_str));
    all
}

#[test]
fn runit_service_started_stopped_enabled_and_restarted() {
    let _one = one_at_a_time();
    let t = runit();
    let name = "rinfra-e2e-service";
    let service = format!("service={name}");
    let dirs = dirs();
    define(&t, name);

    // not supervised yet: linked, waited for, started, and left without a `down` file
    t.twice(&op(&["runit.service", &service, "enabled=true"], &dirs));
    assert_eq!(
        t.check(&format!("readlink {SVDIR}/{name}")),
        format!("{SOURCEDIR}/{name}")
    );
    assert_eq!(status(&t, name), "run");
    assert_ne!(t.ssh(&format!("test -e {SOURCEDIR}/{name}/down")).0, 0);

    t.twice(&op(&["runit.service", &service, "running=false"], &dirs));
    assert_eq!(status(&t, name), "down");

    t.twice(&op(
        &["runit.service", &service, "running=false", "enabled=false"],
        &dirs,
    ));
    t.check(&format!("test -e {SOURCEDIR}/{name}/down"));
    assert_eq!(status(&t, name), "down");

    // runit.auto removes the `down` file again
    t.twice(&["runit.auto", &service, "auto=true", &dirs[1]]);
    assert_ne!(t.ssh(&format!("test -e {SOURCEDIR}/{name}/down")).0, 0);

    // started again, then restarted (always a change: a new process)
    t.twice(&op(&["runit.service", &service], &dirs));
    assert_eq!(status(&t, name), "run");
    let pid = || t.check(&format!("cat {SVDIR}/{name}/supervise/pid"));
    let before = pid();
    let dir = TestDir::new();
    t.changes(
        &dir,
        &op(&["runit.service", &service, "restarted=true"], &dirs),
    );
    assert_eq!(status(&t, name), "run");
    assert_ne!(pid(), before, "restarted: a new process");

    // an unsupervised service with running=False is linked and never started
    let quiet = "rinfra-e2e-service-quiet";
    define(&t, quiet);
    t.twice(&op(
        &[
            "runit.service",
            &format!("service={quiet}"),
            "running=false",
        ],
        &dirs,
    ));
    assert_eq!(status(&t, quiet), "down");
    assert_ne!(
        t.ssh(&format!("test -e {SOURCEDIR}/{quiet}/down")).0,
        0,
        "the `down` file made for linking is removed again (enabled unset: as it was)"
    );

    forget(&t, name);
    forget(&t, quiet);
}

#[test]
fn runit_manage_and_wait_runsv() {
    let _one = one_at_a_time();
    let t = runit();
    let name = "rinfra-e2e-manage";
    let service = format!("service={name}");
    let dirs = dirs();
    define(&t, name);
    // `down` first: supervised, but not started
    t.check(&format!("touch {SOURCEDIR}/{name}/down"));

    t.twice(&op(&["runit.manage", &service], &dirs));
    assert_eq!(
        t.check(&format!("readlink {SVDIR}/{name}")),
        format!("{SOURCEDIR}/{name}")
    );
    // not idempotent: it waits (for runsv to pick the link up) on every run
    let dir = TestDir::new();
    for _ in 0..2 {
        t.changes(
            &dir,
            &["runit.wait_runsv", &service, &dirs[0], "timeout=30"],
        );
        assert_eq!(status(&t, name), "down");
    }

    let managed = fact(&t, "runit.RunitManaged", &[&dirs[0]]);
    assert!(
        managed
            .as_array()
            .is_some_and(|m| m.contains(&Value::from(name))),
        "{managed}"
    );
    let one = fact(&t, "runit.RunitManaged", &[&service, &dirs[0]]);
    assert_eq!(one, serde_json::json!([name]));
    let statuses = fact(&t, "runit.RunitStatus", &[&dirs[0]]);
    assert_eq!(statuses[name], false, "{statuses}");
    t.check(&format!("SVDIR={SVDIR} sv start {name}"));
    let running = fact(&t, "runit.RunitStatus", &[&service, &dirs[0]]);
    assert_eq!(running, serde_json::json!({ name: true }));

    t.check(&format!("SVDIR={SVDIR} sv force-stop {name}"));
    t.twice(&op(&["runit.manage", &service, "managed=false"], &dirs));
    assert_ne!(t.ssh(&format!("test -L {SVDIR}/{name}")).0, 0);
    assert_eq!(
        fact(&t, "runit.RunitManaged", &[&service, &dirs[0]]),
        serde_json::json!([])
    );
    forget(&t, name);
}
