// Test-only helpers: `pub` within this test binary.
#![allow(unreachable_pub)]

//! The fixture: our own `sshd` processes on the controller, one per address `127.0.23.K:2222`
//! (the large fleet: 127.0.24.1-250 and 127.0.25.1-250), with a temp host key shared by a
//! fleet's hosts and a temp client key authorized for root; killed on drop. Plus the small
//! process, socket and mount helpers the fault tests share.
//!
//! The shared testbed (127.0.20.x-127.0.22.x, /tmp/rinfra-testbed) and the bench harness
//! (127.0.30.x, 127.0.31.x) are never touched.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";
pub const PORT: u16 = 2222;

/// Host numbers K for 127.0.23.K handed out to tests (9 is the packet-dropping address).
static NEXT_HOST: AtomicU8 = AtomicU8::new(10);
pub const DROP_HOST: u8 = 9;

/// A fresh host number for one fixture host.
pub fn next_host() -> u8 {
    let k = NEXT_HOST.fetch_add(1, Ordering::SeqCst);
    assert!(k < 250, "out of 127.0.23.K addresses");
    k
}

/// The `/24`s of the large fleet ([`Fleet::start_large`]), 250 hosts each: apart from the
/// small fleets' 127.0.23.x so that both run side by side.
const LARGE_NETS: [u8; 2] = [24, 25];

/// The most hosts [`Fleet::start_large`] can start.
pub const LARGE_MAX: usize = 250 * LARGE_NETS.len();

/// Small fleets share the machine (read side); a large fleet has it to itself (write side).
///
/// Hundreds of sshd handshakes and sessions on this machine's two cores slow every other
/// fixture host down, and some tests count on a healthy host answering within seconds (a
/// 2-second connect timeout for the others of a packet-dropping host): so no small fleet runs
/// while a large one does. A test holds one fleet at a time: a second shared hold, taken while
/// a large fleet waits for the lock, would wait forever.
static LOAD: RwLock<()> = RwLock::new(());

/// A fleet's hold on [`LOAD`], released when the fleet is dropped.
enum LoadGuard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// One `sshd -D` listening on `addr:2222`.
pub struct Sshd {
    pub addr: String,
    ip: Ipv4Addr,
    child: Option<Child>,
    dir: PathBuf,
}

/// Several fixture hosts sharing one client key (and one host key).
pub struct Fleet {
    dir: tempfile::TempDir,
    pub key: PathBuf,
    pub hosts: Vec<Sshd>,
    /// Dropped after the hosts are killed (fields drop after `Drop::drop`).
    _load: LoadGuard,
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fail (not skip) when the fixture cannot run here, with what to do about it.
pub fn require_root_and_sshd() {
    assert!(
        Path::new(SSHD).is_file(),
        "{SSHD} is not installed: the fault tests start their own sshd processes; \
         install openssh-server (`.ci/run` does, with a policy-rc.d so no system sshd starts)"
    );
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the fault tests must run as root (own sshd, iptables, tmpfs mounts): use `sudo scripts/test`"
    );
}

