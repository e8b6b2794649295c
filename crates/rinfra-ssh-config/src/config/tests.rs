//! Resolution tests (parsing details are tested next to the lexer/values).

use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn ctx() -> ResolveContext {
    let mut c = ResolveContext::new("alice", "/home/alice");
    c.local_hostname = "laptop.example.org".to_string();
    c.local_uid = Some(1000);
    c.env.insert("KEYS".to_string(), "/keys".to_string());
    c
}

fn cfg(text: &str) -> SshConfig {
    SshConfig::parse_str_with(text, "test_config", &ParseOptions::user("/home/alice")).unwrap()
}

fn resolve(text: &str, host: &str) -> ResolvedHost {
    cfg(text).resolve(host, &ctx()).unwrap()
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn defaults_without_config() {
    let r = resolve("", "Web1");
    assert_eq!(r.original_host, "Web1");
    assert_eq!(r.hostname, "web1");
    assert_eq!(r.user, "alice");
    assert_eq!(r.port, 22);
    assert!(r.identity_files.is_empty());
    assert!(r.proxy_jump.is_empty());
    assert_eq!(r.proxy_command, None);
    assert_eq!(r.strict_host_key_checking, None);
    assert_eq!(
        r.user_known_hosts_files,
        vec![
            p("/home/alice/.ssh/known_hosts"),
            p("/home/alice/.ssh/known_hosts2")
        ]
    );
    assert_eq!(
        r.global_known_hosts_files,
        vec![
            p("/etc/ssh/ssh_known_hosts"),
            p("/etc/ssh/ssh_known_hosts2")
        ]
    );
    assert!(r.other.is_empty());
}

#[test]
fn separators_case_and_comments() {
    let text = "
# full-line comment
HOST\tweb1   # inline comment
  hostname=web1.example.com
  USER = deploy # who
\tPort\t2222
  ConnectTimeout=10s
";
    let r = resolve(text, "web1");
    assert_eq!(r.hostname, "web1.example.com");
    assert_eq!(r.user, "deploy");
    assert_eq!(r.port, 2222);
    assert_eq!(r.connect_timeout, Some(Duration::from_secs(10)));
}

#[test]
fn first_obtained_value_wins() {
    let text = "
Host web1
  User first
  Port 1111
Host web*
  User second
  Port 2222
  ServerAliveInterval 15
Host *
  User third
  ServerAliveInterval 60
  ServerAliveCountMax 5
";
    let r = resolve(text, "web1");
    assert_eq!(r.user, "first");
    assert_eq!(r.port, 1111);
    assert_eq!(r.server_alive_interval, Some(Duration::from_secs(15)));
    assert_eq!(r.server_alive_count_max, Some(5));
    let r = resolve(text, "web2");
    assert_eq!((r.user.as_str(), r.port), ("second", 2222));
    let r = resolve(text, "db");
    assert_eq!((r.user.as_str(), r.port), ("third", 22));
}

#[test]
fn host_patterns() {
    let text = "
Host db? !db9 cache*
  User pattern
Host *.prod.example.com !bastion.prod.example.com
  User prod
Host \"quoted\"
  User quoted
";
    assert_eq!(resolve(text, "db1").user, "pattern");
    assert_eq!(resolve(text, "db9").user, "alice");
    assert_eq!(resolve(text, "db10").user, "alice");
    assert_eq!(resolve(text, "cache-a").user, "pattern");
    assert_eq!(resolve(text, "x.prod.example.com").user, "prod");
    assert_eq!(resolve(text, "bastion.prod.example.com").user, "alice");
    assert_eq!(resolve(text, "quoted").user, "quoted");
}

#[test]
fn host_matching_is_case_sensitive_but_hostname_is_lowercased() {
    // Checked against `ssh -G` (OpenSSH 9.2).
    let text =
        "Host MyHost\n  User upper\nHost myhost\n  User lower\n  HostName Real.Example.COM\n";
    let r = resolve(text, "MyHost");
    assert_eq!((r.user.as_str(), r.hostname.as_str()), ("upper", "myhost"));
    let r = resolve(text, "myhost");
    assert_eq!(
        (r.user.as_str(), r.hostname.as_str()),
        ("lower", "real.example.com")
    );
}

#[test]
fn negated_only_host_line_never_matches() {
    let r = resolve("Host !foo\n  User neg\n", "bar");
    assert_eq!(r.user, "alice");
}

#[test]
fn match_all_host_user_localuser() {
    let text = "
Match host *.example.com user deploy
  Port 2001
Match originalhost web1 !localuser bob
  IdentitiesOnly yes
Match localuser alice,carol
  ForwardAgent yes
Match all
  ConnectTimeout 7
";
    let r = cfg(text)
        .resolve("web1.example.com", &ctx().with_user("deploy"))
        .unwrap();
    assert_eq!(r.port, 2001);
    assert_eq!(r.identities_only, None);
    assert_eq!(r.forward_agent, Some(ForwardAgent::Yes));
    assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));

    // Wrong user: the first block does not apply.
    let r = resolve(text, "web1.example.com");
    assert_eq!(r.port, 22);

    let r = resolve(text, "web1");
    assert_eq!(r.identities_only, Some(true));

    let mut bob = ctx();
    bob.local_user = "bob".to_string();
    let r = cfg(text).resolve("web1", &bob).unwrap();
    assert_eq!(r.identities_only, None);
    assert_eq!(r.forward_agent, None);
}

