//! Consumer offsets: (group, topic, queue id) → committed offset, one table for
//! both protocols, so a group keeps its place when its consumers change
//! ecosystem. Persisted atomically (temp file + rename) as
//! `config/consumerOffset.json`, keyed `topic@group` as RocketMQ does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The offset table.
#[derive(Debug)]
pub struct ConsumerOffsets {
    path: PathBuf,
    /// `topic@group` → queue id → offset.
    table: DashMap<String, BTreeMap<u32, CommittedOffset>>,
    dirty: AtomicBool,
}

fn key(group: &str, topic: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsets {
    /// Loads `dir/consumerOffset.json` (or its `.bak` if the main file is torn).
    pub fn open(dir: &Path) -> Result<ConsumerOffsets> {
        let path = dir.join("consumerOffset.json");
        let file: OffsetFile = crate::topics::load_json(&path)?.unwrap_or_default();
        Ok(ConsumerOffsets {
            path,
            table: file.offset_table.into_iter().collect(),
            dirty: AtomicBool::new(false),
        })
    }

    /// Records a commit.
    pub fn commit(&self, group: &str, topic: &str, queue_id: u32, offset: i64, metadata: &str) {
        let v = CommittedOffset {
            offset,
            metadata: metadata.to_string(),
            commit_timestamp: crate::util::now_ms(),
        };
        self.table
            .entry(key(group, topic))
            .or_default()
            .insert(queue_id, v);
        self.dirty.store(true, Ordering::Release);
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
        self.table.retain(|k, _| match k.split_once('@') {
            Some((t, g)) => !(g == group && topic.is_none_or(|x| x == t)),
            None => true,
        });
        self.dirty.store(true, Ordering::Release);
    }

    /// Forgets a group's offset of one queue; true if there was one.
    pub fn delete_queue(&self, group: &str, topic: &str, queue_id: u32) -> bool {
        let k = key(group, topic);
        let removed = self
            .table
            .get_mut(&k)
            .is_some_and(|mut m| m.remove(&queue_id).is_some());
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
