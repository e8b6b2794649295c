//! Operations end to end on real targets: the `rinfra` binary runs each operation twice against
//! a testbed SSH host (a change, then `No changes`), and the result is checked on the target with
//! plain `ssh`, never with rinfra's own facts.
//!
//! Needs the project testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`). Tests use
//! the LAST address of `RINFRA_TB_SSH_HOSTS` (and of `RINFRA_TB_NSPAWN_HOSTS` for systemd), each
//! under its own `/srv/rinfra-e2e-<test>` directory, so other suites sharing the hosts are not
//! disturbed. Missing testbed variables fail the tests; they never pass silently.

mod util;

use util::target::{apt_lock, assert_host_error, nspawn_host, ssh_host, Target};
use util::TestDir;

#[test]
fn files_directory() {
    let t = ssh_host();
    let base = t.fresh_dir("directory");
    let path = format!("{base}/a/b");
    t.twice(&["files.directory", &format!("path={path}"), "mode=750"]);
    assert_eq!(
        t.check(&format!("stat -c '%F %a %U' {path}")),
        "directory 750 root"
    );
}

#[test]
fn files_file() {
    let t = ssh_host();
    let base = t.fresh_dir("file");
    let path = format!("{base}/f.txt");
    t.twice(&[
        "files.file",
        &format!("path={path}"),
        "mode=640",
        "group=daemon",
    ]);
    assert_eq!(
        t.check(&format!("stat -c '%F %a %U:%G' {path}")),
        "regular empty file 640 root:daemon"
    );
}

#[test]
fn files_put() {
    let t = ssh_host();
    let base = t.fresh_dir("put");
    let dir = TestDir::new();
    let src = dir.write("local.txt", "hello from rinfra\nline 2\n");
    let dest = format!("{base}/sub/put.txt");
    t.twice(&[
        "files.put",
        &format!("src={}", src.display()),
        &format!("dest={dest}"),
        "mode=600",
        "user=daemon",
    ]);
    assert_eq!(t.check(&format!("cat {dest}")), "hello from rinfra\nline 2");
    assert_eq!(t.check(&format!("stat -c '%a %U' {dest}")), "600 daemon");
}

#[test]
fn files_template() {
    let t = ssh_host();
    let base = t.fresh_dir("template");
    let dir = TestDir::new();
    let src = dir.write(
        "app.conf.j2",
        "name={{ app }}\n{% for p in ports %}port={{ p }}\n{% endfor %}",
    );
    let dest = format!("{base}/app.conf");
    t.twice(&[
        "files.template",
        &format!("src={}", src.display()),
        &format!("dest={dest}"),
        "app=web",
        "ports=[80, 443]",
        "mode=644",
    ]);
    assert_eq!(
        t.check(&format!("cat {dest}")),
        "name=web\nport=80\nport=443"
    );
    assert_eq!(t.check(&format!("stat -c %a {dest}")), "644");
}

#[test]
fn files_line_replace_block() {
    let t = ssh_host();
    let base = t.fresh_dir("text");
    let path = format!("{base}/config");
    t.check(&format!(
        "mkdir -p {base} && printf 'a=1\\nmode=old\\n' > {path}"
    ));

    t.twice(&["files.line", &format!("path={path}"), "line=added=yes"]);
    t.twice(&[
        "files.replace",
        &format!("path={path}"),
        "text=mode=old",
        "replace=mode=new",
    ]);
    t.twice(&[
        "files.block",
        &format!("path={path}"),
        "content=managed 1\nmanaged 2",
    ]);
    let text = t.check(&format!("cat {path}"));
    assert_eq!(
        text,
        "a=1\nmode=new\nadded=yes\n# BEGIN PYINFRA BLOCK\nmanaged 1\nmanaged 2\n# END PYINFRA BLOCK"
    );
}

#[test]
fn files_link() {
    let t = ssh_host();
    let base = t.fresh_dir("link");
    t.check(&format!("mkdir -p {base} && echo target > {base}/target"));
    let path = format!("{base}/the-link");
    t.twice(&[
        "files.link",
        &format!("path={path}"),
        &format!("target={base}/target"),
    ]);
    assert_eq!(
        t.check(&format!("readlink {path}")),
        format!("{base}/target")
    );
}

