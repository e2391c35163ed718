//! CommitLog replication inside one broker group, store side.
//!
//! The master streams *chunks*: the raw bytes of whole entries exactly as its
//! CommitLog holds them, starting at an entry boundary and never crossing a
//! segment. A segment's blank filler is sent as its 8-byte header only (its
//! `totalSize` says how far it reaches; the rest of a segment is zeros on
//! both sides). The slave writes a chunk verbatim at its own end offset,
//! validating each entry first (length, magic, CRC, position field), and
//! dispatches ConsumeQueue and IndexFile entries exactly as a local append
//! does, so physical and queue offsets are identical on both sides.
//!
//! A rejoining old master cuts its log (and the queue entries pointing past
//! the cut) with [`Store::truncate_log`]. Index entries past the cut stay in
//! the IndexFile: every index look-up re-reads and checks the entry it points
//! at (topic, keys, position), so a stale slot can only cost a wasted read.

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::entry::{read_i32, scan, Invalid, Scanned, BLANK_MAGIC, BLANK_MIN_LEN};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::writer::{Cmd, Writer};

fn err<T>(msg: String) -> Result<T> {
    Err(StoreError::Replication(msg))
}

impl Store {
    /// End of the published CommitLog (the offset a slave asks from next).
    pub fn log_end(&self) -> u64 {
        self.shared().commit_log.max_offset()
    }

    /// End of the CommitLog bytes synced to disk.
    pub fn log_flushed(&self) -> u64 {
        self.shared().commit_log.flushed_offset()
    }

    /// Master side: the next chunk to stream from `from`, at most
    /// `max_bytes` (but always one whole entry), up to the published end and
    /// never past `from`'s segment. Empty when `from` is the end. `from` must
    /// be an entry boundary of this log (checked on the first entry).
    pub fn read_replica_chunk(&self, from: u64, max_bytes: usize) -> Result<Bytes> {
        let log = &self.shared().commit_log;
        let end = log.max_offset();
        if from == end {
            return Ok(Bytes::new());
        }
        if from > end {
            return err(format!("asked from {from}, past the log end {end}"));
        }
        if from < log.min_offset() {
            return err(format!(
                "asked from {from}, below the oldest retained offset {}",
                log.min_offset()
            ));
        }
        let Some(seg) = log.segment_for(from) else {
            return err(format!("no segment holds offset {from}"));
        };
        let start = from - seg.base();
        let seg_end = seg.size().min(end - seg.base());
        let mut pos = start;
        while pos < seg_end {
            let head = seg.slice(pos, 8).unwrap_or(&[]);
            let (Some(total), Some(magic)) = (read_i32(head, 0), read_i32(head, 4)) else {
                break;
            };
            if magic == BLANK_MAGIC {
                pos += BLANK_MIN_LEN;
                break;
            }
            if total <= 0 || pos + total as u64 > seg_end {
                break;
            }
            if pos > start && (pos - start) as usize + total as usize > max_bytes {
                break;
            }
            if pos == start {
                // The first entry proves `from` is an entry boundary.
                let buf = seg.slice(pos, total as usize).unwrap_or(&[]);
                if let Err(e) = scan(buf, from) {
                    return err(format!("offset {from} is not an entry start: {e:?}"));
                }
            }
            pos += total as u64;
        }
        if pos == start {
            return err(format!("no readable entry at offset {from}"));
        }
        seg.bytes(start, (pos - start) as usize)
            .ok_or_else(|| StoreError::Replication(format!("cannot map offset {from}")))
    }

