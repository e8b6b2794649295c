//! ssh_config and known_hosts: aliases, IdentityFile, ProxyJump, hashed names,
//! `@cert-authority`, `@revoked`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use rinfra_connectors::{ConnectorArguments, FileSource, GetFile, PutFile};
use serde_json::json;

fn keygen(args: &[&str]) {
    let out = Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen (openssh-client) is needed for these tests");
    assert!(
        out.status.success(),
        "ssh-keygen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_alias_identity_file_and_proxy_jump_from_ssh_config() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let cfg = dir.path().join("config");
    std::fs::write(
        &cfg,
        format!(
            "Host web\n  HostName {h2}\n\
             Host behind\n  HostName {h3}\n  ProxyJump bastion\n\
             Host bastion\n  HostName {h1}\n\
             Host nested\n  HostName {h3}\n  ProxyJump mid\n\
             Host mid\n  HostName {h2}\n  ProxyJump bastion\n\
             Host nested-dead\n  HostName {h3}\n  ProxyJump mid-dead\n\
             Host mid-dead\n  HostName {h2}\n  ProxyJump dead\n\
             Host dead\n  HostName 127.0.2.250\n\
             Host *\n  User root\n  IdentityFile {key}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {kh}\n  ServerAliveInterval 5\n",
            h1 = tb.host(0),
            h2 = tb.host(1),
            h3 = tb.host(2),
            key = tb.key.display(),
            kh = kh.display()
        ),
    )
    .unwrap();
    let data = |name: &str| {
        json!({"ssh_hostname": name, "ssh_config_file": cfg.to_str().unwrap(),
               "ssh_allow_agent": false})
    };
    let web = connector("web", data("web"));
    assert_eq!(
        ok(&web, "echo $SSH_CONNECTION | cut -d' ' -f3").await,
        tb.host(1)
    );
    web.disconnect().await;
    let behind = connector("behind", data("behind"));
    assert_eq!(
        ok(&behind, "echo $SSH_CONNECTION | cut -d' ' -f3").await,
        tb.host(2)
    );
    behind.disconnect().await;
    // A jump host's own ProxyJump is followed (pyinfra drops it, pyinfra#1963): through
    // bastion, then mid, to the target; with a dead first hop, the error names it.
    let nested = connector("nested", data("nested"));
    assert_eq!(
        ok(&nested, "echo $SSH_CONNECTION | cut -d' ' -f3").await,
        tb.host(2)
    );
    nested.disconnect().await;
    let err = connector("nested-dead", data("nested-dead"))
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "could not connect to `127.0.2.250:22`: connection refused (through jump host dead)"
    );

    // Each host's key was recorded under its real address, once.
    let text = read(&kh);
    for h in [tb.host(0), tb.host(1), tb.host(2)] {
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with(&format!("{h} ")))
                .count(),
            1,
            "{text}"
        );
    }

    // Hashed entries (ssh-keygen -H) are understood, with strict checking.
    keygen(&["-q", "-H", "-f", kh.to_str().unwrap()]);
    assert!(read(&kh).starts_with("|1|"));
    let mut strict = data("web");
    strict["ssh_strict_host_key_checking"] = json!("yes");
    let web = connector("web", strict);
    assert_eq!(ok(&web, "echo ok").await, "ok");
    web.disconnect().await;

    // A Match block the resolver cannot evaluate is an error naming the line.
    std::fs::write(&cfg, "Host *\n  User root\nMatch exec \"true\"\n  Port 2\n").unwrap();
    let err = connector("web2", data("web2"))
        .connect()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("{}:3", cfg.display())), "{err}");
}

/// An extra sshd on the third host, port 2222, with an RSA host key and an ed25519 host key
/// that has a certificate signed by a CA made here. Killed on drop.
struct CertSshd {
    conn: std::sync::Arc<dyn rinfra_connectors::Connector>,
    ca_pub: String,
    rsa_pub: String,
    addr: String,
}

impl Drop for CertSshd {
    fn drop(&mut self) {
        let conn = self.conn.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let _ = sh(&conn, "pkill -f '[L]istenAddress=.*:2222'").await;
                conn.disconnect().await;
            })
        })
        .join();
    }
}

