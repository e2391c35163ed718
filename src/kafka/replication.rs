//! Produce in cluster mode (ADR 015): which node takes writes, and acks=all.
//!
//! A slave, or a master cut off from the Raft majority, answers
//! NOT_LEADER_OR_FOLLOWER (6) so the client refreshes Metadata and goes to
//! the master. acks=all is refused before the append with
//! NOT_ENOUGH_REPLICAS (19) while the in-sync set is smaller than
//! `min.insync.replicas`, and answered NOT_ENOUGH_REPLICAS_AFTER_APPEND (20)
//! when too few replicas acknowledged the bytes in time (both retriable; an
//! idempotent retry is de-duplicated and waits for the replicas again).

use std::sync::Arc;
use std::time::Duration;

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::produce::ProduceTopicResponse;

use super::KafkaContext;
use crate::cluster::{Cluster, Layout, Route};

/// The replication rules of one Produce request.
pub struct Gate {
    cluster: Option<Arc<Cluster>>,
    acks_all: bool,
}

impl Gate {
    /// The rules for a request with `acks` on this node.
    pub fn new(ctx: &KafkaContext, acks: i16) -> Gate {
        Gate {
            cluster: ctx.broker.cluster.clone(),
            acks_all: acks == -1,
        }
    }

    /// The error every partition of `topic` gets before any append, if any:
    /// the master of the topic's group takes its writes (ADR 024), and the
    /// in-sync rules are that group's, i.e. this node's.
    pub fn refusal(&self, topic: &str) -> Option<i16> {
        let c = self.cluster.as_ref()?;
        if !c.is_writable_master() || !c.serves(topic) {
            return Some(error_code::NOT_LEADER_OR_FOLLOWER);
        }
        (self.acks_all && !c.enough_in_sync()).then_some(error_code::NOT_ENOUGH_REPLICAS)
    }

    /// acks=all: waits until the replicas hold the log up to `end`; on a
    /// timeout every partition that appended gets error 20.
    pub async fn wait(&self, end: u64, timeout_ms: i32, topics: &mut [ProduceTopicResponse]) {
        let Some(c) = self.cluster.as_ref().filter(|_| self.acks_all && end > 0) else {
            return;
        };
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0).max(1));
        if c.wait_replicated(end, Some(timeout)).await {
            return;
        }
        tracing::debug!(end, "acks=all: replicas did not acknowledge in time");
        for p in topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
            if p.error_code == error_code::NONE && p.base_offset >= 0 {
                p.error_code = error_code::NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            }
        }
    }
}

/// How `topic`'s Kafka partitions map to this node's queues (ADR 024: in
/// cluster mode a topic may be placed, wholly or by range, on other broker
/// groups).
pub fn layout(ctx: &KafkaContext, topic: &str) -> Layout {
    ctx.broker.layout(topic, ctx.broker.partitions(topic))
}

/// The local queue of Kafka partition `p` in `layout`, or the error a
/// Produce, Fetch, ListOffsets, OffsetForLeaderEpoch or DeleteRecords
/// answers: NOT_LEADER_OR_FOLLOWER when another group's master leads it,
/// UNKNOWN_TOPIC_OR_PARTITION when the topic has no such partition.
pub fn queue_of(layout: &Layout, p: i32) -> Result<u32, i16> {
    match layout.route(p) {
        Route::Local(q) => Ok(q),
        Route::Elsewhere => Err(error_code::NOT_LEADER_OR_FOLLOWER),
        Route::Unknown => Err(error_code::UNKNOWN_TOPIC_OR_PARTITION),
    }
}

/// The `__consumer_offsets` partition of a group (or transactional) id:
/// Kafka's `abs(hashCode) % partitions` over the topic's partitions here.
pub fn offsets_partition(ctx: &KafkaContext, key: &str) -> u32 {
    let n = match ctx.broker.partitions(crate::cluster::OFFSETS_TOPIC) {
        0 => ctx.broker.config.offsets_topic_partitions,
        n => n,
    };
    super::offsets_topic::partition_for(key, n)
}

/// Whether requests for the Kafka group `key` must go elsewhere: in cluster
/// mode only the writable master of the broker group that owns `key`'s
/// `__consumer_offsets` partition coordinates it and writes its offsets
/// (they replicate through `__consumer_offsets`, ADR 011, ADR 024). Any
/// other node answers NOT_COORDINATOR (16), after which Kafka clients look
/// the coordinator up again; FindCoordinator names that master.
pub fn not_coordinator(ctx: &KafkaContext, key: &str) -> bool {
    ctx.broker.cluster.as_ref().is_some_and(|c| {
        !c.is_writable_master()
            || c.coordinator_group(offsets_partition(ctx, key))
                .is_none_or(|g| g != c.group())
    })
}

/// [`not_coordinator`] as an error code, for handlers that chain it after
/// the authorization check (Kafka authorizes before the coordinator answers).
pub fn coordinator_refusal(ctx: &KafkaContext, key: &str) -> Option<i16> {
    not_coordinator(ctx, key).then_some(error_code::NOT_COORDINATOR)
}

/// The end of a partition as readers see it: the high watermark in cluster
/// mode (entries every in-sync replica holds, ADR 015), else the log end.
pub fn readable_end(ctx: &KafkaContext, topic: &str, qid: u32) -> u64 {
    let store = &ctx.broker.store;
    match &ctx.broker.cluster {
        Some(c) => store.max_offset_below(topic, qid, c.high_watermark()),
        None => store.max_offset(topic, qid),
    }
}

/// Waits until what the group coordinator recorded so far (commits and
/// group metadata in `__consumer_offsets`) is in the store and, in cluster
/// mode, on every in-sync replica, so that a master elected next serves it
/// (Kafka acknowledges OffsetCommit and SyncGroup only once the offsets
/// partition's in-sync replicas hold the records; unlike Kafka a set
/// smaller than `min.insync.replicas` is not refused, see
/// [`Cluster::wait_in_sync`]). False when the replicas did not acknowledge
/// in time or this node lost its mastership: Kafka then answers
/// COORDINATOR_NOT_AVAILABLE.
pub async fn offsets_replicated(ctx: &KafkaContext) -> bool {
    if let Some(log) = ctx.groups.offsets_log() {
        log.written().await;
    }
    match &ctx.broker.cluster {
        Some(c) => c.wait_in_sync(ctx.broker.store.log_end()).await,
        None => true,
    }
}
