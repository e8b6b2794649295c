//! Checks every executing connector must pass against a real target (a debootstrap Debian with
//! `sudo` and a user `tester`, made by `scripts/testbed up`). Each test binary connects its
//! connector and calls these.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::{Arc, Mutex};

use rinfra_connectors::*;

/// The value of a testbed variable, or a failure telling the developer how to get it.
pub(crate) fn tb_var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: these tests need the real targets of the testbed. \
             Run `scripts/testbed up` (as root), then `. $TB/env` (default TB=/tmp/rinfra-testbed) \
             and run the tests again"
        ),
    }
}

/// A reporter that keeps what it is told.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) notices: Mutex<Vec<String>>,
    pub(crate) lines: Mutex<Vec<String>>,
}

impl Recorder {
    pub(crate) fn notices(&self) -> Vec<String> {
        self.notices.lock().unwrap().clone()
    }
}

impl Reporter for Recorder {
    fn command_input(&self, host: &str, cmd: &str) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("[{host}] >>> {cmd}"));
    }
    fn command_output(&self, host: &str, line: &OutputLine) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("[{host}] {}", line.line));
    }
    fn notice(&self, host: &str, text: &str) {
        self.notices
            .lock()
            .unwrap()
            .push(format!("[{host}] {text}"));
    }
    fn prompt_secret(&self, _: &str, _: &str) -> Option<Secret> {
        None
    }
}

/// Expand `host_name` through `registry` (exactly one host) and connect to it.
pub(crate) async fn connect(
    registry: &ConnectorRegistry,
    host_name: &str,
    reporter: Arc<Recorder>,
) -> Result<Arc<dyn Connector>, ConnectError> {
    let (connector, hosts) = registry
        .make_names_data(host_name)
        .unwrap_or_else(|e| panic!("{host_name}: {e}"));
    assert_eq!(hosts.len(), 1, "{host_name} gives one host");
    let host = HostContext::new(&hosts[0].name, hosts[0].data.clone(), reporter);
    let conn = registry.new_connector(&connector, host)?;
    conn.connect().await?;
    Ok(conn)
}

pub(crate) async fn sh(
    conn: &Arc<dyn Connector>,
    cmd: &str,
    args: &ConnectorArguments,
) -> (bool, CommandOutput) {
    conn.run_shell_command(&StringCommand::from(cmd), false, false, args)
        .await
        .unwrap_or_else(|e| panic!("`{cmd}` could not run: {e}"))
}

/// stdout of a command that must succeed.
pub(crate) async fn out(conn: &Arc<dyn Connector>, cmd: &str) -> String {
    let (ok, output) = sh(conn, cmd, &Default::default()).await;
    assert!(ok, "`{cmd}` failed: {output:?}");
    output.stdout()
}

/// Exit codes, both streams in order, `_success_exit_codes`.
pub(crate) async fn exec_and_exit_codes(conn: &Arc<dyn Connector>) {
    let (ok, output) = sh(conn, "echo out; echo err >&2; exit 3", &Default::default()).await;
    assert!(!ok);
    assert_eq!(output.exit_code, Some(3));
    assert_eq!(output.stdout(), "out");
    assert_eq!(output.stderr(), "err");
    let args = ConnectorArguments {
        success_exit_codes: Some(vec![0, 3]),
        ..Default::default()
    };
    assert!(sh(conn, "exit 3", &args).await.0);
    // Quoting survives the double `sh -c`.
    let (ok, output) = sh(
        conn,
        r#"printf '%s\n' "it's" '$HOME' "a  b""#,
        &Default::default(),
    )
    .await;
    assert!(ok);
    assert_eq!(output.stdout_lines(), ["it's", "$HOME", "a  b"]);
    // It really is the target: Debian's os-release.
    assert!(out(conn, "cat /etc/os-release").await.contains("Debian"));
}

