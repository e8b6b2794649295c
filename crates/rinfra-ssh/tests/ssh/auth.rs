//! Authentication: keys, encrypted keys, passwords, keyboard-interactive, the agent and its
//! forwarding.

use std::time::Duration;

use rinfra_connectors::{ConnectorArguments, FileSource, PutFile};

use serde_json::json;

use crate::common::*;

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

/// Start `ssh-agent -D -a SOCK` and load `keys` into it; killed on drop.
struct Agent {
    child: std::process::Child,
    sock: std::path::PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn agent_with(dir: &std::path::Path, keys: &[&std::path::Path]) -> Agent {
    let sock = dir.join("agent2.sock");
    let child = std::process::Command::new("ssh-agent")
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
    for key in keys {
        assert!(std::process::Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", &sock)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success());
    }
    Agent { child, sock }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_agent_keys_is_explained() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let mut keys = Vec::new();
    for i in 0..7 {
        let k = dir.path().join(format!("k{i}"));
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&k)
            .status()
            .unwrap();
        assert!(st.success());
        keys.push(k);
    }
    let refs: Vec<&std::path::Path> = keys.iter().map(|k| k.as_path()).collect();
    let agent = agent_with(dir.path(), &refs).await;
    let host = tb.host(0);
    let data = json!({
        "ssh_hostname": host, "ssh_user": "root", "ssh_look_for_keys": false,
        "ssh_known_hosts_file": kh.to_str().unwrap(),
    });
    let sock = agent.sock.clone();
    let conn = connector_tweaked(host, data, move |t| {
        t.auth.agent = Some(rinfra_ssh::AgentSource::Path(sock.clone()));
    });
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(err.contains("MaxAuthTries"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_certificate_beside_the_key() {
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let host = tb.host(0);
    let keygen = |args: &[&str]| {
        let out = std::process::Command::new("ssh-keygen")
            .args(args)
            .output()
            .expect("ssh-keygen (openssh-client) is needed for this test");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A user CA, and a fresh key that is in no authorized_keys, certified for root.
    let ca = dir.path().join("user_ca");
    let key = dir.path().join("id_cert");
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", ca.to_str().unwrap()]);
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()]);
    keygen(&[
        "-q",
        "-s",
        ca.to_str().unwrap(),
        "-I",
        "rinfra-user",
        "-n",
        "root",
        "-V",
        "-5m:+1h",
        &format!("{}.pub", key.display()),
    ]);
    let root = connector(host, tb.data(host, "root", &kh));
    root.put_file(PutFile::new(
        &FileSource::Bytes(std::fs::read(format!("{}.pub", ca.display())).unwrap()),
        "/etc/ssh/rinfra_user_ca.pub",
        &ConnectorArguments::default(),
    ))
    .await
    .unwrap();
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2225'; sleep 0.2"),
    )
    .await;
    ok(
        &root,
        &format!(
            "/usr/sbin/sshd -o ListenAddress={host}:2225 -o PidFile=none \
             -o HostKey=/etc/ssh/ssh_host_ed25519_key \
             -o TrustedUserCAKeys=/etc/ssh/rinfra_user_ca.pub -o UseDNS=no"
        ),
    )
    .await;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((host, 2225)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut data = tb.data(host, "root", &kh);
    data["ssh_port"] = json!(2225);
    data["ssh_key"] = json!(key.to_str().unwrap());
    let result = async {
        let conn = connector("usercert", data.clone());
        let who = conn.connect().await.map(|_| ());
        conn.disconnect().await;
        who
    }
    .await;
    // Without the certificate the same key is refused.
    std::fs::remove_file(format!("{}-cert.pub", key.display())).unwrap();
    let without = connector("usercert", data).connect().await;
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={host}:2225'; true"),
    )
    .await;
    root.disconnect().await;
    result.unwrap();
    let err = without.unwrap_err().to_string();
    assert!(err.starts_with("authentication failed"), "{err}");
}