#[test]
fn server_group_and_user() {
    let t = ssh_host();
    let base = t.fresh_dir("user");
    let (user, group) = ("rinfra-e2e-user", "rinfra-e2e-group");
    t.ssh(&format!("userdel {user} 2>/dev/null; groupdel {group} 2>/dev/null; groupdel {user} 2>/dev/null; true"));

    t.twice(&["server.group", &format!("group={group}"), "gid=4321"]);
    assert_eq!(
        t.check(&format!("getent group {group} | cut -d: -f1,3")),
        format!("{group}:4321")
    );

    let home = format!("{base}/home");
    t.twice(&[
        "server.user",
        &format!("user={user}"),
        &format!("home={home}"),
        "shell=/bin/sh",
        &format!("groups=[\"{group}\"]"),
        "public_keys=[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e e2e@rinfra\"]",
    ]);
    let passwd = t.check(&format!("getent passwd {user} | cut -d: -f1,6,7"));
    assert_eq!(passwd, format!("{user}:{home}:/bin/sh"));
    assert!(t.check(&format!("id -nG {user}")).contains(group));
    assert_eq!(
        t.check(&format!("stat -c '%U %a' {home}/.ssh")),
        format!("{user} 700")
    );
    assert_eq!(
        t.check(&format!("stat -c '%U %a' {home}/.ssh/authorized_keys")),
        format!("{user} 600")
    );
    assert!(t
        .check(&format!("cat {home}/.ssh/authorized_keys"))
        .contains("e2e@rinfra"));

    // and away again
    t.twice(&["server.user", &format!("user={user}"), "present=false"]);
    assert_ne!(t.ssh(&format!("getent passwd {user}")).0, 0);
}

#[test]
fn server_shell_always_runs() {
    let t = ssh_host();
    let base = t.fresh_dir("shell");
    let dir = TestDir::new();
    let cmd = format!("mkdir -p {base} && echo ran >> {base}/log");
    for _ in 0..2 {
        let r = t.rinfra(&dir, &["server.shell", &cmd]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stderr.contains(&format!("[{}] Success", t.addr)), "{r:?}");
    }
    assert_eq!(t.check(&format!("cat {base}/log")), "ran\nran");
}

#[test]
fn apt_update_and_packages() {
    let _apt = apt_lock();
    let t = ssh_host();
    // so the first update run has something to do
    t.check("rm -f /var/lib/apt/periodic/update-success-stamp; mkdir -p /var/lib/apt/periodic");
    t.twice(&["apt.update", "cache_time=86400"]);
    t.check("test -e /var/lib/apt/periodic/update-success-stamp");

    t.ssh("DEBIAN_FRONTEND=noninteractive apt-get -y remove hello >/dev/null 2>&1");
    t.twice(&["apt.packages", "packages=[\"hello\"]"]);
    assert!(t
        .check("dpkg-query -W -f='${Status}' hello")
        .contains("install ok installed"));
    assert_eq!(t.check("hello -g e2e"), "e2e");

    t.twice(&["apt.packages", "packages=hello", "present=false"]);
    assert_ne!(
        t.ssh("dpkg-query -W -f='${Status}' hello | grep -q 'ok installed'")
            .0,
        0
    );
}

