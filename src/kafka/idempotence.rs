//! Sequence checking for idempotent producers (InitProducerId + v2 batches
//! with a producer id): per (producer id, topic, partition) the last five
//! batches are remembered, as Kafka does. A retried batch that matches one of
//! them is acknowledged with its original offset and not appended again; a
//! gap in the sequence is `OUT_OF_ORDER_SEQUENCE_NUMBER`; an older epoch is
//! `INVALID_PRODUCER_EPOCH`. The table lives in memory and is rebuilt at
//! start-up from the batches at the end of each partition
//! ([`Sequences::rebuild`]; their headers carry producer id, epoch and
//! sequence), so a producer retrying across a broker restart is still
//! de-duplicated, like Kafka's rebuild of producer state from its log. Check
//! and record are not atomic with the append: a producer sends one
//! partition's batches in order on one connection, which rokka handles one
//! request at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rokka_protocols::kafka::error_code;
use rokka_store::entry::kafka::batch_range;
use rokka_store::{EntryKind, Store};

/// Batches remembered per producer and partition (Kafka's
/// `NUM_BATCHES_TO_RETAIN`).
const RETAINED: usize = 5;

#[derive(Debug, Clone, Copy)]
struct SeenBatch {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Default)]
struct ProducerState {
    epoch: i16,
    batches: VecDeque<SeenBatch>,
}

/// What to do with an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Append it.
    Append,
    /// Already stored at this base offset: acknowledge, do not append.
    Duplicate(i64),
    /// Refuse with this error code.
    Reject(i16),
}

/// The sequence table.
#[derive(Debug, Default)]
pub struct Sequences {
    table: Mutex<HashMap<(i64, String, u32), ProducerState>>,
}

/// Entries (batches) per partition read back by [`Sequences::rebuild`]:
/// Kafka keeps the last five batches of each producer, so this covers about
/// twenty producers interleaving on one partition.
pub const REBUILD_ENTRIES: usize = 100;

/// (producer id, epoch, base sequence, record count) of a stored v2 batch;
/// none for a control batch (a transaction marker carries no sequence).
fn producer_fields(batch: &[u8]) -> Option<(i64, i16, i32, u32)> {
    let attrs = i16::from_be_bytes(batch.get(21..23)?.try_into().ok()?);
    if attrs & rokka_protocols::kafka::txn_log::ATTR_CONTROL != 0 {
        return None;
    }
    let pid = i64::from_be_bytes(batch.get(43..51)?.try_into().ok()?);
    let epoch = i16::from_be_bytes(batch.get(51..53)?.try_into().ok()?);
    let seq = i32::from_be_bytes(batch.get(53..57)?.try_into().ok()?);
    let count = u32::try_from(i32::from_be_bytes(batch.get(57..61)?.try_into().ok()?)).ok()?;
    Some((pid, epoch, seq, count))
}

