//! One SSH connection: TCP (direct, through jump hosts, or a proxy command), handshake with
//! host key verification, authentication; retries with jitter; keepalives.

use std::borrow::Cow;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::client::{self, ChannelOpenHandle, Handle, Msg, Session};
use russh::keys::{Algorithm, PublicKeyOrCertificate};
use russh::{Channel, Disconnect, Preferred, SshId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::error::ConnectFailure;
use crate::host_keys::{verify_host_key, HostKeyPreferences, HostKeyVerifier};
use crate::jumps::{connect_chain, Hop, JumpPool};
use crate::target::{AgentSource, Proxy, ResolvedTarget};

/// Channels open at once on one connection. sshd's default `MaxSessions` is 10; one more is
/// kept for SFTP, and one spare for the server's own accounting.
pub const MAX_CHANNELS_PER_CONNECTION: usize = 8;

/// Counts the exec channels open on a connection, so that a server allowing fewer sessions
/// than [`MAX_CHANNELS_PER_CONNECTION`] makes commands wait for a free one instead of failing.
#[derive(Default)]
pub(crate) struct ChannelGauge {
    open: std::sync::atomic::AtomicUsize,
    closed: tokio::sync::Notify,
}

impl ChannelGauge {
    pub(crate) fn opened(&self) {
        self.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn closed(&self) {
        self.open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.closed.notify_waiters();
    }

    pub(crate) fn open_now(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wait until a channel closes (or a short while, to cover a missed wake-up).
    pub(crate) async fn wait_for_close(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(250), self.closed.notified()).await;
    }
}

/// russh's side of a connection: host key checks and agent-forwarding channels.
pub(crate) struct ClientHandler {
    verifier: Arc<dyn HostKeyVerifier>,
    target: Arc<ResolvedTarget>,
    /// Why the host key was refused, for the error message.
    rejection: Arc<Mutex<Option<String>>>,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let t = &self.target;
        let (host, port) = t.known_hosts_target();
        match verify_host_key(
            self.verifier.as_ref(),
            &t.known_hosts_files,
            host,
            port,
            t.strict_host_key_checking,
            key,
        ) {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.rejection.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.target.forward_agent {
            // Dropping `reply` rejects the channel.
            return Ok(());
        }
        let source = self.target.auth.agent.clone().unwrap_or(AgentSource::Env);
        let path = match source {
            AgentSource::Env => std::env::var_os("SSH_AUTH_SOCK").map(std::path::PathBuf::from),
            AgentSource::Path(p) => Some(p),
            AgentSource::Disabled => None,
        };
        let Some(path) = path else { return Ok(()) };
        match tokio::net::UnixStream::connect(&path).await {
            Ok(mut local) => {
                reply.accept().await;
                tokio::spawn(async move {
                    let mut remote = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut remote, &mut local).await;
                });
            }
            Err(e) => tracing::debug!(error = %e, "cannot reach the local agent to forward it"),
        }
        Ok(())
    }
}

/// Anything russh can run SSH over.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for T {}

/// A live, authenticated connection.
pub(crate) struct Connection {
    pub(crate) handle: Handle<ClientHandler>,
    /// Jump host connections the target's stream runs through, nearest first (shared with
    /// other targets behind the same hops).
    hops: Vec<Hop>,
    /// The ProxyCommand child, killed on drop.
    _proxy: Option<tokio::process::Child>,
    /// Bounds the channels open at once (sshd `MaxSessions`).
    pub(crate) channels: Arc<Semaphore>,
    /// Exec channels open right now, and a wake-up when one closes.
    pub(crate) gauge: Arc<ChannelGauge>,
    pub(crate) target: Arc<ResolvedTarget>,
    /// The SFTP session, opened on first transfer.
    pub(crate) sftp: tokio::sync::Mutex<crate::transfer::SftpState>,
    /// Process groups of commands abandoned while running (an interrupted run), killed by
    /// [`Connection::close`].
    pub(crate) abandoned: Arc<Mutex<Vec<u32>>>,
    /// The persistent shell between two commands (see `shell.rs`).
    pub(crate) idle_shell: Mutex<Option<crate::shell::PersistentShell>>,
}

impl Connection {
    /// Whether the transport is gone (server closed it, keepalives unanswered).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Say goodbye to the target, then to each jump host no other target uses, innermost
    /// first.
    pub(crate) async fn close(&self) {
        crate::shell::close_idle(self);
        // Commands abandoned mid-run (Ctrl-C) still run on the target: stop them first.
        let abandoned =
            std::mem::take(&mut *self.abandoned.lock().unwrap_or_else(|e| e.into_inner()));
        if !self.is_closed() {
            for pid in abandoned {
                crate::exec::kill_group(self, pid).await;
            }
        }
        // Let the channels being closed finish closing (bounded: a dead connection never
        // confirms anything).
        for _ in 0..20 {
            if self.gauge.open_now() == 0 || self.is_closed() {
                break;
            }
            self.gauge.wait_for_close().await;
        }
        self.close_sftp().await;
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        for hop in self.hops.iter().rev() {
            if Arc::strong_count(hop) == 1 {
                let _ = hop.disconnect(Disconnect::ByApplication, "", "en").await;
            }
        }
    }
}

/// Host key algorithms to offer: the types known_hosts already has for the host first (so a
/// server with several keys shows the one we know), and certificates when an authority is
/// trusted for it.
fn preferred(prefs: &HostKeyPreferences) -> Preferred {
    let defaults = Preferred::default();
    let mut keys: Vec<Algorithm> = Vec::new();
    for name in &prefs.known_key_types {
        let wanted: Vec<Algorithm> = if name == "ssh-rsa" {
            defaults
                .key
                .iter()
                .filter(|a| matches!(a, Algorithm::Rsa { .. }))
                .cloned()
                .collect()
        } else {
            Algorithm::new(name).into_iter().collect()
        };
        for a in wanted {
            if defaults.key.contains(&a) && !keys.contains(&a) {
                keys.push(a);
            }
        }
    }
    for a in defaults.key.iter() {
        if !keys.contains(a) {
            keys.push(a.clone());
        }
    }
    let certificates = if prefs.cert_authority {
        keys.clone()
    } else {
        Vec::new()
    };
    Preferred {
        key: Cow::Owned(keys),
        host_key_certificates: Cow::Owned(certificates),
        ..defaults
    }
}

fn russh_config(target: &ResolvedTarget, prefs: &HostKeyPreferences) -> Arc<client::Config> {
    Arc::new(client::Config {
        preferred: preferred(prefs),
        client_id: SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-rinfra_",
            env!("CARGO_PKG_VERSION")
        ))),
        keepalive_interval: target.server_alive_interval,
        keepalive_max: target.server_alive_count_max,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    })
}

