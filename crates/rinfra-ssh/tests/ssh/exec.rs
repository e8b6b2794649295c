//! Running commands: exit codes, output order, stdin, pty, timeouts, concurrency, reconnects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rinfra_connectors::{
    ConnectorArguments, ConnectorError, FileSource, PutFile, Secret, Stream, StringCommand,
};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_auth_exit_codes_and_interleaved_output() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(0), tb.data(tb.host(0), "root", &kh));
    conn.connect().await.unwrap();

    assert_eq!(ok(&conn, "whoami").await, "root");
    let (success, out) = sh(
        &conn,
        "echo one; echo two >&2; sleep 0.1; echo three; exit 3",
    )
    .await;
    assert!(!success);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout_lines(), ["one", "three"]);
    assert_eq!(out.stderr_lines(), ["two"]);
    assert_eq!(out.output_lines(), ["one", "two", "three"]);

    let args = ConnectorArguments {
        success_exit_codes: Some(vec![0, 3]),
        ..Default::default()
    };
    let (success, _) = sh_args(&conn, "exit 3", &args).await;
    assert!(success, "exit 3 is in _success_exit_codes");

    // A partial last line, and non-UTF-8 bytes, come through.
    let (_, out) = sh(&conn, "printf 'a\\nno-newline'; printf '\\377x\\n' >&2").await;
    assert_eq!(out.stdout_lines(), ["a", "no-newline"]);
    assert_eq!(out.stderr_lines(), ["\u{fffd}x"]);
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_pty_and_streamed_output() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let recorder = Arc::new(Recorder::default());
    let conn = connector_with(
        tb.host(0),
        tb.data(tb.host(0), "root", &kh),
        recorder.clone(),
    );

    let args = ConnectorArguments {
        stdin: Some(vec!["first line".into(), "second 'quoted' line\n".into()]),
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "cat; echo done", &args).await;
    assert!(success);
    assert_eq!(
        out.stdout_lines(),
        ["first line", "second 'quoted' line", "done"]
    );

    // Without _stdin, stdin is at EOF (a command reading it does not hang).
    assert_eq!(ok(&conn, "cat; echo eof").await, "eof");

    let args = ConnectorArguments {
        get_pty: true,
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "tty; echo x", &args).await;
    assert!(success, "{out:?}");
    assert!(out.stdout_lines()[0].starts_with("/dev/pts/"), "{out:?}");
    assert_eq!(out.stdout_lines()[1], "x", "no trailing \\r with a pty");

    let (success, _) = conn
        .run_shell_command(
            &StringCommand::from("echo out; echo err >&2"),
            true,
            true,
            &ConnectorArguments::default(),
        )
        .await
        .unwrap();
    assert!(success);
    let lines = recorder.lines.lock().unwrap().clone();
    let shown: Vec<_> = lines.iter().map(|l| (l.stream, l.line.as_str())).collect();
    assert_eq!(shown, [(Stream::Stdout, "out"), (Stream::Stderr, "err")]);
    assert_eq!(
        recorder.inputs.lock().unwrap().as_slice(),
        ["sh -c 'echo out; echo err >&2'"]
    );
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_and_the_connection_stays_usable() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(0), tb.data(tb.host(0), "root", &kh));
    let args = ConnectorArguments {
        timeout: Some(Duration::from_millis(700)),
        ..Default::default()
    };
    // Timed-out commands must give their channel back: more of them than sshd's MaxSessions.
    for _ in 0..12 {
        let start = Instant::now();
        let err = conn
            .run_shell_command(&StringCommand::from("sleep 30"), false, false, &args)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Timeout(d) if d == Duration::from_millis(700)),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    assert_eq!(ok(&conn, "echo alive").await, "alive");
    // The killed shells are gone on the target.
    let (_, out) = sh(
        &conn,
        "sleep 0.5; ps -eo args | grep -c '^sleep 30$' || true",
    )
    .await;
    assert_eq!(out.stdout(), "0", "{out:?}");
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_commands_on_one_connection() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(1), tb.data(tb.host(1), "root", &kh));
    conn.connect().await.unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let conn = conn.clone();
            tokio::spawn(async move {
                let (success, out) = sh(&conn, &format!("sleep 0.2; echo {i}")).await;
                assert!(success, "{out:?}");
                out.stdout()
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), i.to_string());
    }
    // 50 x 0.2 s through 8 channels: well under the 10 s of one-at-a-time.
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    // And sequentially, far past MaxSessions, channels are given back.
    for i in 0..30 {
        assert_eq!(ok(&conn, &format!("echo {i}")).await, i.to_string());
    }
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_max_sessions_2_makes_commands_wait_not_fail() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(2);
    let root = connector(host, tb.data(host, "root", &kh));
    // (Separate commands: the pattern must not match the shell that starts sshd.)
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2223'; sleep 0.2"),
    )
    .await;
    ok(
        &root,
        &format!(
            "/usr/sbin/sshd -o ListenAddress={host}:2223 -o PidFile=none \
             -o HostKey=/etc/ssh/ssh_host_ed25519_key -o MaxSessions=2 \
             -o PermitRootLogin=prohibit-password -o UseDNS=no"
        ),
    )
    .await;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((host, 2223)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut data = tb.data(host, "root", &kh);
    data["ssh_port"] = json!(2223);
    let conn = connector("max2", data);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let conn = conn.clone();
        set.spawn(async move { (i, sh(&conn, &format!("sleep 0.3; echo {i}")).await) });
    }
    let put = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.put_file(PutFile::new(
                &FileSource::Bytes(b"during\n".to_vec()),
                "/tmp/rinfra-max2",
                &ConnectorArguments::default(),
            ))
            .await
        })
    };
    while let Some(r) = set.join_next().await {
        let (i, (success, out)) = r.unwrap();
        assert!(success, "{out:?}");
        assert_eq!(out.stdout(), i.to_string());
    }
    assert!(put.await.unwrap().unwrap());
    assert_eq!(
        ok(&conn, "cat /tmp/rinfra-max2; rm /tmp/rinfra-max2").await,
        "during"
    );
    conn.disconnect().await;
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2223'; true"),
    )
    .await;
    root.disconnect().await;
}

