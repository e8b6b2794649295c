//! `@local` against the real machine: processes, stdin, timeouts, file transfers, and sudo/su
//! as real users (created by `tests/testbed/local-users.sh`, run by `scripts/testbed up`).

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rinfra_connectors::*;

fn local() -> Arc<dyn Connector> {
    local_with(Arc::new(SilentReporter))
}

fn local_with(reporter: Arc<dyn Reporter>) -> Arc<dyn Connector> {
    let registry = ConnectorRegistry::with_builtins();
    let ctx = HostContext::new("@local", HostData::new(), reporter);
    registry.new_connector("local", ctx).unwrap()
}

async fn run(
    conn: &Arc<dyn Connector>,
    cmd: &str,
    args: &ConnectorArguments,
) -> (bool, CommandOutput) {
    conn.run_shell_command(&StringCommand::from(cmd), false, false, args)
        .await
        .unwrap()
}

fn require_user(user: &str) {
    let ok = std::process::Command::new("id")
        .arg(user)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "user {user} is missing: run `scripts/testbed up` (tests/testbed/local-users.sh) first"
    );
}

#[tokio::test]
async fn exit_codes_and_success_codes() {
    let conn = local();
    let (ok, out) = run(&conn, "echo hi; exit 3", &Default::default()).await;
    assert!(!ok);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout(), "hi");
    let args = ConnectorArguments {
        success_exit_codes: Some(vec![0, 3]),
        ..Default::default()
    };
    assert!(run(&conn, "exit 3", &args).await.0);
}

#[tokio::test]
async fn interleaves_streams_in_arrival_order() {
    let conn = local();
    let (_, out) = run(
        &conn,
        "echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c",
        &Default::default(),
    )
    .await;
    let tagged: Vec<(Stream, &str)> = out
        .combined_lines
        .iter()
        .map(|l| (l.stream, l.line.as_str()))
        .collect();
    assert_eq!(
        tagged,
        [
            (Stream::Stdout, "a"),
            (Stream::Stderr, "b"),
            (Stream::Stdout, "c")
        ]
    );
}

#[tokio::test]
async fn stdin_lines() {
    let conn = local();
    let args = ConnectorArguments {
        stdin: Some(vec!["one".into(), "two\n".into()]),
        ..Default::default()
    };
    let (ok, out) = run(&conn, "cat", &args).await;
    assert!(ok);
    assert_eq!(out.stdout_lines(), ["one", "two"]);
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let conn = local();
    let marker = format!("rinfra-timeout-{}", std::process::id());
    let args = ConnectorArguments {
        timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let cmd = format!("sh -c 'sleep 30; echo {marker}' & sleep 30");
    let err = conn
        .run_shell_command(&StringCommand::from(cmd.as_str()), false, false, &args)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
    assert_eq!(err.to_string(), "command timed out after 0.3s");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let left = std::process::Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "children left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn command_input(&self, host: &str, cmd: &str) {
        self.0.lock().unwrap().push(format!("[{host}] >>> {cmd}"));
    }
    fn command_output(&self, host: &str, line: &OutputLine) {
        self.0
            .lock()
            .unwrap()
            .push(format!("[{host}] {}", line.line));
    }
    fn notice(&self, _: &str, _: &str) {}
    fn prompt_secret(&self, _: &str, _: &str) -> Option<Secret> {
        None
    }
}

#[tokio::test]
async fn prints_masked_input_and_streamed_output() {
    let rec = Arc::new(Recorder::default());
    let conn = local_with(rec.clone());
    let cmd = StringCommand::new([Bit::from("echo"), Bit::Hidden(Secret::new("s3cret-value"))]);
    let (ok, out) = conn
        .run_shell_command(&cmd, true, true, &Default::default())
        .await
        .unwrap();
    assert!(ok);
    assert_eq!(
        out.stdout(),
        "s3cret-value",
        "the target gets the real value"
    );
    let seen = rec.0.lock().unwrap().join("\n");
    assert!(
        seen.contains("[@local] >>> sh -c 'echo *MASKED*'"),
        "{seen}"
    );
    assert!(!seen.contains(">>> sh -c 'echo s3cret"), "{seen}");
}

#[tokio::test]
async fn put_and_get_files_through_a_temp_file() {
    let conn = local();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("it's a $(file)");
    let ok = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"content\n".to_vec()),
            dest.to_str().unwrap(),
            &Default::default(),
        ))
        .await
        .unwrap();
    assert!(ok);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "content\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left beside the destination"
    );

    let back = dir.path().join("back");
    assert!(conn
        .get_file(GetFile::new(
            dest.to_str().unwrap(),
            &back,
            &Default::default()
        ))
        .await
        .unwrap());
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "content\n");
}

