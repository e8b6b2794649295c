//! `files.rsync`: the controller's `rsync` binary syncs a local directory to the host, over
//! SSH with the host's connection data (or locally for `@local`), as pyinfra's SSH connector
//! does. It always runs (rsync itself decides what to copy), as in pyinfra.

use std::sync::Arc;

use async_trait::async_trait;
use rinfra_core::{Callback, ExecHost, OpCommand, OpHost, OperationError};
use serde_json::Value;

use crate::operations::{define_op, Args, Out};

define_op! {
    /// Sync a local directory (or file) to the host with the controller's `rsync` (SSH and
    /// `@local` hosts). Always runs: rsync decides what to transfer.
    ///
    /// Deploy example: `files.rsync(src="site/", dest="/srv/www", flags=["-a", "--delete"])`
    Rsync = "files.rsync";
    params: [required "src" = "the local path (a trailing `/` syncs a directory's contents)",
             required "dest" = "the path on the host",
             optional "flags" = "rsync's flags (default `-ax --delete`)"];
    idempotent: false;
    generate: rsync;
}

/// The local rsync run, argv ready.
struct RsyncRun {
    argv: Vec<String>,
}

#[async_trait]
impl Callback for RsyncRun {
    fn describe(&self) -> String {
        self.argv.join(" ")
    }

    async fn call(&self, _: &dyn ExecHost) -> Result<(), String> {
        let out = tokio::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run `rsync` on the controller: {e} (install rsync)"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "rsync failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// A host data value as text (`ssh_port = 2222` is a number).
fn data_text(host: &dyn OpHost, key: &str) -> Option<String> {
    match host.data().get(key)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Shell-quote one word of the `-e` ssh command line (rsync splits it like a shell).
fn sh_word(s: &str) -> String {
    rinfra_connectors::quote(s)
}

async fn rsync(a: &Args<'_>, host: &dyn OpHost, out: &mut Out) -> Result<(), OperationError> {
    let src = host.local_path(&a.str("src")?).display().to_string();
    // `local_path` drops a trailing slash, which tells rsync to copy a directory's contents.
    let src = if a.str("src")?.ends_with('/') && !src.ends_with('/') {
        format!("{src}/")
    } else {
        src
    };
    let dest = a.str("dest")?;
    let flags = if a.get("flags").is_some() {
        a.list("flags")?
    } else {
        vec!["-ax".into(), "--delete".into()]
    };
    let mut argv = vec!["rsync".to_string()];
    argv.extend(flags);
    let name = host.name();
    if name == "@local" {
        argv.extend([src, dest]);
    } else if name.starts_with('@') && !name.starts_with("@ssh/") {
        return Err(a.invalid(
            "dest",
            format!("files.rsync needs an SSH or @local host; `{name}` is neither"),
        ));
    } else {
        let hostname = data_text(host, "ssh_hostname")
            .unwrap_or_else(|| name.trim_start_matches("@ssh/").to_string());
        // BatchMode: never stop to ask (pyinfra's flags), plus the host's port, key, known
        // hosts and host-key checking.
        let mut ssh = vec!["ssh".to_string(), "-o".into(), "BatchMode=yes".into()];
        if let Some(port) = data_text(host, "ssh_port") {
            ssh.extend(["-p".into(), sh_word(&port)]);
        }
        if let Some(key) = data_text(host, "ssh_key") {
            ssh.extend([
                "-i".into(),
                sh_word(&key),
                "-o".into(),
                "IdentitiesOnly=yes".into(),
            ]);
        }
        if let Some(file) = data_text(host, "ssh_known_hosts_file") {
            ssh.extend(["-o".into(), sh_word(&format!("UserKnownHostsFile={file}"))]);
        }
        if let Some(check) = data_text(host, "ssh_strict_host_key_checking") {
            ssh.extend([
                "-o".into(),
                sh_word(&format!("StrictHostKeyChecking={check}")),
            ]);
        }
        let target = match data_text(host, "ssh_user") {
            Some(user) => format!("{user}@{hostname}:{dest}"),
            None => format!("{hostname}:{dest}"),
        };
        argv.extend(["-e".into(), ssh.join(" "), src, target]);
    }
    out.push(OpCommand::Callback(Arc::new(RsyncRun { argv })));
    Ok(())
}
