//! `@docker` and `@podman` against real engines: the private dockerd and the rootful podman of
//! the testbed (`scripts/testbed up`, which imports the Debian image `rinfra-deb` into both).
//!
//! The docker client finds the testbed's daemon through `DOCKER_HOST` (from
//! `RINFRA_TB_DOCKER_HOST`), podman its storage through `CONTAINERS_CONF` and
//! `CONTAINERS_STORAGE_CONF` (from the file `RINFRA_TB_PODMAN_ENV`), exactly as for a user:
//! rinfra passes its environment on.

mod suite;

use std::sync::{Arc, Once};
use std::time::Duration;

use rinfra_connectors::*;
use suite::{tb_var, Recorder};

#[derive(Clone, Copy)]
enum Engine {
    Docker,
    Podman,
}

impl Engine {
    fn bin(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    fn image(self) -> String {
        static DOCKER: Once = Once::new();
        static PODMAN: Once = Once::new();
        match self {
            Engine::Docker => {
                DOCKER.call_once(|| {
                    std::env::set_var("DOCKER_HOST", tb_var("RINFRA_TB_DOCKER_HOST"))
                });
                tb_var("RINFRA_TB_DOCKER_IMAGE")
            }
            Engine::Podman => {
                PODMAN.call_once(|| {
                    // `export A=B C=D` lines, as written by the testbed.
                    let path = tb_var("RINFRA_TB_PODMAN_ENV");
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                        panic!("cannot read {path}: {e} (run `scripts/testbed up`)")
                    });
                    for line in text.lines() {
                        let Some(rest) = line.trim().strip_prefix("export ") else {
                            continue;
                        };
                        for pair in rest.split_whitespace() {
                            if let Some((k, v)) = pair.split_once('=') {
                                std::env::set_var(k, v.trim_matches('"'));
                            }
                        }
                    }
                });
                tb_var("RINFRA_TB_PODMAN_IMAGE")
            }
        }
    }

    /// Run the engine's CLI directly (the independent check of what rinfra did).
    fn cli(self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(self.bin())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin()))
    }

    fn cli_ok(self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.bin(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A container of our own, removed at the end of the test whatever happens.
    fn container(self) -> Guard {
        let image = self.image();
        let id = self.cli_ok(&[
            "run",
            "-d",
            "--pull=never",
            &image,
            "tail",
            "-f",
            "/dev/null",
        ]);
        let id = id.lines().last().unwrap().to_string();
        Guard {
            engine: self,
            ids: vec![id],
            images: vec![],
        }
    }
}

/// Removes containers and images made by a test, even when it fails.
struct Guard {
    engine: Engine,
    ids: Vec<String>,
    images: Vec<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = self.engine.cli(&["rm", "-f", id]);
        }
        for image in &self.images {
            let _ = self.engine.cli(&["rmi", "-f", image]);
        }
    }
}

fn registry() -> ConnectorRegistry {
    ConnectorRegistry::with_builtins()
}

async fn connect(engine: Engine, target: &str) -> (Arc<dyn Connector>, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let name = format!("@{}/{target}", engine.bin());
    let conn = suite::connect(&registry(), &name, rec.clone())
        .await
        .unwrap_or_else(|e| panic!("connect {name}: {e}"));
    (conn, rec)
}

/// A fresh container from the image, and a guard removing it (found through its hostname,
/// which docker and podman set to the short container id).
async fn from_image(engine: Engine) -> (Arc<dyn Connector>, Arc<Recorder>, Guard) {
    let image = engine.image();
    let (conn, rec) = connect(engine, &image).await;
    let short = suite::out(&conn, "hostname").await;
    let id = engine.cli_ok(&["container", "inspect", "-f", "{{.Id}}", &short]);
    let guard = Guard {
        engine,
        ids: vec![id],
        images: vec![],
    };
    (conn, rec, guard)
}

async fn suite_on_image(engine: Engine, check: impl AsyncFnOnce(&Arc<dyn Connector>)) {
    let (conn, rec, mut guard) = from_image(engine).await;
    check(&conn).await;
    conn.disconnect().await;
    let notices = rec.notices();
    let image = notices
        .iter()
        .find_map(|n| n.split("image ID: ").nth(1))
        .unwrap_or_else(|| panic!("no image id notice in {notices:?}"))
        .to_string();
    guard.images.push(image);
}

#[tokio::test]
async fn docker_exec() {
    suite_on_image(Engine::Docker, suite::exec_and_exit_codes).await;
}

#[tokio::test]
async fn podman_exec() {
    suite_on_image(Engine::Podman, suite::exec_and_exit_codes).await;
}

#[tokio::test]
async fn docker_stdin() {
    suite_on_image(Engine::Docker, suite::stdin).await;
}

#[tokio::test]
async fn podman_stdin() {
    suite_on_image(Engine::Podman, suite::stdin).await;
}

#[tokio::test]
async fn docker_escalation() {
    suite_on_image(Engine::Docker, suite::escalation).await;
}

#[tokio::test]
async fn podman_escalation() {
    suite_on_image(Engine::Podman, suite::escalation).await;
}

#[tokio::test]
async fn docker_timeout() {
    suite_on_image(Engine::Docker, suite::timeout).await;
}

#[tokio::test]
async fn podman_timeout() {
    suite_on_image(Engine::Podman, suite::timeout).await;
}

#[tokio::test]
async fn docker_files() {
    suite_on_image(Engine::Docker, suite::files).await;
}

#[tokio::test]
async fn podman_files() {
    suite_on_image(Engine::Podman, suite::files).await;
}

