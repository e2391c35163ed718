//! Start-up reconciliation of `__consumer_offsets` with the offset table, so
//! that after any stop (crash included) the latest record of every key in
//! the topic equals what OffsetFetch answers.
//!
//! The table is written to disk every flush interval; records reach the
//! topic a moment after the table changes. Either side can therefore be
//! behind after a crash. The commit timestamps decide, per (group, topic,
//! partition), with `P` the time the loaded table file was written:
//!
//! | topic's latest | table | outcome |
//! |---|---|---|
//! | commit T | commit V, same offset and metadata | agree |
//! | commit T | commit V | newer timestamp wins (T restored into the table, or V appended); a tie keeps T (the topic is ordered) |
//! | commit T | none | T newer than `P`: the file missed it, restore; else it was deleted: append a tombstone |
//! | tombstone at D | commit V | V newer than D: append V; else remove V |
//! | none | commit V | append V (lost before the append, or aged out) |

use std::collections::HashMap;

use rokka_protocols::kafka::offsets_topic::{
    GroupMetadataValue, OffsetCommitValue, OffsetsKey, OFFSETS_TOPIC,
};
use rokka_protocols::kafka::records::decode_v2_records;
use rokka_store::entry::kafka::batch_range;
use rokka_store::offsets::CommittedOffset;
use rokka_store::{EntryKind, GetStatus, Store, StoreError};

use super::{append_records, commit_record, is_bookkeeping_group, tombstone_record};

/// What reconciliation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Records read from the topic.
    pub records_read: u64,
    /// Records whose key or value could not be decoded (skipped).
    pub undecodable: u64,
    /// Table entries set from the topic.
    pub restored: u64,
    /// Table entries removed because the topic deleted them.
    pub removed: u64,
    /// Records appended so the topic matches the table.
    pub appended: u64,
}

/// The latest state of one offset key in the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Latest {
    Commit(OffsetCommitValue),
    /// Deleted at this record timestamp (ms).
    Tombstone(i64),
}

type OffsetKey = (String, String, u32);

/// What a read of the topic found: the latest state per offset key, and
/// the latest metadata of each group (`None`: deleted).
#[derive(Debug, Default)]
struct Scan {
    offsets: HashMap<OffsetKey, Latest>,
    groups: HashMap<String, Option<GroupMetadataValue>>,
}

/// Reads every record of the topic.
fn scan(store: &Store, report: &mut ReconcileReport) -> Scan {
    scan_from(store, report, &mut HashMap::new())
}

/// The latest recorded metadata of every group the topic holds here and
/// did not delete: what a new coordinator loads (`GroupCoordinator::restore`).
pub fn latest_groups(store: &Store) -> HashMap<String, GroupMetadataValue> {
    let found = scan(store, &mut ReconcileReport::default());
    found
        .groups
        .into_iter()
        .filter_map(|(g, v)| Some((g, v?)))
        .filter(|(g, _)| !is_bookkeeping_group(g))
        .collect()
}

