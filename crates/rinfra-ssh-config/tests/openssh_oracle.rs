//! Differential tests against the real OpenSSH tools, when installed:
//! `ssh -G` (prints the resolved configuration without connecting) and
//! `ssh-keygen -F` (searches a known_hosts file). Skipped when missing.

// The skip notice goes to stderr on purpose.
#![allow(clippy::print_stderr)]

use std::path::Path;
use std::process::Command;

use rinfra_ssh_config::{host_pattern, HostKeyStatus, KnownHosts, ResolveContext, SshConfig};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty())
        .unwrap_or(false)
}

/// `ssh -G` output as (key, value) lines.
fn ssh_g(config: &Path, host: &str, user: Option<&str>) -> Vec<(String, String)> {
    let mut cmd = Command::new("ssh");
    cmd.arg("-G").arg("-F").arg(config);
    if let Some(u) = user {
        cmd.arg("-l").arg(u);
    }
    let out = cmd.arg(host).output().expect("run ssh -G");
    assert!(
        out.status.success(),
        "ssh -G {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(g: &'a [(String, String)], key: &str) -> Option<&'a str> {
    g.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

const CONFIGS: &[&str] = &[
    "
Host web*   # comment
  HostName %h.example.com
  User = deploy
Match host web1.example.com user deploy
  Port 2222
Match host !*.example.com,db*
  ProxyJump jump@bastion:2200,ssh://second
Host db
  HostName DB.Internal
  User=dbuser
Host *
  User fallback
  Port 2022
",
    "
Match originalhost a*,!ab
  User orig
Match !host b*
  Port 3000
Host MixedCase
  HostName mixed.example
Match host mixed.example
  User mixed
Match all
  ProxyJump none
",
    "
Host x !x2 y?
  User xy
  ProxyCommand nc %h %p
  ProxyJump ignored
Host \"quoted host\" z
  User zed
Match user root,deploy
  Port 4000
Match localuser nobody-here
  Port 5000
",
    "
Host *.lab
  User lab
Match host *.lab !user lab
  Port 1234
Match host *.lab user lab
  Port 4321
Host *
  HostName %h.fallback
Match host *.fallback
  User fb
",
];

const HOSTS: &[&str] = &[
    "web1",
    "web2",
    "db",
    "db2",
    "dbx",
    "a",
    "ab",
    "ac",
    "b1",
    "MixedCase",
    "mixedcase",
    "x",
    "x2",
    "y1",
    "y",
    "z",
    "quoted",
    "q.lab",
    "other",
];

#[test]
fn resolution_agrees_with_ssh_g() {
    if !have("ssh") {
        eprintln!("ssh not installed: skipping the ssh -G comparison");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The local user as ssh sees it.
    let probe = dir.path().join("empty");
    std::fs::write(&probe, "").unwrap();
    let local_user = get(&ssh_g(&probe, "probe", None), "user")
        .unwrap()
        .to_string();
    // Include semantics need real files.
    let inc = dir.path().join("inc");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::write(
        inc.join("1.conf"),
        "Port 4444\nHost other\n  User from-other\n",
    )
    .unwrap();
    std::fs::write(
        inc.join("2.conf"),
        "Host web1\n  User web-inc\nMatch host db*\n  Port 99\n",
    )
    .unwrap();
    let include_config = format!(
        "Host db x\n  Include {0}/*.conf\n  User after-include\nInclude {0}/2.conf\nHost *\n  User last\n",
        inc.display()
    );
    let mut configs: Vec<&str> = CONFIGS.to_vec();
    configs.push(&include_config);
    let mut compared = 0;
    for (i, text) in configs.iter().enumerate() {
        let path = dir.path().join(format!("config{i}"));
        std::fs::write(&path, text).unwrap();
        let config = SshConfig::parse_file(&path).unwrap();
        for host in HOSTS {
            for user in [None, Some("root"), Some("lab")] {
                let g = ssh_g(&path, host, user);
                let mut ctx = ResolveContext::new(local_user.clone(), dir.path());
                ctx.user_override = user.map(str::to_string);
                let r = config.resolve(host, &ctx).unwrap();
                let what = format!("config{i} host {host:?} user {user:?}");
                assert_eq!(get(&g, "hostname"), Some(r.hostname.as_str()), "{what}");
                assert_eq!(get(&g, "user"), Some(r.user.as_str()), "{what}");
                assert_eq!(get(&g, "port"), Some(r.port.to_string().as_str()), "{what}");
                let jumps: Vec<String> = r.proxy_jump.iter().map(|j| j.to_string()).collect();
                let ssh_jumps = get(&g, "proxyjump")
                    .map(|s| s.replace("ssh://", ""))
                    .unwrap_or_default();
                assert_eq!(ssh_jumps, jumps.join(","), "{what}");
                assert_eq!(
                    get(&g, "proxycommand").is_some(),
                    r.proxy_command.is_some(),
                    "{what}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, configs.len() * HOSTS.len() * 3);
}

/// A syntactically valid ssh-ed25519 public key blob, distinct per `n`.
fn fake_key(n: u8) -> String {
    use base64::Engine as _;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[n; 32]);
    base64::engine::general_purpose::STANDARD.encode(blob)
}

#[test]
fn known_hosts_matching_agrees_with_ssh_keygen() {
    if !have("ssh-keygen") {
        eprintln!("ssh-keygen not installed: skipping the ssh-keygen -F comparison");
        return;
    }
    let patterns = [
        "web1,web2",
        "*.example.com,!bad.example.com",
        "[*.example.com]:2222",
        "10.0.0.?",
        "!a*,*",
        "[db]:2222,db",
        "*",
        "web?",
        "UPPER.example.com",
    ];
    let text: String = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{p} ssh-ed25519 {}\n", fake_key(i as u8)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known_hosts");
    std::fs::write(&file, &text).unwrap();
    let known = KnownHosts::parse_str(&text, &file);
    assert!(known.warnings().is_empty());
    let names: &[(&str, u16)] = &[
        ("web1", 22),
        ("web3", 22),
        ("x.example.com", 22),
        ("bad.example.com", 22),
        ("x.example.com", 2222),
        ("10.0.0.5", 22),
        ("10.0.0.55", 22),
        ("apple", 22),
        ("db", 2222),
        ("db", 22),
        ("upper.example.com", 22),
    ];
    for &(host, port) in names {
        let name = host_pattern(host, port);
        let out = Command::new("ssh-keygen")
            .arg("-F")
            .arg(&name)
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let theirs: Vec<usize> = stdout
            .lines()
            .filter_map(|l| l.split("found: line ").nth(1))
            .filter_map(|n| n.split_whitespace().next()?.parse().ok())
            .collect();
        let ours: Vec<usize> = (0..patterns.len())
            .filter(|&i| {
                matches!(
                    known.check(host, port, "ssh-ed25519", &fake_key(i as u8)),
                    HostKeyStatus::Match { line, .. } if line == i + 1
                )
            })
            .map(|i| i + 1)
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
}
