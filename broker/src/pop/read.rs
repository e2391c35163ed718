//! Reading queue messages for POP as RocketMQ stored messages: RocketMQ
//! entries as they are, Kafka batches converted one stored message per
//! record (`broker::format`), the way PULL serves them.

use bytes::Bytes;
use rokka_store::{EntryKind, GetStatus, Store};

use crate::format::cache::ConvertedBatches;

/// One message read from a queue.
#[derive(Debug, Clone)]
pub struct Read {
    /// Queue offset.
    pub offset: u64,
    /// Stored-message bytes (the PULL body format).
    pub bytes: Bytes,
}

/// What a scan returned.
#[derive(Debug, Default)]
pub struct Scan {
    /// Matching messages, in offset order.
    pub msgs: Vec<Read>,
    /// Where the next scan starts (past filtered-out messages too).
    pub next: u64,
}

/// Up to `max` messages of (`topic`, `queue`) from `offset` whose tags
/// code passes `filter`; `next` moves past everything looked at. An offset
/// below the queue's minimum starts at the minimum. With `limit` (a
/// CommitLog offset: the cluster's high watermark) nothing stored at or
/// past it is read or skipped.
pub fn scan(
    store: &Store,
    converted: &ConvertedBatches,
    (topic, queue): (&str, u32),
    offset: u64,
    max: u32,
    limit: Option<u64>,
    filter: Option<&dyn Fn(i64) -> bool>,
) -> Scan {
    let offset = offset.max(store.min_offset(topic, queue));
    let mut out = Scan {
        msgs: Vec::new(),
        next: offset,
    };
    let end = limit.map(|hw| store.max_offset_below(topic, queue, hw));
    if end.is_some_and(|end| offset >= end) {
        return out;
    }
    let mut r = store.get_messages(topic, queue, offset, max, 256 * 1024, filter);
    match r.status {
        GetStatus::Found | GetStatus::NoMatchedMessage | GetStatus::OffsetFoundNull => {
            out.next = r.next_offset.max(offset)
        }
        _ => return out,
    }
    if let (Some(end), Some(hw)) = (end, limit) {
        r.entries.retain(|e| e.phy_offset < hw);
        out.next = out.next.min(end);
    }
    for e in &r.entries {
        if e.kind == EntryKind::RocketMq {
            if out.msgs.len() < max as usize {
                out.msgs.push(Read {
                    offset: e.queue_offset,
                    bytes: e.bytes.clone(),
                });
            } else {
                out.next = e.queue_offset;
                break;
            }
            continue;
        }
        let Ok(msgs) = converted.messages(e, store.store_host()) else {
            tracing::warn!(
                topic,
                phy = e.phy_offset,
                "POP: unreadable Kafka batch skipped"
            );
            continue;
        };
        for m in msgs.iter().filter(|m| m.queue_offset >= offset) {
            if out.msgs.len() >= max as usize {
                out.next = m.queue_offset;
                return out;
            }
            if filter.is_none_or(|f| f(m.tags_code)) {
                out.msgs.push(Read {
                    offset: m.queue_offset,
                    bytes: m.bytes.clone(),
                });
            }
        }
    }
    out
}

/// The message at exactly `offset`, if it is still stored.
pub fn one(
    store: &Store,
    converted: &ConvertedBatches,
    topic: &str,
    queue: u32,
    offset: u64,
) -> Option<Bytes> {
    let r = store.get_messages(topic, queue, offset, 1, 256 * 1024, None);
    for e in &r.entries {
        if e.kind == EntryKind::RocketMq {
            if e.queue_offset == offset {
                return Some(e.bytes.clone());
            }
            continue;
        }
        let msgs = converted.messages(e, store.store_host()).ok()?;
        if let Some(m) = msgs.iter().find(|m| m.queue_offset == offset) {
            return Some(m.bytes.clone());
        }
    }
    None
}