/// Take [`LOAD`], shared or exclusive. A test that failed while holding it does not make
/// every later one fail too: the lock guards no data.
fn take_load(exclusive: bool) -> LoadGuard {
    if exclusive {
        LoadGuard::Exclusive(LOAD.write().unwrap_or_else(|e| e.into_inner()))
    } else {
        LoadGuard::Shared(LOAD.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Fleet {
    /// Start `n` hosts on fresh addresses.
    pub fn start(n: usize) -> Fleet {
        let ks: Vec<u8> = (0..n).map(|_| next_host()).collect();
        Fleet::start_on(&ks)
    }

    /// Start hosts on 127.0.23.K for each K.
    pub fn start_on(ks: &[u8]) -> Fleet {
        let ips: Vec<Ipv4Addr> = ks.iter().map(|&k| Ipv4Addr::new(127, 0, 23, k)).collect();
        Fleet::start_ips(&ips, 50, take_load(false))
    }

    /// Start `n` hosts (at most [`LARGE_MAX`]) on 127.0.24.1-250, then 127.0.25.1-250, once no
    /// other fleet runs; other fleets wait until this one is dropped. They allow sshd's default
    /// of 10 sessions per connection, as most real hosts do: a client that leaks channels runs
    /// out of them within a few operations.
    pub fn start_large(n: usize) -> Fleet {
        assert!(
            n <= LARGE_MAX,
            "at most {LARGE_MAX} hosts in the large range"
        );
        let ips: Vec<Ipv4Addr> = LARGE_NETS
            .iter()
            .flat_map(|&net| (1..=250).map(move |k| Ipv4Addr::new(127, 0, net, k)))
            .take(n)
            .collect();
        // Before anything is started: no other fleet is running from here on.
        let load = take_load(true);
        Fleet::start_ips(&ips, 10, load)
    }

    /// Start one sshd on each of `ips`: all are spawned first, then awaited together, so a
    /// large fleet starts in about the time one sshd takes per core rather than one after
    /// another with a wait each.
    fn start_ips(ips: &[Ipv4Addr], max_sessions: u32, load: LoadGuard) -> Fleet {
        require_root_and_sshd();
        // sshd's privilege separation directory (Debian creates it in the service unit).
        std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("rinfra-faults-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("client_key");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "faults", "-f"])
                .arg(&key),
        );
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(key.with_extension("pub"), &authorized).unwrap();
        // One host key for the whole fleet: hosts are told apart by address, and the clients
        // do not check host keys (`ssh_strict_host_key_checking=no`).
        let host_key = dir.path().join("host_key");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key),
        );
        let mut fleet = Fleet {
            dir,
            key,
            hosts: Vec::new(),
            _load: load,
        };
        for &ip in ips {
            let host = Sshd::spawn(fleet.dir.path(), ip, &host_key, &authorized, max_sessions);
            fleet.hosts.push(host);
        }
        fleet.wait_listening();
        fleet
    }

    /// Wait until every host listens (one look at the socket table per round, no probe
    /// connections: each would cost its sshd a fork and an exec); fail on a host whose sshd
    /// exited.
    fn wait_listening(&mut self) {
        // A safety limit only: sshd normally listens within milliseconds of starting, and
        // hundreds of them within seconds.
        let deadline = Instant::now()
            + Duration::from_secs(60)
            + self.hosts.len() as u32 * Duration::from_millis(100);
        loop {
            for h in &mut self.hosts {
                h.check_running();
            }
            let listening: HashSet<Ipv4Addr> = tcp_sockets()
                .into_iter()
                .filter(|s| s.state == TCP_LISTEN && s.local.port() == PORT)
                .map(|s| *s.local.ip())
                .collect();
            let waiting: Vec<&str> = self
                .hosts
                .iter()
                .filter(|h| !listening.contains(&h.ip))
                .map(|h| h.addr.as_str())
                .collect();
            if waiting.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} sshd never listened on port {PORT}: {waiting:?}",
                waiting.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A private directory of the fixture (not /tmp itself).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn addrs(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.addr.clone()).collect()
    }

    /// The comma-list inventory of every host.
    pub fn inventory(&self) -> String {
        self.addrs().join(",")
    }

    /// `--data` arguments to reach the hosts as root with the fixture key.
    pub fn ssh_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        for d in [
            format!("ssh_port={PORT}"),
            format!("ssh_key={}", self.key.display()),
            "ssh_user=root".to_string(),
            "ssh_strict_host_key_checking=no".to_string(),
        ] {
            v.push("--data".to_string());
            v.push(d);
        }
        v
    }

    /// Kill host `i`'s sshd and every process under it (its sessions and their commands).
    pub fn kill_host(&mut self, i: usize) {
        self.hosts[i].kill();
    }

    /// The pids of the listeners still running.
    pub fn pids(&self) -> Vec<i32> {
        self.hosts.iter().filter_map(Sshd::pid).collect()
    }
}

