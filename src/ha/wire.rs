//! Wire format of the HA link (ADR 013). All integers big-endian.
//!
//! ```text
//! slave  -> master  hello:  u32 n, n x (u32 epoch, u64 start), u64 log_end,
//!                           u64 node   (the slave's cluster node id, 0 if none)
//! master -> slave   answer: u8 has_point, u64 point, u64 master_start,
//!                           u32 n, n x (u32 epoch, u64 start)
//! slave  -> master  start:  u64 from   (the slave's log end after truncation)
//! master -> slave   frame:  u64 from, u32 len, len bytes (whole entries)
//! slave  -> master  ack:    u64 written, u64 flushed   (after every frame)
//! ```

use bytes::Bytes;
use rokka_store::epoch::EpochEntry;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::HaError;

/// Most epoch records a history may carry on the wire.
pub const MAX_EPOCHS: u32 = 100_000;
/// Largest chunk a frame may carry.
pub const MAX_FRAME: u32 = 64 << 20;

/// The slave's opening message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The slave's epoch history.
    pub history: Vec<EpochEntry>,
    /// The slave's log end.
    pub log_end: u64,
    /// The slave's cluster node id (0 outside cluster mode): the master
    /// reports the in-sync set by node.
    pub node: u64,
}

/// The master's answer to [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Where the slave's log agrees with the master's; `None`: nowhere.
    pub point: Option<u64>,
    /// The master's oldest retained log offset.
    pub master_start: u64,
    /// The master's epoch history (the slave adopts it).
    pub history: Vec<EpochEntry>,
}

fn put_history(buf: &mut Vec<u8>, h: &[EpochEntry]) {
    buf.extend_from_slice(&(h.len() as u32).to_be_bytes());
    for e in h {
        buf.extend_from_slice(&e.epoch.to_be_bytes());
        buf.extend_from_slice(&e.start_offset.to_be_bytes());
    }
}

async fn get_history<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<EpochEntry>, HaError> {
    let n = r.read_u32().await?;
    if n > MAX_EPOCHS {
        return Err(HaError::Protocol(format!("{n} epoch records")));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let epoch = r.read_u32().await?;
        let start_offset = r.read_u64().await?;
        out.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    Ok(out)
}

/// Sends the slave's [`Hello`].
pub async fn write_hello<W: AsyncWrite + Unpin>(w: &mut W, h: &Hello) -> Result<(), HaError> {
    let mut buf = Vec::new();
    put_history(&mut buf, &h.history);
    buf.extend_from_slice(&h.log_end.to_be_bytes());
    buf.extend_from_slice(&h.node.to_be_bytes());
    w.write_all(&buf).await?;
    Ok(w.flush().await?)
}

/// Reads a [`Hello`].
pub async fn read_hello<R: AsyncRead + Unpin>(r: &mut R) -> Result<Hello, HaError> {
    let history = get_history(r).await?;
    let log_end = r.read_u64().await?;
    let node = r.read_u64().await?;
    Ok(Hello {
        history,
        log_end,
        node,
    })
}

/// Sends the master's [`Answer`].
pub async fn write_answer<W: AsyncWrite + Unpin>(w: &mut W, a: &Answer) -> Result<(), HaError> {
    let mut buf = vec![u8::from(a.point.is_some())];
    buf.extend_from_slice(&a.point.unwrap_or(0).to_be_bytes());
    buf.extend_from_slice(&a.master_start.to_be_bytes());
    put_history(&mut buf, &a.history);
    w.write_all(&buf).await?;
    Ok(w.flush().await?)
}

/// Reads an [`Answer`].
pub async fn read_answer<R: AsyncRead + Unpin>(r: &mut R) -> Result<Answer, HaError> {
    let has = r.read_u8().await?;
    let point = r.read_u64().await?;
    let master_start = r.read_u64().await?;
    let history = get_history(r).await?;
    Ok(Answer {
        point: (has != 0).then_some(point),
        master_start,
        history,
    })
}

/// Sends one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    from: u64,
    chunk: &[u8],
) -> Result<(), HaError> {
    let len = u32::try_from(chunk.len())
        .ok()
        .filter(|&l| l <= MAX_FRAME)
        .ok_or_else(|| HaError::Protocol(format!("chunk of {} bytes", chunk.len())))?;
    let mut head = [0u8; 12];
    head[..8].copy_from_slice(&from.to_be_bytes());
    head[8..].copy_from_slice(&len.to_be_bytes());
    w.write_all(&head).await?;
    w.write_all(chunk).await?;
    Ok(w.flush().await?)
}

/// Reads one frame: `(from, chunk)`.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<(u64, Bytes), HaError> {
    let from = r.read_u64().await?;
    let len = r.read_u32().await?;
    if len == 0 || len > MAX_FRAME {
        return Err(HaError::Protocol(format!("frame of {len} bytes")));
    }
    let mut chunk = vec![0u8; len as usize];
    r.read_exact(&mut chunk).await?;
    Ok((from, Bytes::from(chunk)))
}

/// Sends an ack or the start offset (`u64` values).
pub async fn write_u64s<W: AsyncWrite + Unpin>(w: &mut W, v: &[u64]) -> Result<(), HaError> {
    let mut buf = Vec::with_capacity(v.len() * 8);
    for x in v {
        buf.extend_from_slice(&x.to_be_bytes());
    }
    w.write_all(&buf).await?;
    Ok(w.flush().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hello_answer_frame_round_trip() {
        let history = vec![
            EpochEntry {
                epoch: 1,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 3,
                start_offset: 4096,
            },
        ];
        let mut buf = Vec::new();
        let hello = Hello {
            history: history.clone(),
            log_end: 9000,
            node: 3,
        };
        write_hello(&mut buf, &hello).await.unwrap();
        assert_eq!(read_hello(&mut buf.as_slice()).await.unwrap(), hello);

        for point in [None, Some(77)] {
            let a = Answer {
                point,
                master_start: 5,
                history: history.clone(),
            };
            let mut buf = Vec::new();
            write_answer(&mut buf, &a).await.unwrap();
            assert_eq!(read_answer(&mut buf.as_slice()).await.unwrap(), a);
        }

        let mut buf = Vec::new();
        write_frame(&mut buf, 42, b"abc").await.unwrap();
        let (from, chunk) = read_frame(&mut buf.as_slice()).await.unwrap();
        assert_eq!((from, &chunk[..]), (42, &b"abc"[..]));
    }

    #[tokio::test]
    async fn oversized_lengths_are_refused() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0u64.to_be_bytes());
        buf.extend_from_slice(&(MAX_FRAME + 1).to_be_bytes());
        assert!(matches!(
            read_frame(&mut buf.as_slice()).await,
            Err(HaError::Protocol(_))
        ));
        let buf = (MAX_EPOCHS + 1).to_be_bytes();
        assert!(matches!(
            read_hello(&mut buf.as_slice()).await,
            Err(HaError::Protocol(_))
        ));
    }
}
