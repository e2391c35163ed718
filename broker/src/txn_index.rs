//! Per-partition transaction facts both front-ends read (ADR 014): the
//! open transactions (producer id → a lower bound of its first offset),
//! hence the last stable offset (LSO), and the aborted-transactions index
//! (producer id, first offset, last offset = its ABORT marker).
//!
//! The Kafka transaction coordinator (`kafka::txn`) writes it; Kafka Fetch
//! and ListOffsets at read_committed, and RocketMQ pulls (which show only
//! committed records), read it. It is rebuilt at start-up from
//! `__transaction_state`, where the coordinator persists both facts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// One aborted transaction of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// Producer id.
    pub producer_id: i64,
    /// First offset of the transaction (or a lower bound of it).
    pub first_offset: i64,
    /// Offset of its ABORT marker.
    pub last_offset: i64,
}

#[derive(Debug, Default)]
struct PartitionTxns {
    /// Open transactions: producer id → first offset (lower bound).
    ongoing: BTreeMap<i64, i64>,
    /// Aborted transactions, by `last_offset`.
    aborted: Vec<AbortedTxn>,
}

/// The index of every partition.
#[derive(Debug, Default)]
pub struct TxnIndex {
    parts: Mutex<HashMap<(String, u32), PartitionTxns>>,
}

impl TxnIndex {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<(String, u32), PartitionTxns>) -> R) -> R {
        let mut g = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Records that `pid` has an open transaction on the partition whose
    /// records start at or after `first_offset`; a known start is kept.
    pub fn begin(&self, topic: &str, queue: u32, pid: i64, first_offset: i64) {
        self.with(|m| {
            m.entry((topic.to_string(), queue))
                .or_default()
                .ongoing
                .entry(pid)
                .or_insert(first_offset);
        });
    }

    /// The open transaction's first offset of `pid`, if any.
    pub fn ongoing_first(&self, topic: &str, queue: u32, pid: i64) -> Option<i64> {
        self.with(|m| {
            m.get(&(topic.to_string(), queue))
                .and_then(|p| p.ongoing.get(&pid).copied())
        })
    }

    /// Ends `pid`'s open transaction on the partition, whose marker was
    /// written at `marker_offset`; an abort enters the aborted index (with
    /// `fallback_first` as its first offset if no record was written).
    /// Returns the aborted entry, if any.
    pub fn end(
        &self,
        topic: &str,
        queue: u32,
        pid: i64,
        marker_offset: i64,
        abort: bool,
        fallback_first: i64,
    ) -> Option<AbortedTxn> {
        self.with(|m| {
            let p = m.entry((topic.to_string(), queue)).or_default();
            let first = p.ongoing.remove(&pid);
            if !abort {
                return None;
            }
            let a = AbortedTxn {
                producer_id: pid,
                first_offset: first.unwrap_or(fallback_first).min(marker_offset),
                last_offset: marker_offset,
            };
            insert_sorted(&mut p.aborted, a);
            Some(a)
        })
    }

    /// Adds an aborted entry read back at start-up.
    pub fn add_aborted(&self, topic: &str, queue: u32, a: AbortedTxn) {
        self.with(|m| {
            let p = m.entry((topic.to_string(), queue)).or_default();
            if !p.aborted.contains(&a) {
                insert_sorted(&mut p.aborted, a);
            }
        });
    }

    /// The last stable offset: the first offset of the oldest open
    /// transaction, or `high_watermark` when none is open.
    pub fn lso(&self, topic: &str, queue: u32, high_watermark: i64) -> i64 {
        self.with(|m| {
            m.get(&(topic.to_string(), queue))
                .and_then(|p| p.ongoing.values().min().copied())
                .map_or(high_watermark, |f| f.min(high_watermark))
        })
    }

    /// Aborted transactions that overlap `[from, to)`: what a
    /// read_committed Fetch returning that range lists.
    pub fn aborted_between(&self, topic: &str, queue: u32, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.with(|m| {
            let Some(p) = m.get(&(topic.to_string(), queue)) else {
                return Vec::new();
            };
            let start = p.aborted.partition_point(|a| a.last_offset < from);
            p.aborted[start..]
                .iter()
                .filter(|a| a.first_offset < to)
                .copied()
                .collect()
        })
    }

    /// True if a transactional batch of `pid` at `offset` belongs to an
    /// aborted transaction.
    pub fn is_aborted(&self, topic: &str, queue: u32, pid: i64, offset: i64) -> bool {
        self.aborted_between(topic, queue, offset, offset + 1)
            .iter()
            .any(|a| a.producer_id == pid && a.first_offset <= offset)
    }

    /// Forgets everything (before a reload from the log).
    pub fn clear(&self) {
        self.with(HashMap::clear);
    }

    /// Forgets aborted entries wholly below `log_start` (retention).
    pub fn trim(&self, topic: &str, queue: u32, log_start: i64) {
        self.with(|m| {
            if let Some(p) = m.get_mut(&(topic.to_string(), queue)) {
                p.aborted.retain(|a| a.last_offset >= log_start);
            }
        });
    }
}

fn insert_sorted(v: &mut Vec<AbortedTxn>, a: AbortedTxn) {
    let at = v.partition_point(|x| x.last_offset <= a.last_offset);
    v.insert(at, a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lso_follows_the_oldest_open_transaction() {
        let ix = TxnIndex::default();
        assert_eq!(ix.lso("t", 0, 10), 10);
        ix.begin("t", 0, 7, 4);
        ix.begin("t", 0, 8, 6);
        ix.begin("t", 0, 7, 9); // a known start is kept
        assert_eq!(ix.lso("t", 0, 10), 4);
        assert_eq!(ix.lso("t", 1, 10), 10, "other partitions are not held back");
        assert_eq!(ix.end("t", 0, 7, 10, false, 0), None);
        assert_eq!(ix.lso("t", 0, 11), 6);
        let a = ix.end("t", 0, 8, 11, true, 0).expect("aborted entry");
        assert_eq!((a.first_offset, a.last_offset), (6, 11));
        assert_eq!(ix.lso("t", 0, 12), 12);
    }

    #[test]
    fn aborted_ranges_are_found_by_overlap() {
        let ix = TxnIndex::default();
        for (pid, first, last) in [(1, 0, 5), (2, 3, 8), (1, 10, 12)] {
            ix.add_aborted(
                "t",
                0,
                AbortedTxn {
                    producer_id: pid,
                    first_offset: first,
                    last_offset: last,
                },
            );
        }
        let pids = |from, to| -> Vec<i64> {
            ix.aborted_between("t", 0, from, to)
                .iter()
                .map(|a| a.producer_id * 100 + a.first_offset)
                .collect()
        };
        assert_eq!(pids(0, 20), vec![100, 203, 110]);
        assert_eq!(pids(6, 10), vec![203]);
        assert_eq!(pids(9, 10), Vec::<i64>::new());
        assert!(ix.is_aborted("t", 0, 2, 4));
        assert!(!ix.is_aborted("t", 0, 2, 9));
        assert!(!ix.is_aborted("t", 0, 3, 4));
        ix.trim("t", 0, 9);
        assert_eq!(pids(0, 20), vec![110]);
        // A transaction without records takes the fallback first offset.
        let a = ix.end("t", 0, 5, 30, true, 25).expect("entry");
        assert_eq!(a.first_offset, 25);
    }
}
