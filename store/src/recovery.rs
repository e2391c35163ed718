//! Start-up recovery. The checkpoint names a CommitLog offset below which
//! every entry, and its ConsumeQueue and IndexFile entries, is on disk. Recovery
//! re-scans from there, validating each entry (length, magic, CRC, position),
//! re-dispatches what it finds, cuts the log at the first invalid byte, and drops
//! queue entries that point past the cut. Before the replay, the tail of
//! every ConsumeQueue is checked against the log (queue_check.rs). After a clean stop the checkpoint is
//! the end of the log, so nothing is re-scanned. The abort marker tells the two
//! cases apart for the operator.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::entry::{scan, Invalid, Scanned};
use crate::error::{IoContext, Result};
use crate::writer::Writer;

const CHECKPOINT_MAGIC: u32 = 0x524B_4350; // "RKCP"
const CHECKPOINT_LEN: usize = 24;

/// What recovery did, for the start-up log line and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The abort marker was present: the last stop was not clean.
    pub unclean: bool,
    /// Offset the scan started from.
    pub scanned_from: u64,
    /// End of the log after recovery.
    pub log_end: u64,
    /// Entries found and re-dispatched by the scan.
    pub entries_replayed: u64,
    /// Why the scan stopped before the end of the written bytes, if it did.
    pub cut_reason: Option<String>,
    /// ConsumeQueue entries dropped: they pointed past the log end, or at
    /// bytes that are not their entry (a damaged queue tail).
    pub queue_entries_dropped: u64,
    /// ConsumeQueue entries of damaged queues written again from the log.
    pub queue_entries_rebuilt: u64,
    /// `topic/queue` of each queue whose tail was damaged and rebuilt.
    pub damaged_queues: Vec<String>,
    /// Time taken.
    pub duration: Duration,
}

/// Reads the checkpoint; None if missing or unreadable (then all is re-scanned).
pub(crate) fn read_checkpoint(path: &Path) -> Option<u64> {
    let b = std::fs::read(path).ok()?;
    if b.len() != CHECKPOINT_LEN || b[0..4] != CHECKPOINT_MAGIC.to_be_bytes() {
        tracing::warn!(path = %path.display(), "ignoring malformed checkpoint; re-scanning the whole log");
        return None;
    }
    let crc = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    if crc32c::crc32c(&b[..20]) != crc {
        tracing::warn!(path = %path.display(), "checkpoint CRC mismatch; re-scanning the whole log");
        return None;
    }
    let mut p = [0u8; 8];
    p.copy_from_slice(&b[4..12]);
    Some(u64::from_be_bytes(p))
}

/// Writes the checkpoint atomically.
pub(crate) fn write_checkpoint(path: &Path, phy: u64) -> Result<()> {
    let mut b = [0u8; CHECKPOINT_LEN];
    b[0..4].copy_from_slice(&CHECKPOINT_MAGIC.to_be_bytes());
    b[4..12].copy_from_slice(&phy.to_be_bytes());
    b[12..20].copy_from_slice(&crate::util::now_ms().to_be_bytes());
    let crc = crc32c::crc32c(&b[..20]);
    b[20..24].copy_from_slice(&crc.to_be_bytes());
    crate::util::write_atomically(path, &b)
}

/// Recovers the log and queues; leaves the writer positioned at the log end.
pub(crate) fn recover(
    w: &mut Writer,
    checkpoint: Option<u64>,
    unclean: bool,
) -> Result<RecoveryReport> {
    let started = Instant::now();
    let shared = std::sync::Arc::clone(&w.shared);
    let log = &shared.commit_log;
    let segs = log.segments();
    let mut report = RecoveryReport {
        unclean,
        ..RecoveryReport::default()
    };
    let Some(first) = segs.first().cloned() else {
        // An empty log; queues pointing anywhere are stale.
        let start = checkpoint.unwrap_or(0);
        log.truncate(start)?;
        report.scanned_from = start;
        report.log_end = start;
        report.queue_entries_dropped = truncate_queues(w, start)?;
        w.set_write_pos(start);
        report.duration = started.elapsed();
        return Ok(report);
    };
    let last = segs.last().cloned().unwrap_or_else(|| first.clone());
    let log_top = last.base() + last.size();
    let start = match checkpoint {
        Some(c) if c >= first.base() && c <= log_top => c,
        Some(c) if c > log_top => last.base(),
        _ => first.base(),
    };
    report.scanned_from = start;
    // Queue tails are checked against the log below the checkpoint first;
    // the replay below then covers the rest.
    let repairs = crate::queue_check::check_and_rebuild(w, start, log_top, unclean)?;
    report.queue_entries_rebuilt = repairs.rebuilt;
    report.damaged_queues = repairs.damaged;
    // Replay publishes as it goes so that each batch sees its queue's offsets.
    w.set_write_pos(start);
    let mut pos = start;
    loop {
        let Some(seg) = log.segment_for(pos) else {
            break;
        };
        let in_seg = pos - seg.base();
        let Some(buf) = seg.slice(in_seg, (seg.size() - in_seg) as usize) else {
            break;
        };
        match scan(buf, pos) {
            Ok(Scanned::Blank) => pos = seg.base() + seg.size(),
            Ok(e) => {
                let Some(meta) = e.meta() else { break };
                w.dispatch(&e, pos)?;
                report.entries_replayed += 1;
                pos += meta.total_size as u64;
            }
            Err(Invalid::Empty) => {
                // Zeros normally mean the end; zeros followed by data mean a
                // page that never reached the disk in the middle of the tail.
                let window = &buf[..buf.len().min(1 << 20)];
                if let Some(at) = window.iter().position(|b| *b != 0) {
                    tracing::warn!(
                        offset = pos,
                        data_at = pos + at as u64,
                        "cutting the commit log at zeroed bytes followed by data"
                    );
                    report.cut_reason =
                        Some(format!("zeroed bytes at offset {pos} followed by data"));
                }
                break;
            }
            Err(Invalid::Corrupt(why)) => {
                tracing::warn!(
                    offset = pos,
                    reason = why,
                    "cutting the commit log at an invalid entry"
                );
                report.cut_reason = Some(format!("{why} at offset {pos}"));
                break;
            }
        }
    }
    log.truncate(pos)?;
    w.set_write_pos(pos);
    w.publish();
    report.log_end = pos;
    report.queue_entries_dropped = repairs.dropped + truncate_queues(w, pos)?;
    let flushed_dirs = w.shared.config.consume_queue_dir();
    crate::util::sync_dir(&flushed_dirs)
        .or_else(|_| std::fs::create_dir_all(&flushed_dirs).at(&flushed_dirs))?;
    w.shared
        .metrics
        .recovered_entries
        .set(report.entries_replayed as i64);
    report.duration = started.elapsed();
    Ok(report)
}

fn truncate_queues(w: &Writer, log_end: u64) -> Result<u64> {
    let log_min = w.shared.commit_log.min_offset();
    let mut dropped = 0;
    for cq in w.shared.cqs.all() {
        dropped += cq.truncate_to_log_end(log_end)?;
        cq.retire_below(log_min)?;
    }
    Ok(dropped)
}
