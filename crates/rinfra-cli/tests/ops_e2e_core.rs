//! The operations of pyinfra's core modules added by issue 16, end to end on real targets: the
//! `rinfra` binary runs each operation twice against the last testbed SSH host (a change, then
//! `No changes`; `server.etc_hosts` and `sysvinit.enable` on the last nspawn host too), and the
//! result is checked on the target with plain `ssh`. Operations that are not idempotent in
//! pyinfra either are checked for what a second run really does: `server.kill`, `ssh.command`
//! and `ssh.upload` run again, `files.move` finds its source gone.
//!
//! Needs the project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`); see
//! `ops_e2e.rs`. Each test works under its own `/srv/rinfra-e2e-core-<name>` directory; the
//! ones editing shared files (`/etc/hosts`, `limits.conf`, `/etc/rc*.d`, apt sources) use
//! entries of their own and remove them again.

mod util;

use std::process::Command;

use util::target::{apt_lock, assert_host_error, nspawn_host, second_ssh_host, ssh_host, Target};
use util::TestDir;

/// Install Debian packages on the target (from the testbed's mirror), under the apt lock.
fn install(t: &Target, packages: &str) {
    let _apt = apt_lock();
    let dir = TestDir::new();
    let list = format!("packages={packages}");
    let r = t.rinfra(&dir, &["apt.packages", &list]);
    assert_eq!(r.code, 0, "installing {packages}: {r:?}");
}

/// Write `content` to `path` on the target.
fn write_remote(t: &Target, path: &str, content: &str) {
    assert!(!content.contains("RINFRA_EOF"));
    t.check(&format!(
        "mkdir -p \"$(dirname {path})\" && cat > {path} <<'RINFRA_EOF'\n{content}RINFRA_EOF"
    ));
}

// ---------------------------------------------------------------------------------------------
// files

#[test]
fn files_copy() {
    let t = ssh_host();
    let base = t.fresh_dir("core-copy");
    write_remote(&t, &format!("{base}/src/app.conf"), "key=value\n");
    t.check(&format!("mkdir -p {base}/backup"));
    t.twice(&[
        "files.copy",
        &format!("src={base}/src/app.conf"),
        &format!("dest={base}/backup"),
    ]);
    assert_eq!(t.check(&format!("cat {base}/backup/app.conf")), "key=value");
    assert_eq!(
        t.check(&format!("cat {base}/src/app.conf")),
        "key=value",
        "the source stays"
    );

    // a different file already there is an error unless `overwrite`
    write_remote(&t, &format!("{base}/src/app.conf"), "key=changed\n");
    let dir = TestDir::new();
    let r = t.rinfra(
        &dir,
        &[
            "files.copy",
            &format!("src={base}/src/app.conf"),
            &format!("dest={base}/backup"),
        ],
    );
    assert_host_error(&r, &t.addr, &["already exists and is different than src"]);
    assert_eq!(t.check(&format!("cat {base}/backup/app.conf")), "key=value");
    t.changes(
        &dir,
        &[
            "files.copy",
            &format!("src={base}/src/app.conf"),
            &format!("dest={base}/backup"),
            "overwrite=true",
        ],
    );
    assert_eq!(
        t.check(&format!("cat {base}/backup/app.conf")),
        "key=changed"
    );

    // a directory, copied once
    write_remote(&t, &format!("{base}/src/conf.d/a.conf"), "a=1\n");
    write_remote(&t, &format!("{base}/src/conf.d/sub/b.conf"), "b=2\n");
    t.twice(&[
        "files.copy",
        &format!("src={base}/src/conf.d"),
        &format!("dest={base}/backup"),
    ]);
    assert_eq!(
        t.check(&format!("cd {base}/backup/conf.d && find . -type f | sort")),
        "./a.conf\n./sub/b.conf"
    );
    assert_eq!(
        t.check(&format!(
            "cat {base}/backup/conf.d/a.conf {base}/backup/conf.d/sub/b.conf"
        )),
        "a=1\nb=2"
    );
}

