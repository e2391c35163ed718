//! Consumer offsets that belong on another node's table: sent to the master
//! of the broker group holding the queue as RocketMQ UPDATE_CONSUMER_OFFSET
//! (the remoting client of `remoting/peer.rs`), and read from it with
//! QUERY_CONSUMER_OFFSET.
//!
//! Two writers queue here:
//! - a slave, for RocketMQ commits made on it while the route named no
//!   master (ADR 015): sent to its own group's master, dropped once this
//!   node is promoted (they are in its table already);
//! - a Kafka coordinator, for commits of partitions placed on another group
//!   (ADR 024 decision 5): its `__consumer_offsets` record stays the Kafka
//!   source of truth, the queue's group gets the offset under its local
//!   queue id so a RocketMQ consumer there starts where the Kafka group
//!   stopped.
//!
//! Queueing never blocks the commit: a pending offset per (group, consumer
//! group, topic, queue), replaced by a newer commit, sent every 500 ms
//! (each group's master in parallel), retried while the master is
//! unreachable. Failures are counted and logged once per failing streak
//! and then at most once a minute per group.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{IntCounterVec, Opts, Registry};
use rokka_cluster::ClusterView;
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, info, warn};

use super::{Cluster, Local};
use crate::remoting::peer;

/// How often queued commits are sent.
const FORWARD_INTERVAL: Duration = Duration::from_millis(500);
/// Most commits sent to one master in one exchange.
const MAX_PER_EXCHANGE: usize = 256;
/// Most distinct offsets waiting; a new key beyond it is dropped (counted).
const MAX_PENDING: usize = 65_536;
/// How often a still-failing group's master is logged again.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Bound on asking other groups' masters for offsets during an OffsetFetch.
pub const QUERY_TIMEOUT: Duration = Duration::from_millis(1000);
/// Marks an UPDATE_CONSUMER_OFFSET carrying a Kafka commit: the receiving
/// master applies ADR 006's rule as for a Kafka commit.
pub const KAFKA_ORIGIN: &str = "rokkaKafkaCommit";
/// Marks an UPDATE_CONSUMER_OFFSET carrying a commit a slave took: the
/// receiving master applies it only if it moves the offset forward, as the
/// consumer may have committed newer offsets to the master directly while
/// this one waited (a slave that did not know the new master yet).
pub const SLAVE_ORIGIN: &str = "rokkaSlaveCommit";

/// Where an offset goes and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// The broker group whose master takes it.
    to: String,
    consumer_group: String,
    topic: String,
    queue: u32,
    /// Committed by a Kafka coordinator (else a RocketMQ consumer on a slave).
    kafka: bool,
}

/// Offsets waiting for another node's master, and their counter.
#[derive(Debug)]
pub struct OffsetForward {
    pending: Mutex<HashMap<Key, i64>>,
    /// `rokka_cluster_offset_forwards_total{path,outcome}`.
    forwards: IntCounterVec,
}

fn path_label(kafka: bool) -> &'static str {
    if kafka {
        "coordinator"
    } else {
        "slave"
    }
}

