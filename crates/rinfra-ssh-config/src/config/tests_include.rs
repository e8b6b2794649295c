//! `Include` tests on real temporary files.

use std::fs;
use std::path::Path;

use super::*;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// A fake home with `~/.ssh`.
fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".ssh")).unwrap();
    dir
}

fn ctx(home: &Path) -> ResolveContext {
    ResolveContext::new("alice", home)
}

fn parse(home: &Path, text: &str) -> Result<SshConfig, ConfigError> {
    let path = home.join(".ssh/config");
    write(&path, text);
    SshConfig::parse_file_with(&path, &ParseOptions::user(home))
}

#[test]
fn relative_glob_in_lexical_order() {
    let h = home();
    let ssh = h.path().join(".ssh");
    write(
        &ssh.join("conf.d/20-b.conf"),
        "Host web\n  User from-b\n  Port 2020\n",
    );
    write(&ssh.join("conf.d/10-a.conf"), "Host web\n  User from-a\n");
    write(&ssh.join("conf.d/ignored.txt"), "Host web\n  User txt\n");
    let c = parse(h.path(), "Include conf.d/*.conf\nHost *\n  User late\n").unwrap();
    let r = c.resolve("web", &ctx(h.path())).unwrap();
    assert_eq!((r.user.as_str(), r.port), ("from-a", 2020));
    let names: Vec<String> = c
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["config", "10-a.conf", "20-b.conf"]);
}

#[test]
fn tilde_and_absolute_and_several_paths_per_line() {
    let h = home();
    let other = tempfile::tempdir().unwrap();
    write(&h.path().join("extra/one.conf"), "Port 1111\n");
    write(&other.path().join("two.conf"), "User two\n");
    let text = format!(
        "Include ~/extra/one.conf {}/two.conf\n",
        other.path().display()
    );
    let r = parse(h.path(), &text)
        .unwrap()
        .resolve("x", &ctx(h.path()))
        .unwrap();
    assert_eq!((r.user.as_str(), r.port), ("two", 1111));
}

#[test]
fn glob_without_match_is_fine() {
    let h = home();
    let r = parse(h.path(), "Include nothing/*.conf missing.conf\nUser u\n")
        .unwrap()
        .resolve("x", &ctx(h.path()))
        .unwrap();
    assert_eq!(r.user, "u");
}

#[test]
fn include_inside_host_block_applies_only_within_it() {
    // Checked against `ssh -G` (OpenSSH 9.2).
    let h = home();
    let ssh = h.path().join(".ssh");
    write(
        &ssh.join("inc/a.conf"),
        "Port 4444\nHost other\n  User from-other\n",
    );
    let text = "Host db\n  Include inc/*.conf\n  User dbuser\nHost *\n  User fallback\n";
    let c = parse(h.path(), text).unwrap();
    let r = c.resolve("db", &ctx(h.path())).unwrap();
    // The included file starts active, and `User dbuser` after the Include
    // still belongs to the `Host db` block.
    assert_eq!((r.user.as_str(), r.port), ("dbuser", 4444));
    // For any other host, nothing in the included file applies, even its own
    // `Host other` block.
    let r = c.resolve("other", &ctx(h.path())).unwrap();
    assert_eq!((r.user.as_str(), r.port), ("fallback", 22));
}

#[test]
fn each_included_file_starts_with_the_include_site_state() {
    // Checked against `ssh -G`: a Host block left open at the end of one
    // included file does not swallow the next file or the lines after Include.
    let h = home();
    let ssh = h.path().join(".ssh");
    write(&ssh.join("inc/1.conf"), "Host nomatch\n  User a\n");
    write(&ssh.join("inc/2.conf"), "Port 1111\n");
    let r = parse(h.path(), "Include inc/*.conf\nUser outer\n")
        .unwrap()
        .resolve("zz", &ctx(h.path()))
        .unwrap();
    assert_eq!((r.user.as_str(), r.port), ("outer", 1111));
}

#[test]
fn include_inside_match_block() {
    let h = home();
    write(&h.path().join(".ssh/prod.conf"), "User prod\n");
    let text = "Match host *.prod\n  Include prod.conf\n";
    let c = parse(h.path(), text).unwrap();
    assert_eq!(c.resolve("a.prod", &ctx(h.path())).unwrap().user, "prod");
    assert_eq!(c.resolve("a.dev", &ctx(h.path())).unwrap().user, "alice");
}

