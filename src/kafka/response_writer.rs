//! The writing half of a Kafka connection: encoded responses, in request
//! order, framed with their `i32` size.
//!
//! A response is a list of chunks: encoded fields, and for Fetch the stored
//! record batches as slices of the mapped CommitLog. Chunks of at least
//! [`SLICE_FROM`] bytes go to the kernel as they are, in one `writev` with
//! the rest (no copy in user space: the same-protocol read is zero-copy up to
//! the socket). Smaller chunks, and the size prefixes, are copied into a
//! small buffer, so a run of tiny fields or one-record batches is one slice,
//! not hundreds. Responses already waiting are gathered into the same
//! `writev` (up to [`GATHER_BYTES`]), as a buffered writer coalesced them.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::metrics::traffic::ConnBytes;
use crate::net::vectored::write_all_vectored;

/// Chunks this large are handed to `writev` as slices; smaller ones are copied.
const SLICE_FROM: usize = 4096;

/// Responses waiting in the channel are gathered up to about this many bytes.
const GATHER_BYTES: usize = 4 << 20;

/// Writes every response `rx` yields until it closes or a write fails; then
/// shuts the write side down.
pub async fn write_responses<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<Vec<Bytes>>,
    bytes: &ConnBytes,
) {
    let mut small = BytesMut::with_capacity(64 * 1024);
    let mut parts: Vec<Bytes> = Vec::with_capacity(64);
    while let Some(first) = rx.recv().await {
        let mut gathered = 0;
        let mut next = Some(first);
        while let Some(chunks) = next {
            let size: usize = chunks.iter().map(Bytes::len).sum();
            let Ok(prefix) = i32::try_from(size) else {
                return;
            };
            small.put_i32(prefix);
            for c in chunks {
                if c.len() < SLICE_FROM {
                    small.extend_from_slice(&c);
                } else {
                    if !small.is_empty() {
                        parts.push(small.split().freeze());
                    }
                    parts.push(c);
                }
            }
            gathered += size + 4;
            next = if gathered < GATHER_BYTES {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !small.is_empty() {
            parts.push(small.split().freeze());
        }
        let written = write_all_vectored(&mut wr, &[], &parts).await;
        // Dropping the parts lets `small` reuse its buffer.
        parts.clear();
        if written.is_err() {
            return;
        }
        bytes.written(gathered);
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn written(responses: Vec<Vec<Bytes>>) -> Vec<u8> {
        let (tx, rx) = mpsc::channel(64);
        for r in responses {
            tx.send(r).await.unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        let conn = crate::metrics::traffic::traffic()
            .connection("kafka-test", "127.0.0.1:1".parse().unwrap());
        write_responses(&mut out, rx, &conn.bytes()).await;
        out
    }

    #[tokio::test]
    async fn responses_leave_framed_and_in_order_whatever_their_chunk_sizes() {
        let big = Bytes::from(vec![7u8; 10_000]);
        let responses = vec![
            vec![
                Bytes::from_static(b"ab"),
                big.clone(),
                Bytes::from_static(b"c"),
            ],
            vec![],
            vec![Bytes::from_static(b"tiny")],
            vec![big.clone(), big.clone()],
        ];
        let mut expected = Vec::new();
        for r in &responses {
            let size: usize = r.iter().map(Bytes::len).sum();
            expected.extend_from_slice(&(size as i32).to_be_bytes());
            for c in r {
                expected.extend_from_slice(c);
            }
        }
        assert_eq!(written(responses).await, expected);
    }
}
