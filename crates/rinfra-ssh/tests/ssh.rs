//! The SSH connector against real OpenSSH servers (`scripts/testbed up`; see common/mod.rs).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rinfra_connectors::{
    ConnectorArguments, ConnectorError, FileSource, Secret, Stream, StringCommand,
};
use serde_json::json;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

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

async fn put_get_roundtrip(protocol: &str) {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let mut data = tb.data(tb.host(0), "root", &kh);
    data["ssh_file_transfer_protocol"] = json!(protocol);
    let conn = connector(tb.host(0), data);
    let args = ConnectorArguments::default();
    let remote = format!("/root/rinfra put {protocol} 'test'");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();

    // New file: pyinfra's mode (umask), content exact.
    let (_, _) = sh(
        &conn,
        &format!("rm -f {}", rinfra_connectors::quote(&remote)),
    )
    .await;
    assert!(conn
        .put_file(
            &FileSource::Bytes(content.clone()),
            &remote,
            None,
            false,
            false,
            &args
        )
        .await
        .unwrap());
    let q = rinfra_connectors::quote(&remote);
    assert_eq!(
        ok(&conn, &format!("stat -c '%a %U %s' {q}")).await,
        "644 root 200000"
    );
    let sum_local = {
        let f = dir.path().join("c");
        std::fs::write(&f, &content).unwrap();
        let o = std::process::Command::new("sha256sum")
            .arg(&f)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()[..64].to_string()
    };
    let sum_remote = ok(&conn, &format!("sha256sum {q}")).await;
    assert_eq!(&sum_remote[..64], sum_local);

    // Existing file keeps its mode; no temp files are left behind.
    ok(&conn, &format!("chmod 600 {q}")).await;
    assert!(conn
        .put_file(
            &FileSource::Bytes(b"second\n".to_vec()),
            &remote,
            None,
            false,
            false,
            &args
        )
        .await
        .unwrap());
    assert_eq!(
        ok(&conn, &format!("stat -c %a {q}; cat {q}")).await,
        "600\nsecond"
    );
    assert_eq!(
        ok(&conn, "ls -a /root /tmp | grep -c rinfra- || true").await,
        "0"
    );

    // Download.
    let local = dir.path().join("got");
    ok(&conn, &format!("head -c 100000 /dev/urandom > {q}")).await;
    assert!(conn
        .get_file(&remote, &local, None, false, false, &args)
        .await
        .unwrap());
    let sum_remote = ok(&conn, &format!("sha256sum < {q}")).await;
    let o = std::process::Command::new("sha256sum")
        .arg(&local)
        .output()
        .unwrap();
    assert_eq!(
        &sum_remote[..64],
        &String::from_utf8(o.stdout).unwrap()[..64]
    );

    // A missing remote file and an unwritable destination are errors that say so.
    let err = conn
        .get_file("/nonexistent/x", &local, None, false, false, &args)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x"), "{err}");
    let err = conn
        .put_file(
            &FileSource::Bytes(b"x".to_vec()),
            "/nonexistent/dir/x",
            None,
            false,
            false,
            &args,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/dir/x"), "{err}");
    ok(&conn, &format!("rm -f {q}")).await;
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_over_sftp() {
    put_get_roundtrip("sftp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_over_cat_when_sftp_is_off() {
    put_get_roundtrip("scp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_with_sudo_as_tester() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let conn = connector(tb.host(2), tb.data(tb.host(2), "tester", &kh));
    assert_eq!(ok(&conn, "whoami").await, "tester");
    let sudo = ConnectorArguments {
        sudo: true,
        ..Default::default()
    };
    let remote = "/root/rinfra-sudo-put";
    assert!(conn
        .put_file(
            &FileSource::Bytes(b"secret\n".to_vec()),
            remote,
            None,
            false,
            false,
            &sudo
        )
        .await
        .unwrap());
    let (success, out) = sh_args(
        &conn,
        &format!("stat -c '%U %a' {remote}; cat {remote}"),
        &sudo,
    )
    .await;
    assert!(success, "{out:?}");
    assert_eq!(out.stdout(), "root 644\nsecret");
    // Without sudo the same upload is refused, with the target's reason.
    let err = conn
        .put_file(
            &FileSource::Bytes(b"x".to_vec()),
            remote,
            None,
            false,
            false,
            &ConnectorArguments::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ermission denied"), "{err}");

    // Download a root-only file.
    sh_args(&conn, &format!("chmod 600 {remote}"), &sudo).await;
    let local = dir.path().join("got");
    assert!(conn
        .get_file(remote, &local, None, false, false, &sudo)
        .await
        .unwrap());
    assert_eq!(std::fs::read(&local).unwrap(), b"secret\n");

    // _sudo_user: the file lands owned by that user.
    let as_nobody = ConnectorArguments {
        sudo: true,
        sudo_user: Some("nobody".into()),
        ..Default::default()
    };
    assert!(conn
        .put_file(
            &FileSource::Bytes(b"n\n".to_vec()),
            "/tmp/rinfra-nobody-file",
            None,
            false,
            false,
            &as_nobody
        )
        .await
        .unwrap());
    assert_eq!(
        ok(&conn, "stat -c %U /tmp/rinfra-nobody-file").await,
        "nobody"
    );
    sh_args(
        &conn,
        &format!("rm -f {remote} /tmp/rinfra-nobody-file"),
        &sudo,
    )
    .await;
    // No temp files left in /tmp by any of it.
    assert_eq!(
        ok(&conn, "ls /tmp | grep -c '^rinfra-[0-9a-f]' || true").await,
        "0"
    );
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_host_fails_alone_with_a_clear_reason() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let down = connector("127.0.2.250", tb.data("127.0.2.250", "root", &kh));
    let up = connector(tb.host(0), tb.data(tb.host(0), "root", &kh));
    let (down_result, up_result) = tokio::join!(down.connect(), up.connect());
    up_result.unwrap();
    let err = down_result.unwrap_err().to_string();
    assert_eq!(
        err,
        "could not connect to `127.0.2.250:22`: connection refused"
    );
    assert_eq!(ok(&up, "echo fine").await, "fine");

    // Retries: attempts are spaced by the configured delays.
    let mut data = tb.data("127.0.2.250", "root", &kh);
    data["ssh_connect_retries"] = json!(2);
    data["ssh_connect_retry_min_delay"] = json!(0.3);
    data["ssh_connect_retry_max_delay"] = json!(0.4);
    let start = Instant::now();
    assert!(connector("127.0.2.250", data).connect().await.is_err());
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // An unresolvable name says so.
    let err = connector(
        "no-such-host.invalid",
        tb.data("no-such-host.invalid", "root", &kh),
    )
    .connect()
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("could not resolve hostname `no-such-host.invalid`"),
        "{err}"
    );
    up.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_on_a_silent_server() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    // Accepts TCP, never sends a banner.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut data = tb.data("127.0.0.1", "root", &kh);
    data["ssh_port"] = json!(port);
    data["ssh_connect_timeout"] = json!(1);
    let start = Instant::now();
    let err = connector("silent", data)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("ssh handshake with `127.0.0.1:{port}` timed out after 1s")
    );
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_the_key_exactly_once_and_a_changed_key_is_refused() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("ssh/known_hosts");
    let host = tb.host(1);
    for _ in 0..2 {
        let conn = connector(host, tb.data(host, "root", &kh));
        conn.connect().await.unwrap();
        conn.disconnect().await;
    }
    // Concurrent first connections do not duplicate it either.
    let kh2 = dir.path().join("known_hosts2");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let conn = connector(host, tb.data(host, "root", &kh2));
        set.spawn(async move { conn.connect().await.map_err(|e| e.to_string()) });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    for file in [&kh, &kh2] {
        let text = std::fs::read_to_string(file).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with(&format!("{host} ssh-ed25519 ")), "{text}");
    }

    // strict=yes with an empty file refuses.
    let empty = dir.path().join("empty");
    let mut data = tb.data(host, "root", &empty);
    data["ssh_strict_host_key_checking"] = json!("yes");
    let err = connector(host, data)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("no host key is known for `{host}`")),
        "{err}"
    );
    assert!(!empty.exists());

    // A different key recorded for the host: refused, naming file and line.
    let changed = dir.path().join("changed");
    std::fs::write(
        &changed,
        format!(
            "# comment\nother ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIS+pWPaK0tj8iSzB6w6KM0MM/inxsV2MfsryYWE60Og\n\
             {host} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlIlTseRhabZxIyPyqbxeoF6D0XlBtrpm4ZAvB+7n9d\n"
        ),
    )
    .unwrap();
    let err = connector(host, tb.data(host, "root", &changed))
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{err}"
    );
    assert!(err.contains(&format!("{}:3", changed.display())), "{err}");
    assert!(
        err.contains(&format!(
            "ssh-keygen -f \"{}\" -R \"{host}\"",
            changed.display()
        )),
        "{err}"
    );
    // ...and the file is left alone.
    assert_eq!(
        std::fs::read_to_string(&changed).unwrap().lines().count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failure_names_user_and_key() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(0);
    let err = connector(host, tb.data(host, "nosuchuser", &kh))
        .connect()
        .await
        .unwrap_err()
        .to_string();
    // (What the server accepts depends on its sshd_config: publickey at least.)
    let expected = format!(
        "authentication failed for `nosuchuser@{host}:22`: tried key `{}`; the server \
         accepts: publickey",
        tb.key.display()
    );
    assert!(err.starts_with(&expected), "{err}");
    // A missing key file is named.
    let mut data = tb.data(host, "root", &kh);
    data["ssh_key"] = json!("/nonexistent/id_ed25519");
    let err = connector(host, data)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "private key file `/nonexistent/id_ed25519` does not exist"
    );
}

