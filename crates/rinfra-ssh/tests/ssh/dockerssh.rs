//! `@dockerssh/HOST:IMAGE` against a real docker engine reached over a real sshd.
//!
//! The testbed's ssh hosts have no docker inside, so each test starts its own sshd on the
//! controller (127.0.22.1:2222, root, keys only) whose sessions get
//! `DOCKER_HOST=$RINFRA_TB_DOCKER_HOST`: `docker` run over that ssh talks to the testbed's
//! private dockerd, where the image `$RINFRA_TB_DOCKER_IMAGE` is. The tests run one at a time
//! (they share the address) and stop their sshd at the end.

use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rinfra_connectors::{
    Connector, ConnectorArguments, FileSource, GetFile, HostContext, InventoryConnector,
    OutputLine, PutFile, Reporter, Secret,
};
use rinfra_ssh::DockerSshInventory;
use serde_json::{json, Value};

use crate::common::*;

const ADDR: &str = "127.0.22.1";
const PORT: u16 = 2222;

fn need(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{var} is not set: the @dockerssh tests need the testbed's ssh key and docker engine. \
             Run `scripts/testbed up` (as root), then `. $TB/env` (TB defaults to \
             /tmp/rinfra-testbed) and run the tests again"
        ),
    }
}

struct Env {
    key: PathBuf,
    docker_host: String,
    image: String,
    /// `CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF` of the testbed's podman, when it is up.
    podman: Option<(String, String)>,
}

fn env() -> Env {
    let key = PathBuf::from(need("RINFRA_TB_SSH_KEY"));
    assert!(
        key.exists(),
        "RINFRA_TB_SSH_KEY points to `{}`, which does not exist: run `scripts/testbed up`",
        key.display()
    );
    Env {
        key,
        docker_host: need("RINFRA_TB_DOCKER_HOST"),
        image: need("RINFRA_TB_DOCKER_IMAGE"),
        podman: std::env::var("RINFRA_TB_PODMAN_CONTAINERS_CONF")
            .ok()
            .zip(std::env::var("RINFRA_TB_PODMAN_STORAGE_CONF").ok()),
    }
}

/// One test at a time: they share 127.0.22.1:2222.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// A dedicated sshd on the controller, stopped (and waited for) on drop.
struct Sshd {
    child: Child,
    /// Config, host key, log: removed after the sshd is gone.
    _dir: tempfile::TempDir,
}

