//! External connectors for real: the shipped example `examples/connectors/rinfra-connector-localsh`
//! (Python 3, runs commands on this machine), found on PATH by the registry for `@localsh`.

mod suite;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use rinfra_connectors::*;
use suite::{write_executable, Recorder};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/connectors")
}

/// The registry, with the examples directory put first on PATH (once per test binary).
fn registry() -> ConnectorRegistry {
    static PATH: Once = Once::new();
    PATH.call_once(|| {
        let dir = examples_dir()
            .canonicalize()
            .expect("examples/connectors exists");
        let path = std::env::var("PATH").unwrap_or_default();
        std::env::set_var("PATH", format!("{}:{path}", dir.display()));
    });
    ConnectorRegistry::with_builtins()
}

async fn localsh(rec: Arc<Recorder>) -> Arc<dyn Connector> {
    suite::connect(&registry(), "@localsh/demo", rec)
        .await
        .unwrap_or_else(|e| panic!("connect @localsh/demo: {e}"))
}

#[test]
fn listed_and_described() {
    let registry = registry();
    let found = find_external_connectors();
    let localsh = found
        .iter()
        .find(|c| c.name() == "localsh")
        .unwrap_or_else(|| panic!("localsh not among {found:?}"));
    assert_eq!(
        localsh.path().file_name().unwrap(),
        "rinfra-connector-localsh"
    );
    assert!(localsh.description().contains("runs commands locally"));
    assert!(localsh.handles_execution());

    let (connector, hosts) = registry.make_names_data("@localsh/demo").unwrap();
    assert_eq!(connector, "localsh");
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].name, "@localsh/demo");
    assert_eq!(hosts[0].groups, ["@localsh"]);
    assert_eq!(hosts[0].data["localsh_arg"], "demo");

    // Built-ins are never shadowed, unknown names stay unknown.
    assert!(find_external_connector("local").is_none());
    assert!(matches!(
        registry.make_names_data("@no-such-connector-here/x"),
        Err(InventoryError::UnknownConnector { .. })
    ));
}

#[tokio::test]
async fn exec_exit_codes_and_streamed_output() {
    let rec = Arc::new(Recorder::default());
    let conn = localsh(rec.clone()).await;
    let (ok, out) = suite::sh(&conn, "echo out; echo err >&2; exit 3", &Default::default()).await;
    assert!(!ok);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout(), "out");
    assert_eq!(out.stderr(), "err");
    let args = ConnectorArguments {
        success_exit_codes: Some(vec![3]),
        ..Default::default()
    };
    assert!(suite::sh(&conn, "exit 3", &args).await.0);
    let (ok, out) = suite::sh(
        &conn,
        r#"printf '%s\n' "it's" '$HOME' "a  b""#,
        &Default::default(),
    )
    .await;
    assert!(ok);
    assert_eq!(out.stdout_lines(), ["it's", "$HOME", "a  b"]);

    // Lines reach the reporter as they come, with the masked command before them.
    let cmd = StringCommand::new([Bit::from("echo"), Bit::Hidden(Secret::new("s3cret"))]);
    let (ok, out) = conn
        .run_shell_command(&cmd, true, true, &Default::default())
        .await
        .unwrap();
    assert!(ok);
    assert_eq!(out.stdout(), "s3cret");
    let lines = rec.lines.lock().unwrap().clone();
    assert!(
        lines.contains(&"[@localsh/demo] >>> sh -c 'echo *MASKED*'".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"[@localsh/demo] s3cret".to_string()),
        "{lines:?}"
    );
    conn.disconnect().await;
}

#[tokio::test]
async fn stdin_env_chdir_and_sudo() {
    let conn = localsh(Arc::new(Recorder::default())).await;
    suite::stdin(&conn).await;
    let args = ConnectorArguments {
        env: vec![("GREETING".into(), EnvValue::Plain("hello there".into()))],
        chdir: Some("/etc".into()),
        sudo: true,
        ..Default::default()
    };
    let (ok, out) = suite::sh(&conn, "echo \"$GREETING\"; pwd; id -u", &args).await;
    assert!(ok, "{out:?}");
    assert_eq!(out.stdout_lines(), ["hello there", "/etc", "0"]);
    conn.disconnect().await;
}

