//! Connecting: failures and their messages, retries, timeouts, host keys, jump hosts, proxy
//! commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rinfra_connectors::{ConnectorArguments, FileSource, PutFile};
use serde_json::json;

use crate::common::*;

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
        .put_file(PutFile::new(
            &FileSource::Bytes(b"hop\n".to_vec()),
            "/tmp/rinfra-hop",
            &ConnectorArguments::default()
        ))
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
async fn targets_behind_one_jump_host_share_one_connection_to_it() {
    use rinfra_connectors::{HostContext, InventoryConnector};
    let tb = testbed();
    let dir = tmp();
    let kh = dir.path().join("known_hosts");
    let bastion = tb.host(0);
    // A bastion of our own (port 2226), so its connections can be counted.
    let root = connector(bastion, tb.data(bastion, "root", &kh));
    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={bastion}:2226'; sleep 0.2"),
    )
    .await;
    ok(
        &root,
        &format!(
            "/usr/sbin/sshd -o ListenAddress={bastion}:2226 -o PidFile=none \
             -o HostKey=/etc/ssh/ssh_host_ed25519_key -o UseDNS=no"
        ),
    )
    .await;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((bastion, 2226))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let count_bastion_logins = || async {
        let out = ok(
            &root,
            &format!("ss -Htn state established '( sport = :2226 )' src {bastion} | wc -l"),
        )
        .await;
        out.trim().parse::<usize>().unwrap()
    };

    let inv = inventory();
    let targets: Vec<_> = [tb.host(1), tb.host(2), tb.host(1), tb.host(2)]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut data = tb.data(h, "root", &kh);
            data["ssh_proxy_jump"] = json!(format!("root@{bastion}:2226"));
            inv.new_connector(HostContext::new(
                format!("t{i}"),
                data.as_object().unwrap().clone(),
                Arc::new(Recorder::default()),
            ))
            .unwrap()
        })
        .collect();
    // All at once: they wait for one bastion login, then share it.
    let mut set = tokio::task::JoinSet::new();
    for t in &targets {
        let t = t.clone();
        set.spawn(async move { ok(&t, "hostname").await });
    }
    while let Some(r) = set.join_next().await {
        assert!(!r.unwrap().is_empty());
    }
    assert_eq!(inv.jump_pool().live(), 1);
    assert_eq!(count_bastion_logins().await, 1);

    // Closing some targets keeps the bastion for the others; closing the last closes it.
    targets[0].disconnect().await;
    targets[1].disconnect().await;
    assert_eq!(ok(&targets[2], "echo still").await, "still");
    targets[2].disconnect().await;
    targets[3].disconnect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inv.jump_pool().live(), 0);
    assert_eq!(count_bastion_logins().await, 0);

    ok(
        &root,
        &format!("pkill -f '[L]istenAddress={bastion}:2226'; true"),
    )
    .await;
    root.disconnect().await;
}
