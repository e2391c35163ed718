//! Start-up check of every ConsumeQueue's tail against the CommitLog, run by
//! recovery before it replays the log from the checkpoint.
//!
//! The last entries of each queue (many after an unclean stop, a few after a
//! clean one) must point at a valid log entry (length, magic, CRC, own offset)
//! of the same topic, queue id and offset (for a Kafka batch: the record index
//! within the batch). An entry that points below the checkpoint at bytes that
//! fail their checks is damage in the log, not in the queue: it keeps its
//! offset, and readers skip it (ADR 007). Anything else is damage in the
//! queue: the entries from the first bad one up are dropped, and the queue is
//! rebuilt by re-dispatching the log forward from the last good entry. A queue
//! is also rebuilt when its tail shows other signs of damage: bytes after its
//! end that should be zeros, a file found short at open, a Kafka batch whose
//! later records have no entries. So the queue's end (the high watermark and
//! the next offset it assigns) is what the log proves, and no offset is ever
//! assigned twice.

use std::collections::HashMap;
use std::sync::Arc;

use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::entry::{Invalid, Scanned};
use crate::error::Result;
use crate::integrity::{entry_matches, resync, topic_queue, with_entry_at};
use crate::writer::Writer;

/// Entries checked at the tail of each queue after an unclean stop.
const UNCLEAN_WINDOW: u64 = 1024;
/// Entries checked at the tail of each queue after a clean stop.
const CLEAN_WINDOW: u64 = 4;
/// Empty slots after the end that must read as zeros (unclean / clean).
const UNCLEAN_JUNK_WINDOW: u64 = 4096;
const CLEAN_JUNK_WINDOW: u64 = 64;

/// What the check did, for the recovery report.
#[derive(Debug, Default)]
pub(crate) struct QueueRepairs {
    /// Entries dropped from damaged queue tails.
    pub dropped: u64,
    /// Entries written again from the log (including gap markers).
    pub rebuilt: u64,
    /// `topic/queue` of each damaged queue.
    pub damaged: Vec<String>,
}

/// How a ConsumeQueue entry relates to the log.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// Points at a valid entry of its queue covering logical `[first, end)`.
    Good { phy: u64, first: u64, end: u64 },
    /// Points below the checkpoint at damaged bytes: kept, skipped by readers.
    LogDamage(CqEntry),
    /// Damage in the queue itself.
    Bad,
}

struct Judge<'a> {
    w: &'a Writer,
    /// Log bytes below this were durable before the stop.
    checkpoint: u64,
    /// End of the last segment: nothing is read past it.
    top: u64,
    log_min: u64,
    max_size: u64,
    /// Last entry validated (Kafka batches have one queue entry per record).
    cache: Option<(u64, Verdict)>,
}

impl Judge<'_> {
    fn judge(&mut self, cq: &ConsumeQueue, off: u64) -> Verdict {
        let Some(e) = cq.raw_at(off) else {
            return Verdict::Bad;
        };
        if let Some((phy, Verdict::Good { first, end, .. })) = self.cache {
            if phy == e.phy_offset && off >= first && off < end {
                return Verdict::Good { phy, first, end };
            }
        }
        let log = &self.w.shared.commit_log;
        let checked = with_entry_at(log, e.phy_offset, self.top, |r| match r {
            Ok(s) if entry_matches(&s, &e, cq.topic(), cq.queue_id(), off) => {
                s.meta().map(|m| Verdict::Good {
                    phy: e.phy_offset,
                    first: m.queue_offset,
                    end: m.queue_offset + u64::from(m.count),
                })
            }
            Ok(_) => Some(Verdict::Bad),
            Err(_) => None,
        });
        let v = match checked {
            Some(Some(v)) => v,
            Some(None) if self.plausible_log_damage(cq, off, &e) => Verdict::LogDamage(e),
            _ => Verdict::Bad,
        };
        self.cache = Some((e.phy_offset, v));
        v
    }

    /// The entry fails against the log, but is shaped like one the writer
    /// made: inside the durable part, not larger than an entry can be, and
    /// not behind its predecessor.
    fn plausible_log_damage(&self, cq: &ConsumeQueue, off: u64, e: &CqEntry) -> bool {
        let in_order = off <= cq.min_offset()
            || cq.raw_at(off - 1).is_some_and(|p| {
                p.phy_offset < e.phy_offset || (p.phy_offset == e.phy_offset && p.size == e.size)
            });
        e.phy_offset >= self.log_min
            && e.phy_offset + u64::from(e.size) <= self.checkpoint
            && u64::from(e.size) <= self.max_size
            && in_order
    }
}

