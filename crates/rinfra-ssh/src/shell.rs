//! The persistent shell: one `sh` per connection that runs commands one after another.
//!
//! Every exec channel costs the target an sshd session process and a login shell (about 3 ms of
//! CPU on the bench machine, more than most fact commands themselves), and the controller a
//! channel open/close. So commands that need nothing of their own from the channel (no stdin,
//! no pty, no agent forwarding) and whose outer layer is plain POSIX sh (see
//! [`RawCommand::portable`](rinfra_connectors::RawCommand)) are written to a long-lived `sh -s`
//! instead: each runs in its own subshell, `( eval '...' ) </dev/null`, so a `cd`, `exit`,
//! variable or umask never leaks into the next one, as with one `sh -c` per channel. After it
//! the shell prints a marker line with a per-shell nonce and the exit status on stdout and a
//! marker on stderr; output before the markers is the command's.
//!
//! A command wrapped as `sh -c '...'` runs its text straight in the subshell (it is an `sh`
//! already), so there `$$` and `$PPID` are the persistent shell's and its sshd's rather than
//! those of an `sh` of its own.
//!
//! A command that times out, or is abandoned (Ctrl-C drops the run), takes the shell with it:
//! the shell's whole process group (sshd made the shell a session leader) is killed, and the
//! next command starts a new shell.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use rinfra_connectors::{ConnectorError, Stream};
use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::OwnedSemaphorePermit;

use crate::exec::{kill_group, lost, open_session, release_channel, ExecRequest};
use crate::session::{ChannelGauge, Connection};

/// The longest command sent inside the exec request that starts a shell (OpenSSH accepts
/// packets of 256 KiB; a quoted command grows a little).
const MAX_COMMAND_IN_EXEC: usize = 64 * 1024;

/// A running `sh -s` on its own channel.
pub(crate) struct PersistentShell {
    read: ChannelReadHalf,
    write: Arc<ChannelWriteHalf<Msg>>,
    /// Random per shell: markers in the command's own output cannot be mistaken for ours.
    nonce: String,
    /// The shell's pid (= its process group), from its first line (0: not seen yet).
    pid: u32,
    /// Output of the shell not yet passed on: only whole lines are, so a marker split across
    /// packets is still found.
    pending_out: Vec<u8>,
    pending_err: Vec<u8>,
    /// False while a command runs: a shell dropped then is killed, not reused.
    idle: bool,
    permit: Option<OwnedSemaphorePermit>,
    gauge: Arc<ChannelGauge>,
    abandoned: Arc<Mutex<Vec<u32>>>,
}

impl Drop for PersistentShell {
    fn drop(&mut self) {
        let abandoned_pid = (!self.idle && self.pid != 0).then_some(self.pid);
        release_channel(
            &self.write,
            self.permit.take(),
            &self.gauge,
            &self.abandoned,
            abandoned_pid,
        );
    }
}

/// Whether `req` may run in the connection's persistent shell.
pub(crate) fn eligible(conn: &Connection, req: &ExecRequest<'_>) -> bool {
    req.portable
        && matches!(req.stdin, crate::exec::Stdin::None)
        && !req.get_pty
        && !conn.target.forward_agent
}

/// The text of `sh -c 'TEXT'` (the wrapping every command gets by default), when `command` is
/// exactly that: the subshell it runs in is already an `sh`, so it needs no `sh` of its own (one
/// exec less per command, ~0.7 ms of target CPU). Anything else (`sudo ... sh -c`, another
/// shell, more words) runs as it is.
fn unwrap_sh_c(command: &str) -> Option<String> {
    let rest = command.strip_prefix("sh -c ")?;
    let mut out = String::new();
    let mut s = rest;
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix('\'') {
            let end = r.find('\'')?;
            out.push_str(&r[..end]);
            s = &r[end + 1..];
        } else if let Some(r) = s.strip_prefix("\"'\"").or_else(|| s.strip_prefix("\\'")) {
            out.push('\'');
            s = r;
        } else {
            return None;
        }
    }
    (!rest.is_empty()).then_some(out)
}

/// Quote `s` as one single-quoted sh word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn new_nonce() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let a = h.finish();
    h.write_u64(a);
    format!("rinfra-{a:016x}{:016x}", h.finish())
}