#[test]
fn apt_deb_from_local_package() {
    let _apt = apt_lock();
    let t = ssh_host();
    let base = t.fresh_dir("deb");
    // a tiny package built on the target, so no mirror is needed
    t.ssh("DEBIAN_FRONTEND=noninteractive apt-get -y remove rinfra-e2e-dummy >/dev/null 2>&1");
    t.check(&format!(
        "mkdir -p {base}/pkg/DEBIAN {base}/pkg/usr/share/rinfra-e2e && \
         printf 'Package: rinfra-e2e-dummy\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: e2e <e2e@example.com>\\nDescription: rinfra e2e test package\\n' > {base}/pkg/DEBIAN/control && \
         echo dummy > {base}/pkg/usr/share/rinfra-e2e/dummy && \
         dpkg-deb --build {base}/pkg {base}/rinfra-e2e-dummy_1.0_all.deb >/dev/null"
    ));
    t.twice(&[
        "apt.deb",
        &format!("src={base}/rinfra-e2e-dummy_1.0_all.deb"),
    ]);
    assert_eq!(
        t.check("dpkg-query -W -f='${Version}' rinfra-e2e-dummy"),
        "1.0"
    );
    t.twice(&[
        "apt.deb",
        &format!("src={base}/rinfra-e2e-dummy_1.0_all.deb"),
        "present=false",
    ]);
}

#[test]
fn crontab_entry() {
    let t = ssh_host();
    {
        // crontab(1) comes with cron, which the image may lack
        let _apt = apt_lock();
        let dir = TestDir::new();
        let r = t.rinfra(&dir, &["apt.packages", "packages=cron"]);
        assert_eq!(r.code, 0, "installing cron: {r:?}");
    }
    t.ssh("crontab -r 2>/dev/null; true");
    t.twice(&[
        "crontab.crontab",
        "command=/bin/echo rinfra-e2e",
        "cron_name=rinfra-e2e",
        "minute=5",
        "hour=[1, 13]",
    ]);
    let tab = t.check("crontab -l");
    assert!(
        tab.contains("# pyinfra-name=rinfra-e2e\n5 1,13 * * * /bin/echo rinfra-e2e"),
        "{tab}"
    );
    // a changed schedule edits the named entry in place
    t.twice(&[
        "crontab.crontab",
        "command=/bin/echo rinfra-e2e",
        "cron_name=rinfra-e2e",
        "minute=7",
    ]);
    let tab = t.check("crontab -l");
    assert!(tab.contains("7 * * * * /bin/echo rinfra-e2e"), "{tab}");
    assert!(!tab.contains("5 1,13"), "{tab}");
}

#[test]
fn git_repo_clone_then_up_to_date() {
    let t = ssh_host();
    {
        let _apt = apt_lock();
        let dir = TestDir::new();
        let r = t.rinfra(&dir, &["apt.packages", "packages=git"]);
        assert_eq!(r.code, 0, "installing git: {r:?}");
    }
    let base = t.fresh_dir("git");
    // a local origin on the target: no network to a forge needed
    t.check(&format!(
        "set -e; git init -q --bare -b main {base}/origin.git; git init -q -b main {base}/work; \
         cd {base}/work; echo v1 > file; git add file; \
         git -c user.email=e2e@x -c user.name=e2e commit -q -m v1; \
         git push -q {base}/origin.git main"
    ));
    let dest = format!("{base}/checkout");
    t.twice(&[
        "git.repo",
        &format!("src={base}/origin.git"),
        &format!("dest={dest}"),
        "branch=main",
    ]);
    assert_eq!(t.check(&format!("cat {dest}/file")), "v1");
    // a new upstream commit is pulled, then nothing more
    t.check(&format!(
        "cd {base}/work && echo v2 > file && git -c user.email=e2e@x -c user.name=e2e commit -q -am v2 && git push -q {base}/origin.git main"
    ));
    t.twice(&[
        "git.repo",
        &format!("src={base}/origin.git"),
        &format!("dest={dest}"),
        "branch=main",
    ]);
    assert_eq!(t.check(&format!("cat {dest}/file")), "v2");
}

/// A unit that just sleeps, installed fresh (stopped, disabled) on the nspawn host.
fn sleep_unit(t: &Target, name: &str) {
    t.ssh(&format!("systemctl disable --now {name} 2>/dev/null; true"));
    t.check(&format!(
        "printf '[Unit]\\nDescription=rinfra e2e\\n[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/{name} && systemctl daemon-reload"
    ));
}

