use std::path::PathBuf;

use super::*;

// Real public keys made with ssh-keygen for these tests.
const ED1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIPBKih+sLXhs4d+kxeRwe4UfoFJH/tWNRtq53ns9mHDC";
const ED2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIP9mAhBXwikEcJ7zNt+xXJm2W3lXQlG9veznH7fwWH0r";
const EC1: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCrQ5U9udnAA5OcajsdHd0p1nv17R6dxyzGwIFjx6RZyvMzxA/9F/c1IxHsL8ZveyWmTz979ZhSlwKZXDTUFIEw=";
const RSA1: &str = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDQevswbbC0hImsLe9U24jwMLRgdIpNm9WeFvMCovKFu6PplyK/rzwyuMqh8QIn1eZz3ocAuIl75y2RtNjJ7m9ntf21zw7ueS5sInr3jR2rlpsrtsRE07Yz/lrxRZ+zmeEmq3W3U8jnICO5YLNvqUrBjxePGyDLDlQ3N8VCf0i5LQ==";
const ED: &str = "ssh-ed25519";
const EC: &str = "ecdsa-sha2-nistp256";
const RSA: &str = "ssh-rsa";

/// Output of `ssh-keygen -H` (OpenSSH 9.2) on a file listing ED1 for
/// `web1.example.com` and EC1 for `[web2.example.com]:2222`.
const HASHED: &str = "\
|1|IAV5TNR+7dbaq7EUn9c2viWPEQs=|0ir7N75skQVw57g6fEoWPj56KYw= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPBKih+sLXhs4d+kxeRwe4UfoFJH/tWNRtq53ns9mHDC
|1|5vUlCMuD9bSIbtUYGETEfSPSV0Q=|pxY/DmUMZCzb25QJUVh/TEI5QEo= ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCrQ5U9udnAA5OcajsdHd0p1nv17R6dxyzGwIFjx6RZyvMzxA/9F/c1IxHsL8ZveyWmTz979ZhSlwKZXDTUFIEw=
";

fn kh(text: &str) -> KnownHosts {
    KnownHosts::parse_str(text, "kh")
}

fn found(line: usize) -> HostKeyStatus {
    HostKeyStatus::Match {
        file: PathBuf::from("kh"),
        line,
    }
}

#[test]
fn plain_host_lists() {
    let k = kh(&format!(
        "# comment\n\nweb1,Web1.Example.COM,10.0.0.1 {ED} {ED1} comment here\n[db]:2222,[10.0.0.2]:2222 {EC} {EC1}\n"
    ));
    assert!(k.warnings().is_empty(), "{:?}", k.warnings());
    assert_eq!(k.len(), 2);
    assert_eq!(k.check("web1", 22, ED, ED1), found(3));
    assert_eq!(k.check("WEB1.example.com", 22, ED, ED1), found(3));
    assert_eq!(k.check("10.0.0.1", 22, ED, ED1), found(3));
    assert_eq!(k.check("db", 2222, EC, EC1), found(4));
    assert_eq!(k.check("10.0.0.2", 2222, EC, EC1), found(4));
    // Port matters: `[db]:2222` is not `db`, and `web1` on 2200 is unknown.
    assert_eq!(k.check("db", 22, EC, EC1), HostKeyStatus::NotFound);
    assert_eq!(k.check("web1", 2200, ED, ED1), HostKeyStatus::NotFound);
}

#[test]
fn hashed_entries_from_ssh_keygen() {
    let k = kh(HASHED);
    assert!(k.warnings().is_empty(), "{:?}", k.warnings());
    assert_eq!(k.check("web1.example.com", 22, ED, ED1), found(1));
    assert_eq!(k.check("Web1.Example.com", 22, ED, ED1), found(1));
    assert_eq!(k.check("web2.example.com", 2222, EC, EC1), found(2));
    assert_eq!(
        k.check("web2.example.com", 22, EC, EC1),
        HostKeyStatus::NotFound
    );
    assert_eq!(
        k.check("web3.example.com", 22, ED, ED1),
        HostKeyStatus::NotFound
    );
    assert_eq!(
        k.check("web1.example.com", 22, ED, ED2),
        HostKeyStatus::Changed {
            file: PathBuf::from("kh"),
            line: 1,
            expected_key_type: ED.to_string()
        }
    );
}

