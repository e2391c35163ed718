//! Consumer offsets: (group, topic, queue id) → committed offset, one table for
//! both protocols, so a group keeps its place when its consumers change
//! ecosystem. Persisted atomically (temp file + rename) as
//! `config/consumerOffset.json`, keyed `topic@group` as RocketMQ does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::OnceLock;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// A committed offset and the Kafka commit metadata string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// Next offset the group will consume.
    pub offset: i64,
    /// Kafka's commit metadata (empty for RocketMQ commits).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Commit time, ms.
    #[serde(default)]
    pub commit_timestamp: i64,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OffsetFile {
    offset_table: BTreeMap<String, BTreeMap<u32, CommittedOffset>>,
}

/// A change of the table, told to the [`OffsetObserver`].
#[derive(Debug, Clone, Copy)]
pub enum OffsetEvent<'a> {
    /// A commit that changed the offset or metadata, or refreshed an
    /// unchanged one (see [`ConsumerOffsets::set_observer`]).
    Committed {
        /// Group.
        group: &'a str,
        /// Topic.
        topic: &'a str,
        /// Queue id.
        queue_id: u32,
        /// The new value.
        value: &'a CommittedOffset,
    },
    /// An offset was removed.
    Deleted {
        /// Group.
        group: &'a str,
        /// Topic.
        topic: &'a str,
        /// Queue id.
        queue_id: u32,
    },
    /// Every offset of the group was removed.
    GroupDeleted {
        /// Group.
        group: &'a str,
    },
}