impl Drop for Fleet {
    /// Kill every listener and everything under them from one look at the process table (a
    /// look per host would read /proc hundreds of times over for a large fleet), then reap them.
    fn drop(&mut self) {
        let tree = ProcessTree::now();
        for h in &self.hosts {
            let Some(pid) = h.pid() else { continue };
            for p in std::iter::once(pid).chain(tree.descendants(pid)) {
                // SAFETY: kill(2) on our own sshd and the pids found under it.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        for h in &mut self.hosts {
            if let Some(mut child) = h.child.take() {
                let _ = child.wait();
            }
        }
    }
}

impl Sshd {
    /// Start `sshd -D` on `ip:2222` (without waiting for it to listen), with its own config,
    /// pid file and log in a directory under `base`.
    fn spawn(
        base: &Path,
        ip: Ipv4Addr,
        host_key: &Path,
        authorized: &Path,
        max_sessions: u32,
    ) -> Sshd {
        let addr = ip.to_string();
        let dir = base.join(format!("host-{addr}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("sshd_config");
        // `SetEnv SHLVL=1`: root's login shell is bash, which sources ~/.bashrc for commands
        // run by sshd unless it is a nested shell (SHLVL >= 2 once bash counts itself). The
        // controller's root has a heavy one (`pyenv init`: a tenth of a second or more per
        // command); a target's root would not, and a run over hundreds of hosts would spend
        // most of its time there.
        std::fs::write(
            &config,
            format!(
                "ListenAddress {addr}:{PORT}\n\
                 HostKey {host_key}\n\
                 AuthorizedKeysFile {authorized}\n\
                 PermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PidFile {pid}\n\
                 Subsystem sftp internal-sftp\n\
                 MaxStartups 100:30:200\n\
                 MaxSessions {max_sessions}\n\
                 LogLevel ERROR\n\
                 SetEnv SHLVL=1\n",
                host_key = host_key.display(),
                authorized = authorized.display(),
                pid = dir.join("sshd.pid").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        Sshd {
            addr,
            ip,
            child: Some(child),
            dir,
        }
    }

    /// Fail if the sshd exited (with its log: usually the address is in use).
    fn check_running(&mut self) {
        if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
            let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
            panic!(
                "sshd for {} exited ({status}) before listening (address in use by a \
                 leftover fault-test sshd?):\n{log}",
                self.addr
            );
        }
    }

    /// The listener's pid.
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// Kill the listener and everything under it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            let mut all = vec![pid];
            all.extend(descendants(pid));
            for p in all {
                // SAFETY: kill(2) on pids we found under our own sshd.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `(pid, ppid, session id, command line)` of every process.
pub fn processes() -> Vec<(i32, i32, i32, String)> {
    let mut v = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp session ...: comm may contain spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 4 || f[0] == "Z" {
            continue;
        }
        let (Ok(ppid), Ok(sid)) = (f[1].parse(), f[3].parse()) else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        v.push((pid, ppid, sid, cmdline));
    }
    v
}

/// Every process below `pid`.
pub fn descendants(pid: i32) -> Vec<i32> {
    ProcessTree::now().descendants(pid)
}

/// Who is whose child, from one look at the process table.
pub struct ProcessTree {
    children: HashMap<i32, Vec<i32>>,
}

impl ProcessTree {
    pub fn now() -> ProcessTree {
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for (pid, ppid, _, _) in processes() {
            children.entry(ppid).or_default().push(pid);
        }
        ProcessTree { children }
    }

    /// Every process below `pid` (breadth first).
    pub fn descendants(&self, pid: i32) -> Vec<i32> {
        let mut found = vec![pid];
        let mut i = 0;
        while i < found.len() {
            if let Some(kids) = self.children.get(&found[i]) {
                found.extend(kids);
            }
            i += 1;
        }
        found.remove(0);
        found
    }
}

/// `st` of a listening socket in `/proc/net/tcp`.
pub const TCP_LISTEN: u8 = 0x0A;
/// `st` of a socket in TIME_WAIT: closed on both sides, only the kernel's memory of it left.
pub const TCP_TIME_WAIT: u8 = 0x06;

/// One IPv4 TCP socket of `/proc/net/tcp`.
#[derive(Clone, Copy, Debug)]
pub struct TcpSocket {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The kernel's state number (`TCP_ESTABLISHED` = 1, ... see `include/net/tcp_states.h`).
    pub state: u8,
}

/// `0100007F:08AE` → 127.0.0.1:2222: the address is the in-memory (network order) `u32`
/// printed as a native integer, the port a host-order number.
fn parse_proc_addr(s: &str) -> Option<SocketAddrV4> {
    let (ip, port) = s.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddrV4::new(Ipv4Addr::from(ip.to_ne_bytes()), port))
}

/// The IPv4 TCP sockets of this network namespace (every process's, not only ours).
pub fn tcp_sockets() -> Vec<TcpSocket> {
    let text = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(TcpSocket {
                local: parse_proc_addr(f.get(1)?)?,
                remote: parse_proc_addr(f.get(2)?)?,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
            })
        })
        .collect()
}

/// Processes (other than zombies) whose command line contains `needle`, as `pgrep -af` would
/// list them.
pub fn pgrep(needle: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-a", "-f", "--", needle])
        .output()
        .expect("pgrep (procps) is needed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Poll (a bounded number of times) until no process matches `needle`; return what is left.
pub fn wait_gone(needle: &str) -> Vec<String> {
    let mut left = pgrep(needle);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = pgrep(needle);
    }
    left
}

/// A running `rinfra` whose stderr lines are seen as they come.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
    stdout: mpsc::Receiver<String>,
}

/// What a run printed, and how it ended.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The pid (= session id) the run had.
    pub pid: i32,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Safety limit for one run: a hang fails the test instead of blocking the suite.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

impl Running {
    /// Start `cmd` in its own session (so whatever it leaves behind can be found), with piped
    /// output and no stdin.
    pub fn start(mut cmd: Command) -> Running {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setsid is async-signal-safe and runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start rinfra");
        let mut out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (out_tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            let _ = out_tx.send(String::from_utf8_lossy(&b).into_owned());
        });
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).split(b'\n') {
                let Ok(line) = line else { break };
                if tx
                    .send(String::from_utf8_lossy(&line).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr_seen: Vec::new(),
            stdout,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for a stderr line containing `needle` (panics at the safety limit or at exit).
    pub fn wait_for_line(&mut self, needle: &str) {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.stderr_seen.push(l);
                    if hit {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no `{needle}` line on stderr:\n{}",
                        self.stderr_seen.join("\n")
                    );
                }
            }
        }
    }