#[test]
fn files_move_then_src_is_gone() {
    let t = ssh_host();
    let base = t.fresh_dir("core-move");
    write_remote(&t, &format!("{base}/build/app/bin"), "#!/bin/sh\n");
    t.check(&format!("mkdir -p {base}/opt"));
    let args = [
        "files.move",
        &format!("src={base}/build/app"),
        &format!("dest={base}/opt"),
    ];
    let dir = TestDir::new();
    t.changes(&dir, &args);
    assert_eq!(t.check(&format!("cat {base}/opt/app/bin")), "#!/bin/sh");
    assert_ne!(t.ssh(&format!("test -e {base}/build/app")).0, 0);
    // pyinfra's `files.move` is not idempotent: once moved, the source is missing
    let again = t.rinfra(&dir, &args);
    assert_host_error(
        &again,
        &t.addr,
        &[&format!("src {base}/build/app does not exist")],
    );
    assert_eq!(t.check(&format!("cat {base}/opt/app/bin")), "#!/bin/sh");

    // `overwrite` replaces what is there
    write_remote(&t, &format!("{base}/build/app/new"), "v2\n");
    t.changes(&dir, &[args[0], args[1], args[2], "overwrite=true"]);
    assert_eq!(t.check(&format!("ls {base}/opt/app")), "new");
}

#[test]
fn files_flags_needs_chflags() {
    // `files.flags` drives BSD/macOS `chflags` (as pyinfra's does); Debian has `chattr`, another
    // tool with other flags, and no `chflags`: the host fails, nothing else is run
    let t = ssh_host();
    let base = t.fresh_dir("core-flags");
    write_remote(&t, &format!("{base}/f"), "x\n");
    let dir = TestDir::new();
    let r = t.rinfra(
        &dir,
        &["files.flags", &format!("path={base}/f"), "flags=uchg"],
    );
    assert_host_error(&r, &t.addr, &["chflags: not found"]);
}

/// A small `.tar.gz` made locally: `app/bin/start` and `app/README`.
fn local_tarball(dir: &TestDir) -> std::path::PathBuf {
    dir.write("tree/app/bin/start", "#!/bin/sh\necho started\n");
    dir.write("tree/app/README", "rinfra e2e\n");
    let archive = dir.join("app-1.0.tar.gz");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.join("tree"))
        .arg("app")
        .status()
        .expect("cannot run tar")
        .success();
    assert!(ok, "tar -czf failed");
    archive
}

#[test]
fn files_unarchive_local_tar_gz() {
    let t = ssh_host();
    let base = t.fresh_dir("core-unarchive");
    t.check(&format!("mkdir -p {base}/opt"));
    let local = TestDir::new();
    let archive = local_tarball(&local);
    t.twice(&[
        "files.unarchive",
        &format!("src={}", archive.display()),
        &format!("dest={base}/opt"),
        &format!("creates={base}/opt/app/bin/start"),
        "user=daemon",
    ]);
    assert_eq!(
        t.check(&format!("cat {base}/opt/app/bin/start")),
        "#!/bin/sh\necho started"
    );
    assert_eq!(t.check(&format!("cat {base}/opt/app/README")), "rinfra e2e");
    assert_eq!(
        t.check(&format!(
            "stat -c %U {base}/opt {base}/opt/app {base}/opt/app/bin/start | sort -u"
        )),
        "daemon"
    );
    // the uploaded archive is not left behind in the temporary directory
    let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    let sum = sum
        .split_whitespace()
        .next()
        .expect("sha256sum of the archive");
    assert_eq!(
        t.check(&format!(
            "find /tmp -maxdepth 2 -type f -exec sha256sum {{}} + | grep -c {sum} || true"
        )),
        "0"
    );
}

#[test]
fn files_unarchive_remote_src() {
    let t = ssh_host();
    let base = t.fresh_dir("core-unarchive-remote");
    t.check(&format!(
        "mkdir -p {base}/tree/data {base}/out && echo remote > {base}/tree/data/file && \
         tar -cf {base}/data.tar -C {base}/tree data"
    ));
    t.twice(&[
        "files.unarchive",
        &format!("src={base}/data.tar"),
        &format!("dest={base}/out"),
        "remote_src=true",
        &format!("creates={base}/out/data/file"),
    ]);
    assert_eq!(t.check(&format!("cat {base}/out/data/file")), "remote");
    assert!(t.ssh(&format!("test -f {base}/data.tar")).0 == 0, "kept");
}

// ---------------------------------------------------------------------------------------------
// server

