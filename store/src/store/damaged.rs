//! The read side's handling of damage (ADR 007): each entry a reader gets
//! is checked against the queue entry that led to it; a damaged one is
//! skipped as a recorded gap, logged and counted once.

use std::sync::Arc;

use super::{Store, StoredEntry};
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::entry::{scan, Scanned};

/// Builds the reader's view of a validated entry.
pub(super) fn stored_entry(
    seg: &Arc<crate::mapped_file::MappedFile>,
    pos: u64,
    phy: u64,
    e: &Scanned<'_>,
) -> Option<StoredEntry> {
    let meta = e.meta()?;
    let tags_code = match e {
        Scanned::RocketMq(m) => m.tags_code(),
        Scanned::Kafka(b) => b.tags_code(0),
        Scanned::Blank => 0,
    };
    Some(StoredEntry {
        kind: meta.kind,
        phy_offset: phy,
        queue_offset: meta.queue_offset,
        count: meta.count,
        tags_code,
        store_timestamp: meta.store_timestamp,
        bytes: seg.bytes(pos, meta.total_size as usize)?,
    })
}

impl Store {
    /// The entry the queue entry `e` at logical `off` of `cq` points at,
    /// checked against the queue (topic, queue id, offset, size). `Ok(None)`
    /// if its segment is gone (retention); `Err(why)` if the bytes are damaged.
    pub(super) fn read_for_queue(
        &self,
        cq: &ConsumeQueue,
        off: u64,
        e: &CqEntry,
    ) -> std::result::Result<Option<StoredEntry>, &'static str> {
        let log = &self.inner.shared.commit_log;
        let Some(seg) = log.segment_for(e.phy_offset) else {
            return Ok(None);
        };
        if e.phy_offset + u64::from(e.size) > log.max_offset() {
            return Err("queue entry points past the log end");
        }
        let pos = e.phy_offset - seg.base();
        let buf = seg
            .slice(pos, e.size as usize)
            .ok_or("queue entry crosses a segment end")?;
        let s = scan(buf, e.phy_offset).map_err(|i| match i {
            crate::entry::Invalid::Empty => "zeroed entry",
            crate::entry::Invalid::Corrupt(why) => why,
        })?;
        if !crate::integrity::entry_matches(&s, e, cq.topic(), cq.queue_id(), off) {
            return Err("entry belongs to another queue, offset or size");
        }
        Ok(stored_entry(&seg, pos, e.phy_offset, &s))
    }

    /// Logs and counts a damaged entry met by a reader, once per entry.
    pub(super) fn report_damage(&self, cq: &ConsumeQueue, off: u64, phy: Option<u64>, why: &str) {
        let sh = &self.inner.shared;
        // Holes have no log position; key them by queue and offset instead.
        let key = phy.unwrap_or_else(|| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (cq.topic(), cq.queue_id(), off).hash(&mut h);
            h.finish() | 1 << 63
        });
        sh.corrupt
            .report(&sh.metrics, key, why, cq.topic(), cq.queue_id(), off);
    }

    /// The first offset at or after `offset` whose entry is not known to be
    /// damaged (bounded walk), so waiters do not spin on a damaged tail.
    pub(super) fn past_known_damage(&self, cq: &ConsumeQueue, offset: u64) -> u64 {
        let mut off = offset;
        let stop = cq.max_offset().min(offset.saturating_add(100_000));
        while off < stop
            && cq
                .get(off)
                .is_some_and(|e| self.inner.shared.corrupt.is_known(e.phy_offset))
        {
            off += 1;
        }
        off
    }
}

/// Appends `r` to the gaps, merging it with the last one when adjacent.
pub(super) fn push_gap(gaps: &mut Vec<std::ops::Range<u64>>, r: std::ops::Range<u64>) {
    match gaps.last_mut() {
        Some(l) if l.end == r.start => l.end = r.end,
        _ => gaps.push(r),
    }
}