impl Sequences {
    /// Replaces the table with `other`'s (a rebuild on promotion to master).
    pub fn replace(&self, other: Sequences) {
        let fresh = other.table.into_inner().unwrap_or_else(|e| e.into_inner());
        *self.table.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// The table as the stored batches leave it: the idempotent batches
    /// among the last `per_queue` entries of every partition, in log order.
    pub fn rebuild(store: &Store, per_queue: usize) -> Sequences {
        let s = Sequences::default();
        for cq in store.consume_queues() {
            // Newest first: the batch (CommitLog entry) of each record until
            // `per_queue` distinct ones; a batch's records share one entry.
            let mut phys: Vec<u64> = Vec::new();
            let mut off = cq.max_offset();
            while off > cq.min_offset() && phys.len() < per_queue {
                off -= 1;
                if let Some(e) = cq.get(off) {
                    if phys.last() != Some(&e.phy_offset) {
                        phys.push(e.phy_offset);
                    }
                }
            }
            for phy in phys.into_iter().rev() {
                let Some(entry) = store.read_at(phy) else {
                    continue;
                };
                if entry.kind != EntryKind::KafkaBatch {
                    continue;
                }
                let fields = batch_range(&entry.bytes)
                    .and_then(|r| producer_fields(&entry.bytes[r]))
                    .filter(|f| f.0 >= 0 && f.3 > 0);
                if let Some((pid, epoch, seq, count)) = fields {
                    let base = i64::try_from(entry.queue_offset).unwrap_or(i64::MAX);
                    s.record(pid, epoch, cq.topic(), cq.queue_id(), seq, count, base);
                }
            }
        }
        s
    }

    /// The idempotent producers of one partition: (producer id, epoch,
    /// last sequence, base offset of its last batch), by producer id.
    pub fn producers(&self, topic: &str, queue: u32) -> Vec<(i64, i16, i32, i64)> {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = t
            .iter()
            .filter(|((_, tp, q), _)| tp == topic && *q == queue)
            .filter_map(|((pid, _, _), st)| {
                let last = st.batches.back()?;
                Some((*pid, st.epoch, last.last_seq, last.base_offset))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Checks a batch of `count` records starting at `first_seq`.
    pub fn check(
        &self,
        pid: i64,
        epoch: i16,
        topic: &str,
        qid: u32,
        first_seq: i32,
        count: u32,
    ) -> Verdict {
        if pid < 0 {
            return Verdict::Append;
        }
        let last_seq = first_seq.wrapping_add(count as i32 - 1);
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = table.get(&(pid, topic.to_string(), qid)) else {
            return Verdict::Append;
        };
        if epoch < state.epoch {
            return Verdict::Reject(error_code::INVALID_PRODUCER_EPOCH);
        }
        if epoch > state.epoch {
            return if first_seq == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(error_code::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(b) = state
            .batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
        {
            return Verdict::Duplicate(b.base_offset);
        }
        let next = state
            .batches
            .back()
            .map_or(0, |b| b.last_seq.wrapping_add(1) & i32::MAX);
        if first_seq == next {
            Verdict::Append
        } else {
            Verdict::Reject(error_code::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Records an appended batch.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        pid: i64,
        epoch: i16,
        topic: &str,
        qid: u32,
        first_seq: i32,
        count: u32,
        base_offset: i64,
    ) {
        if pid < 0 {
            return;
        }
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let state = table.entry((pid, topic.to_string(), qid)).or_default();
        if epoch != state.epoch {
            state.epoch = epoch;
            state.batches.clear();
        }
        // A batch appended again (its first copy was cut from the log)
        // replaces what the table remembered of it.
        let last_seq = first_seq.wrapping_add(count as i32 - 1);
        state
            .batches
            .retain(|b| b.first_seq != first_seq || b.last_seq != last_seq);
        state.batches.push_back(SeenBatch {
            first_seq,
            last_seq: first_seq.wrapping_add(count as i32 - 1),
            base_offset,
        });
        while state.batches.len() > RETAINED {
            state.batches.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_gaps() {
        let s = Sequences::default();
        assert_eq!(s.check(7, 0, "t", 0, 0, 3), Verdict::Append);
        s.record(7, 0, "t", 0, 0, 3, 100);
        assert_eq!(s.check(7, 0, "t", 0, 0, 3), Verdict::Duplicate(100));
        assert_eq!(s.check(7, 0, "t", 0, 3, 2), Verdict::Append);
        assert_eq!(
            s.check(7, 0, "t", 0, 5, 2),
            Verdict::Reject(error_code::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        s.record(7, 1, "t", 0, 0, 1, 200);
        assert_eq!(
            s.check(7, 0, "t", 0, 1, 1),
            Verdict::Reject(error_code::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(s.check(-1, -1, "t", 0, -1, 1), Verdict::Append);
        assert_eq!(
            s.check(8, 0, "t", 0, 42, 1),
            Verdict::Append,
            "unknown producer"
        );
    }

    #[test]
    fn a_batch_appended_again_replaces_its_old_offset() {
        let s = Sequences::default();
        s.record(7, 0, "t", 0, 0, 1, 10);
        s.record(7, 0, "t", 0, 1, 1, 11);
        // Its first copy was cut; appended again at another offset.
        s.record(7, 0, "t", 0, 1, 1, 12);
        assert_eq!(s.check(7, 0, "t", 0, 1, 1), Verdict::Duplicate(12));
        assert_eq!(s.check(7, 0, "t", 0, 2, 1), Verdict::Append);
        assert_eq!(s.producers("t", 0), vec![(7, 0, 1, 12)]);
    }
}