/// An image: a new container, committed to a new image and removed at the end.
async fn image_is_committed_and_container_removed(engine: Engine) {
    let (conn, rec, mut guard) = from_image(engine).await;
    let cid = guard.ids[0].clone();
    let (ok, _) = suite::sh(&conn, "echo built > /built-by-rinfra", &Default::default()).await;
    assert!(ok);
    conn.disconnect().await;

    let notices = rec.notices();
    let image = notices
        .iter()
        .find_map(|n| n.split(" build complete, image ID: ").nth(1))
        .unwrap_or_else(|| panic!("no image id notice in {notices:?}"))
        .to_string();
    assert_eq!(image.len(), 12, "{notices:?}");
    guard.images.push(image.clone());
    assert!(
        !engine.cli(&["container", "inspect", &cid]).status.success(),
        "the container was removed"
    );
    // The commit holds what the deploy did.
    let check = engine.cli_ok(&[
        "run",
        "--rm",
        "--pull=never",
        &image,
        "cat",
        "/built-by-rinfra",
    ]);
    assert_eq!(check, "built");
}

#[tokio::test]
async fn docker_image_is_committed_and_container_removed() {
    image_is_committed_and_container_removed(Engine::Docker).await;
}

#[tokio::test]
async fn podman_image_is_committed_and_container_removed() {
    image_is_committed_and_container_removed(Engine::Podman).await;
}

/// A container: used as is, started if stopped, left running, never committed or removed.
async fn existing_container_is_left_running(engine: Engine) {
    let guard = engine.container();
    let id = guard.ids[0].clone();
    let short = &id[..12];
    let (conn, rec) = connect(engine, short).await;
    assert_eq!(
        suite::out(&conn, "cat /proc/1/cmdline | tr '\\0' ' '").await,
        "tail -f /dev/null "
    );
    conn.disconnect().await;
    assert_eq!(
        engine.cli_ok(&["container", "inspect", "-f", "{{.State.Running}}", &id]),
        "true"
    );
    assert!(
        rec.notices()
            .iter()
            .any(|n| n.contains("container left running")),
        "{:?}",
        rec.notices()
    );

    // Stopped: started, and still running afterwards.
    engine.cli_ok(&["stop", "-t", "0", &id]);
    let (conn, rec) = connect(engine, &id).await;
    assert_eq!(suite::out(&conn, "echo up").await, "up");
    conn.disconnect().await;
    assert_eq!(
        engine.cli_ok(&["container", "inspect", "-f", "{{.State.Running}}", &id]),
        "true"
    );
    assert!(
        rec.notices()
            .iter()
            .any(|n| n.contains("starting stopped container")),
        "{:?}",
        rec.notices()
    );
}

#[tokio::test]
async fn docker_existing_container_is_left_running() {
    existing_container_is_left_running(Engine::Docker).await;
}

#[tokio::test]
async fn podman_existing_container_is_left_running() {
    existing_container_is_left_running(Engine::Podman).await;
}

async fn missing_image_is_a_clear_error(engine: Engine) {
    engine.image();
    let rec = Arc::new(Recorder::default());
    let name = format!("@{}/rinfra-no-such-image:1", engine.bin());
    let err = suite::connect(&registry(), &name, rec)
        .await
        .err()
        .expect("no such image");
    let msg = err.to_string();
    assert!(msg.contains("`rinfra-no-such-image:1`"), "{msg}");
    assert!(msg.contains("never pulls"), "{msg}");
}

#[tokio::test]
async fn docker_missing_image_is_a_clear_error() {
    missing_image_is_a_clear_error(Engine::Docker).await;
}

#[tokio::test]
async fn podman_missing_image_is_a_clear_error() {
    missing_image_is_a_clear_error(Engine::Podman).await;
}

/// `docker rm -f` of the container during a command, and before the next one.
async fn container_removed_mid_run(engine: Engine) {
    let guard = engine.container();
    let id = guard.ids[0].clone();
    let (conn, _) = connect(engine, &id).await;
    let running = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.run_shell_command(&"sleep 30".into(), false, false, &Default::default())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    engine.cli_ok(&["rm", "-f", &id]);
    let err = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the command ends when its container goes")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    assert!(err.to_string().contains(&id), "{err}");

    let err = conn
        .run_shell_command(&"true".into(), false, false, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    assert!(err.to_string().contains("no longer exists"), "{err}");
    let err = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            "/tmp/x",
            &Default::default(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    conn.disconnect().await;
}

#[tokio::test]
async fn docker_container_removed_mid_run() {
    container_removed_mid_run(Engine::Docker).await;
}

#[tokio::test]
async fn podman_container_removed_mid_run() {
    container_removed_mid_run(Engine::Podman).await;
}

/// `_get_pty` gives the command a terminal.
async fn pty(engine: Engine) {
    let guard = engine.container();
    let (conn, _) = connect(engine, &guard.ids[0]).await;
    let args = ConnectorArguments {
        get_pty: true,
        ..Default::default()
    };
    let (ok, output) = suite::sh(&conn, "tty", &args).await;
    assert!(ok, "{output:?}");
    assert!(output.stdout().starts_with("/dev/pts/"), "{output:?}");
    let (ok, output) = suite::sh(&conn, "tty", &Default::default()).await;
    assert!(!ok, "no terminal without _get_pty: {output:?}");
}

#[tokio::test]
async fn docker_pty() {
    pty(Engine::Docker).await;
}

#[tokio::test]
async fn podman_pty() {
    pty(Engine::Podman).await;
}