#[test]
fn systemd_service_start_and_enable() {
    let t = nspawn_host();
    let unit = "rinfra-e2e-systemd.service";
    sleep_unit(&t, unit);
    t.twice(&[
        "systemd.service",
        &format!("service={unit}"),
        "running=true",
        "enabled=true",
    ]);
    assert_eq!(t.check(&format!("systemctl is-active {unit}")), "active");
    assert_eq!(t.check(&format!("systemctl is-enabled {unit}")), "enabled");
    t.twice(&[
        "systemd.service",
        &format!("service={unit}"),
        "running=false",
        "enabled=false",
    ]);
    assert_ne!(t.ssh(&format!("systemctl is-active {unit}")).0, 0);
}

#[test]
fn server_service_dispatches_to_systemd() {
    let t = nspawn_host();
    let unit = "rinfra-e2e-server.service";
    sleep_unit(&t, unit);
    // without the suffix: systemd.service adds `.service`
    t.twice(&[
        "server.service",
        "service=rinfra-e2e-server",
        "enabled=true",
    ]);
    assert_eq!(t.check(&format!("systemctl is-active {unit}")), "active");
    assert_eq!(t.check(&format!("systemctl is-enabled {unit}")), "enabled");
    t.ssh(&format!("systemctl disable --now {unit}"));
}

// ---------------------------------------------------------------------------------------------
// bad input

#[test]
fn put_with_invalid_mode_fails_before_uploading() {
    let t = ssh_host();
    let base = t.fresh_dir("bad-mode");
    let dir = TestDir::new();
    let src = dir.write("f.txt", "x\n");
    let r = t.rinfra(
        &dir,
        &[
            "files.put",
            &format!("src={}", src.display()),
            &format!("dest={base}/f.txt"),
            "mode=9x",
        ],
    );
    assert_host_error(&r, &t.addr, &["invalid file mode `9x`"]);
    assert_ne!(
        t.ssh(&format!("test -e {base}/f.txt")).0,
        0,
        "nothing uploaded"
    );
}

#[test]
fn put_with_unknown_user_fails_on_that_host_only() {
    let a = ssh_host();
    let b = nspawn_host();
    let user = "rinfra-e2e-owner";
    // the owner exists on b only
    a.ssh(&format!("userdel {user} 2>/dev/null; true"));
    b.ssh(&format!("id {user} >/dev/null 2>&1 || useradd -M {user}"));
    let base = "/srv/rinfra-e2e-bad-user";
    for t in [&a, &b] {
        t.check(&format!("rm -rf {base} && mkdir -p {base}"));
    }
    let dir = TestDir::new();
    let src = dir.write("f.txt", "owned\n");
    let r = a.rinfra_on(
        &format!("{},{}", a.addr, b.addr),
        &dir,
        &[
            "files.put",
            &format!("src={}", src.display()),
            &format!("dest={base}/f.txt"),
            &format!("user={user}"),
        ],
    );
    assert_host_error(&r, &a.addr, &[user]);
    assert!(r.stderr.contains(&format!("[{}] Success", b.addr)), "{r:?}");
    assert_eq!(b.check(&format!("stat -c %U {base}/f.txt")), user);
}

#[test]
fn template_with_undefined_variable_names_file_line_and_variable() {
    let t = ssh_host();
    let base = t.fresh_dir("bad-template");
    let dir = TestDir::new();
    let src = dir.write(
        "broken.j2",
        "first line\nvalue={{ not_defined_anywhere }}\n",
    );
    let r = t.rinfra(
        &dir,
        &[
            "files.template",
            &format!("src={}", src.display()),
            &format!("dest={base}/out"),
        ],
    );
    assert_host_error(&r, &t.addr, &["broken.j2", "L2", "not_defined_anywhere"]);
    assert_ne!(
        t.ssh(&format!("test -e {base}/out")).0,
        0,
        "nothing written"
    );
}

#[test]
fn apt_packages_with_unknown_package_fails_for_that_host() {
    let _apt = apt_lock();
    let t = ssh_host();
    let dir = TestDir::new();
    let r = t.rinfra(&dir, &["apt.packages", "packages=rinfra-no-such-package"]);
    assert_host_error(
        &r,
        &t.addr,
        &["Unable to locate package rinfra-no-such-package"],
    );
}
