//! Subscription groups: RocketMQ's per-consumer-group settings
//! (`SubscriptionGroupConfig`: may it consume, broadcast, how many retries
//! before the DLQ, ...), one record per group name shared by both
//! protocols. Persisted atomically on every change as
//! `config/subscriptionGroup.json` in RocketMQ's layout
//! (`{"subscriptionGroupTable":{..},"forbiddenTable":{..},"dataVersion":{..}}`),
//! with the same crash-safe write as `topics.json` (temp file, rename, `.bak`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::topics::{load_json, store_json};

fn yes() -> bool {
    true
}
fn one() -> i32 {
    1
}
fn sixteen() -> i32 {
    16
}
fn fifteen() -> i32 {
    15
}
fn customized() -> serde_json::Value {
    serde_json::json!({"type": "CUSTOMIZED"})
}

/// One group's settings; field names and defaults as RocketMQ's
/// `SubscriptionGroupConfig` (5.x), so a JSON body from mqadmin decodes and
/// the JSON we answer is what the Java admin tools dereference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// The consumer group.
    pub group_name: String,
    /// False: pulls are refused (NO_PERMISSION).
    #[serde(default = "yes")]
    pub consume_enable: bool,
    /// Stored and shown; RocketMQ itself never reads it.
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    /// False: broadcasting consumers are refused.
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    /// Shown to clients (5.x).
    #[serde(default)]
    pub consume_message_orderly: bool,
    /// Queues of the group's `%RETRY%` topic when it is created.
    #[serde(default = "one")]
    pub retry_queue_nums: i32,
    /// Reconsume count after which a message goes to `%DLQ%<group>` (when the
    /// client does not send its own maximum).
    #[serde(default = "sixteen")]
    pub retry_max_times: i32,
    /// 5.x retry policy, kept as sent.
    #[serde(default = "customized")]
    pub group_retry_policy: serde_json::Value,
    /// Broker consumers should pull from (0 = master).
    #[serde(default)]
    pub broker_id: i64,
    /// Broker to pull from when consumption is slow.
    #[serde(default = "one_i64")]
    pub which_broker_when_consume_slowly: i64,
    /// Whether members are told of membership changes.
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
    /// Group system flag.
    #[serde(default)]
    pub group_sys_flag: i32,
    /// Push consumers' consume timeout, minutes.
    #[serde(default = "fifteen")]
    pub consume_timeout_minute: i32,
    /// 5.x: the group's subscriptions, kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    /// Free-form attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

fn one_i64() -> i64 {
    1
}

impl SubscriptionGroupConfig {
    /// A group with RocketMQ's defaults.
    pub fn new(group: &str) -> SubscriptionGroupConfig {
        SubscriptionGroupConfig {
            group_name: group.to_owned(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            group_retry_policy: customized(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            subscription_data_set: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// RocketMQ's `DataVersion`: bumped on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    /// Change counter.
    #[serde(default)]
    pub counter: i64,
    /// State machine version (0 here).
    #[serde(default)]
    pub state_version: i64,
    /// Time of the last change, ms.
    #[serde(default)]
    pub timestamp: i64,
}

/// The file and the wire body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupTable {
    /// Group name → config.
    #[serde(default)]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// 5.x per-(group, topic) forbidden bits; kept, not enforced.
    #[serde(default)]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    /// Version of the table.
    #[serde(default)]
    pub data_version: DataVersion,
}

/// The subscription group table.
#[derive(Debug)]
pub struct SubscriptionGroups {
    path: PathBuf,
    table: Mutex<SubscriptionGroupTable>,
}

impl SubscriptionGroups {
    /// Loads `dir/subscriptionGroup.json` (or its `.bak` if the main file is torn).
    pub fn open(dir: &Path) -> Result<SubscriptionGroups> {
        let path = dir.join("subscriptionGroup.json");
        let table = load_json(&path)?.unwrap_or_default();
        Ok(SubscriptionGroups {
            path,
            table: Mutex::new(table),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SubscriptionGroupTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The config of `group`.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.lock().subscription_group_table.get(group).cloned()
    }

    /// The whole table with its version.
    pub fn snapshot(&self) -> SubscriptionGroupTable {
        self.lock().clone()
    }

    /// Creates or replaces a group and persists the table; on a write error
    /// the table in memory is left unchanged.
    pub fn put(&self, cfg: SubscriptionGroupConfig) -> Result<()> {
        self.change(|t| {
            t.subscription_group_table
                .insert(cfg.group_name.clone(), cfg);
            true
        })
        .map(|_| ())
    }

    /// The config of `group`, created with the defaults (and persisted) if
    /// it does not exist yet.
    pub fn get_or_create(&self, group: &str) -> Result<SubscriptionGroupConfig> {
        let mut created = None;
        self.change(|t| {
            if let Some(c) = t.subscription_group_table.get(group) {
                created = Some(c.clone());
                return false;
            }
            let c = SubscriptionGroupConfig::new(group);
            t.subscription_group_table
                .insert(group.to_owned(), c.clone());
            created = Some(c);
            true
        })?;
        Ok(created.unwrap_or_else(|| SubscriptionGroupConfig::new(group)))
    }

    /// Removes a group; true if it existed.
    pub fn remove(&self, group: &str) -> Result<bool> {
        self.change(|t| {
            t.forbidden_table.remove(group);
            t.subscription_group_table.remove(group).is_some()
        })
    }

    /// Applies `f` to a copy; if it reports a change, bumps the version,
    /// persists, and only then installs the copy.
    fn change(&self, f: impl FnOnce(&mut SubscriptionGroupTable) -> bool) -> Result<bool> {
        let mut t = self.lock();
        let mut next = t.clone();
        if !f(&mut next) {
            return Ok(false);
        }
        next.data_version.counter += 1;
        next.data_version.timestamp = crate::util::now_ms();
        store_json(&self.path, &next)?;
        *t = next;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_persist_with_rocketmq_field_names() {
        let dir = tempfile::tempdir().unwrap();
        let g = SubscriptionGroups::open(dir.path()).unwrap();
        let mut c = SubscriptionGroupConfig::new("G1");
        c.consume_enable = false;
        c.retry_max_times = 3;
        g.put(c.clone()).unwrap();
        g.get_or_create("G2").unwrap();
        let text = std::fs::read_to_string(dir.path().join("subscriptionGroup.json")).unwrap();
        for field in [
            "\"subscriptionGroupTable\"",
            "\"consumeEnable\": false",
            "\"retryMaxTimes\": 3",
            "\"whichBrokerWhenConsumeSlowly\": 1",
            "\"dataVersion\"",
        ] {
            assert!(text.contains(field), "{field} missing in {text}");
        }
        let again = SubscriptionGroups::open(dir.path()).unwrap();
        assert_eq!(again.get("G1"), Some(c));
        assert_eq!(again.snapshot().data_version.counter, 2);
        assert!(again.remove("G2").unwrap());
        assert!(!again.remove("G2").unwrap());
        assert!(again.get("G2").is_none());
    }

    #[test]
    fn a_java_body_with_only_some_fields_gets_the_defaults() {
        let c: SubscriptionGroupConfig =
            serde_json::from_str(r#"{"groupName":"G","consumeEnable":false,"unknownField":1}"#)
                .unwrap();
        let mut want = SubscriptionGroupConfig::new("G");
        want.consume_enable = false;
        assert_eq!(c, want);
    }
}
