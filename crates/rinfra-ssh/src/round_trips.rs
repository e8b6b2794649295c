//! Counting a connection's round trips where they happen: on the byte stream under SSH.
//!
//! A round trip is a turn of the conversation: the controller writes after it has read
//! something since its last write (it waited for an answer before going on). The first write
//! counts too (the TCP connect and version exchange). Writes the controller makes without
//! waiting (pipelined requests) add nothing, which is the point: the count says how often a
//! host made the run wait one network latency. Keepalives, when they fire, count as well.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection's turn count, shared by the stream and the connector.
#[derive(Debug, Default)]
pub(crate) struct RoundTrips {
    count: AtomicU64,
    /// Read since the last write.
    answered: AtomicBool,
}

impl RoundTrips {
    /// Turns so far.
    pub(crate) fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn read(&self) {
        self.answered.store(true, Ordering::Relaxed);
    }

    fn write(&self) {
        if self.answered.swap(false, Ordering::Relaxed) || self.count.load(Ordering::Relaxed) == 0 {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A transport that counts [`RoundTrips`].
pub(crate) struct Counted<T> {
    pub(crate) inner: T,
    pub(crate) trips: Arc<RoundTrips>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.trips.read();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.trips.write();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_after_an_answer_are_turns() {
        let t = RoundTrips::default();
        t.write(); // connect + version: 1
        t.write(); // pipelined: still 1
        assert_eq!(t.get(), 1);
        t.read();
        t.read();
        t.write(); // after an answer: 2
        t.write();
        assert_eq!(t.get(), 2);
        t.read();
        t.write();
        assert_eq!(t.get(), 3);
    }
}
