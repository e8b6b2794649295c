//! Running a local process with streamed, interleaved output: the engine under `@local`, and
//! under every connector that drives a local CLI (`docker`, `podman`, `chroot`, exec templates).

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::base::HostContext;
use crate::error::ConnectorError;
use crate::output::{CommandOutput, OutputLine, Stream};

/// How to run one local process.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalProcess<'a> {
    /// Lines written to stdin (each newline-terminated), then stdin is closed.
    pub stdin: Option<&'a [String]>,
    /// Raw bytes written to stdin instead of lines (file uploads through `cat`).
    pub stdin_bytes: Option<&'a [u8]>,
    /// Kill the whole process group after this long.
    pub timeout: Option<Duration>,
    /// Report each line to the host's reporter as it arrives.
    pub print_output: bool,
}

/// Run `program args...` locally and collect its output.
///
/// The process gets its own process group, so a timeout kills everything it started (pyinfra
/// only kills the shell, leaving its children behind).
pub async fn run_local_process<S: AsRef<OsStr>>(
    host: &HostContext,
    program: &str,
    args: &[S],
    opts: LocalProcess<'_>,
) -> Result<CommandOutput, ConnectorError> {
    run_local_process_with_env(host, program, args, &[], opts).await
}

/// [`run_local_process`] with `env` added to the process's environment.
pub async fn run_local_process_with_env<S: AsRef<OsStr>>(
    host: &HostContext,
    program: &str,
    args: &[S],
    env: &[(&str, &str)],
    opts: LocalProcess<'_>,
) -> Result<CommandOutput, ConnectorError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(if opts.stdin.is_some() || opts.stdin_bytes.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| ConnectorError::io(format!("cannot start `{program}`"), e))?;
    let pgid = child.id().map(|id| id as i32);
    // Dropped before the process ended (an interrupted run): kill its whole group, not just
    // the shell (`kill_on_drop`), so nothing it started goes on running.
    let mut group = KillGroupOnDrop(pgid);

    if let Some(mut stdin) = child.stdin.take() {
        let mut payload = Vec::new();
        if let Some(lines) = opts.stdin {
            for line in lines {
                payload.extend_from_slice(line.as_bytes());
                if !line.ends_with('\n') {
                    payload.push(b'\n');
                }
            }
        }
        if let Some(bytes) = opts.stdin_bytes {
            payload.extend_from_slice(bytes);
        }
        // A separate task: a command that does not read its stdin must not block us.
        tokio::spawn(async move {
            let _ = stdin.write_all(&payload).await;
            let _ = stdin.shutdown().await;
        });
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let out = tokio::spawn(read_lines(
        child.stdout.take().expect("piped"),
        Stream::Stdout,
        tx.clone(),
    ));
    let err = tokio::spawn(read_lines(
        child.stderr.take().expect("piped"),
        Stream::Stderr,
        tx,
    ));

    let collect = async {
        let mut output = CommandOutput::default();
        while let Some(line) = rx.recv().await {
            if opts.print_output {
                host.reporter.command_output(&host.name, &line);
            }
            output.combined_lines.push(line);
        }
        let status = child
            .wait()
            .await
            .map_err(|e| ConnectorError::io(format!("waiting for `{program}`"), e))?;
        output.exit_code = status.code();
        Ok::<_, ConnectorError>(output)
    };

    let result = match opts.timeout {
        Some(limit) => match tokio::time::timeout(limit, collect).await {
            Ok(r) => r,
            Err(_) => {
                if let Some(pgid) = pgid {
                    // SAFETY: kill(2) with a negative pid signals the process group we created.
                    unsafe { libc::kill(-pgid, libc::SIGKILL) };
                }
                out.abort();
                err.abort();
                return Err(ConnectorError::Timeout(limit));
            }
        },
        None => collect.await,
    };
    // The process was waited for (or the wait failed): nothing to kill on drop.
    group.0 = None;
    let _ = out.await;
    let _ = err.await;
    result
}

/// Kills a process group when dropped, unless disarmed (`.0 = None`).
struct KillGroupOnDrop(Option<i32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals the process group we created; the
            // leader is not reaped yet (we never waited for it), so the group id is still ours.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

async fn read_lines<R: AsyncRead + Unpin>(
    reader: R,
    stream: Stream,
    tx: mpsc::UnboundedSender<OutputLine>,
) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                if tx.send(OutputLine { stream, line }).is_err() {
                    break;
                }
            }
        }
    }
}