impl OffsetForward {
    pub(super) fn register(reg: &Registry) -> prometheus::Result<OffsetForward> {
        let forwards = IntCounterVec::new(
            Opts::new(
                "rokka_cluster_offset_forwards_total",
                "Consumer offsets sent to another node's master: path slave (RocketMQ commits \
                 made on a slave, to its master) or coordinator (Kafka commits of partitions on \
                 another broker group, to that group's master); outcome ok, refused, failed \
                 (unreachable; retried) or dropped (too many waiting)",
            ),
            &["path", "outcome"],
        )?;
        for path in ["slave", "coordinator"] {
            for outcome in ["ok", "refused", "failed", "dropped"] {
                forwards.with_label_values(&[path, outcome]);
            }
        }
        reg.register(Box::new(forwards.clone()))?;
        Ok(OffsetForward {
            pending: Mutex::new(HashMap::new()),
            forwards,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, i64>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self, key: Key, offset: i64) {
        let mut pending = self.lock();
        if pending.len() >= MAX_PENDING && !pending.contains_key(&key) {
            drop(pending);
            self.count(key.kafka, "dropped");
            return;
        }
        pending.insert(key, offset);
    }

    fn count(&self, kafka: bool, outcome: &str) {
        self.forwards
            .with_label_values(&[path_label(kafka), outcome])
            .inc();
    }

    /// Up to [`MAX_PER_EXCHANGE`] pending offsets per target group.
    fn batches(&self) -> HashMap<String, Vec<(Key, i64)>> {
        let pending = self.lock();
        let mut out: HashMap<String, Vec<(Key, i64)>> = HashMap::new();
        for (k, v) in pending.iter() {
            let b = out.entry(k.to.clone()).or_default();
            if b.len() < MAX_PER_EXCHANGE {
                b.push((k.clone(), *v));
            }
        }
        out
    }

    /// Drops `key` unless a newer commit replaced `offset` meanwhile.
    fn done(&self, key: &Key, offset: i64) {
        let mut pending = self.lock();
        if pending.get(key) == Some(&offset) {
            pending.remove(key);
        }
    }

    /// Drops everything waiting for `group`'s master.
    fn forget(&self, group: &str) {
        self.lock().retain(|k, _| k.to != group);
    }

    /// Offsets waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// UPDATE_CONSUMER_OFFSET of one pending offset.
fn update_request(key: &Key, offset: i64) -> RemotingCommand {
    let mut e = ExtFields::default();
    e.insert("consumerGroup", key.consumer_group.clone());
    e.insert("topic", key.topic.clone());
    e.insert("queueId", key.queue.to_string());
    e.insert("commitOffset", offset.to_string());
    let origin = if key.kafka {
        KAFKA_ORIGIN
    } else {
        SLAVE_ORIGIN
    };
    e.insert(origin, "true".to_owned());
    RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET.0, e)
}

/// QUERY_CONSUMER_OFFSET of a committed offset only (no 0 for a new group).
fn query_request(group: &str, topic: &str, queue: u32) -> RemotingCommand {
    let mut e = ExtFields::default();
    e.insert("consumerGroup", group.to_owned());
    e.insert("topic", topic.to_owned());
    e.insert("queueId", queue.to_string());
    e.insert("setZeroIfNotFound", "false".to_owned());
    RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET.0, e)
}

/// The committed offset in a QUERY_CONSUMER_OFFSET reply (`None`: no
/// commit there, or a reply that is not one).
fn queried_offset(reply: &RemotingCommand) -> Option<i64> {
    if reply.code != ResponseCode::SUCCESS.0 {
        return None;
    }
    reply.ext("offset")?.parse::<i64>().ok().filter(|o| *o >= 0)
}

/// The remoting address of `group`'s master and its node id.
fn master_addr(view: &ClusterView, group: &str) -> Option<(u64, String)> {
    let (id, _) = view.master_of(group)?;
    Some((id, view.state.nodes.get(&id)?.addrs.remoting.clone()))
}

impl Cluster {
    /// A RocketMQ commit made on this node while it is not the writable
    /// master: queued for its group's master.
    pub fn forward_to_master(&self, group: &str, topic: &str, queue: u32, offset: i64) {
        self.offset_forward.queue(
            Key {
                to: self.group.clone(),
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
                queue,
                kafka: false,
            },
            offset,
        );
    }

    /// A Kafka commit of `topic` partitions made here as coordinator: the
    /// ones placed on another group are queued for that group's master
    /// under their local queue ids. `commits` are (partition, offset).
    pub fn forward_kafka_commits(&self, group: &str, topic: &str, commits: &[(i32, i64)]) {
        if commits.is_empty() {
            return;
        }
        let ranges = self.ranges(topic);
        for &(p, offset) in commits {
            let Some((to, queue)) = super::ranges::elsewhere(&ranges, &self.group, p) else {
                continue;
            };
            if offset < 0 {
                continue;
            }
            self.offset_forward.queue(
                Key {
                    to: to.to_owned(),
                    consumer_group: group.to_owned(),
                    topic: topic.to_owned(),
                    queue,
                    kafka: true,
                },
                offset,
            );
        }
    }

