//! Dynamic broker configs set by AlterConfigs / IncrementalAlterConfigs on
//! a broker resource: the broker-level synonyms of topic configs
//! (`log.retention.ms`, `message.max.bytes`, ...), which become the
//! defaults of every topic without its own override. Two levels as in
//! Kafka: this broker (resource name = its id) and the cluster default
//! (resource name ""). Persisted atomically as
//! `config/kafka_broker_configs.json` beside `topics.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::topic_config::dynamic_source;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Levels {
    /// Set for this broker.
    #[serde(default)]
    broker: BTreeMap<String, String>,
    /// Set as the cluster-wide default.
    #[serde(default)]
    default: BTreeMap<String, String>,
}

/// The dynamic broker configs.
#[derive(Debug)]
pub struct BrokerConfigs {
    path: PathBuf,
    levels: Mutex<Levels>,
}

impl BrokerConfigs {
    /// Loads `dir/kafka_broker_configs.json` (empty if missing or unreadable;
    /// an unreadable file is logged and kept until the next change).
    pub fn open(dir: &Path) -> BrokerConfigs {
        let path = dir.join("kafka_broker_configs.json");
        let levels = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable dynamic broker configs");
                Levels::default()
            }),
            Err(_) => Levels::default(),
        };
        BrokerConfigs {
            path,
            levels: Mutex::new(levels),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Levels> {
        self.levels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Values of `name`, per-broker first: (value, DescribeConfigs source).
    pub fn lookup(&self, name: &str) -> Vec<(String, i8)> {
        let l = self.lock();
        let mut out = Vec::new();
        if let Some(v) = l.broker.get(name) {
            out.push((v.clone(), dynamic_source(true)));
        }
        if let Some(v) = l.default.get(name) {
            out.push((v.clone(), dynamic_source(false)));
        }
        out
    }

    /// Every config set at one level.
    pub fn all(&self, per_broker: bool) -> BTreeMap<String, String> {
        let l = self.lock();
        if per_broker {
            l.broker.clone()
        } else {
            l.default.clone()
        }
    }

    /// Replaces one level with `configs` and persists.
    pub fn replace(
        &self,
        per_broker: bool,
        configs: BTreeMap<String, String>,
    ) -> std::io::Result<()> {
        let mut l = self.lock();
        let mut next = l.clone();
        if per_broker {
            next.broker = configs;
        } else {
            next.default = configs;
        }
        let json = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        *l = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_persist_and_look_up_per_broker_first() {
        let dir = std::env::temp_dir().join(format!("rokka-bcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = BrokerConfigs::open(&dir);
        assert!(c.lookup("log.retention.ms").is_empty());
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        c.replace(false, one("log.retention.ms", "1000")).unwrap();
        c.replace(true, one("log.retention.ms", "2000")).unwrap();
        let again = BrokerConfigs::open(&dir);
        let got: Vec<String> = again
            .lookup("log.retention.ms")
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(got, ["2000", "1000"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