impl PersistentShell {
    /// Open a channel and start the shell on it, with `first` as its first command when given
    /// (see [`PersistentShell::start_script`]).
    async fn start(
        conn: &Connection,
        first: Option<&str>,
    ) -> Result<PersistentShell, ConnectorError> {
        let permit = conn
            .channels
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| lost("the connection is shutting down"))?;
        let channel = open_session(conn).await?;
        conn.gauge.opened();
        let (read, write) = channel.split();
        let nonce = new_nonce();
        let shell = PersistentShell {
            read,
            write: Arc::new(write),
            pid: 0,
            pending_out: Vec::new(),
            pending_err: Vec::new(),
            idle: true,
            permit: Some(permit),
            gauge: conn.gauge.clone(),
            abandoned: conn.abandoned.clone(),
            nonce,
        };
        let start = shell.start_script(first);
        shell
            .write
            .exec(true, start.as_bytes())
            .await
            .map_err(lost)?;
        Ok(shell)
    }

    /// What the exec request runs: the login shell says its pid (`exec` keeps it for sh),
    /// then becomes `sh` reading commands from the channel. With `first`, that command runs
    /// in the exec itself, before `sh -s` starts: sshd opens a session channel with a window
    /// of zero until its exec request is handled, so a command written as data could only
    /// follow one round trip later.
    fn start_script(&self, first: Option<&str>) -> String {
        let pid = format!("printf '%s-pid:%s\\n' '{}' \"$$\"", self.nonce);
        match first {
            None => format!("{pid}; exec sh -s"),
            // `exec sh -c`: the command's outer layer is POSIX sh whatever the login shell is.
            Some(command) => format!(
                "{pid}; exec sh -c {}",
                sh_quote(&format!("{}exec sh -s", self.script(command)))
            ),
        }
    }

    /// The text sent for one command.
    fn script(&self, command: &str) -> String {
        let n = &self.nonce;
        let body = unwrap_sh_c(command);
        format!(
            "( eval {}\n) </dev/null; printf '%s:%s\\n' '{n}' \"$?\"; printf '%s!\\n' '{n}' >&2\n",
            sh_quote(body.as_deref().unwrap_or(command))
        )
    }

    /// Run one command, passing its output on as it arrives. `Ok(None)` when the shell itself
    /// ended before reporting a status (the command killed it).
    /// `sent`: the command already went with the exec request ([`PersistentShell::start`]).
    async fn run(
        &mut self,
        command: &str,
        sent: bool,
        on_data: &mut impl FnMut(Stream, &[u8]),
    ) -> Result<Option<i32>, ConnectorError> {
        self.idle = false;
        if !sent {
            self.write
                .data_bytes(self.script(command).into_bytes())
                .await
                .map_err(lost)?;
        }
        let mut code: Option<Option<i32>> = None;
        let mut err_done = false;
        while code.is_none() || !err_done {
            let Some(msg) = self.read.wait().await else {
                return Err(lost("the connection closed while the command was running"));
            };
            match msg {
                ChannelMsg::Data { data } => {
                    self.pending_out.extend_from_slice(&data);
                    if let Some(c) = self.drain_stdout(on_data) {
                        code = Some(Some(c));
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    self.pending_err.extend_from_slice(&data);
                    err_done |= self.drain_stderr(on_data);
                }
                ChannelMsg::Failure => {
                    return Err(ConnectorError::Other(
                        "the server refused to run the command".into(),
                    ))
                }
                // The shell is gone (the command ended it). Its output may still be on the way:
                // sshd sends it up to end-of-file, which comes once every process holding the
                // shell's stdout (the command's children too) has let go of it.
                ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. } => {}
                ChannelMsg::Eof | ChannelMsg::Close => {
                    // Pass on what it printed.
                    for (stream, buf) in [
                        (Stream::Stdout, std::mem::take(&mut self.pending_out)),
                        (Stream::Stderr, std::mem::take(&mut self.pending_err)),
                    ] {
                        if !buf.is_empty() {
                            on_data(stream, &buf);
                        }
                    }
                    // Not reusable; nothing left to kill.
                    self.idle = true;
                    self.pid = 0;
                    return Ok(code.flatten());
                }
                _ => {}
            }
        }
        self.idle = true;
        Ok(code.flatten())
    }

    /// Pass on stdout's complete lines; the exit status once the marker came.
    fn drain_stdout(&mut self, on_data: &mut impl FnMut(Stream, &[u8])) -> Option<i32> {
        let head = format!("{}-pid:", self.nonce);
        while self.pid == 0 {
            let nl = self.pending_out.iter().position(|&b| b == b'\n')?;
            let line = String::from_utf8_lossy(&self.pending_out[..nl]).into_owned();
            self.pending_out.drain(..=nl);
            // Lines before ours are the login shell's own (a chatty `.bashrc`), not the command's.
            if let Some(p) = line.strip_prefix(&head) {
                self.pid = p.trim().parse().unwrap_or(u32::MAX);
            }
        }
        let marker = format!("{}:", self.nonce);
        if let Some(at) = find(&self.pending_out, marker.as_bytes()) {
            let rest = &self.pending_out[at + marker.len()..];
            let nl = rest.iter().position(|&b| b == b'\n')?;
            let code = String::from_utf8_lossy(&rest[..nl]).trim().parse().ok();
            if at > 0 {
                on_data(Stream::Stdout, &self.pending_out[..at]);
            }
            self.pending_out.clear();
            return Some(code.unwrap_or(-1));
        }
        pass_lines(&mut self.pending_out, Stream::Stdout, on_data);
        None
    }

    /// Pass on stderr's complete lines; true once the marker came.
    fn drain_stderr(&mut self, on_data: &mut impl FnMut(Stream, &[u8])) -> bool {
        let marker = format!("{}!\n", self.nonce);
        if let Some(at) = find(&self.pending_err, marker.as_bytes()) {
            if at > 0 {
                on_data(Stream::Stderr, &self.pending_err[..at]);
            }
            self.pending_err.clear();
            return true;
        }
        pass_lines(&mut self.pending_err, Stream::Stderr, on_data);
        false
    }
}