#[tokio::test]
async fn put_and_get() {
    let conn = localsh(Arc::new(Recorder::default())).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("it's a $(file)");
    let data: Vec<u8> = (0..=255u8).collect();
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(data.clone()),
            dest.to_str().unwrap(),
            &Default::default()
        ))
        .await
        .unwrap());
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // An existing file keeps its mode.
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"new\n".to_vec()),
            dest.to_str().unwrap(),
            &Default::default()
        ))
        .await
        .unwrap());
    assert_eq!(std::fs::read(&dest).unwrap(), b"new\n");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    let back = dir.path().join("back");
    std::fs::write(&dest, &data).unwrap();
    assert!(conn
        .get_file(GetFile::new(
            dest.to_str().unwrap(),
            &back,
            &Default::default()
        ))
        .await
        .unwrap());
    assert_eq!(std::fs::read(&back).unwrap(), data);

    let err = conn
        .get_file(GetFile::new("/no/such/file", &back, &Default::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No such file"), "{err}");
    conn.disconnect().await;
}

#[tokio::test]
async fn timeout_is_reported_and_the_connector_stays_usable() {
    let conn = localsh(Arc::new(Recorder::default())).await;
    let args = ConnectorArguments {
        timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let started = Instant::now();
    let err = conn
        .run_shell_command(&"sleep 30".into(), false, false, &args)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(suite::out(&conn, "echo still here").await, "still here");
    conn.disconnect().await;
}

/// The pid of the connector process: walk up from `pid` to the child of this test process.
fn connector_pid(mut pid: u32) -> u32 {
    let me = std::process::id();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = after_comm.split(' ').nth(1).unwrap().parse().unwrap();
        if ppid == me {
            return pid;
        }
        assert!(ppid > 1, "{pid} is not below this test process");
        pid = ppid;
    }
}

/// The connector process dies while a command runs: a clear lost-connection error, and every
/// later call says the connector is gone.
#[tokio::test]
async fn connector_killed_mid_command() {
    let rec = Arc::new(Recorder::default());
    let conn = localsh(rec.clone()).await;
    let running = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.run_shell_command(
                &"echo pid $$; exec sleep 30".into(),
                true,
                false,
                &Default::default(),
            )
            .await
        })
    };
    // The streamed output says which process runs the command before it ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    let shell_pid: u32 = loop {
        let lines = rec.lines.lock().unwrap().clone();
        if let Some(pid) = lines.iter().find_map(|l| l.split("pid ").nth(1)) {
            break pid.trim().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no output streamed: {lines:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let connector = connector_pid(shell_pid);
    let kill = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
    };
    assert!(kill(connector).success());
    let err = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the call ends when the connector dies")
        .unwrap()
        .unwrap_err();
    let _ = kill(shell_pid); // the orphaned `sleep`
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("`rinfra-connector-localsh` exited during `run_shell_command`"),
        "{msg}"
    );
    let err = conn
        .run_shell_command(&"true".into(), false, false, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::ConnectionLost(_)), "{err:?}");
    assert!(err.to_string().contains("is not running"), "{err}");
    conn.disconnect().await;
}

/// A connector that breaks the protocol or refuses to connect is explained.
#[tokio::test]
async fn broken_connectors_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| {
        let path = dir.path().join(format!("rinfra-connector-{name}"));
        write_executable(&path, &format!("#!/bin/sh\n{body}"));
        ExternalInventory::new(name, path)
    };
    let garbage = script("garbage", "read line; echo 'this is not json'\n");
    let err = garbage.make_names_data(None).unwrap_err().to_string();
    assert!(err.contains("invalid protocol line"), "{err}");
    assert!(err.contains("this is not json"), "{err}");

    let dies = script("dies", "echo 'cannot reach the API' >&2; exit 3\n");
    let err = dies.make_names_data(None).unwrap_err().to_string();
    // Depending on timing it is gone before or after rinfra writes `hello`.
    assert!(
        err.contains("exited during `hello`")
            || err.contains("stopped reading its requests before `hello`"),
        "{err}"
    );
    assert!(err.contains("cannot reach the API"), "{err}");
    assert!(dies.description().contains("not answering"));

    let refuses = script(
        "refuses",
        r#"while read -r line; do
  id=$(echo "$line" | sed 's/.*"id": *\([0-9]*\).*/\1/')
  case "$line" in
    *'"connect"'*) echo "{\"id\": $id, \"error\": {\"message\": \"host is powered off\"}}" ;;
    *) echo "{\"id\": $id, \"result\": {\"protocol\": 1, \"hosts\": []}}" ;;
  esac
done
"#,
    );
    let host = HostContext::new("@refuses/x", HostData::new(), Arc::new(SilentReporter));
    let conn = refuses.new_connector(host).unwrap();
    let err = conn.connect().await.unwrap_err().to_string();
    assert_eq!(err, "@refuses/x: host is powered off");
}
