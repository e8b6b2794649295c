//! Fact parsing: `Fact::process` on realistic command output.
//!
//! Every fact a deploy asks for is a command's stdout parsed into pyinfra's JSON shape, once
//! per host (and again after a change invalidates it). Package lists and users are the large
//! outputs: `deb.DebPackages` on a desktop or build host is 1,000+ `dpkg -l` lines, and
//! `apt.packages` / `server.user` load them on every host.
//!
//! The outputs are those of pyinfra's test vectors (`tests/vectors/facts`) in the format the
//! real commands print (`dpkg -l` with its header and padded columns, Debian 12's
//! `/etc/os-release`, GNU `stat`), scaled up:
//!
//! * `server.Os`: `uname -s`;
//! * `server.LinuxDistribution`: Debian 12's os-release;
//! * `files.File`: one `stat` line;
//! * `deb.DebPackages`: 100 and 1,000 packages;
//! * `server.Users`: 10 and 100 users.
//!
//! Facts are looked up in the registry by name, as the engine does. The setup is not measured.
//!
//! Run with `cargo bench -p rinfra-ops --bench facts`.

use divan::{black_box, Bencher};
use rinfra_core::{FactArgs, FactRegistry};
use serde_json::json;

fn main() {
    divan::main();
}

fn registry() -> FactRegistry {
    let mut facts = FactRegistry::new();
    rinfra_ops::register_facts(&mut facts);
    facts
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// Parse `stdout` with the fact `name`, checking once that it parses into an object of
/// `keys` keys.
fn bench_fact(bencher: Bencher, name: &str, stdout: &[String], args: FactArgs, keys: usize) {
    let facts = registry();
    let fact = facts.get(name).expect("registered fact");
    let value = fact.process(stdout, &args).expect("parses");
    let len = value.as_object().map_or(1, |o| o.len());
    assert_eq!(len, keys, "{name}: {value}");
    bencher
        .counter(divan::counter::ItemsCount::new(stdout.len()))
        .bench(|| fact.process(black_box(stdout), black_box(&args)));
}

#[divan::bench]
fn server_os(bencher: Bencher) {
    bench_fact(bencher, "server.Os", &lines("Linux"), FactArgs::new(), 1);
}

const DEBIAN_12: &str = r#"/etc/os-release
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
---"#;

#[divan::bench]
fn server_linux_distribution(bencher: Bencher) {
    bench_fact(
        bencher,
        "server.LinuxDistribution",
        &lines(DEBIAN_12),
        FactArgs::new(),
        4,
    );
}

#[divan::bench]
fn files_file(bencher: Bencher) {
    let stdout = lines(
        "user=app group=www-data mode=-rw-r----- atime=1717243200 mtime=1717239600 \
         ctime=1717239600 size=4096 '/srv/app/conf/app.conf'",
    );
    let args = json!({"path": "/srv/app/conf/app.conf"});
    bench_fact(
        bencher,
        "files.File",
        &stdout,
        args.as_object().cloned().unwrap_or_default(),
        7,
    );
}

/// `dpkg -l` with its header and `packages` package lines (some multiarch `name:amd64`, some
/// on hold).
fn dpkg_output(packages: usize) -> Vec<String> {
    let mut out = lines(
        "Desired=Unknown/Install/Remove/Purge/Hold
| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend
|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)
||/ Name                                      Version                        Architecture Description
+++-=========================================-==============================-============-================================================================================",
    );
    let bases = [
        (
            "libssl",
            "3.0.13-1~deb12u1",
            "amd64",
            "Secure Sockets Layer toolkit - shared libraries",
        ),
        (
            "python3-yaml",
            "6.0-3+b2",
            "amd64",
            "YAML parser and emitter for Python3",
        ),
        (
            "x11-common",
            "1:7.7+23",
            "all",
            "X Window System (X.Org) infrastructure",
        ),
        (
            "wget",
            "1.21.3-1+b2",
            "amd64",
            "retrieves files from the web",
        ),
        (
            "libc6",
            "2.36-9+deb12u7",
            "amd64",
            "GNU C Library: Shared libraries",
        ),
    ];
    for i in 0..packages {
        let (base, version, arch, description) = bases[i % bases.len()];
        let name = if arch == "amd64" && i.is_multiple_of(3) {
            format!("{base}-{i}:amd64")
        } else {
            format!("{base}-{i}")
        };
        let state = if i.is_multiple_of(50) { "hi" } else { "ii" };
        out.push(format!(
            "{state}  {name:<41} {version:<30} {arch:<12} {description}"
        ));
    }
    out
}

#[divan::bench(args = [100, 1_000])]
fn deb_packages(bencher: Bencher, packages: usize) {
    bench_fact(
        bencher,
        "deb.DebPackages",
        &dpkg_output(packages),
        FactArgs::new(),
        packages,
    );
}

/// `server.Users` output: passwd entry | primary group | groups | lastlog (`tr -s ' '`) |
/// password hash.
fn users_output(users: usize) -> Vec<String> {
    let mut out = lines(
        "root:x:0:0:root:/root:/bin/bash|root|root|root pts/0 10.0.0.1 Sat Jun 1 12:03:23 +0000 2024|$y$j9T$rootsalt$roothash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin|daemon|daemon|**Never logged in**|*
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin|www-data|www-data|**Never logged in**|*",
    );
    for i in out.len()..users {
        let name = format!("user{i}");
        let lastlog = if i.is_multiple_of(4) {
            "**Never logged in**".to_string()
        } else {
            format!(
                "{name} pts/{} 10.0.{}.{} Mon Jun 3 0{}:1{}:2{} +0200 2024",
                i % 8,
                i % 250,
                i % 200,
                i % 10,
                i % 6,
                i % 10
            )
        };
        out.push(format!(
            "{name}:x:{uid}:{uid}:User {i},,,:/home/{name}:/bin/bash|{name}|{name} sudo docker adm|{lastlog}|$y$j9T$salt{i}$hash{i}",
            uid = 1000 + i
        ));
    }
    out
}

#[divan::bench(args = [10, 100])]
fn server_users(bencher: Bencher, users: usize) {
    bench_fact(
        bencher,
        "server.Users",
        &users_output(users),
        FactArgs::new(),
        users,
    );
}
