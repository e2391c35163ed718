//! Sequence checking for idempotent producers (InitProducerId + v2 batches
//! with a producer id): per (producer id, topic, partition) the last five
//! batches are remembered, as Kafka does. A retried batch that matches one of
//! them is acknowledged with its original offset and not appended again; a
//! gap in the sequence is `OUT_OF_ORDER_SEQUENCE_NUMBER`; an older epoch is
//! `INVALID_PRODUCER_EPOCH`. State is in memory (lost on restart, when any
//! sequence is accepted again), and check and record are not atomic with the
//! append: a producer sends one partition's batches in order on one
//! connection, which rokka handles one request at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rokka_protocols::kafka::error_code;

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

impl Sequences {
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
}
