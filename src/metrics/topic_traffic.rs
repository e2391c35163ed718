//! Messages and bytes in and out per topic and partition/queue, split by the
//! protocol that carried them, plus the RocketMQ 5.x broker families that
//! count the same traffic (`rocketmq_messages_out_total`,
//! `rocketmq_throughput_{in,out}_total`) and the rocketmq-exporter TPS gauges.
//!
//! The front-ends call one hook each ([`produced`], [`fetched`], [`pulled`])
//! that only adds to a process-wide table; [`TopicTrafficCollector`] turns the
//! table into metric families at scrape time, keeping only topics that are in
//! the topic table (and forgetting the others), so a deleted topic's series
//! disappear at the next scrape whichever protocol deleted it.
//!
//! What is counted:
//! - in: records/messages appended by Kafka Produce or RocketMQ
//!   SEND_MESSAGE(_V2)/SEND_BATCH_MESSAGE (one per record, not per batch);
//!   bytes are the CommitLog bytes written (the stored entry, with the
//!   store's entry header).
//! - out: records/messages returned by Kafka Fetch or RocketMQ
//!   PULL_MESSAGE/LITE_PULL_MESSAGE, after any cross-protocol conversion;
//!   bytes are the record bytes put in the response (Kafka batches or
//!   message sets, RocketMQ stored messages).

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, Opts};
use rokka_protocols::kafka::fetch::FetchResponse;
use rokka_store::{AppendResult, Store};

use super::collector::Identity;

/// The protocol a message came in or went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// The Kafka listener.
    Kafka,
    /// The RocketMQ remoting listener.
    Remoting,
}

impl Protocol {
    /// The `protocol` label value.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Kafka => "kafka",
            Protocol::Remoting => "remoting",
        }
    }
}

/// A message count and a byte count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    messages: u64,
    bytes: u64,
}

