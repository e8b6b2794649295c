//! Moving bytes to and from a path on the target as the login user: SFTP when the server has
//! it, else `cat` over an exec channel. Escalation (`_sudo`...) is layered above, in the
//! connector, with shell commands around these raw transfers.

use std::sync::Arc;
use std::time::Duration;

use rinfra_connectors::{quote, ConnectorError};
use russh_sftp::client::SftpSession;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::data::FileTransferProtocol;
use crate::exec::{self, ExecRequest, Stdin};
use crate::session::Connection;

/// Attempts for a raw transfer that failed on I/O (pyinfra retries `OSError` 3 times).
const TRANSFER_ATTEMPTS: usize = 3;

/// Whether this connection can use SFTP, decided on first use.
#[derive(Default)]
pub(crate) enum SftpState {
    #[default]
    Untried,
    Ready(Arc<SftpSession>),
    Unavailable,
}

/// A raw transfer error: a refusal (permission, missing file) or a broken transport.
#[derive(Debug)]
pub(crate) struct RawError {
    pub(crate) message: String,
    pub(crate) transient: bool,
}

impl From<RawError> for ConnectorError {
    fn from(e: RawError) -> Self {
        ConnectorError::Transfer(e.message)
    }
}

fn sftp_error(what: &str, path: &str, e: russh_sftp::client::error::Error) -> RawError {
    use russh_sftp::client::error::Error as E;
    let transient = !matches!(e, E::Status(_) | E::Limited(_));
    RawError {
        message: format!("{what} `{path}` over sftp failed: {e}"),
        transient,
    }
}

fn io_error(what: &str, path: &str, e: std::io::Error) -> RawError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let refusal = [
        "permission",
        "no such file",
        "no space",
        "quota",
        "read-only",
    ]
    .iter()
    .any(|w| lower.contains(w));
    RawError {
        message: format!("{what} `{path}` over sftp failed: {text}"),
        transient: !refusal,
    }
}

fn exec_error(e: ConnectorError) -> RawError {
    let transient = matches!(
        e,
        ConnectorError::ConnectionLost(_) | ConnectorError::Io { .. }
    );
    RawError {
        message: e.to_string(),
        transient,
    }
}

impl Connection {
    /// The SFTP session, opened on first use; `None` when the server has no SFTP subsystem or
    /// the data asks for `scp` (then `cat` is used).
    async fn sftp(&self) -> Option<Arc<SftpSession>> {
        if self.target.file_transfer != FileTransferProtocol::Sftp {
            return None;
        }
        let mut state = self.sftp.lock().await;
        match &*state {
            SftpState::Ready(s) => return Some(s.clone()),
            SftpState::Unavailable => return None,
            SftpState::Untried => {}
        }
        match self.open_sftp().await {
            Ok(s) => {
                let s = Arc::new(s);
                *state = SftpState::Ready(s.clone());
                Some(s)
            }
            Err(why) => {
                tracing::debug!(target = %self.target.display(), %why,
                    "sftp unavailable, using cat over exec");
                *state = SftpState::Unavailable;
                None
            }
        }
    }

    async fn open_sftp(&self) -> Result<SftpSession, String> {
        let open = async {
            let channel = exec::open_session(self).await.map_err(|e| e.to_string())?;
            if let Err(e) = channel.request_subsystem(true, "sftp").await {
                let _ = channel.close().await;
                return Err(e.to_string());
            }
            SftpSession::new(channel.into_stream())
                .await
                .map_err(|e| e.to_string())
        };
        tokio::time::timeout(self.target.connect_timeout, open)
            .await
            .map_err(|_| "timed out opening the sftp subsystem".to_string())?
    }

    /// Forget a broken SFTP session so the next transfer opens a new one.
    async fn reset_sftp(&self) {
        let mut state = self.sftp.lock().await;
        if let SftpState::Ready(s) = &*state {
            let _ = s.close().await;
            *state = SftpState::Untried;
        }
    }

    /// Close the SFTP session, if one is open.
    pub(crate) async fn close_sftp(&self) {
        if let SftpState::Ready(s) = std::mem::take(&mut *self.sftp.lock().await) {
            let _ = s.close().await;
        }
    }

    /// Write `data` to `path` (created or truncated) as the login user, retrying I/O failures.
    pub(crate) async fn upload(&self, data: &[u8], path: &str) -> Result<(), RawError> {
        retry(|| self.upload_once(data, path), || self.reset_sftp()).await
    }