impl Sshd {
    fn start(env: &Env) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(
            std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(u32::MAX),
            0,
            "the @dockerssh tests start an sshd on {ADDR}:{PORT} and must run as root"
        );
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "/usr/sbin/sshd is missing: `apt-get install -y openssh-server` (with a policy-rc.d \
             that keeps it from starting a system sshd; .ci/run does this)"
        );
        let dir = tempfile::Builder::new()
            .prefix("dockerssh-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join("host_key"))
            .status()
            .expect("ssh-keygen");
        assert!(st.success(), "ssh-keygen failed");
        std::fs::copy(
            format!("{}.pub", env.key.display()),
            d.join("authorized_keys"),
        )
        .expect("copy the public key");
        let config = format!(
            "ListenAddress {ADDR}:{PORT}\n\
             HostKey {d}/host_key\n\
             PidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin prohibit-password\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             UsePAM no\n\
             StrictModes no\n\
             MaxStartups 100:30:200\n\
             MaxSessions 100\n\
             SetEnv DOCKER_HOST={docker}{podman}\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n",
            d = d.display(),
            docker = env.docker_host,
            podman = match &env.podman {
                Some((conf, storage)) => {
                    format!(" CONTAINERS_CONF={conf} CONTAINERS_STORAGE_CONF={storage}")
                }
                None => String::new(),
            },
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        // sshd insists on its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();

        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::File::create(d.join("sshd.log")).unwrap();
            let mut child = Command::new(sshd)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            // Up when it accepts connections; a failed bind (an sshd of an earlier test still
            // going away) makes it exit: try again.
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut log = String::new();
                    std::fs::File::open(d.join("sshd.log"))
                        .unwrap()
                        .read_to_string(&mut log)
                        .unwrap();
                    assert!(
                        Instant::now() < deadline,
                        "sshd on {ADDR}:{PORT} exited ({status}): {log}"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                    break;
                }
                if TcpStream::connect((ADDR, PORT)).is_ok() {
                    return Self { child, _dir: dir };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("sshd on {ADDR}:{PORT} did not come up");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records notices (the committed image id) and output.
#[derive(Default)]
struct Notices(Mutex<Vec<String>>);

impl Reporter for Notices {
    fn command_input(&self, _: &str, _: &str) {}
    fn command_output(&self, _: &str, _: &OutputLine) {}
    fn notice(&self, _: &str, text: &str) {
        self.0.lock().unwrap().push(text.to_string());
    }
    fn prompt_secret(&self, _: &str, _: &str) -> Option<Secret> {
        None
    }
}

impl Notices {
    /// The image id of `docker build complete, image ID: ID`.
    fn image_id(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find_map(|n| n.split_once("build complete, image ID: ").map(|(_, id)| id))
            .map(str::to_string)
    }
}

/// `docker ARGS` on the controller against the testbed engine: (success, stdout, stderr).
fn docker(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("docker")
        .env("DOCKER_HOST", &env.docker_host)
        .args(args)
        .output()
        .expect("run docker");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// Removes a container (and an image) whatever happens to the test.
struct Cleanup<'a> {
    env: &'a Env,
    containers: Vec<String>,
    images: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker(self.env, &["rm", "-f", c]);
        }
        for i in &self.images {
            let _ = docker(self.env, &["rmi", "-f", i]);
        }
    }
}

fn host_data(env: &Env, known_hosts: &Path) -> Value {
    json!({
        "ssh_port": PORT,
        "ssh_key": env.key.to_str().unwrap(),
        "ssh_strict_host_key_checking": "no",
        "ssh_known_hosts_file": known_hosts.to_str().unwrap(),
    })
}

/// A connector for `@dockerssh/root@127.0.22.1:IMAGE` with `extra` data over the usual.
fn dockerssh(
    image: &str,
    data: Value,
    reporter: Arc<dyn Reporter>,
) -> (String, Arc<dyn Connector>) {
    connector_of(DockerSshInventory::docker(), image, data, reporter)
}

fn connector_of(
    inv: DockerSshInventory,
    image: &str,
    data: Value,
    reporter: Arc<dyn Reporter>,
) -> (String, Arc<dyn Connector>) {
    let inv = inv.with_ssh(inventory());
    let names = inv
        .make_names_data(Some(&format!("root@{ADDR}:{image}")))
        .unwrap();
    let mut host_data = names[0].data.clone();
    for (k, v) in data.as_object().unwrap() {
        host_data.insert(k.clone(), v.clone());
    }
    let name = names[0].name.clone();
    let conn = inv
        .new_connector(HostContext::new(&name, host_data, reporter))
        .unwrap();
    (name, conn)
}

/// The container's id as seen from inside (its hostname is the short id).
async fn container_of(conn: &Arc<dyn Connector>) -> String {
    ok(conn, "hostname").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_stdin_escalation_commit_and_remove() {
    let env = env();
    let _serial = serial().await;
    let sshd = Sshd::start(&env);
    let dir = tmp();
    let notices = Arc::new(Notices::default());
    let (name, conn) = dockerssh(
        &env.image,
        host_data(&env, &dir.path().join("known_hosts")),
        notices.clone(),
    );
    assert_eq!(name, format!("@dockerssh/root@{ADDR}:{}", env.image));
    conn.connect().await.unwrap();
    let short = container_of(&conn).await;
    let mut cleanup = Cleanup {
        env: &env,
        containers: vec![short.clone()],
        images: vec![],
    };

    // It is the container made from the image on the engine sshd's sessions use.
    let (found, running, _) = docker(
        &env,
        &[
            "container",
            "inspect",
            "--format",
            "{{.State.Running}} {{.Config.Image}}",
            &short,
        ],
    );
    assert!(found, "container {short} not on the testbed engine");
    assert_eq!(running, format!("true {}", env.image));
    assert!(ok(&conn, "cat /etc/debian_version").await.starts_with("12"));

    // Exit codes and output streams.
    let (success, out) = sh(&conn, "echo out; echo err >&2; exit 3").await;
    assert!(!success);
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout_lines(), ["out"]);
    assert_eq!(out.stderr_lines(), ["err"]);

    // Quoting survives the three shells (ssh login shell, docker exec sh -c, the wrapper).
    assert_eq!(
        ok(&conn, r#"printf '%s\n' "it's" '$HOME' "a\"b""#).await,
        "it's\n$HOME\na\"b"
    );

    // Stdin.
    let args = ConnectorArguments {
        stdin: Some(vec!["first line".into(), "second 'quoted' line".into()]),
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "cat; echo done", &args).await;
    assert!(success, "{out:?}");
    assert_eq!(
        out.stdout_lines(),
        ["first line", "second 'quoted' line", "done"]
    );

    // _get_pty: a terminal inside the container (ssh pty + `docker exec -t`).
    let pty = ConnectorArguments {
        get_pty: true,
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "test -t 1 && echo tty", &pty).await;
    assert!(success, "{out:?}");
    assert_eq!(out.stdout(), "tty");

    // Escalation inside the container (tester exists in the image, with sudo).
    let su = ConnectorArguments {
        su_user: Some("tester".into()),
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "id -un; echo \"$HOME\"", &su).await;
    assert!(success, "{out:?}");
    assert_eq!(out.stdout_lines(), ["tester", "/home/tester"]);
    let sudo = ConnectorArguments {
        sudo: true,
        sudo_user: Some("tester".into()),
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "id -un", &sudo).await;
    assert!(success, "{out:?}");
    assert_eq!(out.stdout(), "tester");
    let sudo_root = ConnectorArguments {
        sudo: true,
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "id -u", &sudo_root).await;
    assert!(success, "{out:?}");
    assert_eq!(out.stdout(), "0");

    // State left in the container is committed at disconnect.
    ok(&conn, "echo committed > /rinfra-dockerssh-marker").await;
    conn.disconnect().await;
    let image = notices
        .image_id()
        .unwrap_or_else(|| panic!("no image id notice: {:?}", notices.0.lock().unwrap()));
    cleanup.images.push(image.clone());
    let (exists, _, _) = docker(&env, &["image", "inspect", &image]);
    assert!(exists, "committed image {image} not found");
    let (gone, ps, _) = docker(
        &env,
        &[
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("id={short}"),
        ],
    );
    assert!(gone);
    assert_eq!(ps, "", "container {short} still exists after disconnect");
    let (ran, marker, err) = docker(
        &env,
        &[
            "run",
            "--rm",
            "--pull",
            "never",
            &image,
            "cat",
            "/rinfra-dockerssh-marker",
        ],
    );
    assert!(ran, "{err}");
    assert_eq!(marker, "committed");
    drop(sshd);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_files() {
    let env = env();
    let _serial = serial().await;
    let _sshd = Sshd::start(&env);
    let dir = tmp();
    let notices = Arc::new(Notices::default());
    let (_, conn) = dockerssh(
        &env.image,
        host_data(&env, &dir.path().join("known_hosts")),
        notices.clone(),
    );
    let host_temps_before = host_temps();
    conn.connect().await.unwrap();
    let short = container_of(&conn).await;
    let mut cleanup = Cleanup {
        env: &env,
        containers: vec![short.clone()],
        images: vec![],
    };
    let args = ConnectorArguments::default();
    let stat = |path: &str| {
        let (found, out, err) = docker(&env, &["exec", &short, "stat", "-c", "%a %U %s", path]);
        assert!(found, "stat {path}: {err}");
        out
    };
    let cat = |path: &str| {
        let (found, out, err) = docker(&env, &["exec", &short, "cat", path]);
        assert!(found, "cat {path}: {err}");
        out
    };

    // A new file, binary content, a name that needs quoting.
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let remote = "/root/rinfra put 'dockerssh'";
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(content.clone()),
            remote,
            &args
        ))
        .await
        .unwrap());
    assert_eq!(stat(remote), "600 root 100000");
    let got = dir.path().join("got");
    assert!(conn
        .get_file(GetFile::new(remote, &got, &args))
        .await
        .unwrap());
    assert_eq!(std::fs::read(&got).unwrap(), content);

    // An existing file keeps its mode and owner.
    ok(
        &conn,
        "printf old > /etc/dockerssh-mode && chmod 751 /etc/dockerssh-mode",
    )
    .await;
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"new\n".to_vec()),
            "/etc/dockerssh-mode",
            &args
        ))
        .await
        .unwrap());
    assert_eq!(stat("/etc/dockerssh-mode"), "751 root 4");
    assert_eq!(cat("/etc/dockerssh-mode"), "new");

    // As another user inside the container: _su_user and _sudo_user.
    let su = ConnectorArguments {
        su_user: Some("tester".into()),
        ..Default::default()
    };
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"mine\n".to_vec()),
            "/home/tester/by-su",
            &su
        ))
        .await
        .unwrap());
    assert_eq!(stat("/home/tester/by-su"), "644 tester 5");
    let sudo = ConnectorArguments {
        sudo: true,
        sudo_user: Some("tester".into()),
        ..Default::default()
    };
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"sudo\n".to_vec()),
            "/home/tester/by-sudo",
            &sudo
        ))
        .await
        .unwrap());
    assert_eq!(stat("/home/tester/by-sudo"), "644 tester 5");
    // tester may not write to /root: the upload fails and says so.
    let err = conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"x".to_vec()),
            "/root/not-allowed",
            &su,
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/root/not-allowed"), "{err}");

    // A file only root may read: the download as tester fails, as root (sudo) works.
    ok(
        &conn,
        "echo secret > /root/private && chmod 600 /root/private",
    )
    .await;
    let got2 = dir.path().join("got2");
    assert!(conn
        .get_file(GetFile::new("/root/private", &got2, &su))
        .await
        .is_err());
    assert!(!got2.exists());
    let as_root = ConnectorArguments {
        sudo: true,
        ..Default::default()
    };
    assert!(conn
        .get_file(GetFile::new("/root/private", &got2, &as_root))
        .await
        .unwrap());
    assert_eq!(std::fs::read_to_string(&got2).unwrap(), "secret\n");
    let got3 = dir.path().join("got3");
    assert!(conn
        .get_file(GetFile::new("/nonexistent", &got3, &args))
        .await
        .is_err());

    // No temp files left in the container nor on the ssh host.
    assert_eq!(
        ok(
            &conn,
            "ls -a /tmp /root /etc /home/tester | grep rinfra- || true"
        )
        .await,
        ""
    );
    assert_eq!(
        host_temps(),
        host_temps_before,
        "temp dirs left on the ssh host"
    );

    conn.disconnect().await;
    if let Some(image) = notices.image_id() {
        cleanup.images.push(image);
    }
}

