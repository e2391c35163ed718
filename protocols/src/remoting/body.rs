//! JSON bodies of the remoting protocol (route data, cluster info, heartbeat,
//! consumer lists, lock batches, KV tables, topic lists).
//!
//! Serialized compact, fields in Java's alphabetical order, numeric map keys
//! quoted (`{"0":"addr"}`) — the forms every client parses (rocketmq-remoting
//! §4.1, §16). Deserialization ignores unknown fields and fills missing ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `TopicRouteData`, the GET_ROUTEINFO_BY_TOPIC body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// One entry per broker name serving the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Always empty.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `"brokerName:queueNum;..."` for ordered topics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// One entry per broker name serving the topic.
    pub queue_datas: Vec<QueueData>,
}

/// `BrokerData`: one broker name and its addresses by broker id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id (`"0"` = master) → `ip:port`.
    pub broker_addrs: BTreeMap<String, String>,
    /// Broker name.
    pub broker_name: String,
    /// Cluster name.
    pub cluster: String,
    /// Required by rocketmq-client-rust; always false here.
    pub enable_acting_master: bool,
}

/// `QueueData`: a topic's queues on one broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// Broker name.
    pub broker_name: String,
    /// Permission bits (2 write, 4 read, 1 inherit).
    pub perm: u32,
    /// Read queues.
    pub read_queue_nums: u32,
    /// Topic sys flag.
    pub topic_sys_flag: u32,
    /// Write queues.
    pub write_queue_nums: u32,
}

/// `ClusterInfo`, the GET_BROKER_CLUSTER_INFO body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → broker data.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster → broker names.
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

/// `TopicList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    /// Optional broker address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    /// Topic names.
    pub topic_list: Vec<String>,
}

/// `KVTable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    /// Key → value.
    pub table: BTreeMap<String, String>,
}

/// `HeartbeatData`, the HEART_BEAT body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// `ip@instance[@unit][@STREAM]`.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Consumer groups of this client instance.
    pub consumer_data_set: Vec<ConsumerData>,
    /// Producer groups of this client instance.
    pub producer_data_set: Vec<ProducerData>,
}

/// `ConsumerData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// Consumer group.
    pub group_name: String,
    /// `CONSUME_PASSIVELY` (push) / `CONSUME_ACTIVELY` (pull).
    pub consume_type: String,
    /// `CLUSTERING` / `BROADCASTING`.
    pub message_model: String,
    /// Where a new group starts.
    pub consume_from_where: String,
    /// Subscriptions.
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode.
    pub unit_mode: bool,
}

/// `SubscriptionData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Class filter mode.
    pub class_filter_mode: bool,
    /// Hashes of the tags (the broker recomputes them from `sub_string`).
    pub code_set: Vec<i64>,
    /// `TAG` / `SQL92`.
    pub expression_type: Option<String>,
    /// The expression: `*` or `A || B`.
    pub sub_string: String,
    /// Version (ms timestamp).
    pub sub_version: i64,
    /// The tags.
    pub tags_set: Vec<String>,
    /// Topic.
    pub topic: String,
}

/// `ProducerData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    /// Producer group.
    pub group_name: String,
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListBody {
    /// Client ids of the group's members.
    pub consumer_id_list: Vec<String>,
}

/// A `MessageQueue` in lock bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Topic.
    pub topic: String,
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// Requesting client.
    pub client_id: String,
    /// Consumer group.
    pub consumer_group: String,
    /// Queues.
    pub mq_set: Vec<MessageQueue>,
    /// 5.x: do not forward to other brokers.
    pub only_this_broker: bool,
}

/// LOCK_BATCH_MQ response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponseBody {
    /// Queues now locked by the requester.
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_m_q_set: Vec<MessageQueue>,
}

/// A topic config as `GET_ALL_TOPIC_CONFIG`/`REGISTER_BROKER` carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigBody {
    /// Ordered topic.
    pub order: bool,
    /// Permission bits.
    pub perm: u32,
    /// Read queues.
    pub read_queue_nums: u32,
    /// `SINGLE_TAG`.
    pub topic_filter_type: String,
    /// Topic name.
    pub topic_name: String,
    /// Topic sys flag.
    pub topic_sys_flag: u32,
    /// Write queues.
    pub write_queue_nums: u32,
    /// Topic attributes (RocketMQ 5 `TopicConfig.attributes`); omitted when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `TopicConfigSerializeWrapper`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigWrapper {
    /// Data version.
    pub data_version: serde_json::Value,
    /// Topic → config.
    pub topic_config_table: BTreeMap<String, TopicConfigBody>,
}

/// `RegisterBrokerBody` (uncompressed JSON form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    /// Filter servers (unused).
    pub filter_server_list: Vec<String>,
    /// The broker's topics.
    pub topic_config_serialize_wrapper: TopicConfigWrapper,
}