#[test]
fn match_negated_criteria_and_lists() {
    let text = "
Match !host *.internal,!db*
  User outside
Match host !gw*,*.internal
  User inside
";
    // `!host LIST`: negates the whole list's result.
    assert_eq!(resolve(text, "a.internal").user, "inside");
    assert_eq!(resolve(text, "gw1.internal").user, "alice");
    assert_eq!(resolve(text, "www.example.com").user, "outside");
    // db1 matches `!db*` inside the list: the list fails, `!host` succeeds.
    assert_eq!(resolve(text, "db1").user, "outside");
}

#[test]
fn match_host_sees_hostname_obtained_so_far() {
    // Checked against `ssh -G`: Match host compares against HostName (with %h
    // expanded) obtained by earlier lines, not by later ones.
    let text = "
Host web*
  HostName %h.example.com
Match host web1.example.com
  Port 2222
Match host db.example.com
  Port 3333
Host db
  HostName db.example.com
";
    let r = resolve(text, "web1");
    assert_eq!(r.hostname, "web1.example.com");
    assert_eq!(r.port, 2222);
    let r = resolve(text, "db");
    assert_eq!(r.hostname, "db.example.com");
    assert_eq!(r.port, 22);
}

#[test]
fn match_user_sees_user_obtained_so_far() {
    let text = "
Host web
  User deploy
Match user deploy
  Port 2200
Match user root
  Port 2300
";
    assert_eq!(resolve(text, "web").port, 2200);
    assert_eq!(resolve(text, "other").port, 22);
    // The override (ssh -l / inventory ssh_user) wins over User and is what Match sees.
    let r = cfg(text).resolve("web", &ctx().with_user("root")).unwrap();
    assert_eq!((r.user.as_str(), r.port), ("root", 2300));
}

#[test]
fn options_in_non_matching_match_do_not_leak() {
    // ssh2-config leaked these into every host.
    let text = "
Match host special
  User matched
  IdentityFile ~/.ssh/special
  LocalForward 8080 localhost:80
  BatchMode yes
Host *
  User fallback
";
    let r = resolve(text, "other");
    assert_eq!(r.user, "fallback");
    assert!(r.identity_files.is_empty());
    assert!(r.other.is_empty());
    let r = resolve(text, "special");
    assert_eq!(r.user, "matched");
    assert_eq!(r.identity_files, vec![p("/home/alice/.ssh/special")]);
    assert_eq!(r.get("BatchMode"), Some("yes"));
}

#[test]
fn match_exec_is_an_error_naming_the_line() {
    let text = "Host a\n  User x\n\nMatch exec \"test -f /tmp/x\"\n  User y\n";
    let err = cfg(text).resolve("a", &ctx()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("test_config:4"), "{msg}");
    assert!(msg.contains("not supported"), "{msg}");
    assert!(msg.contains("exec"), "{msg}");
    match err {
        ConfigError::Unsupported {
            location,
            criterion,
        } => {
            assert_eq!(location.line, 4);
            assert_eq!(criterion, "exec");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unsupported_criteria() {
    for (line, crit) in [
        ("Match canonical all", "canonical"),
        ("Match final", "final"),
        ("Match tagged foo", "tagged"),
        ("Match localnetwork 10.0.0.0/8", "localnetwork"),
        ("Match host * exec true", "exec"),
    ] {
        let err = cfg(&format!("{line}\n  User x\n"))
            .resolve("h", &ctx())
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Unsupported { criterion, location } if criterion == crit && location.line == 1),
            "{line}: {err}"
        );
    }
}

#[test]
fn unsupported_criterion_after_failed_one_is_not_reached() {
    let text = "Match host special exec \"check\"\n  User x\n";
    assert_eq!(resolve(text, "web").user, "alice");
    assert!(cfg(text).resolve("special", &ctx()).is_err());
    // Inside an Include of an inactive block nothing is evaluated.
}

#[test]
fn match_syntax_errors() {
    for (text, needle) in [
        ("Match\n", "no argument"),
        ("Match host\n", "needs an argument"),
        ("Match all host x\n", "cannot be combined"),
        ("Match host x all\n", "cannot be combined"),
        ("Match bogus x\n", "unknown Match criterion"),
        ("User \"x\n", "unterminated quote"),
    ] {
        let err = SshConfig::parse_str(text, "f").unwrap_err();
        assert!(err.to_string().contains(needle), "{text:?}: {err}");
        assert_eq!(err.location().unwrap().line, 1);
    }
}

#[test]
fn bad_values_are_errors_with_line_even_when_inactive() {
    let text = "Host nothing\n  User ok\n  Port abc\n";
    let err = SshConfig::parse_str(text, "/etc/x.conf").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/x.conf:3: bad value for Port: `abc` is not a port number (1-65535)"
    );
    for bad in [
        "StrictHostKeyChecking maybe",
        "ConnectTimeout soon",
        "ProxyJump a:b:c",
        "IdentitiesOnly perhaps",
        "HostName a b",
        "ServerAliveCountMax -1",
    ] {
        assert!(SshConfig::parse_str(bad, "f").is_err(), "{bad}");
    }
}

