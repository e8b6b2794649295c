//! `SshConfig::parse_str_with` then `resolve` of a few host names, on arbitrary UTF-8.
//!
//! `Include` reads the filesystem (glob + read). So that the fuzzer cannot make it read
//! `/dev/zero` or glob `/**`, inputs that mention `include` are only parsed when they contain
//! neither `/` nor `~`: their patterns then resolve inside a private temporary `~/.ssh` holding
//! a few files (one includes itself, for the loop check).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rinfra_ssh_config::{ParseOptions, ResolveContext, SshConfig};

fn home() -> &'static PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let ssh = dir.join(".ssh");
        std::fs::create_dir_all(ssh.join("conf.d")).expect("mkdir");
        let files = [
            ("a.conf", "Host a*\n  User alice\n  Port 2222\n"),
            (
                "b.conf",
                "Match host b* user bob\n  IdentityFile ~/.ssh/id_%r\n",
            ),
            ("loop.conf", "Include loop.conf\n"),
            ("nested.conf", "Include a.conf conf.d/*\n"),
            ("conf.d/x.conf", "Host *\n  ProxyJump j1,j2:22\n"),
        ];
        for (name, text) in files {
            std::fs::write(ssh.join(name), text).expect("write");
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.to_ascii_lowercase().contains("include") && (text.contains('/') || text.contains('~')) {
        return;
    }
    let home = home();
    let Ok(config) = SshConfig::parse_str_with(text, "fuzz_config", &ParseOptions::user(home))
    else {
        return;
    };
    let _ = config.files();
    let ctx = ResolveContext::new("alice", home);
    let contexts = [ctx.clone(), ctx.with_user("bob").with_port(2200)];
    for host in ["web1", "a", "b.example.com", "192.0.2.1", ""] {
        for ctx in &contexts {
            if let Ok(resolved) = config.resolve(host, ctx) {
                let _ = resolved.known_hosts_target();
                let _ = resolved.known_hosts_files();
                let _ = resolved.get("hostname");
            }
        }
    }
});