    /// Wait for the exit (killing the run at the safety limit, then failing).
    pub fn finish(self) -> Finished {
        self.finish_within(RUN_LIMIT)
    }

    /// [`Running::finish`] with another safety limit (a run over hundreds of hosts).
    pub fn finish_within(mut self, limit: Duration) -> Finished {
        let pid = self.pid();
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let mut seen = self.stderr_seen;
                seen.extend(self.lines.try_iter());
                panic!("rinfra hung; stderr so far:\n{}", seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The readers end at EOF, when every process holding the pipes is gone: a child left
        // behind holding them must not hang the test (it is reported by other checks).
        let stdout = self
            .stdout
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| "<stdout still open: a process left behind holds it>".into());
        let mut lines = self.stderr_seen;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) => lines.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    lines.push("<stderr still open: a process left behind holds it>".into());
                    break;
                }
            }
        }
        let mut stderr = lines.join("\n");
        stderr.push('\n');
        Finished {
            code: {
                use std::os::unix::process::ExitStatusExt;
                status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
            },
            stdout,
            stderr,
            pid,
        }
    }
}

/// Processes still in session `sid` (what a finished run left running).
pub fn session_leftovers(sid: i32) -> Vec<String> {
    processes()
        .into_iter()
        .filter(|(_, _, s, _)| *s == sid)
        .map(|(p, _, _, c)| format!("{p} {c}"))
        .collect()
}

/// A 1 MiB tmpfs mounted on a fresh directory; unmounted on drop.
pub struct SmallFs {
    pub dir: tempfile::TempDir,
}

impl SmallFs {
    pub fn mount() -> SmallFs {
        require_root_and_sshd();
        let dir = tempfile::Builder::new()
            .prefix("rinfra-faults-full-")
            .tempdir()
            .unwrap();
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=1m,mode=1777", "tmpfs"])
                .arg(dir.path()),
        );
        SmallFs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Names in the filesystem's root.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// `iptables -I INPUT -d ADDR -p tcp --dport 2222 -j DROP`, removed on drop.
pub struct DropRule {
    spec: Vec<String>,
}

impl DropRule {
    pub fn add(addr: &str) -> DropRule {
        require_root_and_sshd();
        assert!(
            addr.starts_with("127.0.23."),
            "only fixture addresses are blocked"
        );
        let iptables = Command::new("iptables").arg("-V").output();
        assert!(
            iptables.is_ok_and(|o| o.status.success()),
            "iptables is not available: install the `iptables` package (.ci/run does)"
        );
        let spec: Vec<String> = [
            "INPUT", "-d", addr, "-p", "tcp", "--dport", "2222", "-j", "DROP",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rule = DropRule { spec };
        rule.remove_all(); // a leftover of an interrupted run
        run_ok(Command::new("iptables").arg("-I").args(&rule.spec));
        rule
    }

    fn remove_all(&self) {
        for _ in 0..10 {
            let removed = Command::new("iptables")
                .arg("-D")
                .args(&self.spec)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !removed {
                break;
            }
        }
    }
}

impl Drop for DropRule {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// A user on the controller that the testbed's `local` part creates.
pub fn require_local_user(user: &str) {
    let ok = Command::new("id")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the local user `{user}` does not exist: run `sudo scripts/testbed up` (or \
         `TESTBED_PARTS=local scripts/testbed up`) first; `sudo scripts/test` does it"
    );
}

/// Files under `dir` (recursively) whose name contains `needle`.
pub fn find_named(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().contains(needle) {
                found.push(p.clone());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    found
}
