//! Topic configs: queue counts, permission and attributes, persisted
//! atomically on every change as `config/topics.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dashmap::DashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, StoreError};

/// Readable (RocketMQ `PermName.PERM_READ`).
pub const PERM_READ: u32 = 4;
/// Writable.
pub const PERM_WRITE: u32 = 2;

/// One topic's config, field names as RocketMQ's `TopicConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    /// Name.
    pub topic_name: String,
    /// Queues readers see.
    pub read_queue_nums: u32,
    /// Queues writers use (= Kafka partition count).
    pub write_queue_nums: u32,
    /// PERM_READ | PERM_WRITE bits.
    pub perm: u32,
    /// RocketMQ topic system flag.
    #[serde(default)]
    pub topic_sys_flag: u32,
    /// Orderly topic.
    #[serde(default)]
    pub order: bool,
    /// Free-form attributes (Kafka topic configs, RocketMQ attributes).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl TopicConfig {
    /// A read-write topic with `queues` read and write queues.
    pub fn new(name: &str, queues: u32) -> TopicConfig {
        TopicConfig {
            topic_name: name.to_string(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: PERM_READ | PERM_WRITE,
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicFile {
    topic_config_table: BTreeMap<String, TopicConfig>,
}

/// The topic table.
#[derive(Debug)]
pub struct TopicConfigs {
    path: PathBuf,
    table: DashMap<String, TopicConfig>,
    write: Mutex<()>,
}

impl TopicConfigs {
    /// Loads `dir/topics.json`.
    pub fn open(dir: &Path) -> Result<TopicConfigs> {
        let path = dir.join("topics.json");
        let file: TopicFile = load_json(&path)?.unwrap_or_default();
        Ok(TopicConfigs {
            path,
            table: file.topic_config_table.into_iter().collect(),
            write: Mutex::new(()),
        })
    }

    /// The config of `topic`.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.table.get(topic).map(|t| t.clone())
    }

    /// Every topic, sorted by name.
    pub fn list(&self) -> Vec<TopicConfig> {
        let mut v: Vec<_> = self.table.iter().map(|t| t.value().clone()).collect();
        v.sort_by(|a, b| a.topic_name.cmp(&b.topic_name));
        v
    }

    /// Creates or replaces a topic and persists the table.
    pub fn put(&self, cfg: TopicConfig) -> Result<()> {
        crate::entry::check_topic(cfg.topic_name.as_bytes())
            .map_err(|r| StoreError::InvalidAppend { reason: r })?;
        self.table.insert(cfg.topic_name.clone(), cfg);
        self.persist()
    }

    /// Creates `cfg` unless the topic exists; returns the config in force.
    pub fn get_or_create(&self, cfg: TopicConfig) -> Result<TopicConfig> {
        if let Some(t) = self.get(&cfg.topic_name) {
            return Ok(t);
        }
        let _g = self.write.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = self.get(&cfg.topic_name) {
            return Ok(t);
        }
        crate::entry::check_topic(cfg.topic_name.as_bytes())
            .map_err(|r| StoreError::InvalidAppend { reason: r })?;
        self.table.insert(cfg.topic_name.clone(), cfg.clone());
        self.persist_locked()?;
        Ok(cfg)
    }

    /// Removes a topic; true if it existed.
    pub fn remove(&self, topic: &str) -> Result<bool> {
        let existed = self.table.remove(topic).is_some();
        if existed {
            self.persist()?;
        }
        Ok(existed)
    }

    fn persist(&self) -> Result<()> {
        let _g = self.write.lock().unwrap_or_else(|e| e.into_inner());
        self.persist_locked()
    }

    fn persist_locked(&self) -> Result<()> {
        let file = TopicFile {
            topic_config_table: self
                .table
                .iter()
                .map(|t| (t.key().clone(), t.value().clone()))
                .collect(),
        };
        store_json(&self.path, &file)
    }
}

/// Reads JSON from `path`, falling back to `path.bak`; None if neither exists.
pub(crate) fn load_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bak = path.with_extension("json.bak");
    for p in [path, bak.as_path()] {
        match std::fs::read(p) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(v) => return Ok(Some(v)),
                Err(e) if p == path => {
                    tracing::warn!(path = %p.display(), error = %e, "unreadable metadata file, trying the backup");
                }
                Err(e) => {
                    return Err(StoreError::CorruptMetadata {
                        path: p.to_path_buf(),
                        reason: e.to_string(),
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Io {
                    path: p.to_path_buf(),
                    source: e,
                })
            }
        }
    }
    Ok(None)
}

/// Writes JSON atomically, keeping the previous version as `.bak`.
pub(crate) fn store_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value)?;
    if path.exists() {
        std::fs::copy(path, path.with_extension("json.bak")).at(path)?;
    }
    crate::util::write_atomically(path, &data)
}