    /// Slave side: writes a master's chunk at `from`, which must equal
    /// [`Store::log_end`]. Returns the new log end. Entries before an
    /// invalid one stay written (each is whole and valid).
    pub async fn append_replica(&self, from: u64, chunk: Bytes) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.send_cmd(Cmd::Replicate(from, chunk, tx))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// `append_replica` for threads outside a runtime.
    pub fn append_replica_blocking(&self, from: u64, chunk: Bytes) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.send_cmd(Cmd::Replicate(from, chunk, tx))?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Cuts the CommitLog at `end` (an entry boundary at or below the log
    /// end) and drops the ConsumeQueue entries pointing past it. On an empty
    /// log, moves the start to `end` instead (a new slave of a master whose
    /// older segments retention removed). Returns the new log end.
    pub async fn truncate_log(&self, end: u64) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.send_cmd(Cmd::Truncate(end, tx))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Waits until the writer applied every command queued before this
    /// call, e.g. a chunk a stopped slave task handed over just before it was
    /// aborted: afterwards [`Store::log_end`] no longer moves by replication.
    pub async fn replication_barrier(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send_cmd(Cmd::Barrier(tx))?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    /// `truncate_log` for threads outside a runtime.
    pub fn truncate_log_blocking(&self, end: u64) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.send_cmd(Cmd::Truncate(end, tx))?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }
}

/// Writer thread: writes a chunk verbatim at the append position.
pub(crate) fn apply(w: &mut Writer, from: u64, chunk: &[u8]) -> Result<u64> {
    if w.shared.poisoned.load(std::sync::atomic::Ordering::Acquire) {
        return Err(StoreError::Poisoned);
    }
    if from != w.write_pos {
        return err(format!(
            "chunk starts at {from} but the log ends at {}",
            w.write_pos
        ));
    }
    w.check_disk()?;
    let seg_size = w.shared.commit_log.segment_size();
    let mut rest = chunk;
    while !rest.is_empty() {
        let pos = w.write_pos;
        let in_seg = pos % seg_size;
        let (Some(total), Some(magic)) = (read_i32(rest, 0), read_i32(rest, 4)) else {
            return err(format!("short entry header at {pos}"));
        };
        if magic == BLANK_MAGIC {
            if rest.len() != BLANK_MIN_LEN as usize
                || in_seg == 0
                || total as u64 != seg_size - in_seg
            {
                return err(format!("misplaced blank filler at {pos}"));
            }
            let seg = current_segment(w, pos)?;
            crate::writer::write_log(&w.shared, &seg, in_seg, &rest[..8])?;
            w.write_pos = pos + total as u64;
            break;
        }
        if total <= 0 || total as usize > rest.len() {
            return err(format!("truncated entry at {pos}"));
        }
        let total_u = total as u64;
        if in_seg + total_u + BLANK_MIN_LEN > seg_size {
            return err(format!("entry at {pos} crosses its segment end"));
        }
        let bytes = &rest[..total as usize];
        let stored = match scan(bytes, pos) {
            Ok(Scanned::Blank) | Err(Invalid::Empty) => {
                return err(format!("unexpected blank at {pos}"))
            }
            Err(Invalid::Corrupt(why)) => return err(format!("invalid entry at {pos}: {why}")),
            Ok(s) => s,
        };
        let seg = current_segment(w, pos)?;
        crate::writer::write_log(&w.shared, &seg, in_seg, bytes)?;
        w.write_pos = pos + total_u;
        w.dispatch(&stored, pos)?;
        if let Some(meta) = stored.meta() {
            w.shared
                .metrics
                .record_append(meta.kind, meta.count, total as usize);
        }
        rest = &rest[total as usize..];
    }
    Ok(w.write_pos)
}

/// The segment that holds `pos`, creating it when `pos` starts a new one.
fn current_segment(
    w: &mut Writer,
    pos: u64,
) -> Result<std::sync::Arc<crate::mapped_file::MappedFile>> {
    if let Some(seg) = w
        .segment
        .as_ref()
        .filter(|s| pos >= s.base() && pos < s.base() + s.size())
    {
        return Ok(std::sync::Arc::clone(seg));
    }
    let seg_size = w.shared.commit_log.segment_size();
    if !pos.is_multiple_of(seg_size) {
        return err(format!("offset {pos} is inside a segment this log lacks"));
    }
    let seg = w.shared.commit_log.create_segment(pos)?;
    w.segment = Some(std::sync::Arc::clone(&seg));
    Ok(seg)
}

/// Writer thread: cuts the log and queues at `end`.
pub(crate) fn truncate(w: &mut Writer, end: u64) -> Result<u64> {
    let log = &w.shared.commit_log;
    let empty = log.segments().is_empty();
    if empty {
        if !end.is_multiple_of(log.segment_size()) {
            return err(format!(
                "an empty log can only start at a segment boundary, not {end}"
            ));
        }
    } else {
        if end > w.write_pos {
            return err(format!(
                "cannot truncate to {end}, past the log end {}",
                w.write_pos
            ));
        }
        if end < log.min_offset() {
            return err(format!(
                "cannot truncate to {end}, below the oldest retained offset {}",
                log.min_offset()
            ));
        }
        if end == w.write_pos {
            return Ok(end);
        }
    }
    log.truncate(end)?;
    w.set_write_pos(end);
    w.publish();
    let mut dropped = 0;
    for cq in w.shared.cqs.all() {
        dropped += cq.truncate_to_log_end(end)?;
    }
    tracing::warn!(
        log_end = end,
        queue_entries_dropped = dropped,
        "commit log truncated for replication"
    );
    Ok(end)
}
