//! Offsets and consumer lag, computed from the store at scrape time, so the
//! series follow the queues and groups that exist (a deleted topic or group
//! disappears at the next scrape).
//!
//! Rokka's own families use `partition` for the Kafka partition / RocketMQ
//! queue id and `group` for the consumer group of either protocol (both share
//! one offset table). With compatibility on, the same numbers are also
//! published under the names and labels of kafka_exporter
//! (danielqsj/kafka_exporter) and of RocketMQ 5.x broker metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, IntGauge, Opts};
use rokka_store::Store;

/// Names the broker in the RocketMQ compatibility labels.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `brokerClusterName` (label `cluster`).
    pub cluster: String,
    /// `brokerName` (label `node_id`).
    pub broker: String,
}

/// Live consumers of a group, for the `countOfOnlineConsumers` label of
/// rocketmq-exporter's `rocketmq_group_diff`. The broker has no registry of
/// group members yet; until one is plugged in with
/// [`OffsetsCollector::with_online_consumers`], that family is not published.
#[derive(Clone)]
pub struct OnlineConsumers(pub Arc<dyn Fn(&str) -> usize + Send + Sync>);

impl std::fmt::Debug for OnlineConsumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnlineConsumers")
    }
}

/// The scrape-time collector of offsets and lag.
#[derive(Debug)]
pub struct OffsetsCollector {
    store: Store,
    id: Identity,
    compat: bool,
    online: Option<OnlineConsumers>,
    /// Open Kafka transactions: lag counts up to the last stable offset.
    txns: Option<Arc<crate::broker::txn_index::TxnIndex>>,
    descs: Vec<Desc>,
}

struct Families {
    start: GaugeVec,
    end: GaugeVec,
    committed: GaugeVec,
    lag: GaugeVec,
    lag_seconds: GaugeVec,
    compat: Option<Compat>,
}

struct Compat {
    brokers: IntGauge,
    partitions: GaugeVec,
    current: GaugeVec,
    oldest: GaugeVec,
    group_current: GaugeVec,
    group_current_sum: GaugeVec,
    group_lag: GaugeVec,
    group_lag_sum: GaugeVec,
    rmq_in: IntCounterVec,
    rmq_lag: GaugeVec,
    rmq_latency: GaugeVec,
    /// Only with an [`OnlineConsumers`] source.
    group_diff: Option<GaugeVec>,
}

const TP: &[&str] = &["topic", "partition"];
const GTP: &[&str] = &["group", "topic", "partition"];
const KGTP: &[&str] = &["consumergroup", "topic", "partition"];
const RMQ_GROUP: &[&str] = &["cluster", "node_type", "node_id", "topic", "consumer_group"];
const RMQ_TOPIC: &[&str] = &[
    "cluster",
    "node_type",
    "node_id",
    "topic",
    "message_type",
    "is_system",
];

fn gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

impl Families {
    fn new(compat: bool, online: bool) -> Families {
        Families {
            start: gauge(
                "rokka_topic_partition_log_start_offset",
                "Oldest offset still stored, per topic and partition/queue.",
                TP,
            ),
            end: gauge(
                "rokka_topic_partition_log_end_offset",
                "Offset the next message will get, per topic and partition/queue.",
                TP,
            ),
            committed: gauge(
                "rokka_consumergroup_committed_offset",
                "Committed offset of a consumer group (Kafka or RocketMQ).",
                GTP,
            ),
            lag: gauge(
                "rokka_consumergroup_lag_messages",
                "Messages stored after a group's committed offset.",
                GTP,
            ),
            lag_seconds: gauge(
                "rokka_consumergroup_lag_seconds",
                "Store time of the newest message minus that of the next unconsumed one.",
                GTP,
            ),
            compat: compat.then(|| Compat::new(online)),
        }
    }

    fn collectors(&self) -> Vec<&dyn Collector> {
        let mut v: Vec<&dyn Collector> = vec![
            &self.start,
            &self.end,
            &self.committed,
            &self.lag,
            &self.lag_seconds,
        ];
        if let Some(c) = &self.compat {
            v.extend([
                &c.brokers as &dyn Collector,
                &c.partitions,
                &c.current,
                &c.oldest,
                &c.group_current,
                &c.group_current_sum,
                &c.group_lag,
                &c.group_lag_sum,
                &c.rmq_in,
                &c.rmq_lag,
                &c.rmq_latency,
            ]);
            if let Some(d) = &c.group_diff {
                v.push(d);
            }
        }
        v
    }
}