#[test]
fn server_kill_signals_the_process() {
    let t = ssh_host();
    let base = t.fresh_dir("core-kill");
    // a shell that waits for its `sleep`, so the killed process is reaped at once
    t.check(&format!(
        "mkdir -p {base} && (nohup sh -c 'sleep 600 & echo $! > {base}/pid; wait' \
         >/dev/null 2>&1 &) && for i in 1 2 3 4 5 6 7 8 9 10; do test -s {base}/pid && break; sleep 0.2; done; test -s {base}/pid"
    ));
    let pid = t.check(&format!("cat {base}/pid"));
    assert_eq!(t.check(&format!("ps -o comm= -p {pid}")), "sleep");
    let args = ["server.kill", &format!("pid={pid}"), "signal=KILL"];
    let dir = TestDir::new();
    t.changes(&dir, &args);
    let gone =
        format!("for i in $(seq 50); do ps -p {pid} >/dev/null || exit 0; sleep 0.1; done; exit 1");
    assert_eq!(t.ssh(&gone).0, 0, "process {pid} still there");
    // not idempotent (as in pyinfra): there is nothing left to kill
    let again = t.rinfra(&dir, &args);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.to_lowercase().contains("no such process"),
        "{again:?}"
    );
}

#[test]
fn server_security_limit() {
    let t = ssh_host();
    let domain = "rinfra-e2e-core";
    let file = "/etc/security/limits.conf";
    let clean = format!("sed -i '/^{domain}[[:space:]]/d' {file}");
    t.check(&clean);
    let before = t.check(&format!("cat {file}"));
    let limit = |value: &str| {
        t.twice(&[
            "server.security_limit",
            &format!("domain={domain}"),
            "limit_type=soft",
            "item=nofile",
            &format!("value={value}"),
        ]);
    };
    limit("4096");
    assert_eq!(
        t.check(&format!("grep '^{domain}' {file}")),
        format!("{domain}\tsoft\tnofile\t4096")
    );
    // a new value replaces the line
    limit("8192");
    assert_eq!(
        t.check(&format!("grep '^{domain}' {file}")),
        format!("{domain}\tsoft\tnofile\t8192")
    );
    t.check(&clean);
    assert_eq!(
        t.check(&format!("cat {file}")),
        before,
        "nothing else changed"
    );
}

#[test]
fn server_etc_hosts() {
    etc_hosts_on(&ssh_host());
    etc_hosts_on(&nspawn_host());
}

fn etc_hosts_on(t: &Target) {
    let ip = "192.0.2.71";
    let clean = format!("sed -i '/^{ip}[[:space:]]/d' /etc/hosts");
    t.check(&clean);
    let before = t.check("cat /etc/hosts");
    let line = || t.check(&format!("grep '^{ip} ' /etc/hosts || true"));

    t.twice(&[
        "server.etc_hosts",
        &format!("ip={ip}"),
        "hostnames=[\"core.e2e.internal\", \"core\"]",
    ]);
    assert_eq!(line(), format!("{ip} core.e2e.internal core"));
    let resolved = t.check("getent hosts core.e2e.internal");
    assert_eq!(
        resolved.split_whitespace().collect::<Vec<_>>(),
        [ip, "core.e2e.internal", "core"]
    );
    // drop one name
    t.twice(&[
        "server.etc_hosts",
        &format!("ip={ip}"),
        "hostnames=core",
        "present=false",
    ]);
    assert_eq!(line(), format!("{ip} core.e2e.internal"));
    // and the whole line
    t.twice(&["server.etc_hosts", &format!("ip={ip}"), "present=false"]);
    assert_eq!(line(), "");
    assert_eq!(t.check("cat /etc/hosts"), before, "other lines are kept");
}

// ---------------------------------------------------------------------------------------------
// git