/// `_stdin` lines reach the command, then stdin is closed.
pub(crate) async fn stdin(conn: &Arc<dyn Connector>) {
    let args = ConnectorArguments {
        stdin: Some(vec!["one".into(), "two words".into()]),
        ..Default::default()
    };
    let (ok, output) = sh(conn, "cat; echo end", &args).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout_lines(), ["one", "two words", "end"]);
}

/// `_sudo`, `_sudo_user`, `_su_user`, `_env`, `_chdir` inside the target.
pub(crate) async fn escalation(conn: &Arc<dyn Connector>) {
    let as_user = |f: fn(&mut ConnectorArguments)| {
        let mut a = ConnectorArguments::default();
        f(&mut a);
        a
    };
    let sudo = as_user(|a| a.sudo = true);
    let (ok, output) = sh(conn, "id -un", &sudo).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout(), "root");

    let sudo_user = as_user(|a| {
        a.sudo = true;
        a.sudo_user = Some("tester".into());
    });
    let (ok, output) = sh(conn, "id -un; echo $HOME", &sudo_user).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout_lines(), ["tester", "/home/tester"]);

    let su = as_user(|a| a.su_user = Some("tester".into()));
    let (ok, output) = sh(conn, "id -un", &su).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout(), "tester");

    // tester's own passwordless sudo, through su then sudo.
    let su_sudo = as_user(|a| {
        a.su_user = Some("tester".into());
        a.sudo = true;
    });
    let (ok, output) = sh(conn, "id -un", &su_sudo).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout(), "tester");

    let env_chdir = as_user(|a| {
        a.env = vec![("GREETING".into(), EnvValue::Plain("hello there".into()))];
        a.chdir = Some("/etc/apt".into());
        a.su_user = Some("tester".into());
    });
    let (ok, output) = sh(conn, "echo \"$GREETING\"; pwd; id -un", &env_chdir).await;
    assert!(ok, "{output:?}");
    assert_eq!(output.stdout_lines(), ["hello there", "/etc/apt", "tester"]);

    // Refused escalation is a failed command, not an error.
    let (ok, _) = sh(conn, "cat /etc/shadow", &su).await;
    assert!(!ok);
}

async fn put(
    conn: &Arc<dyn Connector>,
    content: &[u8],
    remote: &str,
    args: &ConnectorArguments,
) -> Result<bool, ConnectorError> {
    conn.put_file(PutFile::new(
        &FileSource::Bytes(content.to_vec()),
        remote,
        args,
    ))
    .await
}