impl Compat {
    fn new(online: bool) -> Compat {
        Compat {
            brokers: IntGauge::new("kafka_brokers", "Number of Brokers in the Kafka Cluster.")
                .expect("valid metric definition"),
            partitions: gauge(
                "kafka_topic_partitions",
                "Number of partitions for this Topic",
                &["topic"],
            ),
            current: gauge(
                "kafka_topic_partition_current_offset",
                "Current Offset of a Broker at Topic/Partition",
                TP,
            ),
            oldest: gauge(
                "kafka_topic_partition_oldest_offset",
                "Oldest Offset of a Broker at Topic/Partition",
                TP,
            ),
            group_current: gauge(
                "kafka_consumergroup_current_offset",
                "Current Offset of a ConsumerGroup at Topic/Partition",
                KGTP,
            ),
            group_current_sum: gauge(
                "kafka_consumergroup_current_offset_sum",
                "Current Offset of a ConsumerGroup at Topic for all partitions",
                &["consumergroup", "topic"],
            ),
            group_lag: gauge(
                "kafka_consumergroup_lag",
                "Current Approximate Lag of a ConsumerGroup at Topic/Partition",
                KGTP,
            ),
            group_lag_sum: gauge(
                "kafka_consumergroup_lag_sum",
                "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
                &["consumergroup", "topic"],
            ),
            rmq_in: IntCounterVec::new(
                Opts::new(
                    "rocketmq_messages_in_total",
                    "Messages stored in a topic since it was created.",
                ),
                RMQ_TOPIC,
            )
            .expect("valid metric definition"),
            rmq_lag: gauge(
                "rocketmq_consumer_lag_messages",
                "Messages not yet consumed by a consumer group.",
                RMQ_GROUP,
            ),
            rmq_latency: gauge(
                "rocketmq_consumer_lag_latency",
                "Age in milliseconds of the oldest unconsumed message relative to the newest.",
                RMQ_GROUP,
            ),
            // rocketmq-exporter: the group's total diff on a topic (retry and
            // DLQ topics have their own families there, not published here);
            // msgModel is the MessageModel ordinal, 1 = CLUSTERING.
            group_diff: online.then(|| {
                gauge(
                    "rocketmq_group_diff",
                    "GroupDiff",
                    &["group", "topic", "countOfOnlineConsumers", "msgModel"],
                )
            }),
        }
    }
}

impl OffsetsCollector {
    /// A collector over `store`; `compat` adds the exporter-compatible families.
    pub fn new(store: Store, id: Identity, compat: bool) -> OffsetsCollector {
        OffsetsCollector {
            descs: descs(compat, false),
            store,
            id,
            compat,
            online: None,
            txns: None,
        }
    }

    /// Measures lag up to each queue's last stable offset (ADR 014).
    pub fn with_txn_index(
        mut self,
        txns: Arc<crate::broker::txn_index::TxnIndex>,
    ) -> OffsetsCollector {
        self.txns = Some(txns);
        self
    }

    /// Adds `rocketmq_group_diff` (with compatibility on), labelled with the
    /// live consumer count `online` reports for each group.
    pub fn with_online_consumers(mut self, online: OnlineConsumers) -> OffsetsCollector {
        self.descs = descs(self.compat, true);
        self.online = Some(online);
        self
    }

    fn families(&self) -> Families {
        Families::new(self.compat, self.online.is_some())
    }

    /// Every queue of a configured topic (empty ones too, as Kafka lists
    /// every partition) and every ConsumeQueue, with its (start, end).
    fn queues(&self) -> BTreeMap<(String, u32), (u64, u64)> {
        let store = &self.store;
        let mut out = BTreeMap::new();
        for t in store.topics().list() {
            for q in 0..t.write_queue_nums.max(t.read_queue_nums) {
                let bounds = (
                    store.min_offset(&t.topic_name, q),
                    store.max_offset(&t.topic_name, q),
                );
                out.insert((t.topic_name.clone(), q), bounds);
            }
        }
        for cq in store.consume_queues() {
            let key = (cq.topic().to_string(), cq.queue_id());
            out.insert(key, (cq.min_offset(), cq.max_offset()));
        }
        out
    }

