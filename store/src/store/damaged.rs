//! The read side's handling of damage (ADR 007): each entry a reader gets
//! is checked against the queue entry that led to it; a damaged one is
//! skipped as a recorded gap, logged and counted once.

use std::sync::Arc;

use bytes::Bytes;

use super::{Store, StoredEntry};
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::entry::{scan, Scanned};
use crate::mapped_file::MappedFile;

/// Builds the reader's view of a validated entry; `bytes` gives the
/// entry's bytes for its length.
pub(super) fn stored_entry(
    e: &Scanned<'_>,
    phy: u64,
    bytes: impl FnOnce(usize) -> Option<Bytes>,
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
        bytes: bytes(meta.total_size as usize)?,
    })
}

/// One `Bytes` over a segment's published bytes from a read's first entry
/// on: the entries a read returns are slices of it, so a pull of many
/// messages allocates once per segment, not once per message (issue 16),
/// and looks the segment up once.
#[derive(Debug)]
pub(super) struct SegmentView {
    /// CommitLog offset of `bytes[0]`.
    start: u64,
    bytes: Bytes,
}

impl SegmentView {
    /// A view of `seg` from CommitLog offset `phy` to the published end
    /// `published` (or the segment's end).
    fn new(seg: &Arc<MappedFile>, phy: u64, published: u64) -> Option<SegmentView> {
        let end = published.min(seg.base() + seg.size());
        let len = usize::try_from(end.checked_sub(phy)?).ok()?;
        Some(SegmentView {
            start: phy,
            bytes: seg.bytes(phy - seg.base(), len)?,
        })
    }

    /// The view's bytes at `[phy, phy + len)`, if it holds them all.
    fn range(&self, phy: u64, len: usize) -> Option<std::ops::Range<usize>> {
        let from = usize::try_from(phy.checked_sub(self.start)?).ok()?;
        let to = from.checked_add(len)?;
        (to <= self.bytes.len()).then_some(from..to)
    }
}

impl Store {
    /// The entry the queue entry `e` at logical `off` of `cq` points at,
    /// checked against the queue (topic, queue id, offset, size). `Ok(None)`
    /// if its segment is gone (retention); `Err(why)` if the bytes are damaged.
    /// `view` carries the segment view from one entry of a read to the next.
    pub(super) fn read_for_queue(
        &self,
        cq: &ConsumeQueue,
        off: u64,
        e: &CqEntry,
        view: &mut Option<SegmentView>,
    ) -> std::result::Result<Option<StoredEntry>, &'static str> {
        let log = &self.inner.shared.commit_log;
        let published = log.max_offset();
        let (phy, size) = (e.phy_offset, e.size as usize);
        if view.as_ref().and_then(|v| v.range(phy, size)).is_none() {
            let Some(seg) = log.segment_for(phy) else {
                return Ok(None);
            };
            *view = SegmentView::new(&seg, phy, published);
        }
        if phy + u64::from(e.size) > published {
            return Err("queue entry points past the log end");
        }
        let (v, range) = view
            .as_ref()
            .and_then(|v| Some((v, v.range(phy, size)?)))
            .ok_or("queue entry crosses a segment end")?;
        let s = scan(&v.bytes[range], phy).map_err(|i| match i {
            crate::entry::Invalid::Empty => "zeroed entry",
            crate::entry::Invalid::Corrupt(why) => why,
        })?;
        if !crate::integrity::entry_matches(&s, e, cq.topic(), cq.queue_id(), off) {
            return Err("entry belongs to another queue, offset or size");
        }
        Ok(stored_entry(&s, phy, |len| {
            Some(v.bytes.slice(v.range(phy, len)?))
        }))
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
