//! Broker settings an operator may change while rokka runs (RocketMQ
//! UPDATE_BROKER_CONFIG, `mqadmin updateBrokerConfig`): they take effect at
//! once and persist as `<data>/config/broker.properties`, which is applied
//! over the resolved configuration at the next start (the latest operator
//! change wins over the config file, environment and flags; delete a line to
//! go back). Every other key needs a restart and is refused with a message
//! that says so (ADR 017).
//!
//! Each dynamic key has its Kafka synonym (`auto.create.topics.enable`,
//! `num.partitions`): setting either sets the same value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use rokka_store::subscription_groups::DataVersion;

use crate::config::BrokerConfig;

/// `brokerPermission` bits (RocketMQ `PermName`): readable.
pub const PERM_READ: u32 = 4;
/// Writable.
pub const PERM_WRITE: u32 = 2;

/// The keys that change without a restart: (RocketMQ name, Kafka synonym).
pub const DYNAMIC_KEYS: &[(&str, Option<&str>)] = &[
    ("autoCreateTopicEnable", Some("auto.create.topics.enable")),
    ("defaultTopicQueueNums", Some("num.partitions")),
    ("autoCreateSubscriptionGroup", None),
    ("brokerPermission", None),
];

/// Why an update was refused (nothing of it was applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// Not a key rokka knows.
    #[error("unknown config key {0}")]
    Unknown(String),
    /// A key that is only read at start-up.
    #[error("{0} is a static setting: set it in the config file and restart rokka")]
    Static(String),
    /// A value the key does not accept.
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// The value sent.
        value: String,
        /// Why.
        reason: String,
    },
    /// The overrides file could not be written.
    #[error("cannot persist {path}: {reason}")]
    Persist {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

/// The values in force of the dynamic keys, and their persisted overrides.
#[derive(Debug)]
pub struct DynamicConfig {
    path: PathBuf,
    overrides: Mutex<(BTreeMap<String, String>, DataVersion)>,
    auto_create_topic_enable: AtomicBool,
    default_topic_queue_nums: AtomicU32,
    auto_create_subscription_group: AtomicBool,
    broker_permission: AtomicU32,
}

/// The RocketMQ name of a dynamic key or its synonym.
fn canonical(key: &str) -> Option<&'static str> {
    DYNAMIC_KEYS
        .iter()
        .find(|(n, syn)| *n == key || *syn == Some(key))
        .map(|(n, _)| *n)
}