    /// Read `path` as the login user, retrying I/O failures.
    pub(crate) async fn download(&self, path: &str) -> Result<Vec<u8>, RawError> {
        retry(|| self.download_once(path), || self.reset_sftp()).await
    }

    async fn upload_once(&self, data: &[u8], path: &str) -> Result<(), RawError> {
        if let Some(sftp) = self.sftp().await {
            let written = async {
                let mut file = sftp
                    .create(path)
                    .await
                    .map_err(|e| sftp_error("writing", path, e))?;
                file.write_all(data)
                    .await
                    .map_err(|e| io_error("writing", path, e))?;
                file.shutdown()
                    .await
                    .map_err(|e| io_error("writing", path, e))
            }
            .await;
            return match written {
                Ok(()) => Ok(()),
                Err(e) => Err(self.explain_write_failure(e, path, data.len()).await),
            };
        }
        let command = format!("cat > {}", quote(path));
        let (code, _, err) = exec::run_raw(
            self,
            ExecRequest {
                command: &command,
                stdin: Stdin::Bytes(data),
                timeout: None,
                get_pty: false,
                portable: false,
            },
        )
        .await
        .map_err(exec_error)?;
        if code != Some(0) {
            return Err(RawError {
                message: format!(
                    "writing `{path}` failed: {}",
                    String::from_utf8_lossy(&err).trim_end()
                ),
                transient: false,
            });
        }
        Ok(())
    }

    /// SFTP (version 3) reports a full disk as a bare "Failure": when the directory has less
    /// room than the file needs, say so (and do not retry).
    async fn explain_write_failure(&self, e: RawError, path: &str, needed: usize) -> RawError {
        let dir = match path.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((d, _)) => d,
            None => ".",
        };
        // Without the partial file, so the free space is what the directory really has.
        let command = format!(
            "rm -f -- {}; df -Pk -- {} 2>/dev/null",
            quote(path),
            quote(dir)
        );
        let probe = exec::run_raw(
            self,
            ExecRequest {
                command: &command,
                stdin: Stdin::None,
                timeout: Some(self.target.connect_timeout),
                get_pty: false,
                portable: false,
            },
        )
        .await;
        // `Filesystem 1024-blocks Used Available Capacity Mounted-on`, then one line.
        let available_kib = probe.ok().and_then(|(_, out, _)| {
            let out = String::from_utf8_lossy(&out).into_owned();
            out.lines()
                .nth(1)?
                .split_whitespace()
                .nth(3)?
                .parse::<u64>()
                .ok()
        });
        match available_kib {
            Some(kib) if kib.saturating_mul(1024) < needed as u64 => RawError {
                message: format!(
                    "writing `{path}` failed: No space left on device ({kib} KiB free in `{dir}`, \
                     {} KiB needed)",
                    needed.div_ceil(1024)
                ),
                transient: false,
            },
            _ => e,
        }
    }

    async fn download_once(&self, path: &str) -> Result<Vec<u8>, RawError> {
        if let Some(sftp) = self.sftp().await {
            let mut file = sftp
                .open(path)
                .await
                .map_err(|e| sftp_error("reading", path, e))?;
            let mut data = Vec::new();
            file.read_to_end(&mut data)
                .await
                .map_err(|e| io_error("reading", path, e))?;
            let _ = file.shutdown().await;
            return Ok(data);
        }
        let command = format!("cat {}", quote(path));
        let (code, out, err) = exec::run_raw(
            self,
            ExecRequest {
                command: &command,
                stdin: Stdin::None,
                timeout: None,
                get_pty: false,
                portable: false,
            },
        )
        .await
        .map_err(exec_error)?;
        if code != Some(0) {
            return Err(RawError {
                message: format!(
                    "reading `{path}` failed: {}",
                    String::from_utf8_lossy(&err).trim_end()
                ),
                transient: false,
            });
        }
        Ok(out)
    }
}

async fn retry<T, F, Fut, R, RFut>(mut op: F, mut reset: R) -> Result<T, RawError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RawError>>,
    R: FnMut() -> RFut,
    RFut: std::future::Future<Output = ()>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.transient && attempt < TRANSFER_ATTEMPTS => {
                tracing::debug!(attempt, error = %e.message, "transfer failed, retrying");
                reset().await;
                tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