#[test]
fn hash_host_reproduces_ssh_keygen_output() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.decode("IAV5TNR+7dbaq7EUn9c2viWPEQs=").unwrap();
    assert_eq!(
        hash_host("web1.example.com", &salt),
        "|1|IAV5TNR+7dbaq7EUn9c2viWPEQs=|0ir7N75skQVw57g6fEoWPj56KYw="
    );
    let salt = b64.decode("5vUlCMuD9bSIbtUYGETEfSPSV0Q=").unwrap();
    assert_eq!(
        hash_host(&host_pattern("web2.example.com", 2222), &salt),
        "|1|5vUlCMuD9bSIbtUYGETEfSPSV0Q=|pxY/DmUMZCzb25QJUVh/TEI5QEo="
    );
}

#[test]
fn host_pattern_forms() {
    assert_eq!(host_pattern("Host.Example", 22), "host.example");
    assert_eq!(host_pattern("host", 2222), "[host]:2222");
    assert_eq!(host_pattern("::1", 2222), "[::1]:2222");
    assert_eq!(host_pattern("::1", 22), "::1");
}

#[test]
fn wildcards_and_negation() {
    let k = kh(&format!(
        "*.example.com,!bad.example.com {ED} {ED1}\n10.0.0.? {ED} {ED2}\n[*.lab]:2222 {EC} {EC1}\n"
    ));
    assert_eq!(k.check("a.example.com", 22, ED, ED1), found(1));
    // The negated pattern rejects the whole line.
    assert_eq!(
        k.check("bad.example.com", 22, ED, ED1),
        HostKeyStatus::NotFound
    );
    assert_eq!(k.check("10.0.0.7", 22, ED, ED2), found(2));
    assert_eq!(k.check("10.0.0.17", 22, ED, ED2), HostKeyStatus::NotFound);
    assert_eq!(k.check("x.lab", 2222, EC, EC1), found(3));
    assert_eq!(k.check("x.lab", 22, EC, EC1), HostKeyStatus::NotFound);
}

#[test]
fn only_negated_patterns_never_match() {
    let k = kh(&format!("!a,!b {ED} {ED1}\n"));
    assert_eq!(k.check("c", 22, ED, ED1), HostKeyStatus::NotFound);
}

#[test]
fn changed_key_reports_line_and_prefers_same_type() {
    let k = kh(&format!(
        "other {ED} {ED2}\nhost {RSA} {RSA1}\n# x\nhost {ED} {ED1}\n"
    ));
    // Same-type line (line 4) preferred over the first line for the host (2).
    assert_eq!(
        k.check("host", 22, ED, ED2),
        HostKeyStatus::Changed {
            file: PathBuf::from("kh"),
            line: 4,
            expected_key_type: ED.to_string()
        }
    );
    // A type with no line: the first line for the host.
    assert_eq!(
        k.check("host", 22, EC, EC1),
        HostKeyStatus::Changed {
            file: PathBuf::from("kh"),
            line: 2,
            expected_key_type: RSA.to_string()
        }
    );
    // Any line with the same key wins over lines with other keys.
    assert_eq!(k.check("host", 22, RSA, RSA1), found(2));
}

#[test]
fn several_keys_per_host_match_any() {
    let k = kh(&format!("host {ED} {ED1}\nhost {ED} {ED2}\n"));
    assert_eq!(k.check("host", 22, ED, ED2), found(2));
    assert_eq!(k.host_keys("host", 22).len(), 2);
}

#[test]
fn revoked_beats_match() {
    let k = kh(&format!(
        "host {ED} {ED1}\n@revoked * {ED} {ED1}\n@revoked other {ED} {ED2}\nhost {ED} {ED2}\n"
    ));
    assert_eq!(
        k.check("host", 22, ED, ED1),
        HostKeyStatus::Revoked {
            file: PathBuf::from("kh"),
            line: 2
        }
    );
    // The @revoked line for `other` does not concern `host`.
    assert_eq!(k.check("host", 22, ED, ED2), found(4));
    assert!(k.is_revoked("anything", 22, ED, ED1));
    assert!(!k.is_revoked("host", 22, ED, ED2));
}

#[test]
fn cert_authorities_for_host() {
    let k = kh(&format!(
        "@cert-authority *.example.com,!x.example.com {ED} {ED1}\n@cert-authority [*.example.com]:2222 {EC} {EC1}\na.example.com {ED} {ED2}\n"
    ));
    assert_eq!(
        k.cert_authorities("a.example.com", 22),
        vec![(ED.to_string(), ED1.to_string())]
    );
    assert_eq!(
        k.cert_authorities("a.example.com", 2222),
        vec![(EC.to_string(), EC1.to_string())]
    );
    assert!(k.cert_authorities("x.example.com", 22).is_empty());
    // CA lines are not host keys.
    assert_eq!(
        k.check("b.example.com", 22, ED, ED1),
        HostKeyStatus::NotFound
    );
    assert_eq!(
        k.check("a.example.com", 22, ED, ED1),
        HostKeyStatus::Changed {
            file: PathBuf::from("kh"),
            line: 3,
            expected_key_type: ED.to_string()
        }
    );
}