/// Told of every change of the table, in order per (group, topic): it is
/// called while that entry is locked, so it must be quick and never call
/// back into the table.
pub trait OffsetObserver: Send + Sync + std::fmt::Debug {
    /// One change.
    fn on_event(&self, event: OffsetEvent<'_>);
}

/// The offset table.
#[derive(Debug)]
pub struct ConsumerOffsets {
    path: PathBuf,
    /// `topic@group` → queue id → offset.
    table: DashMap<String, BTreeMap<u32, CommittedOffset>>,
    dirty: AtomicBool,
    observer: OnceLock<Box<dyn OffsetObserver>>,
    /// An unchanged commit younger than this (ms) is not re-recorded.
    refresh_ms: AtomicI64,
    /// Modification time (ms) of the file loaded at open, 0 if none.
    persisted_at_ms: i64,
}

fn key(group: &str, topic: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsets {
    /// Loads `dir/consumerOffset.json` (or its `.bak` if the main file is torn).
    pub fn open(dir: &Path) -> Result<ConsumerOffsets> {
        let path = dir.join("consumerOffset.json");
        let file: OffsetFile = crate::topics::load_json(&path)?.unwrap_or_default();
        let persisted_at_ms = [path.clone(), path.with_extension("json.bak")]
            .iter()
            .find_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        Ok(ConsumerOffsets {
            path,
            table: file.offset_table.into_iter().collect(),
            dirty: AtomicBool::new(false),
            observer: OnceLock::new(),
            refresh_ms: AtomicI64::new(0),
            persisted_at_ms,
        })
    }

    /// Installs the observer told of every later change (once; a second
    /// call is ignored). From then on a commit that repeats the current
    /// offset and metadata less than `refresh_ms` after the last recorded
    /// one changes nothing and is not told.
    pub fn set_observer(&self, observer: Box<dyn OffsetObserver>, refresh_ms: i64) {
        self.refresh_ms.store(refresh_ms, Ordering::Relaxed);
        let _ = self.observer.set(observer);
    }

    /// Records a commit.
    pub fn commit(&self, group: &str, topic: &str, queue_id: u32, offset: i64, metadata: &str) {
        self.put(group, topic, queue_id, offset, metadata, false);
    }

    /// Records a commit only if it moves the offset forward (or there is
    /// none yet); whether it did. For a commit that may arrive after newer
    /// ones, such as one a slave forwards to its master late.
    pub fn advance(&self, group: &str, topic: &str, queue_id: u32, offset: i64) -> bool {
        self.put(group, topic, queue_id, offset, "", true)
    }

    fn put(
        &self,
        group: &str,
        topic: &str,
        queue_id: u32,
        offset: i64,
        metadata: &str,
        forward_only: bool,
    ) -> bool {
        let v = CommittedOffset {
            offset,
            metadata: metadata.to_string(),
            commit_timestamp: crate::util::now_ms(),
        };
        let mut entry = self.table.entry(key(group, topic)).or_default();
        if forward_only && entry.get(&queue_id).is_some_and(|p| p.offset >= offset) {
            return false;
        }
        if let Some(observer) = self.observer.get() {
            let refresh = self.refresh_ms.load(Ordering::Relaxed);
            if let Some(prev) = entry.get(&queue_id) {
                if prev.offset == v.offset
                    && prev.metadata == v.metadata
                    && v.commit_timestamp.saturating_sub(prev.commit_timestamp) < refresh
                {
                    return true;
                }
            }
            observer.on_event(OffsetEvent::Committed {
                group,
                topic,
                queue_id,
                value: &v,
            });
        }
        entry.insert(queue_id, v);
        drop(entry);
        self.dirty.store(true, Ordering::Release);
        true
    }

    /// Puts `value` as it is (recovery): no observer call.
    pub fn restore(&self, group: &str, topic: &str, queue_id: u32, value: CommittedOffset) {
        self.table
            .entry(key(group, topic))
            .or_default()
            .insert(queue_id, value);
        self.dirty.store(true, Ordering::Release);
    }

    /// Removes one offset (recovery): no observer call.
    pub fn remove_one(&self, group: &str, topic: &str, queue_id: u32) {
        let k = key(group, topic);
        if let Some(mut e) = self.table.get_mut(&k) {
            e.remove(&queue_id);
        }
        self.table.remove_if(&k, |_, m| m.is_empty());
        self.dirty.store(true, Ordering::Release);
    }

    /// When the table loaded at open was last written (ms since the epoch,
    /// 0 if there was none): changes after it were not in the file.
    pub fn persisted_at_ms(&self) -> i64 {
        self.persisted_at_ms
    }

    /// Every (group, topic, queue id, offset) of the table.
    pub fn entries(&self) -> Vec<(String, String, u32, CommittedOffset)> {
        let mut out = Vec::new();
        for e in self.table.iter() {
            if let Some((topic, g)) = e.key().split_once('@') {
                out.extend(
                    e.value()
                        .iter()
                        .map(|(q, o)| (g.to_string(), topic.to_string(), *q, o.clone())),
                );
            }
        }
        out
    }

    /// The committed offset, if any.
    pub fn fetch(&self, group: &str, topic: &str, queue_id: u32) -> Option<CommittedOffset> {
        self.table.get(&key(group, topic))?.get(&queue_id).cloned()
    }

    /// Every (topic, queue id, offset) of a group.
    pub fn group_offsets(&self, group: &str) -> Vec<(String, u32, CommittedOffset)> {
        let mut out = Vec::new();
        for e in self.table.iter() {
            if let Some((topic, g)) = e.key().split_once('@') {
                if g == group {
                    out.extend(
                        e.value()
                            .iter()
                            .map(|(q, o)| (topic.to_string(), *q, o.clone())),
                    );
                }
            }
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    }

    /// Every group with commits.
    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .table
            .iter()
            .filter_map(|e| e.key().split_once('@').map(|(_, g)| g.to_string()))
            .collect();
        g.sort();
        g.dedup();
        g
    }

    /// Forgets a group's offsets for one topic, or all of them.
    pub fn delete(&self, group: &str, topic: Option<&str>) {
        let keys: Vec<String> = self
            .table
            .iter()
            .map(|e| e.key().clone())
            .filter(|k| match k.split_once('@') {
                Some((t, g)) => g == group && topic.is_none_or(|x| x == t),
                None => false,
            })
            .collect();
        for k in keys {
            if let dashmap::Entry::Occupied(e) = self.table.entry(k) {
                if let (Some(observer), Some((t, _))) =
                    (self.observer.get(), e.key().split_once('@'))
                {
                    for q in e.get().keys() {
                        observer.on_event(OffsetEvent::Deleted {
                            group,
                            topic: t,
                            queue_id: *q,
                        });
                    }
                }
                e.remove();
            }
        }
        if topic.is_none() {
            if let Some(observer) = self.observer.get() {
                observer.on_event(OffsetEvent::GroupDeleted { group });
            }
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// Forgets a group's offset of one queue, telling the observer; true if
    /// there was one.
    pub fn delete_queue(&self, group: &str, topic: &str, queue_id: u32) -> bool {
        let k = key(group, topic);
        let removed = self.table.get_mut(&k).is_some_and(|mut m| {
            let removed = m.remove(&queue_id).is_some();
            // Told under the entry's lock, like a commit (ordered per key).
            if let (true, Some(observer)) = (removed, self.observer.get()) {
                observer.on_event(OffsetEvent::Deleted {
                    group,
                    topic,
                    queue_id,
                });
            }
            removed
        });
        self.table.remove_if(&k, |_, m| m.is_empty());
        if removed {
            self.dirty.store(true, Ordering::Release);
        }
        removed
    }

    /// Writes the table if it changed since the last write.
    pub fn persist(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = OffsetFile {
            offset_table: self
                .table
                .iter()
                .map(|e| (e.key().clone(), e.value().clone()))
                .collect(),
        };
        let r = crate::topics::store_json(&self.path, &file);
        if r.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        r
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Config(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_never_moves_an_offset_back() {
        let dir = tempfile::tempdir().unwrap();
        let t = ConsumerOffsets::open(dir.path()).unwrap();
        assert!(t.advance("g", "T", 0, 5), "no offset yet");
        t.commit("g", "T", 0, 9, "");
        assert!(!t.advance("g", "T", 0, 7), "behind the commit");
        assert!(!t.advance("g", "T", 0, 9), "equal to it");
        assert_eq!(t.fetch("g", "T", 0).unwrap().offset, 9);
        assert!(t.advance("g", "T", 0, 12));
        assert_eq!(t.fetch("g", "T", 0).unwrap().offset, 12);
        // A plain commit still moves it back (a consumer's own choice).
        t.commit("g", "T", 0, 3, "");
        assert_eq!(t.fetch("g", "T", 0).unwrap().offset, 3);
    }
}