/// `/tmp/rinfra-<16 hex>` on the controller: the temp dirs the connector makes on its ssh host.
fn host_temps() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix("rinfra-")
                .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_is_a_clear_error() {
    let env = env();
    let _serial = serial().await;
    let _sshd = Sshd::start(&env);
    let dir = tmp();
    let image = "rinfra-no-such-image-dockerssh";
    let (_, conn) = dockerssh(
        image,
        host_data(&env, &dir.path().join("known_hosts")),
        Arc::new(Notices::default()),
    );
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(err.contains(image), "{err}");
    assert!(err.contains(ADDR), "{err}");
    assert!(err.contains("never pulls"), "{err}");
    conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_container_id_is_used_then_committed_and_removed() {
    let env = env();
    let _serial = serial().await;
    let _sshd = Sshd::start(&env);
    let dir = tmp();
    let (made, id, err) = docker(
        &env,
        &[
            "run",
            "-d",
            "--pull",
            "never",
            &env.image,
            "tail",
            "-f",
            "/dev/null",
        ],
    );
    assert!(made, "{err}");
    let mut cleanup = Cleanup {
        env: &env,
        containers: vec![id.clone()],
        images: vec![],
    };
    let notices = Arc::new(Notices::default());
    let mut data = host_data(&env, &dir.path().join("known_hosts"));
    data["docker_container_id"] = json!(id);
    let (_, conn) = dockerssh(&env.image, data, notices.clone());
    conn.connect().await.unwrap();
    assert_eq!(container_of(&conn).await, id[..12]);
    conn.disconnect().await;
    let image = notices.image_id().expect("image id notice");
    cleanup.images.push(image);
    let (_, ps, _) = docker(&env, &["ps", "-a", "-q", "--filter", &format!("id={id}")]);
    assert_eq!(ps, "", "container still exists");

    // A container id that does not exist is named in the error.
    let mut data = host_data(&env, &dir.path().join("known_hosts"));
    data["docker_container_id"] = json!("rinfra-no-such-container");
    let (_, conn) = dockerssh(&env.image, data, Arc::new(Notices::default()));
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(err.contains("rinfra-no-such-container"), "{err}");
    conn.disconnect().await;
}

/// `podman ARGS` on the controller against the testbed's podman: (success, stdout, stderr).
fn podman(env: &Env, args: &[&str]) -> (bool, String, String) {
    let (conf, storage) = env.podman.as_ref().expect("podman env");
    let out = Command::new("podman")
        .env("CONTAINERS_CONF", conf)
        .env("CONTAINERS_STORAGE_CONF", storage)
        .args(args)
        .output()
        .expect("run podman");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podmanssh_exec_files_commit_and_missing_image() {
    let env = env();
    need("RINFRA_TB_PODMAN_CONTAINERS_CONF");
    need("RINFRA_TB_PODMAN_STORAGE_CONF");
    let image = need("RINFRA_TB_PODMAN_IMAGE");
    let _serial = serial().await;
    let _sshd = Sshd::start(&env);
    let dir = tmp();
    let notices = Arc::new(Notices::default());
    let (name, conn) = connector_of(
        DockerSshInventory::podman(),
        &image,
        host_data(&env, &dir.path().join("known_hosts")),
        notices.clone(),
    );
    assert_eq!(name, format!("@podmanssh/root@{ADDR}:{image}"));
    conn.connect().await.unwrap();
    let short = container_of(&conn).await;
    struct PodmanCleanup<'a>(&'a Env, Vec<String>);
    impl Drop for PodmanCleanup<'_> {
        fn drop(&mut self) {
            for c in &self.1 {
                let _ = podman(self.0, &["rm", "-f", "-t", "0", c]);
                let _ = podman(self.0, &["rmi", "-f", c]);
            }
        }
    }
    let mut cleanup = PodmanCleanup(&env, vec![short.clone()]);
    let (found, running, err) = podman(
        &env,
        &[
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            &short,
        ],
    );
    assert!(found, "container {short} not in the testbed podman: {err}");
    assert_eq!(running, "true");

    let su = ConnectorArguments {
        su_user: Some("tester".into()),
        ..Default::default()
    };
    let (success, out) = sh_args(&conn, "id -un; exit 4", &su).await;
    assert!(!success);
    assert_eq!(out.exit_code, Some(4));
    assert_eq!(out.stdout(), "tester");

    let args = ConnectorArguments::default();
    assert!(conn
        .put_file(PutFile::new(
            &FileSource::Bytes(b"via podman\n".to_vec()),
            "/home/tester/podman-file",
            &su
        ))
        .await
        .unwrap());
    let (_, stat, err) = podman(
        &env,
        &[
            "exec",
            &short,
            "stat",
            "-c",
            "%a %U %s",
            "/home/tester/podman-file",
        ],
    );
    assert_eq!(stat, "644 tester 11", "{err}");
    let got = dir.path().join("got");
    assert!(conn
        .get_file(GetFile::new("/home/tester/podman-file", &got, &args))
        .await
        .unwrap());
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "via podman\n");

    conn.disconnect().await;
    let committed = notices
        .image_id()
        .unwrap_or_else(|| panic!("no image id notice: {:?}", notices.0.lock().unwrap()));
    assert!(notices.0.lock().unwrap()[0].starts_with("podman build complete"));
    cleanup.1.push(committed.clone());
    let (exists, _, err) = podman(&env, &["image", "inspect", &committed]);
    assert!(exists, "committed image {committed}: {err}");
    let (_, ps, _) = podman(
        &env,
        &["ps", "-a", "-q", "--filter", &format!("id={short}")],
    );
    assert_eq!(ps, "", "container {short} still exists after disconnect");

    let (_, conn) = connector_of(
        DockerSshInventory::podman(),
        "rinfra-no-such-image-podmanssh",
        host_data(&env, &dir.path().join("known_hosts")),
        Arc::new(Notices::default()),
    );
    let err = conn.connect().await.unwrap_err().to_string();
    assert!(
        err.contains("no podman image `rinfra-no-such-image-podmanssh`"),
        "{err}"
    );
    conn.disconnect().await;
}
