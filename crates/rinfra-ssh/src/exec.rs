//! Running one command on its own channel: stdin, pty, timeout, output as it arrives, exit
//! status; the channel is closed on every path (sshd's `MaxSessions` counts open ones).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rinfra_connectors::{CommandOutput, ConnectorError, HostContext, OutputLine, Stream};
use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf, Sig};
use tokio::sync::OwnedSemaphorePermit;

use crate::session::{ChannelGauge, Connection, MAX_CHANNELS_PER_CONNECTION};

/// What to send on stdin.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stdin<'a> {
    /// Nothing: stdin is closed at once.
    None,
    /// Lines, each newline-terminated (pyinfra's `_stdin`).
    Lines(&'a [String]),
    /// Raw bytes (uploads through `cat`).
    Bytes(&'a [u8]),
}

/// One command to run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExecRequest<'a> {
    pub(crate) command: &'a str,
    pub(crate) stdin: Stdin<'a>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) get_pty: bool,
    /// The command's outer layer is plain POSIX sh: it may run in the persistent shell
    /// (`shell.rs`) instead of a channel of its own.
    pub(crate) portable: bool,
}

/// Closes the channel (from a spawned task: `Drop` cannot await) when the command is over,
/// however it ended, including when the caller drops our future. The channel permit is given
/// back only after the close is queued.
///
/// A command the caller gave up on while it ran (Ctrl-C drops the run) would go on running on
/// the target: closing a channel without a pty does not stop it, and sshd refuses `signal`
/// requests in many set-ups. Its process group is recorded for
/// [`Connection::close`](crate::session::Connection::close) to kill before disconnecting.
struct CloseOnDrop {
    write: Arc<ChannelWriteHalf<Msg>>,
    permit: Option<OwnedSemaphorePermit>,
    gauge: Arc<ChannelGauge>,
    /// The login shell's pid (= process group), once the command reported it (0: not yet).
    pid: Arc<AtomicU32>,
    /// The command ended (or its connection did): nothing to stop.
    finished: bool,
    abandoned: Arc<std::sync::Mutex<Vec<u32>>>,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let pid = self.pid.load(Ordering::SeqCst);
        let abandoned_pid = (!self.finished && pid != 0).then_some(pid);
        release_channel(
            &self.write,
            self.permit.take(),
            &self.gauge,
            &self.abandoned,
            abandoned_pid,
        );
    }
}

/// From a `Drop` (which cannot await): remember the process group of a command abandoned while
/// it ran, for [`Connection::close`](crate::session::Connection::close) to kill; then close the
/// channel in a spawned task, count it closed and give its permit back.
pub(crate) fn release_channel(
    write: &Arc<ChannelWriteHalf<Msg>>,
    permit: Option<OwnedSemaphorePermit>,
    gauge: &Arc<ChannelGauge>,
    abandoned: &std::sync::Mutex<Vec<u32>>,
    abandoned_pid: Option<u32>,
) {
    if let Some(pid) = abandoned_pid {
        abandoned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pid);
    }
    let (write, gauge) = (write.clone(), gauge.clone());
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(async move {
                let _ = write.close().await;
                gauge.closed();
                drop(permit);
            });
        }
        Err(_) => gauge.closed(),
    }
}

pub(crate) fn lost(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::ConnectionLost(e.to_string())
}