/// Prints the pid of the sshd process serving this command's session (the nearest `sshd`
/// ancestor): the login shell's parent, whether the command runs in a shell of its own or in
/// the connection's persistent shell.
const SSHD_SESSION_PID: &str = "p=$PPID; while [ \"$(cat /proc/$p/comm)\" != sshd ]; do \
     p=$(cut -d' ' -f4 /proc/$p/stat); done; echo $p";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_the_connection_was_dropped() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(2);
    // Keepalives every second: an idle connection stays up (and a dead one is noticed).
    let conn = connector_tweaked(host, tb.data(host, "root", &kh), |t| {
        t.server_alive_interval = Some(Duration::from_secs(1));
    });
    assert_eq!(ok(&conn, "echo a").await, "a");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let pid = ok(&conn, SSHD_SESSION_PID).await;
    // Kill this connection's sshd process: the command fails...
    let r = conn
        .run_shell_command(
            &StringCommand::from(format!("kill -9 {pid}")),
            false,
            false,
            &ConnectorArguments::default(),
        )
        .await;
    assert!(
        matches!(&r, Err(ConnectorError::ConnectionLost(_))),
        "{r:?}"
    );
    // ...and the next command runs on a new connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new_pid = ok(&conn, SSHD_SESSION_PID).await;
    assert_ne!(pid, new_pid);
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_password_is_masked_in_printed_input() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let recorder = Arc::new(Recorder::default());
    let conn = connector_with(
        tb.host(2),
        tb.data(tb.host(2), "tester", &kh),
        recorder.clone(),
    );
    let args = ConnectorArguments {
        sudo: true,
        sudo_password: Some(Secret::new("unused-pw")),
        ..Default::default()
    };
    // NOPASSWD sudo accepts with or without the askpass flow.
    let (success, out) = conn
        .run_shell_command(&StringCommand::from("whoami"), false, true, &args)
        .await
        .unwrap();
    assert!(success, "{out:?}");
    assert_eq!(out.stdout(), "root");
    let inputs = recorder.inputs.lock().unwrap().clone();
    assert!(
        inputs.iter().all(|i| !i.contains("unused-pw")),
        "{inputs:?}"
    );
    conn.remove_askpass_files().await;
    assert_eq!(ok(&conn, "ls /tmp | grep -c askpass || true").await, "0");
    conn.disconnect().await;
}
