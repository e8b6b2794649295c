//! File transfers: SFTP, `cat` over exec, escalation with sudo.

use rinfra_connectors::{ConnectorArguments, FileSource, GetFile, PutFile};
use serde_json::json;

use crate::common::*;

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
        .put_file(PutFile::new(
            &FileSource::Bytes(content.clone()),
            &remote,
            &args
        ))
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
        .put_file(PutFile::new(
            &FileSource::Bytes(b"second\n".to_vec()),
            &remote,
            &args
        ))
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
        .get_file(GetFile::new(&remote, &local, &args))
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
        .get_file(GetFile::new("/nonexistent/x", &local, &args))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x"), "{err}");
    let err = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            "/nonexistent/dir/x",
            &args,
        ))
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
        .put_file(PutFile::new(
            &FileSource::Bytes(b"secret\n".to_vec()),
            remote,
            &sudo
        ))
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
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            remote,
            &ConnectorArguments::default(),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ermission denied"), "{err}");

    // Download a root-only file.
    sh_args(&conn, &format!("chmod 600 {remote}"), &sudo).await;
    let local = dir.path().join("got");
    assert!(conn
        .get_file(GetFile::new(remote, &local, &sudo))
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
        .put_file(PutFile::new(
            &FileSource::Bytes(b"n\n".to_vec()),
            "/tmp/rinfra-nobody-file",
            &as_nobody
        ))
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
