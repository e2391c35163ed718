//! Checks shared by recovery, readers and `verify`: does a ConsumeQueue
//! entry point at a valid CommitLog entry of its own queue and offset; where
//! is the next valid entry after damaged bytes; and the read side's record of
//! damaged entries already reported (each is logged and counted once).

use std::collections::HashSet;
use std::sync::Mutex;

use crate::commit_log::CommitLog;
use crate::consume_queue::CqEntry;
use crate::entry::{kafka, rocketmq, scan, Invalid, Scanned, BLANK_MAGIC};
use crate::metrics::StoreMetrics;

/// Topic and queue id of an entry (None for the blank filler).
pub(crate) fn topic_queue<'a>(e: &Scanned<'a>) -> Option<(&'a str, u32)> {
    match e {
        Scanned::RocketMq(m) => Some((m.topic(), m.queue_id())),
        Scanned::Kafka(b) => Some((b.topic(), b.queue_id())),
        Scanned::Blank => None,
    }
}

/// True if `e` is the entry a ConsumeQueue entry `cq` of (`topic`, `queue_id`)
/// at logical `offset` must point at: same queue, same size, and `offset`
/// inside the entry (for a Kafka batch: the record index within the batch),
/// or before it: a compacted queue's removed offsets point forward at the
/// next surviving entry (ADR 010), never backward.
pub(crate) fn entry_matches(
    e: &Scanned<'_>,
    cq: &CqEntry,
    topic: &str,
    queue_id: u32,
    offset: u64,
) -> bool {
    let (Some(meta), Some((t, q))) = (e.meta(), topic_queue(e)) else {
        return false;
    };
    t == topic
        && q == queue_id
        && meta.total_size == cq.size
        && offset < meta.queue_offset + u64::from(meta.count)
}

/// Validates the bytes at `phy` of the log's segments, ignoring the published
/// end (recovery runs before anything is published) but never reading past
/// `limit` or the segment. `f` sees the outcome; None if no segment holds `phy`.
pub(crate) fn with_entry_at<T>(
    log: &CommitLog,
    phy: u64,
    limit: u64,
    f: impl FnOnce(Result<Scanned<'_>, Invalid>) -> T,
) -> Option<T> {
    let seg = log.segment_for(phy)?;
    let pos = phy - seg.base();
    let end = seg.size().min(limit.saturating_sub(seg.base()));
    if pos >= end {
        return None;
    }
    let buf = seg.slice(pos, (end - pos) as usize)?;
    Some(f(scan(buf, phy)))
}

/// The first position after `pos` (exclusive) and below `end` where a valid
/// entry starts, or the start of the next segment holding one, or `end`.
/// Used to step over damaged bytes: the own-offset field and the CRC make a
/// false match practically impossible.
pub(crate) fn resync(log: &CommitLog, pos: u64, end: u64) -> u64 {
    let magics = [
        rocketmq::MAGIC_V1.to_be_bytes(),
        kafka::MAGIC.to_be_bytes(),
        BLANK_MAGIC.to_be_bytes(),
    ];
    let mut at = pos + 1;
    while at < end {
        let Some(seg) = log.segment_for(at) else {
            return end;
        };
        let seg_end = (seg.base() + seg.size()).min(end);
        let in_seg = at - seg.base();
        let Some(buf) = seg.slice(in_seg, (seg_end - at) as usize) else {
            return end;
        };
        // A candidate `q` has its magic at `q + 4`.
        let found = buf
            .windows(4)
            .enumerate()
            .skip(4)
            .filter(|(_, w)| magics.iter().any(|m| m == w))
            .map(|(i, _)| at + i as u64 - 4)
            .find(|q| with_entry_at(log, *q, end.max(seg_end), |r| r.is_ok()) == Some(true));
        match found {
            Some(q) => return q,
            None => at = seg_end,
        }
    }
    end
}

/// Damaged entries readers have met, so each is logged and counted once.
#[derive(Debug, Default)]
pub(crate) struct CorruptSeen {
    seen: Mutex<HashSet<u64>>,
}

/// Entries remembered at most; past that, damage is still skipped and
/// counted, but may be logged again.
const MAX_REMEMBERED: usize = 1 << 16;

impl CorruptSeen {
    /// Records that the entry at `phy` failed its checks; logs and counts it
    /// the first time.
    pub(crate) fn report(
        &self,
        metrics: &StoreMetrics,
        phy: u64,
        reason: &str,
        topic: &str,
        queue_id: u32,
        queue_offset: u64,
    ) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&phy) {
            return;
        }
        if seen.len() < MAX_REMEMBERED {
            seen.insert(phy);
        }
        drop(seen);
        metrics.corrupt_entries.inc();
        tracing::warn!(
            topic,
            queue_id,
            queue_offset,
            phy_offset = phy,
            reason,
            "skipping a damaged commit log entry; run `rokka verify` on the stopped data directory"
        );
    }

    /// True if the entry at `phy` was reported damaged.
    pub(crate) fn is_known(&self, phy: u64) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&phy)
    }
}