impl DynamicConfig {
    /// The values of `config`, with the overrides persisted in `config_dir`
    /// applied (an unreadable or invalid line is logged and skipped).
    pub fn open(config: &BrokerConfig, config_dir: &Path) -> DynamicConfig {
        let d = DynamicConfig {
            path: config_dir.join("broker.properties"),
            overrides: Mutex::new((BTreeMap::new(), DataVersion::default())),
            auto_create_topic_enable: AtomicBool::new(config.auto_create_topic_enable),
            default_topic_queue_nums: AtomicU32::new(config.default_topic_queue_nums),
            auto_create_subscription_group: AtomicBool::new(config.auto_create_subscription_group),
            broker_permission: AtomicU32::new(PERM_READ | PERM_WRITE),
        };
        let text = match std::fs::read_to_string(&d.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return d,
            Err(e) => {
                tracing::warn!(path = %d.path.display(), "cannot read dynamic config overrides: {e}");
                return d;
            }
        };
        let entries = match crate::config::properties::parse(&text) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(path = %d.path.display(), line = e.line, "ignoring dynamic config overrides: {}", e.reason);
                return d;
            }
        };
        let mut table = BTreeMap::new();
        for e in entries {
            match validate(&e.key, &e.value) {
                Ok(key) => {
                    tracing::info!(key, value = %e.value, "dynamic config override from {}", d.path.display());
                    d.apply(key, &e.value);
                    table.insert(key.to_owned(), e.value);
                }
                Err(err) => {
                    tracing::warn!(path = %d.path.display(), line = e.line, "ignoring override: {err}")
                }
            }
        }
        d.lock().0 = table;
        d
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (BTreeMap<String, String>, DataVersion)> {
        self.overrides.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `autoCreateTopicEnable` in force.
    pub fn auto_create_topic_enable(&self) -> bool {
        self.auto_create_topic_enable.load(Ordering::Relaxed)
    }

    /// `defaultTopicQueueNums` in force.
    pub fn default_topic_queue_nums(&self) -> u32 {
        self.default_topic_queue_nums.load(Ordering::Relaxed)
    }

    /// `autoCreateSubscriptionGroup` in force.
    pub fn auto_create_subscription_group(&self) -> bool {
        self.auto_create_subscription_group.load(Ordering::Relaxed)
    }

    /// `brokerPermission` in force (PERM_READ | PERM_WRITE bits).
    pub fn broker_permission(&self) -> u32 {
        self.broker_permission.load(Ordering::Relaxed)
    }

    /// The version of the overrides (bumped on every accepted update).
    pub fn data_version(&self) -> DataVersion {
        self.lock().1
    }

    /// The values in force of every dynamic key, by RocketMQ name.
    pub fn current(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable().to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums().to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group().to_string(),
            ),
            ("brokerPermission", self.broker_permission().to_string()),
        ]
    }

    /// Applies `props` all or nothing: every key is checked first, then the
    /// overrides file is written, then the values take effect.
    pub fn update(&self, props: &[(String, String)]) -> Result<(), UpdateError> {
        let mut checked = Vec::with_capacity(props.len().min(64));
        for (k, v) in props {
            checked.push((validate(k, v)?, v.trim().to_owned()));
        }
        let mut g = self.lock();
        let mut next = g.0.clone();
        for (k, v) in &checked {
            next.insert((*k).to_owned(), v.clone());
        }
        let mut text = String::from(
            "# Written by rokka: settings changed at run time (UPDATE_BROKER_CONFIG).\n\
             # Applied over the config file, environment and flags at start.\n",
        );
        for (k, v) in &next {
            text.push_str(&format!("{k}={v}\n"));
        }
        write_atomically(&self.path, text.as_bytes()).map_err(|e| UpdateError::Persist {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        for (k, v) in &checked {
            self.apply(k, v);
        }
        g.0 = next;
        g.1.counter += 1;
        g.1.timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Ok(())
    }

    /// Sets a validated value.
    fn apply(&self, key: &str, value: &str) {
        let v = value.trim();
        match key {
            "autoCreateTopicEnable" => self
                .auto_create_topic_enable
                .store(v.eq_ignore_ascii_case("true"), Ordering::Relaxed),
            "defaultTopicQueueNums" => self
                .default_topic_queue_nums
                .store(v.parse().unwrap_or(4), Ordering::Relaxed),
            "autoCreateSubscriptionGroup" => self
                .auto_create_subscription_group
                .store(v.eq_ignore_ascii_case("true"), Ordering::Relaxed),
            "brokerPermission" => self
                .broker_permission
                .store(v.parse().unwrap_or(6), Ordering::Relaxed),
            _ => {}
        }
    }
}

/// Checks one key and value; returns the key's RocketMQ name.
fn validate(key: &str, value: &str) -> Result<&'static str, UpdateError> {
    let invalid = |reason: String| UpdateError::Invalid {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    };
    let Some(name) = canonical(key) else {
        return Err(if crate::config::is_known_key(key) {
            UpdateError::Static(key.to_owned())
        } else {
            UpdateError::Unknown(key.to_owned())
        });
    };
    if name == "brokerPermission" {
        let p: u32 = value
            .trim()
            .parse()
            .map_err(|_| invalid("expected a number".into()))?;
        if p & !(PERM_READ | PERM_WRITE | 1) != 0 {
            return Err(invalid(
                "expected PERM_READ (4) | PERM_WRITE (2) bits".into(),
            ));
        }
        return Ok(name);
    }
    if name == "autoCreateSubscriptionGroup" || name == "autoCreateTopicEnable" {
        crate::config::check_value("autoCreateTopicEnable", value.trim()).map_err(invalid)?;
        return Ok(name);
    }
    crate::config::check_value(name, value.trim()).map_err(invalid)?;
    Ok(name)
}

/// Writes `data` to a temp file, syncs and renames it over `path`.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BrokerConfig {
        BrokerConfig::from_sources(None, &Default::default()).unwrap()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn dynamic_keys_apply_at_once_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let d = DynamicConfig::open(&config(), dir.path());
        assert!(d.auto_create_subscription_group());
        d.update(&[
            kv("autoCreateSubscriptionGroup", "false"),
            kv("num.partitions", "3"),
        ])
        .unwrap();
        assert!(!d.auto_create_subscription_group());
        assert_eq!(d.default_topic_queue_nums(), 3);
        assert_eq!(d.data_version().counter, 1);
        let again = DynamicConfig::open(&config(), dir.path());
        assert!(!again.auto_create_subscription_group());
        assert_eq!(again.default_topic_queue_nums(), 3);
    }

    #[test]
    fn static_unknown_and_invalid_keys_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = DynamicConfig::open(&config(), dir.path());
        let e = d
            .update(&[kv("autoCreateTopicEnable", "false"), kv("listenPort", "1")])
            .unwrap_err();
        assert!(e.to_string().contains("restart"), "{e}");
        assert!(d.auto_create_topic_enable());
        assert!(matches!(
            d.update(&[kv("noSuchKey", "1")]),
            Err(UpdateError::Unknown(_))
        ));
        assert!(matches!(
            d.update(&[kv("brokerPermission", "9")]),
            Err(UpdateError::Invalid { .. })
        ));
        assert!(matches!(
            d.update(&[kv("defaultTopicQueueNums", "x")]),
            Err(UpdateError::Invalid { .. })
        ));
        assert!(!dir.path().join("broker.properties").exists());
    }
}
