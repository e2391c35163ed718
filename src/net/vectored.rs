//! Vectored writes of a reply made of a head and shared body parts (the
//! mapped-log slices of a pull or POP reply): one `writev` for the frame head
//! and up to [`MAX_IOV`] parts, instead of one write per part or a copy of
//! every body into one buffer. Partial writes continue where the kernel
//! stopped, mid-slice included; a writer without vectored support (TLS)
//! takes the first slice each call, which the loop handles the same way.

use std::io::{self, IoSlice};

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Slices handed to one `writev` (Linux allows 1024).
pub const MAX_IOV: usize = 64;

/// Writes `head` then every part of `body`, in order, completely.
pub async fn write_all_vectored<W: AsyncWrite + Unpin + ?Sized>(
    w: &mut W,
    head: &[u8],
    body: &[Bytes],
) -> io::Result<()> {
    // Position: `part` 0 is the head, `part` i > 0 is body[i - 1]; `at` is
    // the offset already written inside that part.
    let (mut part, mut at) = (0usize, 0usize);
    let total = 1 + body.len();
    let nth = |i: usize| -> &[u8] {
        if i == 0 {
            head
        } else {
            &body[i - 1]
        }
    };
    let mut iov = [IoSlice::new(&[]); MAX_IOV];
    loop {
        while part < total && at >= nth(part).len() {
            part += 1;
            at = 0;
        }
        if part >= total {
            return Ok(());
        }
        let mut n_iov = 0;
        for i in part..total {
            if n_iov == MAX_IOV {
                break;
            }
            let s = if i == part { &nth(i)[at..] } else { nth(i) };
            if !s.is_empty() {
                iov[n_iov] = IoSlice::new(s);
                n_iov += 1;
            }
        }
        let mut n = w.write_vectored(&iov[..n_iov]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while n > 0 && part < total {
            let left = nth(part).len() - at;
            if n < left {
                at += n;
                n = 0;
            } else {
                n -= left;
                part += 1;
                at = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Accepts at most `step` bytes per call, optionally only from the first slice.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        vectored: bool,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls += 1;
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            if !self.vectored {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                return self.poll_write(cx, first);
            }
            self.calls += 1;
            assert!(bufs.len() <= MAX_IOV);
            let mut left = self.step;
            for b in bufs {
                let n = b.len().min(left);
                self.out.extend_from_slice(&b[..n]);
                left -= n;
                if left == 0 {
                    break;
                }
            }
            Poll::Ready(Ok(self.step - left))
        }
        fn is_write_vectored(&self) -> bool {
            self.vectored
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn parts(n: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| Bytes::from(vec![i as u8; (i * 37) % 300]))
            .collect()
    }

    fn expected(head: &[u8], body: &[Bytes]) -> Vec<u8> {
        let mut v = head.to_vec();
        for b in body {
            v.extend_from_slice(b);
        }
        v
    }

    #[tokio::test]
    async fn partial_writes_keep_every_byte_in_order() {
        let head = b"frame-head-0123456789".to_vec();
        for n_parts in [0, 1, 5, 63, 64, 65, 200] {
            let body = parts(n_parts);
            for step in [1, 7, 100, 4096, 1 << 20] {
                for vectored in [true, false] {
                    let mut w = Trickle {
                        out: Vec::new(),
                        step,
                        vectored,
                        calls: 0,
                    };
                    write_all_vectored(&mut w, &head, &body).await.unwrap();
                    assert_eq!(w.out, expected(&head, &body), "{n_parts} {step} {vectored}");
                }
            }
        }
    }

    #[tokio::test]
    async fn one_call_when_the_kernel_takes_everything() {
        let body = parts(20);
        let mut w = Trickle {
            out: Vec::new(),
            step: usize::MAX,
            vectored: true,
            calls: 0,
        };
        write_all_vectored(&mut w, b"h", &body).await.unwrap();
        assert_eq!(w.calls, 1);
    }

    #[tokio::test]
    async fn a_zero_write_is_an_error() {
        let mut w = Trickle {
            out: Vec::new(),
            step: 0,
            vectored: true,
            calls: 0,
        };
        let e = write_all_vectored(&mut w, b"h", &[]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    }
}