async fn cert_sshd(tb: &Testbed, dir: &Path, principal: &str) -> CertSshd {
    let host = tb.host(2);
    let conn = connector(host, tb.data(host, "root", &dir.join("kh-setup")));
    let ca = dir.join("ca");
    keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "test-ca",
        "-f",
        ca.to_str().unwrap(),
    ]);
    ok(
        &conn,
        "cd /etc/ssh && rm -f rinfra_t_* && \
         ssh-keygen -q -t ed25519 -N '' -f rinfra_t_ed25519 && \
         ssh-keygen -q -t rsa -b 2048 -N '' -f rinfra_t_rsa",
    )
    .await;
    let args = ConnectorArguments::default();
    let host_pub = dir.join("host.pub");
    conn.get_file(GetFile::new(
        "/etc/ssh/rinfra_t_ed25519.pub",
        &host_pub,
        &args,
    ))
    .await
    .unwrap();
    keygen(&[
        "-q",
        "-s",
        ca.to_str().unwrap(),
        "-I",
        "rinfra-test",
        "-h",
        "-n",
        principal,
        "-V",
        "-5m:+1h",
        host_pub.to_str().unwrap(),
    ]);
    let cert = std::fs::read(dir.join("host-cert.pub")).unwrap();
    conn.put_file(PutFile::new(
        &FileSource::Bytes(cert),
        "/etc/ssh/rinfra_t_ed25519-cert.pub",
        &args,
    ))
    .await
    .unwrap();
    let rsa_pub = ok(&conn, "cat /etc/ssh/rinfra_t_rsa.pub").await;
    // (Separate commands: the pattern must not match the shell that starts sshd.)
    ok(&conn, "pkill -f '[L]istenAddress=.*:2222'; sleep 0.2").await;
    ok(
        &conn,
        &format!(
            "/usr/sbin/sshd -o ListenAddress={host}:2222 -o PidFile=none \
             -o HostKey=/etc/ssh/rinfra_t_rsa -o HostKey=/etc/ssh/rinfra_t_ed25519 \
             -o HostCertificate=/etc/ssh/rinfra_t_ed25519-cert.pub \
             -o PermitRootLogin=prohibit-password -o UseDNS=no"
        ),
    )
    .await;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((host, 2222)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    CertSshd {
        conn,
        ca_pub: read(&dir.join("ca.pub")).trim().to_string(),
        rsa_pub: rsa_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        addr: host.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_authority_revoked_and_known_key_types() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let sshd = cert_sshd(&tb, dir.path(), tb.host(2)).await;
    let try_with = |known_hosts: String| {
        let kh = dir.path().join(format!("kh-{}", known_hosts.len()));
        std::fs::write(&kh, known_hosts).unwrap();
        let mut data = tb.data(&sshd.addr, "root", &kh);
        data["ssh_port"] = json!(2222);
        data["ssh_strict_host_key_checking"] = json!("yes");
        (connector("certhost", data), kh)
    };

    // Trusted CA: the certificate is accepted and nothing is written.
    let (conn, kh) = try_with(format!("@cert-authority * {}\n", sshd.ca_pub));
    assert_eq!(ok(&conn, "echo via-cert").await, "via-cert");
    conn.disconnect().await;
    assert_eq!(read(&kh).lines().count(), 1);

    // The CA is @revoked: refused, naming the line.
    let (conn, kh) = try_with(format!(
        "@cert-authority * {ca}\n@revoked * {ca}\n",
        ca = sshd.ca_pub
    ));
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(
        err.contains("@revoked") && err.contains(&format!("{}:2", kh.display())),
        "{err}"
    );

    // Only the RSA key is known: it is the one asked for (no false "changed" warning).
    let (conn, _) = try_with(format!("[{}]:2222 {}\n", sshd.addr, sshd.rsa_pub));
    assert_eq!(ok(&conn, "echo via-rsa").await, "via-rsa");
    conn.disconnect().await;

    // A CA for another host pattern does not apply: the plain key is unknown, strict refuses.
    let (conn, _) = try_with(format!("@cert-authority *.example.com {}\n", sshd.ca_pub));
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(err.starts_with("no host key is known for"), "{err}");

    // Valid CA but the certificate names another host (HostKeyAlias `elsewhere`).
    let kh = dir.path().join("kh-alias");
    std::fs::write(&kh, format!("@cert-authority * {}\n", sshd.ca_pub)).unwrap();
    let mut data = tb.data(&sshd.addr, "root", &kh);
    data["ssh_port"] = json!(2222);
    let conn = connector_tweaked("certhost", data, |t| {
        t.host_key_alias = Some("elsewhere".into());
    });
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(err.contains("not `elsewhere`"), "{err}");
    drop(sshd);
}