/// Connect with `ssh_connect_retries` retries, pausing a random time between the retry
/// delays after each transient failure.
pub(crate) async fn connect(
    target: Arc<ResolvedTarget>,
    verifier: Arc<dyn HostKeyVerifier>,
    pool: &JumpPool,
    trips: &Arc<crate::round_trips::RoundTrips>,
) -> Result<Connection, ConnectFailure> {
    let mut attempt = 0;
    loop {
        match connect_once(target.clone(), verifier.clone(), pool, trips).await {
            Ok(c) => return Ok(c),
            Err(e) if e.is_transient() && attempt < target.retries.count => {
                attempt += 1;
                let pause = jitter(target.retries.min_delay, target.retries.max_delay);
                tracing::debug!(target = %target.display(), attempt, error = %e,
                    ?pause, "connection failed, retrying");
                tokio::time::sleep(pause).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A pause drawn uniformly from `[min, max]` (no `rand`: the standard library's random hasher
/// seed is enough for spreading reconnects).
fn jitter(min: Duration, max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    if max <= min {
        return min;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .elapsed()
            .map_or(0, |d| d.as_nanos() as u64),
    );
    let unit = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    min + (max - min).mul_f64(unit)
}

/// How many connections may be connecting (TCP connect, key exchange, authentication) at once,
/// across all hosts of a run.
///
/// Each phase's `ssh_connect_timeout` starts when the connection's turn comes, so 1,000 hosts
/// connecting at once do not time out queueing for the controller's CPU (or, with local test
/// hosts, for the targets' sshds on the same cores): before this, 500 handshakes at once in a
/// debug build took longer than the 10 s default. 128 keeps WAN fleets, whose handshakes wait on
/// round trips rather than CPU, connecting widely in parallel.
const MAX_CONCURRENT_HANDSHAKES: usize = 128;

/// The turns of [`MAX_CONCURRENT_HANDSHAKES`].
static HANDSHAKES: Semaphore = Semaphore::const_new(MAX_CONCURRENT_HANDSHAKES);

async fn connect_once(
    target: Arc<ResolvedTarget>,
    verifier: Arc<dyn HostKeyVerifier>,
    pool: &JumpPool,
    trips: &Arc<crate::round_trips::RoundTrips>,
) -> Result<Connection, ConnectFailure> {
    let mut hops: Vec<Hop> = Vec::new();
    let mut proxy_child = None;
    // Jump hosts connect first, without a turn: they are shared and few, and a turn held while
    // waiting for another connection's hop could wait forever.
    if let Proxy::Jump(jumps) = &target.proxy {
        if !jumps.is_empty() {
            hops = connect_chain(jumps, &verifier, pool).await?;
        }
    }
    let _turn = HANDSHAKES.acquire().await.expect("never closed");
    let stream: Box<dyn Transport> = match &target.proxy {
        Proxy::Direct => Box::new(tcp_connect(&target).await?),
        Proxy::Jump(jumps) if jumps.is_empty() => Box::new(tcp_connect(&target).await?),
        Proxy::Command(command) => {
            let (stream, child) = proxy_command(command, &target)?;
            proxy_child = Some(child);
            stream
        }
        Proxy::Jump(jumps) => {
            let (Some(last), Some(last_jump)) = (hops.last(), jumps.last()) else {
                return Err(ConnectFailure::Handshake {
                    addr: target.display(),
                    reason: "empty jump host list".into(),
                });
            };
            let last_label = &last_jump.label;
            Box::new(
                direct_tcpip(last, &target, last_label)
                    .await
                    .map_err(|e| e.via(last_label))?,
            )
        }
    };
    let stream: Box<dyn Transport> = Box::new(crate::round_trips::Counted {
        inner: stream,
        trips: Arc::clone(trips),
    });
    let handle = handshake_and_auth(target.clone(), verifier, stream).await?;
    Ok(Connection {
        handle,
        hops,
        _proxy: proxy_child,
        channels: Arc::new(Semaphore::new(MAX_CHANNELS_PER_CONNECTION)),
        gauge: Arc::default(),
        target,
        sftp: Default::default(),
        abandoned: Arc::default(),
        idle_shell: Mutex::default(),
    })
}

pub(crate) async fn tcp_connect(target: &ResolvedTarget) -> Result<TcpStream, ConnectFailure> {
    let addr = format!("{}:{}", target.hostname, target.port);
    let limit = target.connect_timeout;
    let addrs: Vec<_> = tokio::time::timeout(
        limit,
        tokio::net::lookup_host((target.hostname.as_str(), target.port)),
    )
    .await
    .map_err(|_| ConnectFailure::Timeout {
        phase: "resolving",
        addr: target.hostname.clone(),
        after: limit,
    })?
    .map_err(|source| ConnectFailure::Resolve {
        host: target.hostname.clone(),
        source,
    })?
    .collect();
    let mut last = None;
    for sockaddr in addrs {
        match tokio::time::timeout(limit, TcpStream::connect(sockaddr)).await {
            Ok(Ok(stream)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                return Ok(stream);
            }
            Ok(Err(source)) => {
                last = Some(ConnectFailure::Tcp {
                    addr: addr.clone(),
                    source,
                })
            }
            Err(_) => {
                last = Some(ConnectFailure::Timeout {
                    phase: "connecting to",
                    addr: addr.clone(),
                    after: limit,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| ConnectFailure::Resolve {
        host: target.hostname.clone(),
        source: std::io::Error::other("no address found"),
    }))
}

/// A `direct-tcpip` channel through `via` to `to`, as a byte stream.
pub(crate) async fn direct_tcpip(
    via: &Handle<ClientHandler>,
    to: &ResolvedTarget,
    via_label: &str,
) -> Result<impl Transport, ConnectFailure> {
    let addr = format!("{}:{}", to.hostname, to.port);
    let channel = tokio::time::timeout(
        to.connect_timeout,
        via.channel_open_direct_tcpip(to.hostname.clone(), u32::from(to.port), "127.0.0.1", 0),
    )
    .await
    .map_err(|_| ConnectFailure::Timeout {
        phase: "opening a tunnel to",
        addr: addr.clone(),
        after: to.connect_timeout,
    })?
    .map_err(|e| ConnectFailure::Handshake {
        addr: addr.clone(),
        reason: format!("{via_label} could not open a tunnel: {e}"),
    })?;
    Ok(channel.into_stream())
}

pub(crate) async fn handshake_and_auth(
    target: Arc<ResolvedTarget>,
    verifier: Arc<dyn HostKeyVerifier>,
    stream: Box<dyn Transport>,
) -> Result<Handle<ClientHandler>, ConnectFailure> {
    let addr = format!("{}:{}", target.hostname, target.port);
    let rejection = Arc::new(Mutex::new(None));
    let limit = target.connect_timeout;
    let (kh_host, kh_port) = target.known_hosts_target();
    let prefs = verifier.preferences(&target.known_hosts_files, kh_host, kh_port);
    let handler = ClientHandler {
        verifier,
        target: target.clone(),
        rejection: rejection.clone(),
    };
    let mut handle = tokio::time::timeout(
        limit,
        client::connect_stream(russh_config(&target, &prefs), stream, handler),
    )
    .await
    .map_err(|_| ConnectFailure::Timeout {
        phase: "ssh handshake with",
        addr: addr.clone(),
        after: limit,
    })?
    .map_err(
        |e| match rejection.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(why) => ConnectFailure::HostKey(why),
            None => ConnectFailure::Handshake {
                addr: addr.clone(),
                reason: describe_russh(&e),
            },
        },
    )?;
    // Authentication may wait on an agent or several round trips; give it its own budget.
    tokio::time::timeout(limit * 3, crate::auth::authenticate(&mut handle, &target))
        .await
        .map_err(|_| ConnectFailure::Timeout {
            phase: "authenticating to",
            addr,
            after: limit * 3,
        })??;
    Ok(handle)
}

fn describe_russh(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => crate::error::describe_io(io),
        russh::Error::Disconnect => "the server closed the connection".into(),
        other => other.to_string(),
    }
}

/// Start `sh -c COMMAND` and talk SSH over its stdin/stdout. Its stderr goes to the log.
fn proxy_command(
    command: &str,
    target: &ResolvedTarget,
) -> Result<(Box<dyn Transport>, tokio::process::Child), ConnectFailure> {
    let fail = |reason: String| ConnectFailure::ProxyCommand {
        command: command.to_string(),
        reason,
    };
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("SSH_HOST", &target.hostname)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {e}")))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(fail("no pipes".into()));
    };
    if let Some(mut stderr) = child.stderr.take() {
        let label = target.label.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf).await;
            if !buf.is_empty() {
                tracing::warn!(host = %label, "proxy command: {}", String::from_utf8_lossy(&buf).trim_end());
            }
        });
    }
    Ok((
        Box::new(ChildStream {
            reader: stdout,
            writer: stdin,
        }),
        child,
    ))
}

/// A child's stdout and stdin as one stream.
struct ChildStream {
    reader: tokio::process::ChildStdout,
    writer: tokio::process::ChildStdin,
}

impl AsyncRead for ChildStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChildStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        let (lo, hi) = (Duration::from_millis(100), Duration::from_millis(500));
        for _ in 0..200 {
            let d = jitter(lo, hi);
            assert!(d >= lo && d <= hi, "{d:?}");
        }
        assert_eq!(jitter(hi, lo), hi);
    }
}