/// Uploads and downloads: content, mode and owner checked inside the target, escalation,
/// nothing left behind, clear failures.
pub(crate) async fn files(conn: &Arc<dyn Connector>) {
    // A private temp dir inside the target: several tests may share one target.
    let temp = out(
        conn,
        "t=$(mktemp -d /tmp/rinfra-test-XXXXXX) && chmod 1777 $t && echo $t",
    )
    .await;
    let work = out(conn, "mktemp -d /root/rinfra-test-XXXXXX").await;
    let home = out(
        conn,
        "d=$(mktemp -d /home/tester/rinfra-test-XXXXXX) && chown tester $d && echo $d",
    )
    .await;
    let args = ConnectorArguments {
        temp_dir: Some(temp.clone()),
        ..Default::default()
    };
    let leftovers = || async { out(conn, &format!("ls -A {temp}")).await };

    // A new file: exact bytes (binary too), mode 600 like pyinfra's mkstemp copy.
    let binary: Vec<u8> = (0..=255u8)
        .chain(b"\nlast line\n".iter().copied())
        .collect();
    let dest = format!("{work}/new file's $(name)");
    assert!(put(conn, &binary, &dest, &args).await.unwrap());
    let q = rinfra_connectors::quote(&dest);
    assert_eq!(out(conn, &format!("stat -c '%a %U' {q}")).await, "600 root");
    assert_eq!(
        out(
            conn,
            &format!("od -An -tx1 {q} | tr -d ' \\n' | head -c 32")
        )
        .await,
        "000102030405060708090a0b0c0d0e0f"
    );
    assert_eq!(out(conn, &format!("wc -c < {q}")).await, "267");
    assert_eq!(leftovers().await, "", "staged copies are removed");

    // Replacing an existing file keeps its mode and owner, changes its content.
    out(conn, &format!("chmod 640 {q} && chown tester {q}")).await;
    assert!(put(conn, b"second\n", &dest, &args).await.unwrap());
    assert_eq!(
        out(conn, &format!("stat -c '%a %U' {q}")).await,
        "640 tester"
    );
    assert_eq!(out(conn, &format!("cat {q}")).await, "second");
    assert_eq!(
        out(conn, &format!("ls -A {work}")).await,
        "new file's $(name)",
        "no temp file beside the destination"
    );

    // Download: the same bytes.
    assert!(put(conn, &binary, &dest, &args).await.unwrap());
    let local = tempfile::tempdir().unwrap();
    let back = local.path().join("back");
    assert!(conn
        .get_file(GetFile::new(&dest, &back, &args))
        .await
        .unwrap());
    assert_eq!(std::fs::read(&back).unwrap(), binary);
    assert_eq!(leftovers().await, "");

    // A symlink is followed inside the target (/etc/os-release -> ../usr/lib/os-release).
    let os = local.path().join("os-release");
    assert!(conn
        .get_file(GetFile::new("/etc/os-release", &os, &args))
        .await
        .unwrap());
    assert!(std::fs::read_to_string(&os).unwrap().contains("Debian"));

    // As tester: the new file belongs to tester; root-only files cannot be read.
    let tester = ConnectorArguments {
        su_user: Some("tester".into()),
        temp_dir: Some(temp.clone()),
        ..Default::default()
    };
    assert!(put(conn, b"mine\n", &format!("{home}/mine"), &tester)
        .await
        .unwrap());
    assert_eq!(
        out(conn, &format!("stat -c '%U' {home}/mine; cat {home}/mine")).await,
        "tester\nmine"
    );
    let err = conn
        .get_file(GetFile::new("/etc/shadow", &back, &tester))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Permission denied"), "{err}");
    let err = put(conn, b"x", "/etc/not-yours", &tester)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Permission denied"), "{err}");
    assert!(out(conn, "ls /etc/not-yours 2>&1 || true")
        .await
        .contains("No such"));
    // `_sudo_user`: the new file belongs to that user.
    let sudo_tester = ConnectorArguments {
        sudo: true,
        sudo_user: Some("tester".into()),
        temp_dir: Some(temp.clone()),
        ..Default::default()
    };
    assert!(
        put(conn, b"via sudo\n", &format!("{home}/sudoed"), &sudo_tester)
            .await
            .unwrap()
    );
    assert_eq!(
        out(conn, &format!("stat -c '%U %a' {home}/sudoed")).await,
        "tester 644"
    );

    // Failures name the problem and leave nothing behind.
    let err = put(conn, b"x", "/no/such/dir/file", &args)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/no/such/dir/file"), "{err}");
    let err = conn
        .get_file(GetFile::new("/no/such/file", &back, &args))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No such file"), "{err}");
    assert_eq!(leftovers().await, "");
    out(conn, &format!("rm -rf {temp} {work} {home}")).await;
}

/// `_timeout` ends the command with a timeout error; the host stays usable.
pub(crate) async fn timeout(conn: &Arc<dyn Connector>) {
    let args = ConnectorArguments {
        timeout: Some(std::time::Duration::from_millis(500)),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let err = conn
        .run_shell_command(&"sleep 30".into(), false, false, &args)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out(conn, "echo still here").await, "still here");
}

/// Write an executable script through a child process: a file this process had open for
/// writing can still be open in a child another test thread is forking, and executing it then
/// fails with "Text file busy".
pub(crate) fn write_executable(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "cannot write {}",
        path.display()
    );
}