/// Reads the records of the topic from `next` (per partition; the start of
/// a partition missing there or past its end, e.g. after a truncation) and
/// leaves there where each partition ends.
fn scan_from(store: &Store, report: &mut ReconcileReport, next_of: &mut HashMap<u32, u64>) -> Scan {
    let mut latest = Scan::default();
    let queues = store
        .topics()
        .get(OFFSETS_TOPIC)
        .map_or(0, |t| crate::broker::topics::partition_count(&t));
    for q in 0..queues {
        let (min, max) = (
            store.min_offset(OFFSETS_TOPIC, q),
            store.max_offset(OFFSETS_TOPIC, q),
        );
        let mut offset = next_of
            .get(&q)
            .copied()
            .filter(|o| *o <= max)
            .unwrap_or(min);
        offset = offset.max(min);
        loop {
            let r = store.get_messages(OFFSETS_TOPIC, q, offset, 1024, 8 << 20, None);
            let next = r.next_offset;
            match r.status {
                GetStatus::Found => {
                    for e in &r.entries {
                        if e.kind != EntryKind::KafkaBatch {
                            report.undecodable += u64::from(e.count);
                            continue;
                        }
                        let records = batch_range(&e.bytes)
                            .and_then(|range| e.bytes.get(range))
                            .map(decode_v2_records);
                        let Some(Ok(records)) = records else {
                            report.undecodable += u64::from(e.count);
                            continue;
                        };
                        for rec in records {
                            report.records_read += 1;
                            if !apply(&mut latest, rec) {
                                report.undecodable += 1;
                            }
                        }
                    }
                }
                GetStatus::OffsetTooSmall | GetStatus::OffsetFoundNull => {}
                _ => break,
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        next_of.insert(q, offset);
    }
    latest
}

/// Applies one record; false if it cannot be decoded.
fn apply(latest: &mut Scan, rec: rokka_protocols::kafka::records::Record) -> bool {
    let Some(key) = rec.key.as_ref().and_then(|k| OffsetsKey::decode(k).ok()) else {
        return false;
    };
    let (group, topic, partition) = match key {
        OffsetsKey::Offset {
            group,
            topic,
            partition,
        } => (group, topic, partition),
        // Group metadata is not in the offset table; a coordinator loads it.
        OffsetsKey::Group { group } => {
            let value = match rec.value.as_ref().map(GroupMetadataValue::decode) {
                None => None,
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => return false,
            };
            latest.groups.insert(group, value);
            return true;
        }
    };
    let Ok(q) = u32::try_from(partition) else {
        return false;
    };
    let state = match rec.value.as_ref() {
        None => Latest::Tombstone(rec.timestamp),
        Some(v) => match OffsetCommitValue::decode(v) {
            Ok(v) => Latest::Commit(v),
            Err(_) => return false,
        },
    };
    latest.offsets.insert((group, topic, q), state);
    true
}

fn commit_of(v: &OffsetCommitValue) -> CommittedOffset {
    CommittedOffset {
        offset: v.offset,
        metadata: v.metadata.clone(),
        commit_timestamp: v.commit_timestamp,
    }
}

/// Makes the topic and the table agree (see the module table); runs before
/// the observer is installed, so the table changes made here are not
/// recorded twice.
pub async fn reconcile(store: &Store, partitions: u32) -> Result<ReconcileReport, StoreError> {
    let mut report = ReconcileReport::default();
    let latest = scan(store, &mut report).offsets;
    let offsets = store.offsets();
    let persisted_at = offsets.persisted_at_ms();
    let table: HashMap<OffsetKey, CommittedOffset> = offsets
        .entries()
        .into_iter()
        .filter(|(g, ..)| !is_bookkeeping_group(g))
        .map(|(g, t, q, v)| ((g, t, q), v))
        .collect();
    let mut appends = Vec::new();
    for (key, state) in &latest {
        if is_bookkeeping_group(&key.0) {
            continue;
        }
        match (state, table.get(key)) {
            (Latest::Commit(t), Some(v)) => {
                if t.offset == v.offset && t.metadata == v.metadata {
                    continue;
                }
                if t.commit_timestamp >= v.commit_timestamp {
                    offsets.restore(&key.0, &key.1, key.2, commit_of(t));
                    report.restored += 1;
                } else {
                    appends.push(commit_record(partitions, &key.0, &key.1, key.2, v));
                }
            }
            (Latest::Commit(t), None) => {
                if t.commit_timestamp > persisted_at {
                    offsets.restore(&key.0, &key.1, key.2, commit_of(t));
                    report.restored += 1;
                } else {
                    appends.push(tombstone_record(partitions, &key.0, &key.1, key.2));
                }
            }
            (Latest::Tombstone(at), Some(v)) => {
                if v.commit_timestamp > *at {
                    appends.push(commit_record(partitions, &key.0, &key.1, key.2, v));
                } else {
                    offsets.remove_one(&key.0, &key.1, key.2);
                    report.removed += 1;
                }
            }
            (Latest::Tombstone(_), None) => {}
        }
    }
    for (key, v) in &table {
        if !latest.contains_key(key) {
            appends.push(commit_record(partitions, &key.0, &key.1, key.2, v));
        }
    }
    report.appended = appends.len() as u64;
    appends.sort_by_key(|r| r.partition);
    for (partition, run) in super::runs(appends) {
        append_records(store, partition, run).await?;
    }
    if report.restored + report.removed > 0 {
        offsets.persist()?;
    }
    Ok(report)
}

/// A slave's view of the replicated offsets topic (RocketMQ's slaves sync
/// the consumer offsets from their master periodically, `SlaveSynchronize`):
/// [`SlaveMirror::refresh`] applies the records replicated since the last
/// call to the offset table, so offset queries and pulls on a slave start
/// from the group's committed offset while the master is down. It only
/// reads the topic; the table follows it, except where this node holds a
/// newer commit of its own (made while the master was down, and forwarded
/// to the master by the RocketMQ front-end).
#[derive(Debug, Default)]
pub struct SlaveMirror {
    next: HashMap<u32, u64>,
}

impl SlaveMirror {
    /// Applies the records replicated since the last call; returns how many
    /// table entries changed.
    pub fn refresh(&mut self, store: &Store) -> u64 {
        let mut report = ReconcileReport::default();
        let latest = scan_from(store, &mut report, &mut self.next).offsets;
        let offsets = store.offsets();
        let mut changed = 0;
        for ((group, topic, q), state) in latest {
            if is_bookkeeping_group(&group) {
                continue;
            }
            let local = offsets.fetch(&group, &topic, q);
            match state {
                Latest::Commit(v) => {
                    let same = local
                        .as_ref()
                        .is_some_and(|c| c.offset == v.offset && c.metadata == v.metadata);
                    // A commit made here after the master's (a RocketMQ
                    // consumer commits to a slave while the route has no
                    // master; it is on its way to the master) is not rolled
                    // back by the older replicated one.
                    let newer_here = local
                        .as_ref()
                        .is_some_and(|c| c.commit_timestamp > v.commit_timestamp);
                    if !same && !newer_here {
                        offsets.restore(&group, &topic, q, commit_of(&v));
                        changed += 1;
                    }
                }
                Latest::Tombstone(at) => {
                    if local.is_some_and(|c| c.commit_timestamp <= at) {
                        offsets.remove_one(&group, &topic, q);
                        changed += 1;
                    }
                }
            }
        }
        changed
    }
}