    /// The offsets `group` committed for partitions placed on other groups,
    /// asked of those groups' masters (QUERY_CONSUMER_OFFSET, every master
    /// at once, within [`QUERY_TIMEOUT`]): (topic, partition, offset) of
    /// those that have one. `wanted` is (topic, partitions); partitions held
    /// here, unknown, or whose master does not answer in time are left out.
    pub async fn query_elsewhere(
        &self,
        group: &str,
        wanted: &[(String, Vec<i32>)],
    ) -> Vec<(String, i32, i64)> {
        let view = self.view();
        type Ask = ((String, i32), RemotingCommand);
        let mut asks: HashMap<String, Vec<Ask>> = HashMap::new();
        for (topic, partitions) in wanted {
            if partitions.is_empty() {
                continue;
            }
            let ranges = super::ranges::ranges_of(&view.state, topic);
            for &p in partitions {
                let Some((to, queue)) = super::ranges::elsewhere(&ranges, &self.group, p) else {
                    continue;
                };
                let Some((id, addr)) = master_addr(&view, to) else {
                    continue;
                };
                if id != self.node_id {
                    let ask = query_request(group, topic, queue);
                    asks.entry(addr)
                        .or_default()
                        .push(((topic.clone(), p), ask));
                }
            }
        }
        let mut set = tokio::task::JoinSet::new();
        for (addr, asks) in asks {
            set.spawn(async move {
                let (parts, cmds): (Vec<(String, i32)>, Vec<RemotingCommand>) =
                    asks.into_iter().unzip();
                match peer::call_all_within(&addr, cmds, QUERY_TIMEOUT).await {
                    Ok(replies) => parts
                        .into_iter()
                        .zip(replies)
                        .filter_map(|((t, p), r)| Some((t, p, queried_offset(&r)?)))
                        .collect(),
                    Err(e) => {
                        debug!(master = %addr, error = %e, "cannot ask for committed offsets");
                        Vec::new()
                    }
                }
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.extend(r.unwrap_or_default());
        }
        out
    }
}

/// One target group's exchange: its batch's replies counted and settled.
async fn send(fwd: &OffsetForward, addr: &str, batch: &[(Key, i64)]) -> std::io::Result<()> {
    let cmds = batch.iter().map(|(k, o)| update_request(k, *o)).collect();
    let replies = peer::call_all(addr, cmds).await?;
    for ((key, offset), reply) in batch.iter().zip(replies) {
        if reply.code == ResponseCode::SUCCESS.0 {
            fwd.count(key.kafka, "ok");
        } else {
            // Refused for good (e.g. the group is held by the other
            // ecosystem, ADR 006): the master's answer stands.
            fwd.count(key.kafka, "refused");
            debug!(
                to = key.to,
                group = key.consumer_group,
                topic = key.topic,
                queue = key.queue,
                code = reply.code,
                remark = reply.remark.as_deref().unwrap_or(""),
                "offset commit refused by the master"
            );
        }
        fwd.done(key, *offset);
    }
    Ok(())
}

/// Whether a failure to reach `group`'s master is logged now: at the start
/// of a failing streak, then once every [`WARN_EVERY`].
fn should_warn(failing: &mut HashMap<String, Instant>, group: &str, now: Instant) -> bool {
    match failing.get(group) {
        Some(last) if now.saturating_duration_since(*last) < WARN_EVERY => false,
        _ => {
            failing.insert(group.to_owned(), now);
            true
        }
    }
}

/// Sends queued offsets to the masters until the task is aborted.
pub(super) async fn run(cluster: Arc<Cluster>) {
    let mut tick = tokio::time::interval(FORWARD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing: HashMap<String, Instant> = HashMap::new();
    loop {
        tick.tick().await;
        let fwd = &cluster.offset_forward;
        // Promoted: what waited for this group's master is in this table,
        // which the promotion reconciled into `__consumer_offsets`.
        if matches!(cluster.local(), Local::Master { fenced: false, .. }) {
            fwd.forget(&cluster.group);
        }
        if fwd.is_empty() {
            continue;
        }
        let view = cluster.view();
        let mut set = tokio::task::JoinSet::new();
        for (to, batch) in fwd.batches() {
            let Some((id, addr)) = master_addr(&view, &to) else {
                continue;
            };
            if id == cluster.node_id {
                continue;
            }
            let c = cluster.clone();
            set.spawn(async move {
                let r = send(&c.offset_forward, &addr, &batch).await;
                (
                    to,
                    addr,
                    batch.len(),
                    batch.first().is_some_and(|b| b.0.kafka),
                    r,
                )
            });
        }
        while let Some(done) = set.join_next().await {
            let Ok((to, addr, n, kafka, r)) = done else {
                continue;
            };
            match r {
                Ok(()) => {
                    if failing.remove(&to).is_some() {
                        info!(group = to, master = %addr, "consumer offsets reach the master again");
                    }
                }
                Err(e) => {
                    fwd.count(kafka, "failed");
                    if should_warn(&mut failing, &to, Instant::now()) {
                        warn!(group = to, master = %addr, error = %e, pending = n,
                            "cannot forward consumer offsets to the group's master; retrying");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(to: &str, q: u32) -> Key {
        Key {
            to: to.into(),
            consumer_group: "g".into(),
            topic: "t".into(),
            queue: q,
            kafka: true,
        }
    }

    #[test]
    fn a_newer_commit_replaces_the_pending_one_and_survives_done() {
        let f = OffsetForward::register(&Registry::new()).unwrap();
        f.queue(key("b", 0), 5);
        f.queue(key("b", 0), 7);
        f.queue(key("c", 1), 9);
        let batches = f.batches();
        assert_eq!(batches["b"], vec![(key("b", 0), 7)]);
        assert_eq!(batches["c"].len(), 1);
        // Sent 7, then 8 arrived: 8 stays for the next round.
        f.queue(key("b", 0), 8);
        f.done(&key("b", 0), 7);
        assert_eq!(f.len(), 2);
        f.forget("c");
        assert_eq!(f.batches()["b"], vec![(key("b", 0), 8)]);
    }

    #[test]
    fn requests_carry_the_local_queue_and_the_kafka_marker() {
        let u = update_request(&key("b", 3), 42);
        let e = u.ext_fields.as_ref().unwrap();
        assert_eq!(e.get("queueId"), Some("3"));
        assert_eq!(e.get("commitOffset"), Some("42"));
        assert_eq!(e.get(KAFKA_ORIGIN), Some("true"));
        let q = query_request("g", "t", 2);
        let e = q.ext_fields.as_ref().unwrap();
        assert_eq!(e.get("setZeroIfNotFound"), Some("false"));
    }

    #[test]
    fn only_a_successful_query_with_an_offset_counts() {
        let mut e = ExtFields::default();
        e.insert("offset", "12".to_owned());
        let mut ok = RemotingCommand::request(0, e);
        ok.code = ResponseCode::SUCCESS.0;
        assert_eq!(queried_offset(&ok), Some(12));
        let mut missing = ok.clone();
        missing.code = ResponseCode::QUERY_NOT_FOUND.0;
        assert_eq!(queried_offset(&missing), None);
        let mut garbled = RemotingCommand::request(0, ExtFields::default());
        garbled.code = ResponseCode::SUCCESS.0;
        assert_eq!(queried_offset(&garbled), None);
    }

    #[test]
    fn a_failing_master_is_logged_at_first_and_then_once_a_minute() {
        let mut failing = HashMap::new();
        let t0 = Instant::now();
        assert!(should_warn(&mut failing, "b", t0));
        assert!(!should_warn(&mut failing, "b", t0 + Duration::from_secs(5)));
        assert!(should_warn(&mut failing, "c", t0));
        assert!(should_warn(&mut failing, "b", t0 + WARN_EVERY));
    }
}