/// Pass on (and remove) everything up to the last newline of `buf`.
fn pass_lines(buf: &mut Vec<u8>, stream: Stream, on_data: &mut impl FnMut(Stream, &[u8])) {
    if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
        on_data(stream, &buf[..=last]);
        buf.drain(..=last);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Run `req` in the connection's persistent shell (started on first use). A second command
/// while the shell is busy gets a shell of its own; only one idle shell is kept.
pub(crate) async fn run(
    conn: &Connection,
    req: ExecRequest<'_>,
    mut on_data: impl FnMut(Stream, &[u8]),
) -> Result<Option<i32>, ConnectorError> {
    let idle = conn
        .idle_shell
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let (mut shell, sent) = match idle {
        Some(s) => (s, false),
        None => {
            // A long command goes as data: exec requests are bounded by the packet size.
            let first = (req.command.len() <= MAX_COMMAND_IN_EXEC).then_some(req.command);
            (PersistentShell::start(conn, first).await?, first.is_some())
        }
    };
    let result = match req.timeout {
        None => shell.run(req.command, sent, &mut on_data).await,
        Some(limit) => {
            match tokio::time::timeout(limit, shell.run(req.command, sent, &mut on_data)).await {
                Ok(r) => r,
                Err(_) => Err(ConnectorError::Timeout(limit)),
            }
        }
    };
    match &result {
        Ok(_) if shell.idle && shell.pid != 0 && shell.pid != u32::MAX => {
            let mut slot = conn.idle_shell.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(shell);
            }
        }
        Err(ConnectorError::Timeout(_)) if shell.pid != 0 && shell.pid != u32::MAX => {
            // The command is still running in the shell's process group: stop both.
            let pid = shell.pid;
            shell.idle = true;
            drop(shell);
            kill_group(conn, pid).await;
        }
        _ => {}
    }
    result
}

/// Close the idle shell, if any (a server whose `MaxSessions` is reached needs the session).
pub(crate) fn close_idle(conn: &Connection) -> bool {
    conn.idle_shell
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_any_command_as_one_word() {
        assert_eq!(sh_quote("echo 'a b'"), r"'echo '\''a b'\'''");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn unwraps_only_a_plain_sh_c() {
        assert_eq!(unwrap_sh_c("sh -c 'echo hi'").as_deref(), Some("echo hi"));
        assert_eq!(
            unwrap_sh_c(r#"sh -c 'echo '"'"'a b'"'"' && ls'"#).as_deref(),
            Some("echo 'a b' && ls")
        );
        assert_eq!(unwrap_sh_c(r"sh -c 'it'\''s'").as_deref(), Some("it's"));
        for other in [
            "sudo -H -n sh -c 'id'",
            "bash -c 'id'",
            "sh -c 'a' b",
            "sh -c id",
            "sh -c 'unterminated",
            "sh -c ",
            "echo sh -c 'x'",
        ] {
            assert_eq!(unwrap_sh_c(other), None, "{other}");
        }
    }

    #[test]
    fn finds_markers_anywhere() {
        assert_eq!(find(b"abcNONCE:0\n", b"NONCE:"), Some(3));
        assert_eq!(find(b"abc", b"NONCE:"), None);
    }

    #[test]
    fn passes_only_whole_lines() {
        let mut buf = b"a\nb\nc".to_vec();
        let mut got = Vec::new();
        pass_lines(&mut buf, Stream::Stdout, &mut |_, d: &[u8]| {
            got.extend_from_slice(d)
        });
        assert_eq!(got, b"a\nb\n");
        assert_eq!(buf, b"c");
    }
}