#[test]
fn git_config_in_a_repo() {
    let t = ssh_host();
    install(&t, "git");
    let base = t.fresh_dir("core-git-config");
    let repo = format!("{base}/repo");
    t.check(&format!("git init -q {repo}"));
    t.twice(&[
        "git.config",
        "key=user.name",
        "value=Core E2E",
        &format!("repo={repo}"),
    ]);
    assert_eq!(
        t.check(&format!("git -C {repo} config --local user.name")),
        "Core E2E"
    );
    // multi_value adds a value next to the existing ones
    t.check(&format!("git -C {repo} config --local remote.origin.fetch +refs/heads/main:refs/remotes/origin/main"));
    t.twice(&[
        "git.config",
        "key=remote.origin.fetch",
        "value=+refs/tags/*:refs/tags/*",
        "multi_value=true",
        &format!("repo={repo}"),
    ]);
    assert_eq!(
        t.check(&format!(
            "git -C {repo} config --local --get-all remote.origin.fetch"
        )),
        "+refs/heads/main:refs/remotes/origin/main\n+refs/tags/*:refs/tags/*"
    );
    // and a single value replaces
    t.twice(&[
        "git.config",
        "key=user.name",
        "value=Other Name",
        &format!("repo={repo}"),
    ]);
    assert_eq!(
        t.check(&format!("git -C {repo} config --local --get-all user.name")),
        "Other Name"
    );
}

#[test]
fn git_bare_repo() {
    let t = ssh_host();
    install(&t, "git");
    let base = t.fresh_dir("core-git-bare");
    let path = format!("{base}/project.git");
    t.twice(&["git.bare_repo", &format!("path={path}"), "user=daemon"]);
    assert_eq!(
        // root reads a repository owned by daemon: git wants it declared safe
        t.check(&format!(
            "git -c safe.directory='*' -C {path} rev-parse --is-bare-repository"
        )),
        "true"
    );
    assert_eq!(
        t.check(&format!("find {path} ! -user daemon | wc -l")),
        "0",
        "every file is daemon's"
    );
    // a new owner is applied to the existing repository
    t.twice(&["git.bare_repo", &format!("path={path}"), "group=daemon"]);
    assert_eq!(
        t.check(&format!("stat -c %U:%G {path}/HEAD")),
        "daemon:daemon"
    );
    t.twice(&["git.bare_repo", &format!("path={path}"), "present=false"]);
    assert_ne!(t.ssh(&format!("test -e {path}")).0, 0);
}

#[test]
fn git_worktree_add_and_remove() {
    let t = ssh_host();
    install(&t, "git");
    let base = t.fresh_dir("core-git-worktree");
    let repo = format!("{base}/main");
    t.check(&format!(
        "set -e; git init -q -b main {repo}; cd {repo}; echo v1 > file; git add file; \
         git -c user.email=e2e@x -c user.name=e2e commit -q -m v1"
    ));
    let tree = format!("{base}/hotfix");
    t.twice(&[
        "git.worktree",
        &format!("worktree={tree}"),
        &format!("repo={repo}"),
        "new_branch=hotfix",
        "commitish=main",
    ]);
    assert_eq!(
        t.check(&format!("git -C {tree} rev-parse --abbrev-ref HEAD")),
        "hotfix"
    );
    assert_eq!(t.check(&format!("cat {tree}/file")), "v1");
    assert!(t
        .check(&format!("git -C {repo} worktree list"))
        .contains(&format!("{tree} ")));

    t.twice(&["git.worktree", &format!("worktree={tree}"), "present=false"]);
    assert_ne!(t.ssh(&format!("test -e {tree}")).0, 0);
    assert!(!t
        .check(&format!("git -C {repo} worktree list"))
        .contains(&tree));
}

// ---------------------------------------------------------------------------------------------
// ssh: from the target to the testbed SSH host before it

/// While it lives, the target logs in to `peer` as root: the testbed's key is root's default
/// identity (the hosts have no key pair of their own). No key of `peer` is known at first;
/// dropping it removes the identity and `peer`'s known key again, also when a test fails.
struct PeerLogin<'a> {
    t: &'a Target,
    peer: &'a Target,
}

impl<'a> PeerLogin<'a> {
    fn new(t: &'a Target, peer: &'a Target) -> Self {
        let key = std::fs::read_to_string(&t.key).expect("reading the testbed key");
        assert!(!key.contains("RINFRA_EOF"));
        t.check(&format!(
            "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/id_ed25519 <<'RINFRA_EOF'\n{key}RINFRA_EOF"
        ));
        let login = Self { t, peer };
        login.forget_peer();
        login
    }

    fn forget_peer(&self) {
        self.t.ssh(&format!(
            "ssh-keygen -R {} >/dev/null 2>&1; rm -f /root/.ssh/known_hosts.old; true",
            self.peer.addr
        ));
    }
}