#[test]
fn identity_files_accumulate_and_expand_tokens() {
    let text = "
Host web1
  HostName Web1.Example.com
  User deploy
  Port 2222
  IdentityFile ~/.ssh/id_%h_%p_%r
  IdentityFile \"/keys/with space/%n\"
  IdentityFile %d/%u/%l/%L/%i/%%/%k
  IdentityFile ${KEYS}/env_key
Host *
  IdentityFile ~/.ssh/id_%h_%p_%r
  IdentityFile ~/.ssh/default
  CertificateFile ~/.ssh/%r-cert.pub
  CertificateFile ~/.ssh/%r-cert.pub
";
    let r = resolve(text, "web1");
    assert_eq!(
        r.identity_files,
        vec![
            p("/home/alice/.ssh/id_web1.example.com_2222_deploy"),
            p("/keys/with space/web1"),
            p("/home/alice/alice/laptop.example.org/laptop/1000/%/web1"),
            p("/keys/env_key"),
            p("/home/alice/.ssh/default"),
        ]
    );
    assert_eq!(
        r.certificate_files,
        vec![p("/home/alice/.ssh/deploy-cert.pub")]
    );
}

#[test]
fn percent_c_hash() {
    let r = resolve("IdentityFile /tmp/%C\n", "h");
    let expected = crate::config::expand::sha1_hex("laptop.example.orgh22alice");
    assert_eq!(r.identity_files, vec![p(&format!("/tmp/{expected}"))]);
}

#[test]
fn token_errors_name_the_line() {
    let err = cfg("\nIdentityFile /tmp/%Q\n")
        .resolve("h", &ctx())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("test_config:2: bad value for IdentityFile"),
        "{err}"
    );
    let err = cfg("IdentityFile ${NOPE}/k\n")
        .resolve("h", &ctx())
        .unwrap_err();
    assert!(err.to_string().contains("NOPE"), "{err}");
    let err = cfg("HostName %p.x\n").resolve("h", &ctx()).unwrap_err();
    assert!(err.to_string().contains("%p"), "{err}");
    // ProxyCommand only knows %h %n %p %r.
    let err = cfg("ProxyCommand nc %d\n")
        .resolve("h", &ctx())
        .unwrap_err();
    assert!(err.to_string().contains("ProxyCommand"), "{err}");
}

#[test]
fn proxy_jump_and_command() {
    let text = "
Host a
  ProxyJump deploy@bastion:2200,ssh://jump2,[fe80::1]:2022
  ProxyCommand never used
Host b
  ProxyCommand ssh -W %h:%p %r@gw # comment kept, as OpenSSH
  ProxyJump never-used
Host c
  ProxyJump none
Host d
  ProxyCommand none
Host *
  ProxyJump fallback
";
    let r = resolve(text, "a");
    assert_eq!(
        r.proxy_jump,
        vec![
            JumpHost::new(Some("deploy"), "bastion", Some(2200)),
            JumpHost::new(None, "jump2", None),
            JumpHost::new(None, "fe80::1", Some(2022)),
        ]
    );
    assert_eq!(r.proxy_command, None);
    assert_eq!(r.proxy_jump[2].to_string(), "[fe80::1]:2022");
    assert_eq!(r.proxy_jump[0].to_string(), "deploy@bastion:2200");

    let r = resolve(text, "b");
    assert!(r.proxy_jump.is_empty());
    assert_eq!(
        r.proxy_command.as_deref(),
        Some("ssh -W b:22 alice@gw # comment kept, as OpenSSH")
    );

    let r = resolve(text, "c");
    assert!(r.proxy_jump.is_empty());
    assert_eq!(r.proxy_command, None);

    // ProxyCommand none also blocks a later ProxyJump.
    let r = resolve(text, "d");
    assert!(r.proxy_jump.is_empty());
    assert_eq!(r.proxy_command, None);

    assert_eq!(
        resolve(text, "e").proxy_jump,
        vec![JumpHost::new(None, "fallback", None)]
    );
}