/// A damaged queue being rebuilt.
struct Rebuild {
    cq: Arc<ConsumeQueue>,
    /// Entries below this were kept.
    kept: u64,
    /// Log entries of the queue ending at or below this are already in it.
    from_offset: u64,
    /// An entry below the rebuilt part is known: offsets skipped from here
    /// on are damage, not history before the queue's start.
    started: std::cell::Cell<bool>,
}

/// Checks every queue's tail and rebuilds the damaged ones from the log up
/// to `checkpoint` (the replay that follows covers the rest).
pub(crate) fn check_and_rebuild(
    w: &mut Writer,
    checkpoint: u64,
    top: u64,
    unclean: bool,
) -> Result<QueueRepairs> {
    let (window, junk_window) = if unclean {
        (UNCLEAN_WINDOW, UNCLEAN_JUNK_WINDOW)
    } else {
        (CLEAN_WINDOW, CLEAN_JUNK_WINDOW)
    };
    let mut repairs = QueueRepairs::default();
    let mut rebuilds: HashMap<(String, u32), Rebuild> = HashMap::new();
    let mut scan_from = u64::MAX;
    let cqs = w.shared.cqs.all();
    for cq in cqs {
        let mut j = Judge {
            w,
            checkpoint,
            top,
            log_min: w.shared.commit_log.min_offset(),
            max_size: w.shared.config.max_message_size as u64,
            cache: None,
        };
        let (min, max) = (cq.min_offset(), cq.next_offset());
        let lowest_bad = (max.saturating_sub(window).max(min)..max)
            .rev()
            .filter(|off| matches!(j.judge(&cq, *off), Verdict::Bad))
            .last();
        // The highest entry below the damage that may stay.
        let mut kept = lowest_bad.unwrap_or(max);
        let mut last = None;
        while kept > min {
            match j.judge(&cq, kept - 1) {
                Verdict::Bad => kept -= 1,
                v => {
                    last = Some(v);
                    break;
                }
            }
        }
        let batch_cut = matches!(last, Some(Verdict::Good { end, .. }) if end > kept);
        let regrown = cq.was_regrown();
        let junk = cq.junk_after(max, junk_window);
        if lowest_bad.is_none() && !batch_cut && !regrown && junk == 0 {
            continue;
        }
        let (trunc_to, from_phy) = match last {
            Some(Verdict::Good { phy, first, .. }) => (first.max(min), phy),
            Some(Verdict::LogDamage(e)) => (kept, e.phy_offset + u64::from(e.size)),
            _ => (min, w.shared.commit_log.min_offset()),
        };
        let dropped = max - kept + junk;
        tracing::warn!(
            topic = cq.topic(),
            queue_id = cq.queue_id(),
            end_found = max,
            entries_dropped = dropped,
            first_bad = ?lowest_bad,
            garbage_after_end = junk,
            file_was_short = regrown,
            incomplete_batch = batch_cut,
            "damaged ConsumeQueue tail; rebuilding it from the commit log from offset {trunc_to}"
        );
        cq.truncate_at(trunc_to, true);
        repairs.dropped += dropped;
        repairs
            .damaged
            .push(format!("{}/{}", cq.topic(), cq.queue_id()));
        scan_from = scan_from.min(from_phy);
        rebuilds.insert(
            (cq.topic().to_string(), cq.queue_id()),
            Rebuild {
                started: std::cell::Cell::new(kept > cq.min_offset()),
                cq,
                kept,
                from_offset: trunc_to,
            },
        );
    }
    if rebuilds.is_empty() {
        return Ok(repairs);
    }
    rebuild(w, &rebuilds, scan_from, checkpoint)?;
    for r in rebuilds.values() {
        repairs.rebuilt += r.cq.next_offset().saturating_sub(r.kept);
    }
    let m = &w.shared.metrics.queue_entries_repaired;
    m.with_label_values(&["dropped"]).inc_by(repairs.dropped);
    m.with_label_values(&["rebuilt"]).inc_by(repairs.rebuilt);
    Ok(repairs)
}