#[test]
fn unsupported_match_in_inactive_include_is_not_reached() {
    let h = home();
    write(&h.path().join(".ssh/x.conf"), "Match exec true\n  User x\n");
    let c = parse(h.path(), "Host special\n  Include x.conf\n").unwrap();
    assert_eq!(c.resolve("plain", &ctx(h.path())).unwrap().user, "alice");
    let err = c.resolve("special", &ctx(h.path())).unwrap_err();
    let loc = err.location().unwrap();
    assert!(loc.file.ends_with("x.conf") && loc.line == 1, "{err}");
}

#[test]
fn errors_in_included_files_name_that_file() {
    let h = home();
    write(&h.path().join(".ssh/bad.conf"), "\n\nPort nope\n");
    let err = parse(h.path(), "Include bad.conf\n").unwrap_err();
    let loc = err.location().unwrap();
    assert!(loc.file.ends_with(".ssh/bad.conf"));
    assert_eq!(loc.line, 3);
}

#[test]
fn include_loop_is_detected() {
    let h = home();
    let ssh = h.path().join(".ssh");
    write(&ssh.join("a.conf"), "Include b.conf\n");
    write(&ssh.join("b.conf"), "User b\nInclude a.conf\n");
    let err = parse(h.path(), "Include a.conf\n").unwrap_err();
    assert!(matches!(&err, ConfigError::IncludeLoop { .. }), "{err}");
    let loc = err.location().unwrap();
    assert!(loc.file.ends_with("b.conf") && loc.line == 2, "{err}");
    // Self-include of the top file.
    let err = parse(h.path(), "Include config\n").unwrap_err();
    assert!(matches!(err, ConfigError::IncludeLoop { .. }), "{err}");
}

#[test]
fn include_depth_is_limited() {
    let h = home();
    let ssh = h.path().join(".ssh");
    // A chain of 20 distinct files: no loop, but too deep.
    for i in 0..20 {
        write(
            &ssh.join(format!("d{i}.conf")),
            &format!("Include d{}.conf\n", i + 1),
        );
    }
    write(&ssh.join("d20.conf"), "User deep\n");
    let err = parse(h.path(), "Include d0.conf\n").unwrap_err();
    assert!(
        matches!(err, ConfigError::IncludeDepth { max: 16, .. }),
        "{err}"
    );
    // 10 levels are fine.
    write(&ssh.join("d10.conf"), "User deep\n");
    let r = parse(h.path(), "Include d0.conf\n")
        .unwrap()
        .resolve("x", &ctx(h.path()))
        .unwrap();
    assert_eq!(r.user, "deep");
}

#[test]
fn system_config_includes_are_relative_to_etc_ssh() {
    let opts = ParseOptions::system("/home/alice");
    assert_eq!(opts.include_dir, Path::new("/etc/ssh"));
    assert!(!opts.expand_tilde);
    let user = ParseOptions::user("/home/alice");
    assert_eq!(user.include_dir, Path::new("/home/alice/.ssh"));
}

#[test]
fn parse_str_resolves_includes_against_options() {
    let h = home();
    write(&h.path().join(".ssh/inc.conf"), "User included\n");
    let c = SshConfig::parse_str_with(
        "Include inc.conf\n",
        "<inline>",
        &ParseOptions::user(h.path()),
    )
    .unwrap();
    assert_eq!(c.resolve("x", &ctx(h.path())).unwrap().user, "included");
}

#[test]
fn load_default_reads_user_config() {
    let h = home();
    write(
        &h.path().join(".ssh/config"),
        "Host x\n  User from-user-config\n",
    );
    let c = SshConfig::load_default(h.path()).unwrap();
    assert_eq!(
        c.resolve("x", &ctx(h.path())).unwrap().user,
        "from-user-config"
    );
    assert_eq!(c.files()[0], h.path().join(".ssh/config"));
}

#[test]
fn glob_characters_in_home_are_literal() {
    let base = tempfile::tempdir().unwrap();
    let home = base.path().join("we[i]rd*home");
    write(&home.join(".ssh/inc/a.conf"), "User literal\n");
    write(&home.join("extra.conf"), "Port 2345\n");
    let c = parse(&home, "Include inc/*.conf ~/extra.conf\n").unwrap();
    let r = c.resolve("x", &ctx(&home)).unwrap();
    assert_eq!((r.user.as_str(), r.port), ("literal", 2345));
}