/// Make an encrypted copy of the testbed key (same key pair, so the target accepts it).
fn encrypted_copy(tb: &Testbed, dir: &std::path::Path, passphrase: &str) -> std::path::PathBuf {
    let copy = dir.join("id_enc");
    std::fs::copy(&tb.key, &copy).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", passphrase, "-f"])
        .arg(&copy)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("ssh-keygen (openssh-client) is needed to make an encrypted key");
    assert!(status.success());
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_key_with_ssh_key_password() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(0);
    let (key, pass) = match (
        std::env::var("RINFRA_TB_SSH_KEY_ENC"),
        std::env::var("RINFRA_TB_SSH_KEY_ENC_PASSPHRASE"),
    ) {
        (Ok(k), Ok(p)) => (std::path::PathBuf::from(k), p),
        _ => (
            encrypted_copy(&tb, dir.path(), "s3cret pass"),
            "s3cret pass".into(),
        ),
    };
    let mut data = tb.data(host, "root", &kh);
    data["ssh_key"] = json!(key.to_str().unwrap());
    data["ssh_key_password"] = json!(pass);
    let conn = connector(host, data.clone());
    assert_eq!(ok(&conn, "echo in").await, "in");
    conn.disconnect().await;

    // Without the passphrase: told what to set, and the passphrase never shows in errors.
    data.as_object_mut().unwrap().remove("ssh_key_password");
    let err = connector(host, data.clone())
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is encrypted") && err.contains("ssh_key_password"),
        "{err}"
    );
    data["ssh_key_password"] = json!("wrong");
    let err = connector(host, data)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains(&pass));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(1);
    let (user, password) = match (
        std::env::var("RINFRA_TB_SSH_USER_PW"),
        std::env::var("RINFRA_TB_SSH_USER_PW_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) => (u, p),
        _ => {
            // Give `tester` a password on this host (as root).
            let root = connector(host, tb.data(host, "root", &kh));
            ok(&root, "echo 'tester:pw-for-tests-1' | chpasswd").await;
            root.disconnect().await;
            ("tester".to_string(), "pw-for-tests-1".to_string())
        }
    };
    let data = json!({
        "ssh_hostname": host, "ssh_user": user, "ssh_password": password,
        "ssh_allow_agent": false, "ssh_look_for_keys": false,
        "ssh_known_hosts_file": kh.to_str().unwrap(),
    });
    let conn = connector(host, data.clone());
    assert_eq!(ok(&conn, "whoami").await, user);
    conn.disconnect().await;

    let mut bad = data;
    bad["ssh_password"] = json!("not-the-password");
    let err = connector(host, bad)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "authentication failed for `{user}@{host}:22`: tried password"
        )),
        "{err}"
    );
    assert!(!err.contains("not-the-password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_through_keyboard_interactive() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(1);
    let root = connector(host, tb.data(host, "root", &kh));
    let (user, password) = match (
        std::env::var("RINFRA_TB_SSH_USER_PW"),
        std::env::var("RINFRA_TB_SSH_USER_PW_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) => (u, p),
        _ => {
            ok(&root, "echo 'tester:pw-for-tests-1' | chpasswd").await;
            ("tester".to_string(), "pw-for-tests-1".to_string())
        }
    };
    // An sshd that refuses `password` but asks through `keyboard-interactive` (PAM).
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2224'; sleep 0.2"),
    )
    .await;
    ok(
        &root,
        &format!(
            "/usr/sbin/sshd -o ListenAddress={host}:2224 -o PidFile=none \
             -o HostKey=/etc/ssh/ssh_host_ed25519_key -o PasswordAuthentication=no \
             -o KbdInteractiveAuthentication=yes -o UsePAM=yes -o UseDNS=no"
        ),
    )
    .await;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((host, 2224)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let data = json!({
        "ssh_hostname": host, "ssh_port": 2224, "ssh_user": user, "ssh_password": password,
        "ssh_allow_agent": false, "ssh_look_for_keys": false,
        "ssh_known_hosts_file": kh.to_str().unwrap(),
    });
    let result = async {
        let conn = connector("kbdint", data);
        let who = ok(&conn, "whoami").await;
        conn.disconnect().await;
        who
    }
    .await;
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2224'; true"),
    )
    .await;
    root.disconnect().await;
    assert_eq!(result, user);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_auth() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let sock = dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) is needed for this test");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let added = std::process::Command::new("ssh-add")
        .arg("-q")
        .arg(&tb.key)
        .env("SSH_AUTH_SOCK", &sock)
        .status()
        .unwrap();
    assert!(added.success());

    let host = tb.host(0);
    // No ssh_key: the agent is asked first (default key files do not exist for this key).
    let data = json!({
        "ssh_hostname": host, "ssh_user": "root", "ssh_look_for_keys": false,
        "ssh_known_hosts_file": kh.to_str().unwrap(),
    });
    let sock2 = sock.clone();
    let conn = connector_tweaked(host, data, move |t| {
        t.auth.agent = Some(rinfra_ssh::AgentSource::Path(sock2.clone()));
    });
    assert_eq!(ok(&conn, "whoami").await, "root");
    conn.disconnect().await;
    agent.kill().unwrap();
    let _ = agent.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_one_and_two_hops() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let (h1, h2, h3) = (tb.host(0), tb.host(1), tb.host(2));

    let mut data = tb.data(h2, "root", &kh);
    data["ssh_proxy_jump"] = json!(format!("root@{h1}"));
    let conn = connector("via-one", data);
    assert_eq!(ok(&conn, "hostname").await, ok_hostname(&tb, 1).await);
    conn.disconnect().await;

    let mut data = tb.data(h3, "root", &kh);
    data["ssh_proxy_jump"] = json!(format!("root@{h1},root@{h2}:22"));
    let conn = connector("via-two", data);
    assert_eq!(ok(&conn, "hostname").await, ok_hostname(&tb, 2).await);
    // Files go through the hops too.
    assert!(conn
        .put_file(
            &FileSource::Bytes(b"hop\n".to_vec()),
            "/tmp/rinfra-hop",
            None,
            false,
            false,
            &ConnectorArguments::default()
        )
        .await
        .unwrap());
    assert_eq!(
        ok(&conn, "cat /tmp/rinfra-hop; rm /tmp/rinfra-hop").await,
        "hop"
    );
    conn.disconnect().await;

    // A dead jump host is named in the error.
    let mut data = tb.data(h2, "root", &kh);
    data["ssh_proxy_jump"] = json!("root@127.0.2.250");
    let err = connector("via-dead", data)
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "could not connect to `127.0.2.250:22`: connection refused (through jump host 127.0.2.250)"
    );
}

