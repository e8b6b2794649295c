//! `@chroot` and exec-template connectors against a real debootstrap tree: the testbed's chroot
//! target (`RINFRA_TB_CHROOT`, an overlay copy of the rootfs with /proc, /sys and /dev mounted,
//! from `scripts/testbed up`).
//!
//! The exec templates are the documented "template over chroot" example, loaded from a real
//! `rinfra.toml` with [`load_exec_templates`]: one with `put`/`get` templates, one without (files
//! then travel through `run`: `cat >` and `base64`).

mod suite;

use std::process::Command;
use std::sync::Arc;

use rinfra_connectors::*;
use suite::{tb_var, Recorder};

fn chroot_dir() -> String {
    tb_var("RINFRA_TB_CHROOT")
}

async fn connect_chroot(dir: &str) -> Arc<dyn Connector> {
    let name = format!("@chroot{dir}");
    suite::connect(
        &ConnectorRegistry::with_builtins(),
        &name,
        Arc::new(Recorder::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("connect {name}: {e}"))
}

#[tokio::test]
async fn chroot_exec() {
    suite::exec_and_exit_codes(&connect_chroot(&chroot_dir()).await).await;
}

#[tokio::test]
async fn chroot_stdin() {
    suite::stdin(&connect_chroot(&chroot_dir()).await).await;
}

#[tokio::test]
async fn chroot_escalation() {
    suite::escalation(&connect_chroot(&chroot_dir()).await).await;
}

#[tokio::test]
async fn chroot_timeout() {
    suite::timeout(&connect_chroot(&chroot_dir()).await).await;
}

#[tokio::test]
async fn template_timeout() {
    suite::timeout(&connect_template("tchroot").await).await;
}

#[tokio::test]
async fn chroot_files() {
    suite::files(&connect_chroot(&chroot_dir()).await).await;
}

#[tokio::test]
async fn chroot_missing_directory_fails_to_connect() {
    let err = suite::connect(
        &ConnectorRegistry::with_builtins(),
        "@chroot/nonexistent/rinfra-root",
        Arc::new(Recorder::default()),
    )
    .await
    .err()
    .expect("no such directory");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot chroot into `/nonexistent/rinfra-root`"),
        "{msg}"
    );
}

/// A throw-away overlay of the testbed rootfs, unmounted (if still mounted) on drop.
struct Overlay {
    dir: tempfile::TempDir,
}

impl Overlay {
    fn new() -> Self {
        let lower = tb_var("RINFRA_TB_ROOTFS");
        let dir = tempfile::tempdir().unwrap();
        for d in ["upper", "work", "root"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let p = |d: &str| dir.path().join(d).display().to_string();
        let status = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o"])
            .arg(format!(
                "lowerdir={lower},upperdir={},workdir={}",
                p("upper"),
                p("work")
            ))
            .arg(p("root"))
            .status()
            .unwrap();
        assert!(status.success(), "mount overlay (the tests run as root)");
        Overlay { dir }
    }

    fn root(&self) -> String {
        self.dir.path().join("root").display().to_string()
    }

    fn unmount(&self) {
        let _ = Command::new("umount").arg("-l").arg(self.root()).status();
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        self.unmount();
    }
}

/// The tree is unmounted between two commands: the next one is a lost connection, not a
/// failed command (a running command keeps its root, so only later commands can notice).
#[tokio::test]
async fn chroot_tree_unmounted_mid_run() {
    let overlay = Overlay::new();
    let conn = connect_chroot(&overlay.root()).await;
    assert_eq!(suite::out(&conn, "echo inside").await, "inside");
    overlay.unmount();
    let err = conn
        .run_shell_command(&"echo again".into(), false, false, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    assert!(err.to_string().contains(&overlay.root()), "{err}");
    // A command that is merely missing is still an ordinary failure.
    let live = connect_chroot(&chroot_dir()).await;
    let (ok, output) = suite::sh(&live, "no-such-command-here", &Default::default()).await;
    assert!(!ok);
    assert_eq!(output.exit_code, Some(127));
}

/// A symlinked temp dir pointing out of the tree is refused, never followed.
#[tokio::test]
async fn chroot_refuses_temp_dir_leading_outside() {
    let overlay = Overlay::new();
    let outside = tempfile::tempdir().unwrap();
    let link = format!("{}/escape", overlay.root());
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    let conn = connect_chroot(&overlay.root()).await;
    let args = ConnectorArguments {
        temp_dir: Some("/escape".into()),
        ..Default::default()
    };
    let err = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            "/root/x",
            &args,
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside the chroot"), "{err}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

// ---- exec templates over chroot ----

const TEMPLATES: &str = r#"
# The chroot connector as an exec template: `rinfra @tchroot/DIR ...`
[connectors.tchroot]
description = "chroot through an exec template"
run = ["chroot", "{arg}", "sh", "-c", "{command}"]
put = ["cp", "{local}", "{arg}{remote}"]
get = ["cp", "{arg}{remote}", "{local}"]

# No put/get: files go through `run` (cat > on upload, base64 on download).
[connectors.tchroot-run-only]
run = ["chroot", "{arg}", "sh", "-c", "{command}"]
"#;

fn template_registry() -> ConnectorRegistry {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rinfra.toml");
    std::fs::write(&path, TEMPLATES).unwrap();
    let mut registry = ConnectorRegistry::with_builtins();
    for c in load_exec_templates(&path).unwrap() {
        registry.register(Arc::new(c));
    }
    registry
}

async fn connect_template(name: &str) -> Arc<dyn Connector> {
    let host = format!("@{name}/{}", chroot_dir());
    suite::connect(&template_registry(), &host, Arc::new(Recorder::default()))
        .await
        .unwrap_or_else(|e| panic!("connect {host}: {e}"))
}

#[tokio::test]
async fn template_exec() {
    suite::exec_and_exit_codes(&connect_template("tchroot").await).await;
}

#[tokio::test]
async fn template_stdin() {
    suite::stdin(&connect_template("tchroot").await).await;
}

#[tokio::test]
async fn template_escalation() {
    suite::escalation(&connect_template("tchroot").await).await;
}

#[tokio::test]
async fn template_files_with_put_and_get() {
    suite::files(&connect_template("tchroot").await).await;
}

#[tokio::test]
async fn template_files_through_run() {
    suite::files(&connect_template("tchroot-run-only").await).await;
}

#[tokio::test]
async fn template_lists_itself() {
    let registry = template_registry();
    let c = registry.get("tchroot").expect("registered");
    assert_eq!(c.description(), "chroot through an exec template");
    assert!(registry
        .get("tchroot-run-only")
        .unwrap()
        .description()
        .contains("`chroot`"));
}
