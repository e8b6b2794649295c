//! `rinfra @dockerssh/root@HOST:IMAGE exec -- ...` end to end, against the testbed's docker
//! engine reached through an sshd this test starts on the controller (127.0.22.2:2222; the
//! rinfra-ssh tests use 127.0.22.1:2222), whose sessions get `DOCKER_HOST` of the testbed engine.
//!
//! Needs the testbed (`scripts/testbed up`, then `. /tmp/rinfra-testbed/env`) and root.

mod util;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::TestDir;

const ADDR: &str = "127.0.22.2";
const PORT: u16 = 2222;

fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the project testbed. Run `scripts/testbed up`, \
             then `. /tmp/rinfra-testbed/env` in the shell running `cargo test`"
        ),
    }
}

/// The test's own sshd, killed (and waited for) on drop.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sshd(dir: &TestDir, key: &str, docker_host: &str) -> Sshd {
    let d = dir.path().display();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.join("host_key"))
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    std::fs::copy(format!("{key}.pub"), dir.join("authorized_keys")).unwrap();
    dir.write(
        "sshd_config",
        &format!(
            "ListenAddress {ADDR}:{PORT}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nSetEnv DOCKER_HOST={docker_host}\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n"
        ),
    );
    std::fs::create_dir_all("/run/sshd").unwrap();
    let mut child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start /usr/sbin/sshd (as root; apt-get install openssh-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ADDR, PORT)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sshd on {ADDR}:{PORT} exited: {status}");
        }
        assert!(Instant::now() < deadline, "sshd on {ADDR}:{PORT} not up");
        std::thread::sleep(Duration::from_millis(50));
    }
    Sshd(child)
}

#[test]
fn exec_in_a_container_over_ssh() {
    let key = env("RINFRA_TB_SSH_KEY");
    let docker_host = env("RINFRA_TB_DOCKER_HOST");
    let image = env("RINFRA_TB_DOCKER_IMAGE");
    let dir = TestDir::new();
    let _sshd = start_sshd(&dir, &key, &docker_host);
    let host = format!("@dockerssh/root@{ADDR}:{image}");
    let data = [
        format!("ssh_port={PORT}"),
        format!("ssh_key={key}"),
        "ssh_strict_host_key_checking=no".into(),
        format!("ssh_known_hosts_file={}", dir.join("known_hosts").display()),
    ];
    let mut args = vec![host.as_str()];
    for d in &data {
        args.extend(["--data", d.as_str()]);
    }
    args.extend(["exec", "--", "cat", "/etc/debian_version"]);
    let r = dir.run(&args);
    // Remove the committed image whatever the outcome.
    let image_id = r
        .stderr
        .lines()
        .chain(r.stdout.lines())
        .find_map(|l| l.split("docker build complete, image ID: ").nth(1))
        .map(|s| s.trim().to_string());
    if let Some(id) = &image_id {
        let _ = Command::new("docker")
            .env("DOCKER_HOST", &docker_host)
            .args(["rmi", "-f", id])
            .output();
    }
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!("[{host}] 12.")) || r.stderr.contains(&format!("[{host}] 12.")),
        "{r:?}"
    );
    assert!(image_id.is_some(), "no commit notice: {r:?}");
}