/// Run `req` on a new channel of `conn`, passing each chunk of output to `on_data` as it
/// arrives. Returns the exit code (`None` when killed by a signal).
pub(crate) async fn run(
    conn: &Connection,
    req: ExecRequest<'_>,
    mut on_data: impl FnMut(Stream, &[u8]),
) -> Result<Option<i32>, ConnectorError> {
    if crate::shell::eligible(conn, &req) {
        return crate::shell::run(conn, req, on_data).await;
    }
    let permit = conn
        .channels
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| lost(format!("{NOT_STARTED}: the connection is shutting down")))?;
    let channel = open_session(conn).await?;
    conn.gauge.opened();
    let (mut read, write) = channel.split();
    let write = Arc::new(write);
    let pid_cell = Arc::new(AtomicU32::new(0));
    let mut close = CloseOnDrop {
        write: write.clone(),
        permit: Some(permit),
        gauge: conn.gauge.clone(),
        pid: pid_cell.clone(),
        finished: false,
        abandoned: conn.abandoned.clone(),
    };

    // Have the login shell (sshd made it a session and process group leader) tell us its pid
    // first, so a timeout or an interrupted run can kill the whole group: sshd refuses `signal`
    // requests in many set-ups ("session signalling requires privilege separation"). Not with
    // a pty: there stderr is merged into stdout, and closing the channel hangs the terminal up
    // (SIGHUP to the command).
    let mark = !req.get_pty;
    let command: std::borrow::Cow<'_, str> = if mark {
        format!("printf '{PID_MARKER}%s\\n' \"$$\" >&2; {}", req.command).into()
    } else {
        req.command.into()
    };
    let mut pid: Option<u32> = None;
    let mut first_stderr = if mark { Some(Vec::new()) } else { None };

    if req.get_pty {
        // pyinfra (paramiko) asks for a vt100 of 80x24.
        write
            .request_pty(false, "vt100", 80, 24, 0, 0, &[])
            .await
            .map_err(lost)?;
    }
    if conn.target.forward_agent {
        write.agent_forward(false).await.map_err(lost)?;
    }
    write.exec(true, command.as_bytes()).await.map_err(lost)?;

    let payload: Option<Vec<u8>> = match req.stdin {
        Stdin::None => None,
        Stdin::Bytes(b) => Some(b.to_vec()),
        Stdin::Lines(lines) => {
            let mut p = Vec::new();
            for line in lines {
                p.extend_from_slice(line.as_bytes());
                if !line.ends_with('\n') {
                    p.push(b'\n');
                }
            }
            Some(p)
        }
    };
    // Its own task: a command that never reads stdin must not block us reading its output.
    let writer = {
        let write = write.clone();
        tokio::spawn(async move {
            if let Some(p) = payload {
                // Owned bytes go out in window-sized packets without an 8 KiB copy loop.
                if write.data_bytes(p).await.is_err() {
                    return;
                }
            }
            let _ = write.eof().await;
        })
    };
    let _abort_writer = AbortOnDrop(writer);

    let collect = async {
        let mut code = None;
        let mut closed = false;
        while let Some(msg) = read.wait().await {
            match msg {
                ChannelMsg::Data { data } => on_data(Stream::Stdout, &data),
                ChannelMsg::ExtendedData { data, ext: 1 } => match first_stderr.as_mut() {
                    None => on_data(Stream::Stderr, &data),
                    Some(head) => {
                        head.extend_from_slice(&data);
                        if let Some(rest) = take_pid_line(head, &mut pid) {
                            pid_cell.store(pid.unwrap_or(0), Ordering::SeqCst);
                            first_stderr = None;
                            if !rest.is_empty() {
                                on_data(Stream::Stderr, &rest);
                            }
                        }
                    }
                },
                ChannelMsg::ExitStatus { exit_status } => {
                    code = Some(i32::try_from(exit_status).unwrap_or(i32::MAX))
                }
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    tracing::debug!(?signal_name, "command killed by a signal");
                    code = None;
                }
                ChannelMsg::Failure => {
                    return Err(ConnectorError::Other(
                        "the server refused to run the command".into(),
                    ))
                }
                ChannelMsg::Close => {
                    closed = true;
                    break;
                }
                _ => {}
            }
        }
        if !closed && code.is_none() {
            // The channel vanished with the connection: the command's fate is unknown.
            return Err(lost("the connection closed while the command was running"));
        }
        Ok(code)
    };

    let result = match req.timeout {
        None => collect.await,
        Some(limit) => match tokio::time::timeout(limit, collect).await {
            Ok(r) => r,
            Err(_) => Err(ConnectorError::Timeout(limit)),
        },
    };
    // Over, one way or another (a timeout is dealt with below): not abandoned.
    close.finished = true;
    if let Some(head) = first_stderr.filter(|h| !h.is_empty()) {
        // Output ended before the marker line did: it was not ours, pass it on.
        on_data(Stream::Stderr, &head);
    }
    if let Err(ConnectorError::Timeout(_)) = &result {
        // Ask politely where sshd allows it, then close the channel (freeing our permit)
        // before killing the process group on another channel.
        let _ = write.signal(Sig::KILL).await;
        drop(close);
        if let Some(pid) = pid {
            kill_group(conn, pid).await;
        }
    }
    result
}