/// Re-dispatches the log entries in `[from, end)` of the queues in
/// `rebuilds`, stepping over damaged bytes. Offsets a queue skips across a
/// damaged region get entries pointing at that region, so they stay taken
/// (readers skip them as damaged) and the queue stays contiguous.
fn rebuild(
    w: &mut Writer,
    rebuilds: &HashMap<(String, u32), Rebuild>,
    from: u64,
    end: u64,
) -> Result<()> {
    let shared = Arc::clone(&w.shared);
    let log = &shared.commit_log;
    let mut pos = from;
    let mut damage: Option<(u64, u64)> = None;
    while pos < end {
        let Some(seg) = log.segment_for(pos) else {
            break;
        };
        let seg_end = seg.base() + seg.size();
        let step = with_entry_at(log, pos, seg_end.min(end), |r| -> Result<Step> {
            let e = match r {
                Ok(Scanned::Blank) => return Ok(Step::To(seg_end)),
                Ok(e) => e,
                Err(Invalid::Empty) | Err(Invalid::Corrupt(_)) => return Ok(Step::Damage),
            };
            let Some(meta) = e.meta() else {
                return Ok(Step::To(seg_end));
            };
            let next = pos + u64::from(meta.total_size);
            let Some(r) = topic_queue(&e).and_then(|(t, q)| rebuilds.get(&(t.to_string(), q)))
            else {
                return Ok(Step::To(next));
            };
            if meta.queue_offset + u64::from(meta.count) <= r.from_offset {
                return Ok(Step::To(next));
            }
            let (gap_phy, gap_len) = damage.unwrap_or((pos, u64::from(meta.total_size)));
            let gap_from = if r.started.replace(true) {
                r.cq.next_offset().max(r.from_offset)
            } else {
                meta.queue_offset
            };
            for off in gap_from..meta.queue_offset {
                r.cq.put(
                    off,
                    CqEntry {
                        phy_offset: gap_phy,
                        size: gap_len.clamp(1, i32::MAX as u64) as u32,
                        tags_code: 0,
                    },
                )?;
            }
            w.dispatch_queue_only(&e, pos)?;
            Ok(Step::To(next))
        });
        match step.transpose()? {
            None => break,
            Some(Step::To(next)) => pos = next,
            Some(Step::Damage) => {
                let next = resync(log, pos, end);
                tracing::warn!(
                    from = pos,
                    to = next,
                    "damaged commit log bytes below the checkpoint while rebuilding a queue"
                );
                damage = Some((pos, next - pos));
                pos = next;
            }
        }
    }
    Ok(())
}

/// Rebuilds `queues` (whose files were moved away) from the whole log up
/// to `end`, its last valid entry: `rokka verify --repair`.
pub(crate) fn rebuild_all(w: &mut Writer, queues: &[(String, u32)], end: u64) -> Result<()> {
    let mut rebuilds = HashMap::new();
    for (topic, qid) in queues {
        let cq = w.shared.cqs.get_or_open(topic, *qid)?;
        rebuilds.insert(
            (topic.clone(), *qid),
            Rebuild {
                cq,
                kept: 0,
                from_offset: 0,
                started: std::cell::Cell::new(false),
            },
        );
    }
    let log = &w.shared.commit_log;
    let Some(from) = log.segments().first().map(|f| f.base()) else {
        return Ok(());
    };
    rebuild(w, &rebuilds, from, end)
}

enum Step {
    To(u64),
    Damage,
}
