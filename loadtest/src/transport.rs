//! The TCP stream under each TLS connection, with one twist: a write that fails because the
//! peer is gone (EPIPE, ECONNRESET) is reported as done, and the failure is left for the next
//! read to find.
//!
//! Why: a TLS 1.3 server that rejects the client certificate sends its alert and closes right
//! after the client's last handshake flight — often while the client is already writing its
//! request or close_notify. The kernel keeps the alert readable even after the reset, but a
//! write error would end the exchange before anyone reads it, and the iteration would be counted
//! as `closed:request` instead of `alert:certificate_required`. Deferring the failure to the
//! read side lets rustls read the alert first; if there is none, the read fails with the same
//! reset and the iteration is classified as closed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// See the module documentation.
#[derive(Debug)]
pub struct Transport {
    tcp: TcpStream,
    /// A write already failed: the peer is gone, stop writing.
    peer_gone: bool,
}

impl Transport {
    pub fn new(tcp: TcpStream) -> Transport {
        Transport {
            tcp,
            peer_gone: false,
        }
    }

    /// Turns "the peer is gone" into a completed write of `len` bytes, remembering it.
    fn absorb(&mut self, r: Poll<io::Result<usize>>, len: usize) -> Poll<io::Result<usize>> {
        match r {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                self.peer_gone = true;
                Poll::Ready(Ok(len))
            }
            other => other,
        }
    }
}

fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(buf.len()));
        }
        let r = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.absorb(r, buf.len())
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len = bufs.iter().map(|b| b.len()).sum();
        if this.peer_gone {
            return Poll::Ready(Ok(len));
        }
        let r = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.absorb(r, len)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.tcp).poll_flush(cx) {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                this.peer_gone = true;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.tcp).poll_shutdown(cx) {
            Poll::Ready(Err(e)) if peer_gone(&e) || e.kind() == io::ErrorKind::NotConnected => {
                this.peer_gone = true;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn writes_to_a_reset_peer_succeed_and_the_read_reports_the_reset() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        // The server says its last word, then resets (SO_LINGER 0).
        let mut server = server;
        server.write_all(b"bye").await.expect("write");
        server.set_zero_linger().expect("linger");
        drop(server);

        let mut t = Transport::new(client);
        let mut got = [0u8; 3];
        // Writes keep "succeeding" however often the reset is hit.
        for _ in 0..20 {
            t.write_all(&[0u8; 4096]).await.expect("absorbed");
        }
        t.flush().await.expect("absorbed");
        // What the server said before leaving is still readable ...
        t.read_exact(&mut got).await.expect("buffered data");
        assert_eq!(&got, b"bye");
        // ... and then the reset shows.
        let mut more = [0u8; 1];
        let end = t.read(&mut more).await;
        assert!(matches!(end, Ok(0)) || end.is_err_and(|e| peer_gone(&e)));
        t.shutdown().await.expect("absorbed");
    }
}
