//! `KnownHosts::parse_str` then `check`, `host_keys`, `cert_authorities` and `is_revoked` for
//! fixed hosts and for the host names the input itself lists (so matches are reachable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rinfra_ssh_config::{host_pattern, KnownHosts};

const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIPBKih+sLXhs4d+kxeRwe4UfoFJH/tWNRtq53ns9mHDC";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let known = KnownHosts::parse_str(text, "known_hosts");
    let _ = (known.len(), known.is_empty(), known.warnings().len());

    let mut hosts: Vec<(String, u16)> = vec![
        ("example.com".into(), 22),
        ("Example.COM".into(), 2222),
        ("192.0.2.1".into(), 22),
    ];
    // First field of the first lines, `[host]:port` unwrapped.
    for line in text.lines().take(4) {
        let mut words = line.split_whitespace();
        let mut first = words.next().unwrap_or("");
        if first.starts_with('@') {
            first = words.next().unwrap_or("");
        }
        let name = first.split(',').next().unwrap_or("");
        let (host, port) = match name.strip_prefix('[').and_then(|r| r.split_once("]:")) {
            Some((h, p)) => (h, p.parse().unwrap_or(22)),
            None => (name, 22),
        };
        hosts.push((host.to_string(), port));
    }
    for (host, port) in &hosts {
        let _ = host_pattern(host, *port);
        let _ = known.check(host, *port, "ssh-ed25519", KEY);
        let _ = known.check(host, *port, "ssh-rsa", "not base64!");
        let _ = known.is_revoked(host, *port, "ssh-ed25519", KEY);
        let _ = known.cert_authorities(host, *port);
        for (key_type, key) in known.host_keys(host, *port) {
            let _ = known.check(host, *port, &key_type, &key);
            let _ = known.is_revoked(host, *port, &key_type, &key);
        }
    }
});