    fn fill(&self, f: &Families) {
        let store = &self.store;
        let queues = self.queues();
        let mut per_topic: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for ((topic, qid), (min, max)) in &queues {
            let q = qid.to_string();
            let labels = [topic.as_str(), q.as_str()];
            f.start.with_label_values(&labels).set(*min as f64);
            f.end.with_label_values(&labels).set(*max as f64);
            let e = per_topic.entry(topic).or_default();
            e.0 += 1;
            e.1 += max;
            if let Some(c) = &f.compat {
                c.current.with_label_values(&labels).set(*max as f64);
                c.oldest.with_label_values(&labels).set(*min as f64);
            }
        }
        let (cluster, node) = (self.id.cluster.as_str(), self.id.broker.as_str());
        if let Some(c) = &f.compat {
            c.brokers.set(1);
            for (topic, (parts, msgs)) in &per_topic {
                c.partitions.with_label_values(&[topic]).set(*parts as f64);
                let sys = super::topic_traffic::is_system(topic, "");
                c.rmq_in
                    .with_label_values(&[cluster, "broker", node, topic, "normal", sys])
                    .inc_by(*msgs);
            }
        }
        for group in crate::broker::consumer_groups(store) {
            let online = self.online.as_ref().map(|f| (f.0)(&group).to_string());
            for (topic, qid, committed) in store.offsets().group_offsets(&group) {
                let Some(&(min, end)) = queues.get(&(topic.clone(), qid)) else {
                    continue; // the topic or queue is gone
                };
                let end = self.txns.as_ref().map_or(end, |ix| {
                    let lso = ix.lso(&topic, qid, i64::try_from(end).unwrap_or(i64::MAX));
                    u64::try_from(lso).unwrap_or(end).max(min)
                });
                let next = u64::try_from(committed.offset).unwrap_or(0).clamp(min, end);
                let lag = end - next;
                let lag_ms = if lag == 0 {
                    0
                } else {
                    match (
                        store.store_time_at(&topic, qid, end - 1),
                        store.store_time_at(&topic, qid, next),
                    ) {
                        (Some(newest), Some(oldest)) => (newest - oldest).max(0),
                        _ => 0,
                    }
                };
                let q = qid.to_string();
                let labels = [group.as_str(), topic.as_str(), q.as_str()];
                f.committed
                    .with_label_values(&labels)
                    .set(committed.offset as f64);
                f.lag.with_label_values(&labels).set(lag as f64);
                f.lag_seconds
                    .with_label_values(&labels)
                    .set(lag_ms as f64 / 1000.0);
                if let Some(c) = &f.compat {
                    c.group_current
                        .with_label_values(&labels)
                        .set(committed.offset as f64);
                    c.group_lag.with_label_values(&labels).set(lag as f64);
                    c.group_current_sum
                        .with_label_values(&labels[..2])
                        .add(committed.offset as f64);
                    c.group_lag_sum
                        .with_label_values(&labels[..2])
                        .add(lag as f64);
                    let rl = [cluster, "broker", node, topic.as_str(), group.as_str()];
                    c.rmq_lag.with_label_values(&rl).add(lag as f64);
                    if let (Some(d), Some(online)) = (&c.group_diff, &online) {
                        if !topic.starts_with("%RETRY%") && !topic.starts_with("%DLQ%") {
                            d.with_label_values(&[group.as_str(), topic.as_str(), online, "1"])
                                .add(lag as f64);
                        }
                    }
                    let lat = c.rmq_latency.with_label_values(&rl);
                    lat.set(lat.get().max(lag_ms as f64));
                }
            }
        }
    }
}

fn descs(compat: bool, online: bool) -> Vec<Desc> {
    Families::new(compat, online)
        .collectors()
        .iter()
        .flat_map(|c| c.desc().into_iter().cloned())
        .collect()
}

impl Collector for OffsetsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let f = self.families();
        self.fill(&f);
        f.collectors().iter().flat_map(|c| c.collect()).collect()
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