impl Counts {
    fn add(&mut self, messages: u64, bytes: u64) {
        self.messages = self.messages.saturating_add(messages);
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// Counts of one topic.
#[derive(Debug, Default)]
struct TopicCounts {
    /// (queue, protocol) → in.
    inbound: HashMap<(u32, Protocol), Counts>,
    /// (queue, protocol) → out.
    outbound: HashMap<(u32, Protocol), Counts>,
    /// Consumer group → out (Kafka fetches carry no group: "").
    by_group: HashMap<String, Counts>,
}

static TABLE: LazyLock<Mutex<HashMap<String, TopicCounts>>> = LazyLock::new(Default::default);

fn table() -> MutexGuard<'static, HashMap<String, TopicCounts>> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn with_topic(topic: &str, f: impl FnOnce(&mut TopicCounts)) {
    let mut t = table();
    match t.get_mut(topic) {
        Some(c) => f(c),
        None => f(t.entry(topic.to_owned()).or_default()),
    }
}

/// Hook after a successful append by Produce or SEND_*: counts `r.count`
/// messages and `r.bytes` CommitLog bytes into `topic`/`queue`.
pub fn produced(protocol: Protocol, topic: &str, queue: u32, r: &AppendResult) {
    with_topic(topic, |c| {
        c.inbound
            .entry((queue, protocol))
            .or_default()
            .add(u64::from(r.count), u64::from(r.bytes));
    });
}

/// Hook at the end of a Fetch: counts the records of every partition's
/// record set in `resp`.
pub fn fetched(resp: &FetchResponse) {
    for t in &resp.responses {
        let mut per_queue = Vec::new();
        for p in &t.partitions {
            let Ok(queue) = u32::try_from(p.partition_index) else {
                continue;
            };
            let (records, bytes) = p.records.iter().fold((0u64, 0u64), |(n, b), chunk| {
                (n + count_kafka_records(chunk), b + chunk.len() as u64)
            });
            if records > 0 {
                per_queue.push((queue, records, bytes));
            }
        }
        if per_queue.is_empty() {
            continue;
        }
        with_topic(&t.topic, |c| {
            for &(queue, records, bytes) in &per_queue {
                c.outbound
                    .entry((queue, Protocol::Kafka))
                    .or_default()
                    .add(records, bytes);
                c.by_group
                    .entry(String::new())
                    .or_default()
                    .add(records, bytes);
            }
        });
    }
}

/// Hook at the end of a pull: `body` holds one stored message per element.
pub fn pulled(topic: &str, queue: u32, group: &str, body: &[Bytes]) {
    if body.is_empty() {
        return;
    }
    let n = body.len() as u64;
    let bytes: u64 = body.iter().map(|b| b.len() as u64).sum();
    with_topic(topic, |c| {
        c.outbound
            .entry((queue, Protocol::Remoting))
            .or_default()
            .add(n, bytes);
        match c.by_group.get_mut(group) {
            Some(g) => g.add(n, bytes),
            None => c
                .by_group
                .entry(group.to_owned())
                .or_default()
                .add(n, bytes),
        }
    });
}

/// Records in a Kafka record set: each entry starts with offset (8) and
/// length (4); the magic byte is at 16 in both v2 batches (whose record
/// count is at 57) and v0/v1 messages (one record each, a compressed wrapper
/// counting as one). Stops at a truncated entry.
pub fn count_kafka_records(mut set: &[u8]) -> u64 {
    let mut n = 0u64;
    while set.len() >= 17 {
        let len = i32::from_be_bytes([set[8], set[9], set[10], set[11]]);
        let Ok(len) = usize::try_from(len) else { break };
        let Some(end) = len.checked_add(12).filter(|e| *e <= set.len()) else {
            break;
        };
        if set[16] == 2 {
            if end < 61 {
                break;
            }
            let count = i32::from_be_bytes([set[57], set[58], set[59], set[60]]);
            n += u64::try_from(count).unwrap_or(0);
        } else {
            n += 1;
        }
        set = &set[end..];
    }
    n
}

/// Window over which the TPS gauges average.
pub const TPS_WINDOW: Duration = Duration::from_secs(60);

/// Totals sampled at one scrape, for the TPS gauges.
#[derive(Debug, Default, Clone)]
struct Sample {
    /// topic → messages in.
    produced: HashMap<String, u64>,
    /// (topic, group) → messages out.
    consumed: HashMap<(String, String), u64>,
}

/// The scrape-time collector of the traffic table.
#[derive(Debug)]
pub struct TopicTrafficCollector {
    store: Store,
    id: Identity,
    compat: bool,
    descs: Vec<Desc>,
    samples: Mutex<VecDeque<(Instant, Sample)>>,
}

struct Families {
    msgs_in: IntCounterVec,
    bytes_in: IntCounterVec,
    msgs_out: IntCounterVec,
    bytes_out: IntCounterVec,
    compat: Option<Compat>,
}

struct Compat {
    msgs_out: IntCounterVec,
    throughput_in: IntCounterVec,
    throughput_out: IntCounterVec,
    producer_tps: GaugeVec,
    consumer_tps: GaugeVec,
}

const TPP: &[&str] = &["topic", "partition", "protocol"];
/// RocketMQ 5.x `messages_in`/`throughput_in` attributes.
const RMQ_IN: &[&str] = &[
    "cluster",
    "node_type",
    "node_id",
    "topic",
    "message_type",
    "is_system",
];
/// RocketMQ 5.x `messages_out`/`throughput_out` attributes (pull path).
const RMQ_OUT: &[&str] = &[
    "cluster",
    "node_type",
    "node_id",
    "topic",
    "consumer_group",
    "is_system",
];

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

impl Families {
    fn new(compat: bool) -> Families {
        Families {
            msgs_in: counter(
                "rokka_topic_messages_in_total",
                "Messages (Kafka records) appended by Produce or SEND_MESSAGE/SEND_BATCH_MESSAGE, by topic, partition/queue and protocol.",
                TPP,
            ),
            bytes_in: counter(
                "rokka_topic_bytes_in_total",
                "CommitLog bytes written for appended messages (stored entries including the store's entry header), by topic, partition/queue and protocol.",
                TPP,
            ),
            msgs_out: counter(
                "rokka_topic_messages_out_total",
                "Messages (Kafka records) returned by Fetch or PULL_MESSAGE/LITE_PULL_MESSAGE after any cross-protocol conversion, by topic, partition/queue and protocol.",
                TPP,
            ),
            bytes_out: counter(
                "rokka_topic_bytes_out_total",
                "Record bytes returned by Fetch (batches or message sets) or by pulls (stored messages), by topic, partition/queue and protocol.",
                TPP,
            ),
            compat: compat.then(|| Compat {
                msgs_out: counter(
                    "rocketmq_messages_out_total",
                    "Total number of outgoing messages (both protocols; Kafka fetches have an empty consumer_group).",
                    RMQ_OUT,
                ),
                throughput_in: counter(
                    "rocketmq_throughput_in_total",
                    "Total traffic of incoming messages, in CommitLog bytes (both protocols).",
                    RMQ_IN,
                ),
                throughput_out: counter(
                    "rocketmq_throughput_out_total",
                    "Total traffic of outgoing messages, in bytes (both protocols).",
                    RMQ_OUT,
                ),
                producer_tps: gauge(
                    "rocketmq_producer_tps",
                    "TopicPutNums: messages appended per second, averaged over the last 60 s of scrapes of this endpoint.",
                    &["cluster", "broker", "topic"],
                ),
                consumer_tps: gauge(
                    "rocketmq_consumer_tps",
                    "GroupGetNums: messages returned to a group per second, averaged over the last 60 s of scrapes of this endpoint.",
                    &["cluster", "broker", "topic", "group"],
                ),
            }),
        }
    }

