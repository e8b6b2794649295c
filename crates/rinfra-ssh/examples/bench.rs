//! A small benchmark of the SSH connector against the testbed hosts (not a test).
//!
//! ```text
//! scripts/testbed up && . $TB/env
//! cargo run --release -p rinfra-ssh --example bench [CONNECTIONS=100]
//! ```
//!
//! Prints: connect+auth time per host, one command round trip on an open connection (serial and
//! 50 at once), upload/download throughput (SFTP and `cat`), and resident memory per open
//! connection.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rinfra_connectors::{
    Connector, ConnectorArguments, FileSource, GetFile, HostContext, InventoryConnector, PutFile,
    SilentReporter, StringCommand,
};
use rinfra_ssh::SshInventory;

fn env(var: &str) -> String {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run `scripts/testbed up`, then `. $TB/env`"))
}

fn connector(host: &str, key: &str, known_hosts: &str, protocol: &str) -> Arc<dyn Connector> {
    let inv = SshInventory::default();
    let mut data = inv.make_names_data(Some(host)).unwrap()[0].data.clone();
    data.insert("ssh_user".into(), "root".into());
    data.insert("ssh_key".into(), key.into());
    data.insert("ssh_known_hosts_file".into(), known_hosts.into());
    data.insert("ssh_file_transfer_protocol".into(), protocol.into());
    inv.new_connector(HostContext::new(host, data, Arc::new(SilentReporter)))
        .unwrap()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    format!(
        "mean {:.2} ms, p50 {:.2} ms, p90 {:.2} ms (n={})",
        mean.as_secs_f64() * 1e3,
        v[v.len() / 2].as_secs_f64() * 1e3,
        v[v.len() * 9 / 10].as_secs_f64() * 1e3,
        v.len()
    )
}

async fn run(conn: &Arc<dyn Connector>, cmd: &str) {
    let (ok, out) = conn
        .run_shell_command(
            &StringCommand::from(cmd),
            false,
            false,
            &ConnectorArguments::default(),
        )
        .await
        .unwrap();
    assert!(ok, "{out:?}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hosts: Vec<String> = env("RINFRA_TB_SSH_HOSTS")
        .split_whitespace()
        .map(String::from)
        .collect();
    let key = env("RINFRA_TB_SSH_KEY");
    let n_conns: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let dir = std::env::temp_dir().join(format!("rinfra-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kh = dir.join("known_hosts");
    let kh = kh.to_str().unwrap();

    // Warm up: record host keys, start sshd's first connection.
    for h in &hosts {
        let c = connector(h, &key, kh, "sftp");
        c.connect().await.unwrap();
        c.disconnect().await;
    }

    // 1. memory per open connection (each has run one command).
    let before = rss_kib();
    let mut open = Vec::new();
    let t = Instant::now();
    // sshd's MaxStartups (10:30:100) throttles unauthenticated connections: 8 at a time.
    for chunk in (0..n_conns).collect::<Vec<_>>().chunks(8) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|i| {
                let c = connector(&hosts[i % hosts.len()], &key, kh, "sftp");
                tokio::spawn(async move {
                    run(&c, "true").await;
                    c
                })
            })
            .collect();
        for b in batch {
            open.push(b.await.unwrap());
        }
    }
    let el = t.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_kib();
    println!(
        "{n_conns} connections (8 at a time) + one command each: {:.0} ms; RSS {} KiB -> {} KiB, \
         {:.0} KiB per connection",
        el.as_secs_f64() * 1e3,
        before,
        after,
        (after.saturating_sub(before)) as f64 / n_conns as f64
    );
    for c in &open {
        c.disconnect().await;
    }
    // 2. connect + auth, one after the other.
    let mut times = Vec::new();
    for i in 0..30 {
        let c = connector(&hosts[i % hosts.len()], &key, kh, "sftp");
        let t = Instant::now();
        c.connect().await.unwrap();
        times.push(t.elapsed());
        c.disconnect().await;
    }
    println!("connect+auth (ed25519 key, loopback): {}", stats(times));

    // 3. round trips on one open connection.
    let c = connector(&hosts[0], &key, kh, "sftp");
    c.connect().await.unwrap();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        run(&c, "true").await;
        times.push(t.elapsed());
    }
    println!(
        "command round trip (`sh -c true`, serial): {}",
        stats(times)
    );
    let t = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { run(&c, "true").await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let el = t.elapsed();
    println!(
        "200 commands at once on one connection: {:.0} ms total, {:.0} commands/s",
        el.as_secs_f64() * 1e3,
        200.0 / el.as_secs_f64()
    );

    // 4. transfers: small files one after the other, then one big file.
    for protocol in ["sftp", "scp"] {
        let c = connector(&hosts[0], &key, kh, protocol);
        c.connect().await.unwrap();
        let args = ConnectorArguments::default();
        let mut times = Vec::new();
        for i in 0..50 {
            let t = Instant::now();
            c.put_file(PutFile::new(
                &FileSource::Bytes(format!("small file {i}\n").into_bytes()),
                "/tmp/rinfra-bench-small",
                &args,
            ))
            .await
            .unwrap();
            times.push(t.elapsed());
        }
        let label = if protocol == "scp" { "cat" } else { "sftp" };
        println!("put_file of a small file ({label}): {}", stats(times));
        run(&c, "rm -f /tmp/rinfra-bench-small").await;
        c.disconnect().await;
    }

    let size = 16 << 20;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    for protocol in ["sftp", "scp"] {
        let c = connector(&hosts[0], &key, kh, protocol);
        let args = ConnectorArguments::default();
        let t = Instant::now();
        c.put_file(PutFile::new(
            &FileSource::Bytes(payload.clone()),
            "/tmp/rinfra-bench",
            &args,
        ))
        .await
        .unwrap();
        let up = t.elapsed();
        let t = Instant::now();
        c.get_file(GetFile::new("/tmp/rinfra-bench", &dir.join("got"), &args))
            .await
            .unwrap();
        let down = t.elapsed();
        assert_eq!(std::fs::read(dir.join("got")).unwrap().len(), size);
        let mbs = |d: Duration| size as f64 / 1048576.0 / d.as_secs_f64();
        let label = if protocol == "scp" {
            "cat over exec"
        } else {
            "sftp"
        };
        println!(
            "16 MiB {label}: put {:.0} ms ({:.1} MiB/s, incl. temp+install), get {:.0} ms ({:.1} MiB/s)",
            up.as_secs_f64() * 1e3,
            mbs(up),
            down.as_secs_f64() * 1e3,
            mbs(down)
        );
        run(&c, "rm -f /tmp/rinfra-bench").await;
        c.disconnect().await;
    }
    c.disconnect().await;

    let _ = std::fs::remove_dir_all(&dir);
}