/// Prefix of the line that carries the login shell's pid (every command without a pty).
const PID_MARKER: &str = "rinfra-pid:";

/// If `head` holds a complete first line, take the pid from it (when it is our marker) and
/// return what follows it (or the whole of `head`, when the line is not ours).
fn take_pid_line(head: &mut Vec<u8>, pid: &mut Option<u32>) -> Option<Vec<u8>> {
    let nl = head.iter().position(|&b| b == b'\n')?;
    let line = &head[..nl];
    match line
        .strip_prefix(PID_MARKER.as_bytes())
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.trim().parse().ok())
    {
        Some(p) => {
            *pid = Some(p);
            Some(head.split_off(nl + 1))
        }
        None => Some(std::mem::take(head)),
    }
}

/// Kill the process group of a timed-out or abandoned command (best effort, bounded).
pub(crate) async fn kill_group(conn: &Connection, pid: u32) {
    let command = format!("kill -KILL -- -{pid} 2>/dev/null || kill -KILL {pid} 2>/dev/null; true");
    let req = ExecRequest {
        command: &command,
        stdin: Stdin::None,
        timeout: None,
        get_pty: false,
        // Its own channel: the persistent shell may be what is being killed.
        portable: false,
    };
    match tokio::time::timeout(Duration::from_secs(10), Box::pin(run(conn, req, |_, _| {}))).await {
        Ok(Ok(_)) => tracing::debug!(pid, "killed the command"),
        Ok(Err(e)) => tracing::debug!(pid, error = %e, "cannot kill the command"),
        Err(_) => tracing::debug!(pid, "killing the command timed out"),
    }
}

const NOT_STARTED: &str = "cannot open a channel";

/// Whether `e` means the command never started (no channel could be opened).
pub(crate) fn not_started(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::ConnectionLost(m) if m.starts_with(NOT_STARTED))
}