#[test]
fn known_hosts_files_and_strict_checking() {
    let text = "
Host multi
  UserKnownHostsFile ~/k1 /tmp/known_%h
  UserKnownHostsFile /never
  GlobalKnownHostsFile /etc/ssh/other
  StrictHostKeyChecking accept-new
Host off
  UserKnownHostsFile none
  GlobalKnownHostsFile none
  StrictHostKeyChecking off
";
    let r = resolve(text, "multi");
    assert_eq!(
        r.user_known_hosts_files,
        vec![p("/home/alice/k1"), p("/tmp/known_multi")]
    );
    assert_eq!(r.global_known_hosts_files, vec![p("/etc/ssh/other")]);
    assert_eq!(
        r.strict_host_key_checking,
        Some(StrictHostKeyChecking::AcceptNew)
    );
    assert_eq!(
        r.known_hosts_files(),
        vec![
            p("/home/alice/k1"),
            p("/tmp/known_multi"),
            p("/etc/ssh/other")
        ]
    );
    let r = resolve(text, "off");
    assert!(r.user_known_hosts_files.is_empty());
    assert!(r.global_known_hosts_files.is_empty());
    assert_eq!(r.strict_host_key_checking, Some(StrictHostKeyChecking::No));
}

#[test]
fn host_key_alias_target() {
    let r = resolve("Host h\n  HostKeyAlias Shared-Key\n  Port 2222\n", "h");
    assert_eq!(r.known_hosts_target(), ("shared-key", 22));
    let r = resolve("Port 2222\n", "h");
    assert_eq!(r.known_hosts_target(), ("h", 2222));
}

#[test]
fn identity_agent_variants() {
    let text = "
Host a
  IdentityAgent none
Host b
  IdentityAgent SSH_AUTH_SOCK
Host c
  IdentityAgent $MY_SOCK
Host d
  IdentityAgent ~/.agent/%h.sock
";
    assert_eq!(
        resolve(text, "a").identity_agent,
        Some(IdentityAgent::Disabled)
    );
    assert_eq!(
        resolve(text, "b").identity_agent,
        Some(IdentityAgent::Env("SSH_AUTH_SOCK".into()))
    );
    assert_eq!(
        resolve(text, "c").identity_agent,
        Some(IdentityAgent::Env("MY_SOCK".into()))
    );
    assert_eq!(
        resolve(text, "d").identity_agent,
        Some(IdentityAgent::Path(p("/home/alice/.agent/d.sock")))
    );
}

#[test]
fn overrides_beat_config() {
    let text = "Host h\n  User cfg\n  Port 2200\n";
    let r = cfg(text)
        .resolve("h", &ctx().with_user("inv").with_port(2300))
        .unwrap();
    assert_eq!((r.user.as_str(), r.port), ("inv", 2300));
}

#[test]
fn other_options_are_kept_raw() {
    let text = "
Host h
  LocalForward 8080 localhost:80
  LocalForward 8443 localhost:443
  SendEnv LANG
  Compression yes
  Compression no
  LocalCommand echo %h  # raw
  SetupTimeOut 5
  SomeFutureOption value
";
    let r = resolve(text, "h");
    let lf = &r.other["localforward"];
    assert_eq!(lf.len(), 2);
    assert_eq!(lf[1].args, vec!["8443", "localhost:443"]);
    assert_eq!(lf[1].location.line, 4);
    assert_eq!(r.get("compression"), Some("yes"));
    assert_eq!(r.other["localcommand"][0].raw, "echo %h  # raw");
    assert_eq!(r.get("somefutureoption"), Some("value"));
    // Debian alias mapped to its canonical, typed option.
    assert_eq!(r.server_alive_interval, Some(Duration::from_secs(5)));
    assert!(!r.other.contains_key("setuptimeout"));
}

#[test]
fn appended_configs_keep_priority_order() {
    let mut c = cfg("Host h\n  User user-config\n");
    c.append(cfg("Host *\n  User system\n  Port 2222\n"));
    let r = c.resolve("h", &ctx()).unwrap();
    assert_eq!((r.user.as_str(), r.port), ("user-config", 2222));
}

#[test]
fn missing_file_is_io_error() {
    let err = SshConfig::parse_file("/nonexistent/rinfra/config").unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/rinfra/config"));
}

#[test]
fn context_from_env_describes_this_process() {
    let c = ResolveContext::from_env();
    assert!(!c.local_user.is_empty());
    assert!(c.local_uid.is_some());
    assert!(!c.local_hostname.is_empty());
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        assert_eq!(c.home_dir, PathBuf::from(home));
    }
    assert!(c.user_override.is_none() && c.port_override.is_none());
}