#[tokio::test]
async fn upload_errors_are_clear_and_leave_nothing() {
    let conn = local();
    let dir = tempfile::tempdir().unwrap();
    let missing = FileSource::Path(dir.path().join("no-such-file"));
    let err = conn
        .put_file(PutFile::new(&missing, "/tmp/x", &Default::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot read local file"), "{err}");

    let into_missing_dir = dir.path().join("nodir/dest");
    let err = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            into_missing_dir.to_str().unwrap(),
            &Default::default(),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("upload to"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn sudo_user_and_su_user_run_as_that_user() {
    require_user("rinfra-app");
    let conn = local();
    let args = ConnectorArguments {
        sudo: true,
        sudo_user: Some("rinfra-app".into()),
        ..Default::default()
    };
    let (ok, out) = run(&conn, "id -un", &args).await;
    assert!(ok, "{}", out.output());
    assert_eq!(out.stdout(), "rinfra-app");

    let args = ConnectorArguments {
        su_user: Some("rinfra-app".into()),
        ..Default::default()
    };
    let (ok, out) = run(&conn, "id -un", &args).await;
    assert!(ok, "{}", out.output());
    assert_eq!(out.stdout(), "rinfra-app");

    let args = ConnectorArguments {
        sudo: true,
        ..Default::default()
    };
    assert_eq!(run(&conn, "id -un", &args).await.1.stdout(), "root");
}

#[tokio::test]
async fn put_file_with_sudo_user_lands_owned_by_that_user() {
    require_user("rinfra-app");
    let conn = local();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let dest = dir.path().join("owned");
    let args = ConnectorArguments {
        sudo: true,
        sudo_user: Some("rinfra-app".into()),
        ..Default::default()
    };
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            dest.to_str().unwrap(),
            &args
        ))
        .await
        .unwrap());
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "rinfra-app");
}

/// The askpass flow for real: an unprivileged user whose sudo needs a password runs a command
/// with `_sudo_password`; sudo reads it from the askpass script, which is removed afterwards.
/// The parent test re-runs this test binary as that user (`askpass_child`).
#[test]
fn sudo_password_through_askpass_as_unprivileged_user() {
    require_user("rinfra-pw");
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("runuser")
        .args(["-u", "rinfra-pw", "--"])
        .arg(&exe)
        .args([
            "--ignored",
            "--exact",
            "askpass_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RINFRA_TEST_SUDO_PASSWORD", "local-pw-789")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("without-password ok=false required=true"),
        "{stdout}"
    );
    assert!(stdout.contains("ran-as=root"), "{stdout}");
    assert!(stdout.contains("askpass-mode=700"), "{stdout}");
    assert!(stdout.contains("askpass-left=0"), "{stdout}");
    assert!(
        !stdout.contains("local-pw-789"),
        "the password must never be printed: {stdout}"
    );
}

fn askpass_files() -> Vec<std::path::PathBuf> {
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pyinfra-sudo-askpass-")
        })
        .filter(|p| {
            let o = std::process::Command::new("stat")
                .args(["-c", "%U"])
                .arg(p)
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).trim() == me
        })
        .collect()
}

#[allow(clippy::print_stdout)] // reports to the parent test on stdout
#[tokio::test]
#[ignore = "run by sudo_password_through_askpass_as_unprivileged_user as the user rinfra-pw"]
async fn askpass_child() {
    let password = std::env::var("RINFRA_TEST_SUDO_PASSWORD").expect("set by the parent test");
    let conn = local();
    let args = ConnectorArguments {
        sudo: true,
        ..Default::default()
    };
    let (ok, out) = run(&conn, "id -un", &args).await;
    let required = sudo_password_required(out.output_lines().into_iter());
    println!("without-password ok={ok} required={required}");

    let args = ConnectorArguments {
        sudo: true,
        sudo_password: Some(Secret::new(password)),
        ..Default::default()
    };
    let (ok, out) = run(&conn, "id -un", &args).await;
    println!("ran-as={} ok={ok}", out.stdout());
    for f in askpass_files() {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        println!("askpass-mode={mode:o}");
    }
    conn.remove_askpass_files().await;
    println!("askpass-left={}", askpass_files().len());
}