/// Open a session channel, waiting when the server refuses one:
///
/// * while other channels of ours are open, the server's `MaxSessions` is lower than our
///   limit: wait for one of them to close, then try again (for as long as they run);
/// * while others of ours are being opened, one of them may have taken the last session:
///   wait a little, up to a minute;
/// * alone, sshd may not yet have collected a session we just closed ("no more sessions"
///   right after a close): retry a few times with a growing pause.
pub(crate) async fn open_session(conn: &Connection) -> Result<russh::Channel<Msg>, ConnectorError> {
    let mut delay = Duration::from_millis(5);
    let mut alone_attempts = 0;
    let mut contended_waits = 0;
    loop {
        let err = match conn.handle.channel_open_session().await {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        let russh::Error::ChannelOpenFailure(reason) = &err else {
            return Err(lost(format!("{NOT_STARTED}: {err}")));
        };
        // An idle persistent shell holds a session the server may be counting against us.
        if crate::shell::close_idle(conn) {
            conn.gauge.wait_for_close().await;
            continue;
        }
        let in_use = MAX_CHANNELS_PER_CONNECTION - conn.channels.available_permits();
        if conn.gauge.open_now() > 0 {
            tracing::debug!(
                ?reason,
                open = conn.gauge.open_now(),
                "channel refused while others are open, waiting for one to close"
            );
            conn.gauge.wait_for_close().await;
        } else if in_use > 1 && contended_waits < 240 {
            contended_waits += 1;
            conn.gauge.wait_for_close().await;
        } else if alone_attempts < 12 {
            tracing::debug!(?reason, alone_attempts, "channel refused, retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
            alone_attempts += 1;
        } else {
            return Err(lost(format!("{NOT_STARTED}: {err}")));
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Splits a byte stream into lines, keeping partial lines (and partial UTF-8) for later.
#[derive(Default)]
pub(crate) struct LineSplitter {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LineSplitter {
    /// Feed a chunk; call `emit` for each complete line.
    pub(crate) fn feed(
        &mut self,
        stream: Stream,
        data: &[u8],
        strip_cr: bool,
        mut emit: impl FnMut(OutputLine),
    ) {
        let buf = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            emit(make_line(stream, &buf[start..end], strip_cr));
            start = end + 1;
        }
        buf.drain(..start);
    }

    /// The unterminated last lines, stdout first.
    pub(crate) fn finish(&mut self, strip_cr: bool, mut emit: impl FnMut(OutputLine)) {
        for (stream, buf) in [
            (Stream::Stdout, &mut self.stdout),
            (Stream::Stderr, &mut self.stderr),
        ] {
            if !buf.is_empty() {
                emit(make_line(stream, buf, strip_cr));
                buf.clear();
            }
        }
    }
}

fn make_line(stream: Stream, bytes: &[u8], strip_cr: bool) -> OutputLine {
    let bytes = if strip_cr {
        bytes.strip_suffix(b"\r").unwrap_or(bytes)
    } else {
        bytes
    };
    OutputLine {
        stream,
        line: String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Run a command and collect its output as lines, reporting each to the host's reporter when
/// `print_output` is set.
pub(crate) async fn run_lines(
    conn: &Connection,
    host: &HostContext,
    req: ExecRequest<'_>,
    print_output: bool,
) -> Result<CommandOutput, ConnectorError> {
    let mut output = CommandOutput::default();
    let mut splitter = LineSplitter::default();
    let strip_cr = req.get_pty;
    let mut emit = |line: OutputLine| {
        if print_output {
            host.reporter.command_output(&host.name, &line);
        }
        output.combined_lines.push(line);
    };
    let code = run(conn, req, |stream, data| {
        splitter.feed(stream, data, strip_cr, &mut emit)
    })
    .await?;
    splitter.finish(strip_cr, &mut emit);
    output.exit_code = code;
    Ok(output)
}

/// Run a command and collect its raw stdout and stderr.
pub(crate) async fn run_raw(
    conn: &Connection,
    req: ExecRequest<'_>,
) -> Result<(Option<i32>, Vec<u8>, Vec<u8>), ConnectorError> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(conn, req, |stream, data| match stream {
        Stream::Stdout => out.extend_from_slice(data),
        Stream::Stderr => err.extend_from_slice(data),
    })
    .await?;
    Ok((code, out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks_and_keeps_order() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        let mut emit = |l: OutputLine| lines.push((l.stream, l.line));
        s.feed(Stream::Stdout, b"a\nb", false, &mut emit);
        s.feed(Stream::Stderr, b"e1\n", false, &mut emit);
        s.feed(Stream::Stdout, b"c\n\xc3", false, &mut emit);
        s.feed(Stream::Stdout, b"\xa9\r\n", true, &mut emit);
        s.feed(Stream::Stderr, b"tail", false, &mut emit);
        s.finish(false, &mut emit);
        assert_eq!(
            lines,
            vec![
                (Stream::Stdout, "a".to_string()),
                (Stream::Stderr, "e1".to_string()),
                (Stream::Stdout, "bc".to_string()),
                (Stream::Stdout, "é".to_string()),
                (Stream::Stderr, "tail".to_string()),
            ]
        );
    }
}