impl Drop for PeerLogin<'_> {
    fn drop(&mut self) {
        self.forget_peer();
        self.t.ssh(
            "rm -f /root/.ssh/id_ed25519; test -s /root/.ssh/known_hosts || rm -f /root/.ssh/known_hosts",
        );
    }
}

#[test]
fn ssh_keyscan_command_upload_download() {
    let t = ssh_host();
    let peer = second_ssh_host();
    let base = t.fresh_dir("core-ssh");
    peer.fresh_dir("core-ssh");
    t.check(&format!("mkdir -p {base}"));
    peer.check(&format!("mkdir -p {base}"));
    let _login = PeerLogin::new(&t, &peer);

    t.twice(&["ssh.keyscan", &format!("hostname={}", peer.addr)]);
    assert!(t
        .check(&format!("ssh-keygen -F {}", peer.addr))
        .contains("ssh-ed25519"));

    // ssh.command runs on every run (not idempotent, as in pyinfra)
    let dir = TestDir::new();
    let cmd = [
        "ssh.command",
        &format!("hostname={}", peer.addr),
        &format!("command=echo from $(hostname) >> {base}/command.log"),
        "user=root",
    ];
    t.changes(&dir, &cmd);
    t.changes(&dir, &cmd);
    let peer_name = peer.check("hostname");
    assert_ne!(peer_name, t.check("hostname"));
    assert_eq!(
        peer.check(&format!("cat {base}/command.log")),
        format!("from {peer_name}\nfrom {peer_name}"),
        "the command (quoted on the target) runs on the peer, twice"
    );

    // ssh.upload copies on every run
    write_remote(&t, &format!("{base}/up.txt"), "uploaded\n");
    let up = [
        "ssh.upload",
        &format!("hostname={}", peer.addr),
        &format!("filename={base}/up.txt"),
        &format!("remote_filename={base}/received.txt"),
    ];
    t.changes(&dir, &up);
    assert_eq!(peer.check(&format!("cat {base}/received.txt")), "uploaded");
    write_remote(&t, &format!("{base}/up.txt"), "uploaded again\n");
    t.changes(&dir, &up);
    assert_eq!(
        peer.check(&format!("cat {base}/received.txt")),
        "uploaded again"
    );

    // ssh.download is idempotent: a file already there is not fetched again
    write_remote(&peer, &format!("{base}/build.out"), "built\n");
    t.twice(&[
        "ssh.download",
        &format!("hostname={}", peer.addr),
        &format!("filename={base}/build.out"),
        &format!("local_filename={base}/fetched.out"),
    ]);
    assert_eq!(t.check(&format!("cat {base}/fetched.out")), "built");
}

// ---------------------------------------------------------------------------------------------
// gpg, apt, sysvinit

/// An ASCII-armored public key made locally with `gpg` (in a throwaway GNUPGHOME).
fn armored_key() -> String {
    let home = TestDir::new();
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gpg (install gnupg): {e}"));
        assert!(out.status.success(), "gpg {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "rinfra e2e <core-e2e@example.com>",
        "ed25519",
        "sign",
        "never",
    ]);
    let key = gpg(&["--armor", "--export", "core-e2e@example.com"]);
    assert!(
        key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{key}"
    );
    key
}

#[test]
fn gpg_dearmor() {
    let t = ssh_host();
    install(&t, "gpg");
    let base = t.fresh_dir("core-gpg");
    write_remote(&t, &format!("{base}/key.asc"), &armored_key());
    let dest = format!("{base}/keyrings/e2e.gpg");
    t.twice(&[
        "gpg.dearmor",
        &format!("src={base}/key.asc"),
        &format!("dest={dest}"),
        "mode=0640",
    ]);
    assert_eq!(t.check(&format!("stat -c %a {dest}")), "640");
    assert_eq!(t.check(&format!("stat -c %a {base}/keyrings")), "755");
    assert_ne!(
        t.check(&format!("head -c 5 {dest}")),
        "-----",
        "a binary keyring"
    );
    assert!(t
        .check(&format!("gpg --batch --show-keys {dest}"))
        .contains("core-e2e@example.com"));
}

