//! A connection's TCP stream with bytes on either side that belong before the stream's own:
//! the request head `request_head` already read (replayed to hyper's first read), and a 101
//! response held back so it leaves in one write with the first WebSocket frame (the login's
//! reply), one segment and one client wake-up instead of two.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[derive(Debug)]
pub(crate) struct PrefixedStream {
    stream: TcpStream,
    /// Read from the socket already: handed out before the socket's next bytes.
    unread: Vec<u8>,
    unread_from: usize,
    /// Not yet written: goes out before (and with) the first bytes written.
    unsent: Vec<u8>,
    unsent_from: usize,
}

impl PrefixedStream {
    /// `stream`, whose first reads return `read` first.
    pub(crate) fn replaying(stream: TcpStream, read: Vec<u8>) -> Self {
        Self {
            stream,
            unread: read,
            unread_from: 0,
            unsent: Vec::new(),
            unsent_from: 0,
        }
    }

    /// `stream`, whose first write is preceded by `unsent` (in the same `writev`).
    pub(crate) fn deferring(stream: TcpStream, unsent: Vec<u8>) -> Self {
        Self {
            stream,
            unread: Vec::new(),
            unread_from: 0,
            unsent,
            unsent_from: 0,
        }
    }

    /// Writes what is still unsent of the prefix together with `buf`; the count returned is of
    /// `buf`'s bytes only (0 only when `buf` is empty and the prefix is out).
    fn poll_write_after_prefix(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        while self.unsent_from < self.unsent.len() {
            let prefix = &self.unsent[self.unsent_from..];
            let slices = [IoSlice::new(prefix), IoSlice::new(buf)];
            let n = ready!(Pin::new(&mut self.stream).poll_write_vectored(cx, &slices))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if n >= prefix.len() {
                let of_buf = n - prefix.len();
                self.unsent = Vec::new();
                self.unsent_from = 0;
                if of_buf > 0 || buf.is_empty() {
                    return Poll::Ready(Ok(of_buf));
                }
            } else {
                self.unsent_from += n;
            }
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
}

impl AsyncRead for PrefixedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.unread_from < this.unread.len() {
            let rest = &this.unread[this.unread_from..];
            let n = rest.len().min(out.remaining());
            out.put_slice(&rest[..n]);
            this.unread_from += n;
            if this.unread_from == this.unread.len() {
                this.unread = Vec::new();
                this.unread_from = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, out)
    }
}

impl AsyncWrite for PrefixedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_after_prefix(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.unsent_from < this.unsent.len() {
            let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
            return this.poll_write_after_prefix(cx, first);
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A flush with nothing written yet still sends the prefix: "everything written so far"
        // includes it.
        let this = self.get_mut();
        if this.unsent_from < this.unsent.len() {
            ready!(this.poll_write_after_prefix(cx, &[]))?;
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.unsent_from < this.unsent.len() {
            ready!(this.poll_write_after_prefix(cx, &[]))?;
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn replayed_bytes_come_first_then_the_socket() {
        let (mut client, server) = pair().await;
        let mut s = PrefixedStream::replaying(server, b"head".to_vec());
        client.write_all(b"-tail").await.unwrap();
        let mut got = vec![0u8; 3];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"hea");
        let mut got = vec![0u8; 6];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"d-tail");
    }

    #[tokio::test]
    async fn the_deferred_prefix_leaves_with_the_first_write() {
        let (mut client, server) = pair().await;
        let mut s = PrefixedStream::deferring(server, b"HTTP/1.1 101\r\n\r\n".to_vec());
        s.write_all(b"frame").await.unwrap();
        s.write_all(b"+more").await.unwrap();
        s.shutdown().await.unwrap();
        let mut got = vec![];
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"HTTP/1.1 101\r\n\r\nframe+more");
    }

    #[tokio::test]
    async fn a_flush_without_a_write_still_sends_the_prefix() {
        let (mut client, server) = pair().await;
        let mut s = PrefixedStream::deferring(server, b"101".to_vec());
        s.flush().await.unwrap();
        let mut got = [0u8; 3];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"101");
    }
}