async fn ok_hostname(tb: &Testbed, n: usize) -> String {
    let dir = tmp();
    let conn = connector(
        tb.host(n),
        tb.data(tb.host(n), "root", &dir.path().join("kh")),
    );
    let name = ok(&conn, "hostname").await;
    conn.disconnect().await;
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_command() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let (h1, h2) = (tb.host(0), tb.host(1));
    let cmd = format!(
        "exec ssh -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
         -o LogLevel=ERROR -o BatchMode=yes -W {h2}:22 root@{h1}",
        tb.key.display()
    );
    let conn = connector_tweaked(h2, tb.data(h2, "root", &kh), move |t| {
        t.proxy = rinfra_ssh::Proxy::Command(cmd.clone());
    });
    assert_eq!(ok(&conn, "hostname").await, ok_hostname(&tb, 1).await);
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
    let pid = ok(&conn, "echo $PPID").await;
    // Kill this connection's sshd process (the login shell's parent): the command fails...
    let r = conn
        .run_shell_command(
            &StringCommand::from(format!("kill -9 {pid}")),
            false,
            false,
            &ConnectorArguments::default(),
        )
        .await;
    assert!(
        matches!(&r, Err(ConnectorError::ConnectionLost(_)) | Ok((false, _))),
        "{r:?}"
    );
    // ...and the next command runs on a new connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new_pid = ok(&conn, "echo $PPID").await;
    assert_ne!(pid, new_pid);
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_forwarding() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let sock = dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) is needed for this test");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(std::process::Command::new("ssh-add")
        .arg("-q")
        .arg(&tb.key)
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success());
    let host = tb.host(1);
    let mut data = tb.data(host, "root", &kh);
    data["ssh_forward_agent"] = json!(true);
    let sock2 = sock.clone();
    let conn = connector_tweaked(host, data, move |t| {
        t.auth.agent = Some(rinfra_ssh::AgentSource::Path(sock2.clone()));
    });
    let listed = ok(&conn, "ssh-add -l").await;
    assert!(listed.contains("ED25519"), "{listed}");
    // Through the forwarded agent, the target can log into another host.
    let hop = ok(
        &conn,
        &format!(
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
             -o BatchMode=yes root@{} hostname",
            tb.host(0)
        ),
    )
    .await;
    assert!(!hop.is_empty());
    conn.disconnect().await;

    // Off by default.
    let conn = connector(host, tb.data(host, "root", &kh));
    let (success, _) = sh(&conn, "ssh-add -l").await;
    assert!(!success);
    conn.disconnect().await;
    agent.kill().unwrap();
    let _ = agent.wait();
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
            conn.put_file(
                &FileSource::Bytes(b"during\n".to_vec()),
                "/tmp/rinfra-max2",
                None,
                false,
                false,
                &ConnectorArguments::default(),
            )
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