#[test]
fn apt_sources_file() {
    let _apt = apt_lock();
    let t = ssh_host();
    let base = t.fresh_dir("core-apt-sources");
    let file = "/etc/apt/sources.list.d/rinfra-e2e-core.sources";
    t.check(&format!("rm -f {file}"));
    let uri = format!("file:{base}/repo");
    let args = [
        "apt.sources_file",
        "filename=rinfra-e2e-core",
        &format!("uris={uri}"),
        "suites=stable",
        "components=main contrib",
        "architectures=amd64",
        &format!("signed_by={base}/key.gpg"),
    ];
    t.twice(&args);
    assert_eq!(
        t.check(&format!("cat {file}")),
        format!(
            "Types: deb\nURIs: {uri}\nSuites: stable\nComponents: main contrib\n\
             Architectures: amd64\nSigned-By: {base}/key.gpg"
        )
    );
    assert_eq!(t.check(&format!("stat -c %a {file}")), "644");
    // apt itself reads the entry
    let targets = t
        .check("apt-get indextargets --no-release-info --format '$(SITE) $(RELEASE) $(TARGET_OF)'");
    assert!(targets.contains(&format!("{uri} stable deb")), "{targets}");
    t.twice(&[
        "apt.sources_file",
        "filename=rinfra-e2e-core",
        "present=false",
    ]);
    assert_ne!(t.ssh(&format!("test -e {file}")).0, 0);
}

#[test]
fn sysvinit_enable() {
    sysvinit_enable_on(&ssh_host());
    // a booted Debian (systemd as PID 1, its sysv generator reading the links)
    sysvinit_enable_on(&nspawn_host());
}

fn sysvinit_enable_on(t: &Target) {
    let name = "rinfra-e2e-core";
    let script = format!("/etc/init.d/{name}");
    let clean = format!("rm -f /etc/rc?.d/[SK][0-9][0-9]{name}");
    t.check(&clean);
    write_remote(t, &script, "#!/bin/sh\nexit 0\n");
    t.check(&format!("chmod 755 {script}"));
    t.twice(&[
        "sysvinit.enable",
        &format!("service={name}"),
        "start_levels=[3, 5]",
        "stop_levels=[0, 6]",
        "start_priority=30",
    ]);
    let links = t.check(&format!(
        "for l in /etc/rc?.d/*{name}; do echo \"$l -> $(readlink $l)\"; done"
    ));
    assert_eq!(
        links,
        format!(
            "/etc/rc0.d/K80{name} -> {script}\n/etc/rc3.d/S30{name} -> {script}\n\
             /etc/rc5.d/S30{name} -> {script}\n/etc/rc6.d/K80{name} -> {script}"
        )
    );
    t.check(&clean);
    t.check(&format!("rm -f {script}"));
}

/// files.rsync: the controller's `rsync` over SSH with the host's connection data. It always
/// runs (rsync decides what to copy), as in pyinfra; `--delete` (a default flag) removes on
/// the host what is gone locally.
#[test]
fn files_rsync_syncs_a_directory() {
    let t = ssh_host();
    install(&t, "rsync");
    let base = t.fresh_dir("core-rsync");
    // rsync creates the destination itself, not its parents (as with pyinfra).
    t.check(&format!("mkdir -p {base}"));
    let dir = TestDir::new();
    dir.write("site/index.html", "hello\n");
    dir.write("site/sub/a.txt", "a\n");
    let dest = format!("dest={base}/www");
    // OpenSSH (under rsync) records host keys: in a file of the test's, not root's.
    let known = format!("ssh_known_hosts_file={}", dir.join("known_hosts").display());
    let rsync = ["files.rsync", "src=site/", &dest, "--data", &known];
    t.changes(&dir, &rsync);
    assert_eq!(
        t.check(&format!("cat {base}/www/index.html {base}/www/sub/a.txt")),
        "hello\na"
    );
    std::fs::remove_file(dir.join("site/sub/a.txt")).unwrap();
    t.changes(&dir, &rsync);
    assert!(
        dir.join("known_hosts").is_file(),
        "the host key went to the given file"
    );
    assert_eq!(
        t.check(&format!(
            "test -e {base}/www/sub/a.txt && echo kept || echo gone"
        )),
        "gone"
    );

    // Not an SSH host: a clear error before anything runs.
    let r = dir.run(&["@fake/x", "files.rsync", "src=site/", "dest=/tmp/x", "-y"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("needs an SSH or @local host"), "{r:?}");
}