    fn collectors(&self) -> Vec<&dyn Collector> {
        let mut v: Vec<&dyn Collector> = vec![
            &self.msgs_in,
            &self.bytes_in,
            &self.msgs_out,
            &self.bytes_out,
        ];
        if let Some(c) = &self.compat {
            v.extend([
                &c.msgs_out as &dyn Collector,
                &c.throughput_in,
                &c.throughput_out,
                &c.producer_tps,
                &c.consumer_tps,
            ]);
        }
        v
    }
}

/// `TopicValidator.isSystemTopic` / system group prefix, approximately.
pub(crate) fn is_system(topic: &str, group: &str) -> &'static str {
    const SYSTEM: [&str; 7] = [
        "TBW102",
        "SCHEDULE_TOPIC_XXXX",
        "OFFSET_MOVED_EVENT",
        "SELF_TEST_TOPIC",
        "BenchmarkTest",
        "TRANS_CHECK_MAX_TIME_TOPIC",
        "RMQ_SYS_TRANS_HALF_TOPIC",
    ];
    let sys = SYSTEM.contains(&topic)
        || topic.to_ascii_lowercase().starts_with("rmq_sys_")
        || group.to_ascii_lowercase().starts_with("cid_rmq_sys_");
    if sys {
        "true"
    } else {
        "false"
    }
}

fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

impl TopicTrafficCollector {
    /// A collector publishing the traffic table for the topics of `store`;
    /// `compat` adds the RocketMQ families.
    pub fn new(store: Store, id: Identity, compat: bool) -> TopicTrafficCollector {
        let descs = Families::new(compat)
            .collectors()
            .iter()
            .flat_map(|c| c.desc().into_iter().cloned())
            .collect();
        TopicTrafficCollector {
            store,
            id,
            compat,
            descs,
            samples: Mutex::new(VecDeque::new()),
        }
    }

    /// Drops deleted topics from the table and fills the families; returns
    /// this scrape's totals for the TPS gauges.
    fn fill(&self, f: &Families) -> Sample {
        let mut sample = Sample::default();
        let (cluster, node) = (self.id.cluster.as_str(), self.id.broker.as_str());
        let mut t = table();
        t.retain(|topic, _| self.store.topics().get(topic).is_some());
        for (topic, c) in t.iter() {
            let mut total_in = Counts::default();
            for (&(queue, proto), n) in &c.inbound {
                let q = queue.to_string();
                let l = [topic.as_str(), q.as_str(), proto.label()];
                f.msgs_in.with_label_values(&l).inc_by(n.messages);
                f.bytes_in.with_label_values(&l).inc_by(n.bytes);
                total_in.add(n.messages, n.bytes);
            }
            for (&(queue, proto), n) in &c.outbound {
                let q = queue.to_string();
                let l = [topic.as_str(), q.as_str(), proto.label()];
                f.msgs_out.with_label_values(&l).inc_by(n.messages);
                f.bytes_out.with_label_values(&l).inc_by(n.bytes);
            }
            sample.produced.insert(topic.clone(), total_in.messages);
            for (group, n) in &c.by_group {
                sample
                    .consumed
                    .insert((topic.clone(), group.clone()), n.messages);
            }
            let Some(x) = &f.compat else { continue };
            if !c.inbound.is_empty() {
                let l = [
                    cluster,
                    "broker",
                    node,
                    topic.as_str(),
                    "normal",
                    is_system(topic, ""),
                ];
                x.throughput_in.with_label_values(&l).inc_by(total_in.bytes);
            }
            if is_retry_or_dlq(topic) {
                continue; // RocketMQ leaves retry and DLQ topics out of "out"
            }
            for (group, n) in &c.by_group {
                let l = [
                    cluster,
                    "broker",
                    node,
                    topic.as_str(),
                    group.as_str(),
                    is_system(topic, group),
                ];
                x.msgs_out.with_label_values(&l).inc_by(n.messages);
                x.throughput_out.with_label_values(&l).inc_by(n.bytes);
            }
        }
        sample
    }

    /// Adds `now`'s sample and sets the TPS gauges from the oldest sample
    /// still inside [`TPS_WINDOW`] (0 on the first scrape).
    fn rates(&self, c: &Compat, now: Instant, sample: Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((now, sample));
        while samples.len() > 2 && now.duration_since(samples[1].0) >= TPS_WINDOW {
            samples.pop_front();
        }
        let (Some((t0, base)), Some((_, cur))) = (samples.front(), samples.back()) else {
            return;
        };
        let secs = now.duration_since(*t0).as_secs_f64();
        let rate = |now: u64, then: Option<&u64>| {
            if secs <= 0.0 {
                0.0
            } else {
                now.saturating_sub(then.copied().unwrap_or(0)) as f64 / secs
            }
        };
        let (cluster, node) = (self.id.cluster.as_str(), self.id.broker.as_str());
        for (topic, n) in &cur.produced {
            c.producer_tps
                .with_label_values(&[cluster, node, topic])
                .set(rate(*n, base.produced.get(topic)));
        }
        for ((topic, group), n) in &cur.consumed {
            if is_retry_or_dlq(topic) {
                continue;
            }
            let then = base.consumed.get(&(topic.clone(), group.clone()));
            c.consumer_tps
                .with_label_values(&[cluster, node, topic, group])
                .set(rate(*n, then));
        }
    }
}

impl Collector for TopicTrafficCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let f = Families::new(self.compat);
        let sample = self.fill(&f);
        if let Some(c) = &f.compat {
            self.rates(c, Instant::now(), sample);
        }
        f.collectors().iter().flat_map(|c| c.collect()).collect()
    }
}

#[cfg(test)]
#[path = "topic_traffic_tests.rs"]
mod tests;