#[test]
fn bad_lines_are_skipped_with_warnings() {
    let text = format!(
        "good {ED} {ED1}\n\
         @bogus host {ED} {ED1}\n\
         onlyhost\n\
         host {ED}\n\
         host {ED} not*base64!\n\
         |1|short|hash {ED} {ED1}\n\
         |2|abc|def {ED} {ED1}\n\
         host 1024 35 12345\n\
         host {EC} {ED1}\n\
         a,,b {ED} {ED1}\n\
         @revoked\n\
         \t  # indented comment\n\
         last {ED} {ED2}\n"
    );
    let k = kh(&text);
    let lines: Vec<usize> = k.warnings().iter().map(|w| w.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(k.len(), 2);
    assert_eq!(k.check("last", 22, ED, ED2), found(13));
    let w = k.warnings()[0].to_string();
    assert!(w.starts_with("kh:2: unknown marker"), "{w}");
    assert!(k.warnings()[7].message.contains("does not match"));
}

#[test]
fn load_several_files_and_skip_missing() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(&a, format!("host {ED} {ED1}\n")).unwrap();
    std::fs::write(&b, format!("\nhost {EC} {EC1}\n")).unwrap();
    let k = KnownHosts::load([&a, &dir.path().join("missing"), &b]).unwrap();
    assert_eq!(
        k.check("host", 22, EC, EC1),
        HostKeyStatus::Match { file: b, line: 2 }
    );
    assert_eq!(
        k.check("host", 22, ED, ED1),
        HostKeyStatus::Match { file: a, line: 1 }
    );
}

#[test]
fn append_creates_file_and_dir_with_modes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newdir/.ssh/known_hosts");
    assert!(append_entry(&path, "Web1", 22, ED, ED1).unwrap());
    assert!(append_entry(&path, "web1", 2222, EC, EC1).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("web1 {ED} {ED1}\n[web1]:2222 {EC} {EC1}\n"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("newdir")), 0o700);
    let k = KnownHosts::load([&path]).unwrap();
    assert!(matches!(
        k.check("web1", 2222, EC, EC1),
        HostKeyStatus::Match { line: 2, .. }
    ));
}

#[test]
fn append_is_idempotent_and_never_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known_hosts");
    // Existing content: a hashed entry, a comment, and no final newline.
    let original = format!("{HASHED}# keep me\nweb9 {ED} {ED2}");
    std::fs::write(&path, &original).unwrap();
    // Already present in hashed form: nothing written.
    assert!(!append_entry(&path, "web1.example.com", 22, ED, ED1).unwrap());
    assert!(!append_entry(&path, "web2.example.com", 2222, EC, EC1).unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    // New key: appended after a newline that terminates the last line.
    assert!(append_entry(&path, "web9", 22, ED, ED1).unwrap());
    assert!(!append_entry(&path, "web9", 22, ED, ED1).unwrap());
    assert!(!append_entry(&path, "WEB9", 22, ED, ED1).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{original}\nweb9 {ED} {ED1}\n"));
    assert!(text.starts_with(&original));
}

#[test]
fn append_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kh");
    for (host, kt, key) in [
        ("", ED, ED1),
        ("a b", ED, ED1),
        ("a,b", ED, ED1),
        ("*.x", ED, ED1),
        ("|1|x", ED, ED1),
        ("h", "", ED1),
        ("h", ED, "not base64!"),
    ] {
        assert!(
            matches!(
                append_entry(&path, host, 22, kt, key),
                Err(KnownHostsError::InvalidEntry(_))
            ),
            "{host:?} {kt:?} {key:?}"
        );
    }
    assert!(!path.exists());
}

#[test]
fn concurrent_appends_do_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kh");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Half the threads add the same entry, half distinct ones.
                let host = if i % 2 == 0 {
                    "same".to_string()
                } else {
                    format!("h{i}")
                };
                append_entry(&path, &host, 22, ED, ED1).unwrap()
            })
        })
        .collect();
    let added = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|b| *b)
        .count();
    assert_eq!(added, 5);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("same ")).count(), 1);
    assert_eq!(text.lines().count(), 5);
}
